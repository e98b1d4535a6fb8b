// UTF-8 checks and decoding, for text data types (vlen-utf8 items, fill values of "U<n>").
#pragma once

#include <string_view>
#include <vector>

namespace cuzarr::metadata {

// Appends the code points of `text` to `out`; false (with `out` partly filled) when `text` is not
// well-formed UTF-8 (overlong forms, surrogates and values above U+10FFFF included).
bool decode_utf8(std::string_view text, std::vector<char32_t>& out);

// Whether `text` is well-formed UTF-8.
bool valid_utf8(std::string_view text);

}  // namespace cuzarr::metadata
