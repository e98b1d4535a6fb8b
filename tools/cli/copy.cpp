#include "copy.hpp"

#include <algorithm>
#include <charconv>
#include <ostream>
#include <utility>

#include <nlohmann/json.hpp>

#include "cuzarr/error.hpp"
#include "info.hpp"
#include "progress.hpp"

namespace cuzarr::cli {
namespace {

using nlohmann::json;

int parse_level(const std::string& spec, const std::string& text, int low, int high) {
  int level = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), level);
  if (ec != std::errc() || end != text.data() + text.size() || level < low || level > high) {
    throw UnsupportedError("--codec '" + spec + "': the level must be a whole number from " + std::to_string(low) +
                           " to " + std::to_string(high));
  }
  return level;
}

json v3_list(json compressor) {
  json codecs = json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  if (!compressor.is_null()) codecs.push_back(std::move(compressor));
  return codecs;
}

// The chunk counts along each dimension that one step reads and writes: whole trailing
// dimensions while they fit in `budget` bytes, then as many units of the next one as fit, one
// unit of the dimensions before it.
std::vector<std::int64_t> slab_units(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& unit,
                                     const std::vector<std::int64_t>& grid, std::uint64_t item, std::uint64_t budget) {
  std::vector<std::int64_t> count(shape.size(), 1);
  std::uint64_t bytes = item;
  for (std::size_t d = shape.size(); d-- > 0;) {
    const auto one = static_cast<std::uint64_t>(std::min(unit[d], shape[d]));
    const auto whole = static_cast<std::uint64_t>(shape[d]);
    if (bytes * whole <= budget) {
      count[d] = grid[d];
      bytes *= whole;
      continue;
    }
    const std::uint64_t fit = std::max<std::uint64_t>(1, budget / std::max<std::uint64_t>(1, bytes * one));
    count[d] = static_cast<std::int64_t>(std::min<std::uint64_t>(fit, static_cast<std::uint64_t>(grid[d])));
    break;
  }
  return count;
}

std::string join_shape(const std::vector<std::int64_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s += 'x';
    s += std::to_string(v[i]);
  }
  return s.empty() ? "scalar" : s;
}

ArrayDefinition definition_of(const Array& src, const std::string& name, const CopyOptions& o) {
  if (src.dtype().is_vlen()) {
    throw UnsupportedError("array '" + src.display_path() + "': copying variable-length data types (" +
                           src.dtype().name() + ") is not supported yet");
  }
  ArrayDefinition d;
  d.name = name;
  d.zarr_format = o.zarr_format != 0 ? o.zarr_format : src.zarr_format();
  d.shape = src.shape();
  d.dtype = d.zarr_format == 3 ? src.dtype().name() : src.dtype().numpy_str();
  d.fill_value = src.fill_value_json();
  d.dimension_names = src.dimension_names();
  json attributes = json::parse(src.attributes_json());
  attributes.erase("_ARRAY_DIMENSIONS");  // dimension_names, written the destination format's way
  d.attributes = attributes.dump();
  const bool keep = o.codec.empty() && d.zarr_format == src.zarr_format();
  const std::optional<std::vector<std::int64_t>> shards = src.shards();
  if (keep && d.zarr_format == 3) {
    // The codecs as they are, sharding included: the chunk grid is the shards'.
    d.chunks = src.storage_chunks();
    d.codecs = src.codecs_json();
    if (!o.chunks.empty()) {
      if (shards) {
        // New inner chunks in the same shards: the sharding codec's own chunk shape changes.
        json codecs = json::parse(d.codecs);
        codecs[0]["configuration"]["chunk_shape"] = o.chunks;
        d.codecs = codecs.dump();
      } else {
        d.chunks = o.chunks;
      }
    }
    return d;
  }
  if (keep) {
    const json v2 = json::parse(src.codecs_json());
    d.order = v2.value("order", std::string("C")) == "F" ? 'F' : 'C';
    d.filters = v2.contains("filters") ? v2["filters"].dump() : "null";
    d.compressor = v2.contains("compressor") ? v2["compressor"].dump() : "null";
    d.chunks = o.chunks.empty() ? src.chunks() : o.chunks;
    return d;
  }
  const CodecSpec spec = parse_codec(o.codec.empty() ? "zstd" : o.codec, src.dtype().size);
  if ((d.zarr_format == 3 ? spec.v3 : spec.v2_compressor).empty()) {
    throw UnsupportedError("--codec '" + o.codec + "' is a Zarr v" + (d.zarr_format == 3 ? "2 compressor" : "3 codec list") +
                           ", but array '" + src.display_path() + "' is written as v" + std::to_string(d.zarr_format) +
                           " (--zarr-format)");
  }
  d.chunks = o.chunks.empty() ? src.chunks() : o.chunks;
  if (d.zarr_format == 3) {
    d.codecs = spec.v3;
    if (shards) d.shards = *shards;  // the same shards, holding the new codecs' inner chunks
  } else {
    d.compressor = spec.v2_compressor;
  }
  return d;
}

