// numcodecs LZMA (Python's lzma module): .xz, legacy .lzma and raw streams, decoded with liblzma.
#include "codec/compressors.hpp"

#if CUZARR_WITH_LZMA
#include <lzma.h>

#include <limits>
#include <vector>

#include "codec/stream_decode.hpp"

namespace cuzarr::codec {

using stream::fail;
using stream::fail_if_out_of_memory;
using stream::run_stream;

namespace {

// A raw stream's filter chain, as Python's lzma module spells it in numcodecs' configuration;
// the option structs live in `storage` (the chain points into it).
struct RawFilters {
  std::vector<lzma_options_lzma> lzma;
  std::vector<lzma_options_delta> delta;
  std::vector<lzma_options_bcj> bcj;
  std::vector<lzma_filter> chain;
};

RawFilters raw_filters(const metadata::Json& filters, const std::string& where) {
  auto bad = [&](const std::string& why) -> RawFilters {
    throw MetadataError(where + ": 'filters' " + filters.dump() + ": " + why);
  };
  if (!filters.is_array() || filters.empty() || filters.size() > LZMA_FILTERS_MAX) {
    return bad("a raw stream needs a list of 1 to 4 filters");
  }
  RawFilters r;
  // Reserved up front: the chain keeps pointers into these vectors.
  r.lzma.reserve(filters.size());
  r.delta.reserve(filters.size());
  r.bcj.reserve(filters.size());
  auto number = [&](const metadata::Json& f, const char* key, std::uint64_t fallback) -> std::uint64_t {
    if (!f.contains(key) || f[key].is_null()) return fallback;
    if (!f[key].is_number_unsigned()) bad(std::string("'") + key + "' must be a non-negative integer");
    return f[key].get<std::uint64_t>();
  };
  for (const metadata::Json& f : filters) {
    if (!f.is_object() || !f.contains("id") || !f["id"].is_number_unsigned()) bad("each filter needs an integer 'id'");
    const auto id = f["id"].get<std::uint64_t>();
    void* options = nullptr;
    if (id == LZMA_FILTER_LZMA1 || id == LZMA_FILTER_LZMA2) {
      lzma_options_lzma o{};
      const std::uint64_t preset = number(f, "preset", LZMA_PRESET_DEFAULT);
      if (preset > std::numeric_limits<std::uint32_t>::max() || lzma_lzma_preset(&o, static_cast<std::uint32_t>(preset))) {
        bad("unknown preset " + std::to_string(preset));
      }
      o.dict_size = static_cast<std::uint32_t>(std::min<std::uint64_t>(number(f, "dict_size", o.dict_size), UINT32_MAX));
      o.lc = static_cast<std::uint32_t>(std::min<std::uint64_t>(number(f, "lc", o.lc), 8));
      o.lp = static_cast<std::uint32_t>(std::min<std::uint64_t>(number(f, "lp", o.lp), 8));
      o.pb = static_cast<std::uint32_t>(std::min<std::uint64_t>(number(f, "pb", o.pb), 8));
      r.lzma.push_back(o);
      options = &r.lzma.back();
    } else if (id == LZMA_FILTER_DELTA) {
      lzma_options_delta o{};
      o.type = LZMA_DELTA_TYPE_BYTE;
      o.dist = static_cast<std::uint32_t>(number(f, "dist", 1));
      if (o.dist < LZMA_DELTA_DIST_MIN || o.dist > LZMA_DELTA_DIST_MAX) bad("'dist' must be in [1, 256]");
      r.delta.push_back(o);
      options = &r.delta.back();
    } else if (id == LZMA_FILTER_X86 || id == LZMA_FILTER_POWERPC || id == LZMA_FILTER_IA64 ||
               id == LZMA_FILTER_ARM || id == LZMA_FILTER_ARMTHUMB || id == LZMA_FILTER_SPARC) {
      lzma_options_bcj o{};
      o.start_offset = static_cast<std::uint32_t>(std::min<std::uint64_t>(number(f, "start_offset", 0), UINT32_MAX));
      r.bcj.push_back(o);
      options = &r.bcj.back();
    } else {
      bad("filter id " + std::to_string(id) + " is not one liblzma decodes");
    }
    r.chain.push_back(lzma_filter{static_cast<lzma_vli>(id), options});
  }
  r.chain.push_back(lzma_filter{LZMA_VLI_UNKNOWN, nullptr});
  return r;
}

struct LzmaStream {
  lzma_stream s = LZMA_STREAM_INIT;
  ~LzmaStream() { lzma_end(&s); }
};

// Enough for any preset (9e needs 65 MiB); a corrupt header asking for more is refused.
constexpr std::uint64_t kLzmaMemoryLimit = std::uint64_t{1} << 30;

}  // namespace

LzmaCodec::LzmaCodec(std::string name, const metadata::Json& conf, const std::string& array) : name_(std::move(name)) {
  const std::string where = "array '" + array + "': codec '" + name_ + "'";
  if (conf.contains("format") && !conf["format"].is_null()) {
    if (!conf["format"].is_number_integer() || conf["format"].get<std::int64_t>() < 0 ||
        conf["format"].get<std::int64_t>() > 3) {
      throw MetadataError(where + ": 'format' must be 0 (auto), 1 (xz), 2 (alone) or 3 (raw)");
    }
    format_ = conf["format"].get<int>();
  }
  filters_ = conf.contains("filters") ? conf["filters"] : metadata::Json(nullptr);
  if (format_ == 3) {
    raw_filters(filters_, where);  // validates
  } else if (!filters_.is_null()) {
    throw MetadataError(where + ": 'filters' are only for raw streams (format 3)");
  }
}

Buffer LzmaCodec::decode(Buffer in, std::optional<std::int64_t> expected, const DecodeContext& ctx) const {
  LzmaStream stream;
  lzma_ret init = LZMA_OK;
  RawFilters raw;
  switch (format_) {
    case 0: init = lzma_auto_decoder(&stream.s, kLzmaMemoryLimit, LZMA_CONCATENATED); break;
    case 1: init = lzma_stream_decoder(&stream.s, kLzmaMemoryLimit, LZMA_CONCATENATED); break;
    case 2: init = lzma_alone_decoder(&stream.s, kLzmaMemoryLimit); break;
    default:
      raw = raw_filters(filters_, ctx.describe(name()));
      init = lzma_raw_decoder(&stream.s, raw.chain.data());
      break;
  }
  fail_if_out_of_memory(init == LZMA_MEM_ERROR);
  if (init != LZMA_OK) fail(ctx, name(), "cannot initialise liblzma (error " + std::to_string(init) + ")");
  stream.s.next_in = reinterpret_cast<const std::uint8_t*>(in.data());
  stream.s.avail_in = in.size();
  return run_stream(ctx, name(), expected, static_cast<std::int64_t>(in.size()),
                    [&](std::byte* out, std::size_t avail) -> std::pair<std::size_t, bool> {
                      stream.s.next_out = reinterpret_cast<std::uint8_t*>(out);
                      stream.s.avail_out = avail;
                      const lzma_ret r = lzma_code(&stream.s, LZMA_FINISH);
                      const std::size_t written = avail - stream.s.avail_out;
                      if (r == LZMA_STREAM_END) {
                        if (stream.s.avail_in != 0) {
                          fail(ctx, name(), std::to_string(stream.s.avail_in) + " bytes of trailing data after the stream");
                        }
                        return {written, true};
                      }
                      fail_if_out_of_memory(r == LZMA_MEM_ERROR);
                      if (r == LZMA_MEMLIMIT_ERROR) fail(ctx, name(), "stream needs more than 1 GiB to decode");
                      if (r == LZMA_BUF_ERROR && stream.s.avail_out != 0) fail(ctx, name(), "truncated stream");
                      if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
                        fail(ctx, name(), "corrupt stream (liblzma error " + std::to_string(r) + ")");
                      }
                      return {written, false};
                    });
}

}  // namespace cuzarr::codec
#endif
