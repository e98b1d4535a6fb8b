// The format-neutral description of one array, produced from v2 or v3 metadata. v2 specifics
// (order "F", compressor, filters, dtype byte order) are normalised into a v3-style codec list
// so that one codec chain serves both formats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cuzarr/dtype.hpp"
#include "metadata/json_util.hpp"

namespace cuzarr::metadata {

struct CodecSpec {
  std::string name;    // v3 codec name, or the numcodecs id for v2 compressors and filters
  Json configuration;  // object (possibly empty)
};

enum class KeyEncoding { Default, V2 };

struct ArrayMeta {
  int zarr_format = 3;
  std::string path;     // node path inside the store ("" for the store root)
  std::string display;  // location for messages: "<store>/<path>"
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> chunk_shape;        // of the chunk grid: what one stored object holds
  std::vector<std::int64_t> inner_chunk_shape;  // sharding's inner chunks when sharding_indexed is
                                                // the only codec (zarr-python's sharded arrays), else empty
  DataType dtype;
  std::vector<std::byte> fill_value;  // one element, native byte order
  Json fill_value_json;               // as written in the metadata
  std::vector<std::optional<std::string>> dimension_names;  // empty when not given
  Json attributes = Json::object();
  KeyEncoding key_encoding = KeyEncoding::Default;
  char separator = '/';
  std::vector<CodecSpec> codecs;  // decode runs them in reverse
  Json codecs_as_written;         // v3 "codecs", or v2 {order, filters, compressor}

  std::size_t rank() const { return shape.size(); }
  // Key of a chunk relative to the array ("c/0/1", "0.1", "c" or "0" for 0-d arrays).
  std::string chunk_key(std::span<const std::int64_t> chunk_coords) const;
};

// A v3 codec list (objects {name, configuration} or bare names); `what` names it in messages.
std::vector<CodecSpec> parse_codec_list(const Json& codecs, const std::string& what,
                                        const std::string& where);

// Parse a v2 ".zarray" (with its optional ".zattrs") or a v3 array "zarr.json".
ArrayMeta parse_v2_array(const Json& zarray, const Json* zattrs, std::string path,
                         std::string display);
ArrayMeta parse_v3_array(const Json& doc, std::string path, std::string display);

}  // namespace cuzarr::metadata
