#include "metadata/fill_value.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "cuzarr/error.hpp"
#include "metadata/utf8.hpp"

namespace cuzarr::metadata {
namespace {

[[noreturn]] void bad_fill(const Json& v, const DataType& t, const std::string& where,
                           const std::string& why = "") {
  throw MetadataError("'" + where + "': fill_value " + v.dump() + " is not valid for data type " +
                      t.name() + (why.empty() ? "" : " (" + why + ")"));
}

template <typename T>
void put(std::byte* dst, T value) {
  std::memcpy(dst, &value, sizeof(T));
}

bool parse_hex_bits(const std::string& s, int size, std::uint64_t& bits) {
  if (s.size() != static_cast<std::size_t>(2 + 2 * size) || s[0] != '0' || s[1] != 'x') {
    return false;
  }
  bits = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    const char c = s[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    bits = (bits << 4) | static_cast<std::uint64_t>(d);
  }
  return true;
}

// One float of `size` bytes from a JSON number, special string or (v3) hex bit pattern.
void put_float(std::byte* dst, int size, const Json& v, const Json& whole, const DataType& t,
               int zarr_format, const std::string& where) {
  double d = 0;
  if (v.is_number()) {
    d = v.get<double>();
  } else if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "NaN") {
      d = std::numeric_limits<double>::quiet_NaN();
    } else if (s == "Infinity") {
      d = std::numeric_limits<double>::infinity();
    } else if (s == "-Infinity") {
      d = -std::numeric_limits<double>::infinity();
    } else if (std::uint64_t bits = 0; zarr_format == 3 && parse_hex_bits(s, size, bits)) {
      if (size == 2) put(dst, static_cast<std::uint16_t>(bits));
      else if (size == 4) put(dst, static_cast<std::uint32_t>(bits));
      else put(dst, bits);
      return;
    } else {
      bad_fill(whole, t, where, "unknown string '" + s + "'");
    }
  } else {
    bad_fill(whole, t, where);
  }
  if (size == 2) put(dst, float_to_half_bits(d));
  else if (size == 4) put(dst, static_cast<float>(d));
  else put(dst, d);
}

void put_integer(std::byte* dst, const DataType& t, const Json& v, const std::string& where) {
  const int bits = t.size * 8;
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d)) bad_fill(v, t, where, "not an integer");
    // Range-check before converting: a double outside the target range has no integer value.
    const double lo = t.kind == DTypeKind::UInt ? 0.0 : -std::ldexp(1.0, bits - 1);
    const double hi = t.kind == DTypeKind::UInt ? std::ldexp(1.0, bits) : std::ldexp(1.0, bits - 1);
    if (d < lo || d >= hi) bad_fill(v, t, where, "out of range");
  } else if (!v.is_number_integer()) {
    bad_fill(v, t, where);
  }
  if (t.kind == DTypeKind::UInt) {
    if (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 0) {
      bad_fill(v, t, where, "negative");
    }
    if (v.is_number_float() && v.get<double>() < 0) bad_fill(v, t, where, "negative");
    const std::uint64_t x = v.is_number_float() ? static_cast<std::uint64_t>(v.get<double>())
                                                : v.get<std::uint64_t>();
    if (bits < 64 && x >> bits) bad_fill(v, t, where, "out of range");
    switch (t.size) {
      case 1: put(dst, static_cast<std::uint8_t>(x)); break;
      case 2: put(dst, static_cast<std::uint16_t>(x)); break;
      case 4: put(dst, static_cast<std::uint32_t>(x)); break;
      default: put(dst, x); break;
    }
    return;
  }
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    bad_fill(v, t, where, "out of range");
  }
  const std::int64_t x = v.is_number_float() ? static_cast<std::int64_t>(v.get<double>())
                                             : v.get<std::int64_t>();
  if (bits < 64) {
    const std::int64_t lo = -(std::int64_t{1} << (bits - 1));
    const std::int64_t hi = (std::int64_t{1} << (bits - 1)) - 1;
    if (x < lo || x > hi) bad_fill(v, t, where, "out of range");
  }
  switch (t.size) {
    case 1: put(dst, static_cast<std::int8_t>(x)); break;
    case 2: put(dst, static_cast<std::int16_t>(x)); break;
    case 4: put(dst, static_cast<std::int32_t>(x)); break;
    default: put(dst, x); break;
  }
}