void copy_array(std::ostream& out, std::ostream& err, const Array& src, const std::filesystem::path& destination,
                const std::string& name, const CopyOptions& o, CopyReport& report) {
  const ArrayDefinition def = definition_of(src, name, o);
  const Array dst = create_array(destination, def);
  const std::vector<std::int64_t>& shape = src.shape();
  const std::vector<std::int64_t>& unit = dst.storage_chunks();
  const std::size_t rank = shape.size();
  std::vector<std::int64_t> grid(rank);
  std::size_t total = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    grid[d] = shape[d] == 0 ? 0 : (shape[d] + unit[d] - 1) / unit[d];
    total *= static_cast<std::size_t>(grid[d]);
  }
  const auto item = static_cast<std::uint64_t>(src.dtype().size);
  const std::vector<std::int64_t> count = slab_units(shape, unit, grid, item, o.slab_bytes);
  std::vector<std::int64_t> at(rank, 0);  // the slab's first unit, in C order over the slabs
  std::size_t done = 0;
  std::uint64_t bytes = 0;
  const std::string label = dst.display_path();
  while (total > 0) {
    Selection sel;
    std::size_t units = 1;
    for (std::size_t d = 0; d < rank; ++d) {
      const std::int64_t begin = at[d] * unit[d];
      const std::int64_t end = std::min(shape[d], (at[d] + count[d]) * unit[d]);
      sel.dims.emplace_back(Slice{begin, end, 1});
      units *= static_cast<std::size_t>(std::min(count[d], grid[d] - at[d]));
    }
    const HostArray values = src.read(sel);
    std::vector<std::int64_t> strides(rank);
    std::int64_t stride = static_cast<std::int64_t>(item);
    for (std::size_t d = rank; d-- > 0;) {
      strides[d] = stride;
      stride *= values.shape[d];
    }
    dst.write(sel, Input{values.data.data(), values.shape, strides});
    bytes += values.data.size();
    done += units;
    draw_progress(err, o.progress, done, total, label);
    // The next slab: the last dimension fastest.
    std::size_t d = rank;
    while (d-- > 0) {
      at[d] += count[d];
      if (at[d] < grid[d]) break;
      at[d] = 0;
    }
    if (d == static_cast<std::size_t>(-1)) break;
  }
  out << "copied " << src.display_path() << " -> " << label << ": " << def.dtype << " " << join_shape(shape) << ", "
      << total << (dst.shards() ? " shard" : " chunk") << (total == 1 ? "" : "s") << " of " << join_shape(unit) << ", " << dst.codec_chain()
      << "\n";
  ++report.arrays;
  report.bytes += bytes;
}

void copy_node(std::ostream& out, std::ostream& err, const Node& node, const std::filesystem::path& destination,
               const std::string& name, const CopyOptions& o, CopyReport& report) {
  if (const auto* a = std::get_if<Array>(&node)) {
    copy_array(out, err, *a, destination, name, o, report);
    return;
  }
  const Group& g = std::get<Group>(node);
  GroupDefinition def;
  def.name = name;
  def.zarr_format = o.zarr_format != 0 ? o.zarr_format : g.zarr_format();
  def.attributes = g.attributes_json();
  create_group(destination, def);
  ++report.groups;
  for (const GroupMember& m : in_listing_order(g.members())) {
    copy_node(out, err, g.open(m.name), destination, name.empty() ? m.name : name + "/" + m.name, o, report);
  }
}

}  // namespace

