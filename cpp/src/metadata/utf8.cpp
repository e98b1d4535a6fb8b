#include "metadata/utf8.hpp"

#include <cstddef>
#include <cstdint>

namespace cuzarr::metadata {
namespace {

// One code point starting at text[i]; advances i. Returns false on a malformed sequence.
bool next_code_point(std::string_view text, std::size_t& i, char32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    cp = b0;
    ++i;
    return true;
  }
  int extra;
  char32_t min;
  if ((b0 & 0xe0) == 0xc0) {
    extra = 1, min = 0x80, cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    extra = 2, min = 0x800, cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    extra = 3, min = 0x10000, cp = b0 & 0x07;
  } else {
    return false;  // a continuation byte or 0xf8..0xff in lead position
  }
  if (text.size() - i <= static_cast<std::size_t>(extra)) return false;
  for (int k = 1; k <= extra; ++k) {
    const std::uint8_t b = byte(i + static_cast<std::size_t>(k));
    if ((b & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  i += static_cast<std::size_t>(extra) + 1;
  return true;
}

}  // namespace

bool decode_utf8(std::string_view text, std::vector<char32_t>& out) {
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    if (!next_code_point(text, i, cp)) return false;
    out.push_back(cp);
  }
  return true;
}

bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    // Runs of ASCII are the common case.
    if (static_cast<std::uint8_t>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp = 0;
    if (!next_code_point(text, i, cp)) return false;
  }
  return true;
}

}  // namespace cuzarr::metadata