void byteswap_elements(std::byte* data, int size, int parts) {
  const int part = size / parts;
  for (int p = 0; p < parts; ++p) std::reverse(data + p * part, data + (p + 1) * part);
}

std::string fill_text(const Json& v, const DataType& t, const std::string& where) {
  if (!v.is_string()) bad_fill(v, t, where, "expected a string");
  return v.get<std::string>();
}

// Text kinds: "S<n>" and variable-length bytes as base64 (both formats, as zarr-python writes
// them), "U<n>" and strings as JSON text. A variable-length fill is one record and its bytes.
std::vector<std::byte> parse_text_fill(const Json& v, const DataType& t, const std::string& where) {
  std::vector<std::byte> item;
  if (v.is_null()) {
    // No fill value (v2 object arrays): missing chunks read as empty items.
  } else if (t.kind == DTypeKind::Bytes || t.kind == DTypeKind::VlenBytes) {
    item = decode_base64(fill_text(v, t, where), where);
  } else if (t.kind == DTypeKind::Unicode || t.kind == DTypeKind::String) {
    const std::string text = fill_text(v, t, where);
    if (t.kind == DTypeKind::String) {
      if (!valid_utf8(text)) bad_fill(v, t, where, "not UTF-8");
      item.resize(text.size());
      if (!text.empty()) std::memcpy(item.data(), text.data(), text.size());
    } else {
      std::vector<char32_t> cps;
      if (!decode_utf8(text, cps)) bad_fill(v, t, where, "not UTF-8");
      item.resize(cps.size() * 4);
      for (std::size_t i = 0; i < cps.size(); ++i) put(item.data() + 4 * i, static_cast<std::uint32_t>(cps[i]));
    }
  } else {
    bad_fill(v, t, where, "only null is supported for vlen-array items");
  }
  if (!t.is_vlen()) {
    if (item.size() > static_cast<std::size_t>(t.size)) bad_fill(v, t, where, "longer than the data type");
    item.resize(static_cast<std::size_t>(t.size), std::byte{0});  // NUL padded, as NumPy stores it
    return item;
  }
  std::vector<std::byte> out(kVlenRecordSize + item.size());
  put(out.data(), std::int64_t{kVlenRecordSize});
  put(out.data() + 8, static_cast<std::int64_t>(item.size()));
  if (!item.empty()) std::memcpy(out.data() + kVlenRecordSize, item.data(), item.size());
  return out;
}

}  // namespace

std::uint16_t float_to_half_bits(double value) {
  const std::uint64_t b = std::bit_cast<std::uint64_t>(value);
  const std::uint16_t sign = static_cast<std::uint16_t>((b >> 63) << 15);
  const int exp = static_cast<int>((b >> 52) & 0x7ff);
  const std::uint64_t mant = b & ((std::uint64_t{1} << 52) - 1);
  if (exp == 0x7ff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const int e = exp - 1023;
  if (e > 15) return sign | 0x7c00;
  auto round_shift = [](std::uint64_t m, int shift) {
    std::uint64_t h = m >> shift;
    const std::uint64_t rem = m & ((std::uint64_t{1} << shift) - 1);
    const std::uint64_t half = std::uint64_t{1} << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return h;
  };
  if (e >= -14) {
    std::uint64_t h = round_shift(mant, 42);
    std::uint64_t he = static_cast<std::uint64_t>(e + 15);
    if (h == 0x400) {
      h = 0;
      ++he;
    }
    if (he >= 31) return sign | 0x7c00;
    return static_cast<std::uint16_t>(sign | (he << 10) | h);
  }
  if (exp == 0) return sign;  // zero or a double subnormal: far below half precision
  const int shift = 28 - e;   // value in units of 2^-24 is (1.mant << 52) >> shift
  if (shift > 63) return sign;
  return static_cast<std::uint16_t>(sign | round_shift(mant | (std::uint64_t{1} << 52), shift));
}

std::optional<std::vector<std::byte>> try_decode_base64(std::string_view text) {
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string_view s = text;
  std::size_t pad = 0;
  while (!s.empty() && s.back() == '=' && pad < 2) {
    s.remove_suffix(1);
    ++pad;
  }
  if ((s.size() + pad) % 4 != 0 || s.size() % 4 == 1) return std::nullopt;
  std::vector<std::byte> out;
  out.reserve(s.size() * 3 / 4);
  std::uint32_t acc = 0;
  int nbits = 0;
  for (char c : s) {
    const int v = value_of(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<std::byte>((acc >> nbits) & 0xff));
    }
  }
  return out;
}

