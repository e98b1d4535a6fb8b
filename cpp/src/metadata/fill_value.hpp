// Fill values in every form the two formats allow, decoded to one element in native byte order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/dtype.hpp"
#include "metadata/json_util.hpp"

namespace cuzarr::metadata {

// v2: null (zeros, as zarr-python reads it), numbers, "NaN"/"Infinity"/"-Infinity", [re, im] for
// complex, "NaT" for datetimes, and base64 of the raw element (bytes in `stored` order).
// v3: numbers, the three special strings, "0x…" bit patterns for floats, [re, im], true/false.
// Text (both formats): base64 for "S<n>" and variable-length bytes, JSON text for "U<n>" and
// strings; a variable-length fill is one record (kVlenRecordSize) followed by the item's bytes.
std::vector<std::byte> parse_fill_value(const Json& value, const DataType& dtype, int zarr_format,
                                        Endian stored, const std::string& where);

// IEEE binary16 bits nearest to `value` (round half to even).
std::uint16_t float_to_half_bits(double value);

// Decodes standard base64 (with '=' padding); nullopt for text that is not.
std::optional<std::vector<std::byte>> try_decode_base64(std::string_view text);
// The same; throws MetadataError naming `where` on bad input.
std::vector<std::byte> decode_base64(const std::string& text, const std::string& where);

}  // namespace cuzarr::metadata
