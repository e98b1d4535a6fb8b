#include "metadata/array_meta.hpp"

#include <algorithm>

#include <limits>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "metadata/dtype_parse.hpp"
#include "metadata/fill_value.hpp"

namespace cuzarr::metadata {
namespace {

// Shapes whose element count (or a chunk's byte size) overflows cannot be addressed; reject them
// up front rather than wrap around later.
void check_sizes(const ArrayMeta& m, const std::string& where) {
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  std::int64_t elements = 1;
  for (std::int64_t s : m.shape) {
    if (s != 0 && elements > max / s) {
      throw MetadataError("'" + where + "': shape " + Json(m.shape).dump() +
                          " has more elements than can be addressed");
    }
    elements *= s;
  }
  // Array::read sizes its result as elements * itemsize.
  if (elements > max / m.dtype.size) {
    throw MetadataError("'" + where + "': shape " + Json(m.shape).dump() + " of " + m.dtype.name() +
                        " holds more bytes than can be addressed");
  }
  std::int64_t chunk_bytes = m.dtype.size;
  for (std::int64_t c : m.chunk_shape) {
    if (chunk_bytes > (max / 4) / c) {
      throw MetadataError("'" + where + "': chunk shape " + Json(m.chunk_shape).dump() +
                          " is too large to address");
    }
    chunk_bytes *= c;
  }
}

void check_rank(const ArrayMeta& m, const char* chunk_field, const std::string& where) {
  if (m.shape.size() != m.chunk_shape.size()) {
    throw MetadataError("'" + where + "': shape has " + std::to_string(m.shape.size()) +
                        " dimensions but " + chunk_field + " has " +
                        std::to_string(m.chunk_shape.size()));
  }
}

CodecSpec codec_from_json(const Json& c, const std::string& what, const std::string& where) {
  if (c.is_string()) return {c.get<std::string>(), Json::object()};
  require_object(c, what, where);
  CodecSpec spec{require_string(c, "name", where), Json::object()};
  if (auto it = c.find("configuration"); it != c.end()) {
    require_object(*it, what + " configuration", where);
    spec.configuration = *it;
  }
  return spec;
}

// numcodecs style {"id": "...", ...} → name + configuration without the id.
CodecSpec codec_from_numcodecs(const Json& c, const std::string& what, const std::string& where) {
  require_object(c, what, where);
  CodecSpec spec{require_string(c, "id", where), c};
  spec.configuration.erase("id");
  return spec;
}

bool is_v2_object_dtype(const Json& dtype) {
  return dtype.is_string() && (dtype == "|O" || dtype == "<O" || dtype == ">O" || dtype == "O");
}

// An object array's items are whatever its object codec (the first filter) makes of them; the
// three variable-length codecs are the ones zarr-python and xarray write.
DataType object_dtype(const Json& filters, const std::string& where) {
  const Json first = filters.is_array() && !filters.empty() ? filters[0] : Json(nullptr);
  const Json id = first.is_object() && first.contains("id") ? first["id"] : Json(nullptr);
  if (id.is_null()) {
    throw MetadataError("'" + where + "': dtype '|O' (objects) needs an object codec as its first filter, got filters " +
                        filters.dump());
  }
  if (filters.size() > 1) {
    throw UnsupportedError("'" + where + "': filters after the object codec " + id.dump() + " are not supported");
  }
  if (id == "vlen-utf8") return DataType{DTypeKind::String, kVlenRecordSize, {}};
  if (id == "vlen-bytes") return DataType{DTypeKind::VlenBytes, kVlenRecordSize, {}};
  if (id == "vlen-array") {
    // The items' element type; checked when the codec chain is prepared.
    const Json item = first.contains("dtype") ? first["dtype"] : Json(nullptr);
    if (!item.is_string()) {
      throw MetadataError("'" + where + "': object codec vlen-array needs a string 'dtype', got " + first.dump());
    }
    return DataType{DTypeKind::VlenArray, kVlenRecordSize, item.get<std::string>()};
  }
  throw UnsupportedError("'" + where + "': object codec " + id.dump() +
                         " is not supported (only vlen-utf8, vlen-bytes and vlen-array)");
}

}  // namespace

std::vector<CodecSpec> parse_codec_list(const Json& codecs, const std::string& what,
                                        const std::string& where) {
  if (!codecs.is_array() || codecs.empty()) {
    throw MetadataError("'" + where + "': " + what + " must be a non-empty array, got " + codecs.dump());
  }
  std::vector<CodecSpec> out;
  for (std::size_t i = 0; i < codecs.size(); ++i) {
    out.push_back(codec_from_json(codecs[i], what + "[" + std::to_string(i) + "]", where));
  }
  return out;
}

std::string ArrayMeta::chunk_key(std::span<const std::int64_t> coords) const {
  std::string key;
  if (key_encoding == KeyEncoding::Default) {
    key = "c";
    for (std::int64_t c : coords) {
      key += separator;
      key += std::to_string(c);
    }
    return key;
  }
  if (coords.empty()) return "0";
  for (std::size_t i = 0; i < coords.size(); ++i) {
    if (i) key += separator;
    key += std::to_string(coords[i]);
  }
  return key;
}

ArrayMeta parse_v2_array(const Json& z, const Json* zattrs, std::string path, std::string display) {
  const std::string where = join_key(display, ".zarray");
  require_object(z, "the document", where);
  ArrayMeta m;
  m.zarr_format = 2;
  m.path = std::move(path);
  m.display = std::move(display);
  const std::int64_t fmt = require_int(require_field(z, "zarr_format", where), "'zarr_format'", where);
  if (fmt != 2) {
    throw MetadataError("'" + where + "': zarr_format " + std::to_string(fmt) +
                        " in a .zarray (expected 2)");
  }
  m.shape = require_int_list(z, "shape", 0, where);
  m.chunk_shape = require_int_list(z, "chunks", 1, where);
  check_rank(m, "chunks", where);
  const Json& dtype_json = require_field(z, "dtype", where);
  const Json filters = z.contains("filters") ? z["filters"] : Json(nullptr);
  if (!filters.is_null() && !filters.is_array()) {
    throw MetadataError("'" + where + "': filters must be null or an array, got " + json_type_name(filters));
  }
  const bool object = is_v2_object_dtype(dtype_json);
  auto [dtype, endian] = object ? std::pair{object_dtype(filters, where), native_endian()}
                                : parse_v2_dtype(dtype_json, where);
  m.dtype = dtype;
  check_sizes(m, where);
  m.fill_value_json = z.contains("fill_value") ? z["fill_value"] : Json(nullptr);
  m.fill_value = parse_fill_value(m.fill_value_json, m.dtype, 2, endian, where);

  const std::string order = require_string(z, "order", where);
  if (order != "C" && order != "F") {
    throw MetadataError("'" + where + "': order must be \"C\" or \"F\", got \"" + order + "\"");
  }
  m.key_encoding = KeyEncoding::V2;
  m.separator = '.';
  if (auto it = z.find("dimension_separator"); it != z.end() && !it->is_null()) {
    if (*it != "." && *it != "/") {
      throw MetadataError("'" + where + "': dimension_separator must be \".\" or \"/\", got " +
                          it->dump());
    }
    m.separator = it->get<std::string>()[0];
  }

  // Normalise to a v3-style chain: [transpose (order F)] + filters + bytes + [compressor].
  if (order == "F" && m.rank() > 1) {
    Json perm = Json::array();
    for (std::size_t i = m.rank(); i-- > 0;) perm.push_back(i);
    m.codecs.push_back({"transpose", Json{{"order", perm}}});
  }
  if (object) {
    // The object codec (filters[0]) turns the items into bytes: it is the array→bytes codec.
    m.codecs.push_back(codec_from_numcodecs(filters[0], "filters[0]", where));
  } else if (!filters.is_null()) {
    for (std::size_t i = 0; i < filters.size(); ++i) {
      m.codecs.push_back(codec_from_numcodecs(filters[i], "filters[" + std::to_string(i) + "]", where));
    }
  }
  // The stored bytes have the byte order of the last filter that changes the type, if any.
  Endian stored = endian;
  for (auto it = m.codecs.begin(); it != m.codecs.end(); ++it) {
    for (const char* field : {"astype", "encode_dtype"}) {
      if (auto f = it->configuration.find(field); f != it->configuration.end() && f->is_string()) {
        auto [t, e] = parse_v2_dtype(*f, where);
        if (t.swap_unit() != 0) stored = e;
      }
    }
  }
  if (!object) m.codecs.push_back({"bytes", Json{{"endian", stored == Endian::Big ? "big" : "little"}}});
  const Json compressor = z.contains("compressor") ? z["compressor"] : Json(nullptr);
  if (!compressor.is_null()) m.codecs.push_back(codec_from_numcodecs(compressor, "compressor", where));
  m.codecs_as_written = Json{{"order", order}, {"filters", filters}, {"compressor", compressor}};

  if (zattrs != nullptr) {
    const std::string attrs_where = join_key(m.display, ".zattrs");
    require_object(*zattrs, "the document", attrs_where);
    m.attributes = *zattrs;
    // xarray's convention for naming dimensions in v2.
    if (auto it = zattrs->find("_ARRAY_DIMENSIONS"); it != zattrs->end() && it->is_array() &&
                                                      it->size() == m.rank()) {
      for (const Json& n : *it) {
        m.dimension_names.push_back(n.is_string() ? std::optional(n.get<std::string>()) : std::nullopt);
      }
    }
  }
  return m;
}

ArrayMeta parse_v3_array(const Json& doc, std::string path, std::string display) {
  const std::string where = join_key(display, "zarr.json");
  require_object(doc, "the document", where);
  ArrayMeta m;
  m.zarr_format = 3;
  m.path = std::move(path);
  m.display = std::move(display);
  static const char* known[] = {"zarr_format",  "node_type",          "shape",
                                "data_type",    "chunk_grid",         "chunk_key_encoding",
                                "fill_value",   "codecs",             "attributes",
                                "dimension_names", "storage_transformers"};
  for (const auto& [key, value] : doc.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    // Extension fields may be ignored only when they say so (v3 spec, "must_understand").
    if (!ok && !(value.is_object() && value.contains("must_understand") &&
                 value["must_understand"] == false)) {
      throw UnsupportedError("'" + where + "': unknown metadata field '" + key + "'");
    }
  }
  m.shape = require_int_list(doc, "shape", 0, where);
  m.dtype = parse_v3_dtype(require_field(doc, "data_type", where), where);

  const Json& grid = require_field(doc, "chunk_grid", where);
  require_object(grid, "chunk_grid", where);
  const std::string grid_name = require_string(grid, "name", where);
  if (grid_name != "regular") {
    throw UnsupportedError("'" + where + "': chunk grid '" + grid_name + "' is not supported");
  }
  const Json& grid_conf = require_field(grid, "configuration", where);
  require_object(grid_conf, "chunk_grid configuration", where);
  m.chunk_shape = require_int_list(grid_conf, "chunk_shape", 1, where);
  check_rank(m, "chunk_shape", where);
  check_sizes(m, where);

  const Json& enc = require_field(doc, "chunk_key_encoding", where);
  require_object(enc, "chunk_key_encoding", where);
  const std::string enc_name = require_string(enc, "name", where);
  if (enc_name == "default") {
    m.key_encoding = KeyEncoding::Default;
    m.separator = '/';
  } else if (enc_name == "v2") {
    m.key_encoding = KeyEncoding::V2;
    m.separator = '.';
  } else {
    throw UnsupportedError("'" + where + "': chunk key encoding '" + enc_name + "' is not supported");
  }
  if (auto it = enc.find("configuration"); it != enc.end()) {
    require_object(*it, "chunk_key_encoding configuration", where);
    if (auto sep = it->find("separator"); sep != it->end()) {
      if (*sep != "." && *sep != "/") {
        throw MetadataError("'" + where + "': chunk key separator must be \".\" or \"/\", got " +
                            sep->dump());
      }
      m.separator = sep->get<std::string>()[0];
    }
  }

  const Json& codecs = require_field(doc, "codecs", where);
  m.codecs = parse_codec_list(codecs, "codecs", where);
  m.codecs_as_written = codecs;
  // zarr-python calls an array sharded, and its inner chunks its chunks, exactly when
  // sharding_indexed is the only codec; a malformed one is the codec chain's error to report.
  if (m.codecs.size() == 1 && m.codecs[0].name == "sharding_indexed") {
    const Json& inner = m.codecs[0].configuration.contains("chunk_shape") ? m.codecs[0].configuration["chunk_shape"] : Json();
    if (inner.is_array() && inner.size() == m.chunk_shape.size() &&
        std::all_of(inner.begin(), inner.end(), [](const Json& v) { return v.is_number_integer() && v.get<std::int64_t>() > 0; })) {
      m.inner_chunk_shape = inner.get<std::vector<std::int64_t>>();
    }
  }

  // The stored byte order lives in the bytes codec; base64 is not a v3 form, so it is unused here.
  m.fill_value_json = require_field(doc, "fill_value", where);
  m.fill_value = parse_fill_value(m.fill_value_json, m.dtype, 3, native_endian(), where);

  if (auto it = doc.find("attributes"); it != doc.end()) {
    require_object(*it, "attributes", where);
    m.attributes = *it;
  }
  if (auto it = doc.find("dimension_names"); it != doc.end() && !it->is_null()) {
    if (!it->is_array() || it->size() != m.rank()) {
      throw MetadataError("'" + where + "': dimension_names must be an array of " +
                          std::to_string(m.rank()) + " names, got " + it->dump());
    }
    for (const Json& n : *it) {
      if (!n.is_null() && !n.is_string()) {
        throw MetadataError("'" + where + "': dimension_names entries must be strings or null, got " +
                            n.dump());
      }
      m.dimension_names.push_back(n.is_string() ? std::optional(n.get<std::string>()) : std::nullopt);
    }
  }
  if (auto it = doc.find("storage_transformers"); it != doc.end()) {
    if (!it->is_array()) {
      throw MetadataError("'" + where + "': storage_transformers must be an array");
    }
    if (!it->empty()) {
      throw UnsupportedError("'" + where + "': storage transformers are not supported (" +
                             it->dump() + ")");
    }
  }
  return m;
}

}  // namespace cuzarr::metadata