std::vector<std::byte> decode_base64(const std::string& text, const std::string& where) {
  std::optional<std::vector<std::byte>> out = try_decode_base64(text);
  if (!out) throw MetadataError("'" + where + "': fill_value '" + text + "' is not valid base64");
  return std::move(*out);
}

std::vector<std::byte> parse_fill_value(const Json& v, const DataType& t, int zarr_format,
                                        Endian stored, const std::string& where) {
  if (t.kind == DTypeKind::Bytes || t.kind == DTypeKind::Unicode || t.is_vlen()) {
    return parse_text_fill(v, t, where);
  }
  std::vector<std::byte> out(static_cast<std::size_t>(t.size), std::byte{0});
  if (v.is_null()) {
    if (zarr_format == 3) throw MetadataError("'" + where + "': fill_value must not be null");
    return out;  // zarr-python reads a v2 null fill value as zeros
  }
  const bool float_word =
      v.is_string() && (v == "NaN" || v == "Infinity" || v == "-Infinity" ||
                        (zarr_format == 3 && v.get<std::string>().starts_with("0x")));
  if (zarr_format == 2 && v.is_string() && !float_word && v != "NaT") {
    // zarr v2 writes fill values it cannot express in JSON as base64 of the raw element.
    std::vector<std::byte> raw = decode_base64(v.get<std::string>(), where);
    if (raw.size() != out.size()) {
      bad_fill(v, t, where, "base64 decodes to " + std::to_string(raw.size()) + " bytes, expected " +
                                std::to_string(out.size()));
    }
    if (stored != native_endian() && t.swap_unit() != 0) {
      byteswap_elements(raw.data(), t.size, t.kind == DTypeKind::Complex ? 2 : 1);
    }
    return raw;
  }
  switch (t.kind) {
    case DTypeKind::Bool:
      if (v.is_boolean()) out[0] = std::byte{v.get<bool>() ? std::uint8_t{1} : std::uint8_t{0}};
      else if (v.is_number_integer() && (v == 0 || v == 1)) out[0] = std::byte{v == 1 ? std::uint8_t{1} : std::uint8_t{0}};
      else bad_fill(v, t, where);
      break;
    case DTypeKind::Int:
    case DTypeKind::UInt:
      put_integer(out.data(), t, v, where);
      break;
    case DTypeKind::DateTime:
    case DTypeKind::TimeDelta:
      if (v == "NaT") put(out.data(), std::numeric_limits<std::int64_t>::min());
      else put_integer(out.data(), DataType{DTypeKind::Int, 8, {}}, v, where);
      break;
    case DTypeKind::Float:
      put_float(out.data(), t.size, v, v, t, zarr_format, where);
      break;
    case DTypeKind::Complex:
      if (!v.is_array() || v.size() != 2) bad_fill(v, t, where, "expected [real, imag]");
      put_float(out.data(), t.size / 2, v[0], v, t, zarr_format, where);
      put_float(out.data() + t.size / 2, t.size / 2, v[1], v, t, zarr_format, where);
      break;
    default:
      break;  // text kinds returned above
  }
  return out;
}

}  // namespace cuzarr::metadata