CodecSpec parse_codec(const std::string& spec, int typesize) {
  if (!spec.empty() && spec.front() == '[') {
    const json list = json::parse(spec, nullptr, false);
    if (!list.is_array()) throw UnsupportedError("--codec: '" + spec + "' is not a JSON list of v3 codecs");
    return {list.dump(), ""};
  }
  if (!spec.empty() && spec.front() == '{') {
    const json object = json::parse(spec, nullptr, false);
    if (!object.is_object()) throw UnsupportedError("--codec: '" + spec + "' is not a JSON v2 compressor object");
    return {"", object.dump()};
  }
  const std::size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const bool has_level = colon != std::string::npos;
  const std::string level_text = has_level ? spec.substr(colon + 1) : "";
  if (name == "none") {
    if (has_level) throw UnsupportedError("--codec 'none' takes no level");
    return {v3_list(nullptr).dump(), "null"};
  }
  if (name == "zstd") {
    const int level = has_level ? parse_level(spec, level_text, -131072, 22) : 0;
    return {v3_list({{"name", "zstd"}, {"configuration", {{"level", level}, {"checksum", false}}}}).dump(),
            json{{"id", "zstd"}, {"level", level}}.dump()};
  }
  if (name == "gzip" || name == "zlib") {
    const int level = has_level ? parse_level(spec, level_text, 0, 9) : (name == "gzip" ? 5 : 1);
    const std::string v3_name = name == "gzip" ? "gzip" : "numcodecs.zlib";
    return {v3_list({{"name", v3_name}, {"configuration", {{"level", level}}}}).dump(),
            json{{"id", name}, {"level", level}}.dump()};
  }
  if (name == "lz4") {
    if (has_level) throw UnsupportedError("--codec 'lz4' takes no level");
    return {v3_list({{"name", "numcodecs.lz4"}, {"configuration", {{"acceleration", 1}}}}).dump(),
            json{{"id", "lz4"}, {"acceleration", 1}}.dump()};
  }
  if (name == "blosc-lz4" || name == "blosc-zstd") {
    const std::string cname = name.substr(6);
    const int level = has_level ? parse_level(spec, level_text, 0, 9) : 5;
    return {v3_list({{"name", "blosc"},
                     {"configuration",
                      {{"cname", cname}, {"clevel", level}, {"shuffle", "shuffle"}, {"typesize", typesize}, {"blocksize", 0}}}})
                .dump(),
            json{{"id", "blosc"}, {"cname", cname}, {"clevel", level}, {"shuffle", 1}, {"blocksize", 0}}.dump()};
  }
  throw UnsupportedError("--codec '" + spec +
                         "': unknown; use none, zstd[:LEVEL], gzip[:LEVEL], zlib[:LEVEL], lz4, blosc-lz4[:LEVEL], "
                         "blosc-zstd[:LEVEL], a v3 codec list ('[...]') or a v2 compressor ('{...}')");
}

CopyReport copy_tree(std::ostream& out, std::ostream& err, const Node& source, const std::filesystem::path& destination,
                     const CopyOptions& options) {
  if (options.zarr_format != 0 && options.zarr_format != 2 && options.zarr_format != 3) {
    throw UnsupportedError("--zarr-format must be 2 or 3");
  }
  if (!options.codec.empty()) {
    // A bad name, or JSON of the other format, writes nothing (the nodes of one store share a
    // format; a node of another one is still checked when its turn comes).
    const CodecSpec spec = parse_codec(options.codec, 1);
    const int format = options.zarr_format != 0 ? options.zarr_format
                                                : std::visit([](const auto& n) { return n.zarr_format(); }, source);
    if ((format == 3 ? spec.v3 : spec.v2_compressor).empty()) {
      throw UnsupportedError("--codec '" + options.codec + "' is a Zarr v" + (format == 3 ? "2 compressor" : "3 codec list") +
                             ", but the copy is written as v" + std::to_string(format) + " (--zarr-format)");
    }
  }
  CopyReport report;
  copy_node(out, err, source, destination, "", options, report);
  return report;
}

}  // namespace cuzarr::cli
