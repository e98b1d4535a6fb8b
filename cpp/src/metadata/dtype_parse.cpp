#include "metadata/dtype_parse.hpp"

#include <array>
#include <cctype>

#include "cuzarr/error.hpp"

namespace cuzarr::metadata {
namespace {

bool valid_time_unit(const std::string& unit) {
  // An optional decimal multiplier followed by a NumPy unit code ("ns", "10s", "D").
  std::size_t i = 0;
  while (i < unit.size() && std::isdigit(static_cast<unsigned char>(unit[i]))) ++i;
  static const std::array<const char*, 13> units = {"Y", "M", "W", "D", "h", "m", "s",
                                                     "ms", "us", "ns", "ps", "fs", "as"};
  const std::string code = unit.substr(i);
  for (const char* u : units) {
    if (code == u) return true;
  }
  return false;
}

}  // namespace

std::pair<DataType, Endian> parse_v2_dtype(const Json& dtype, const std::string& where) {
  if (dtype.is_array()) {
    throw UnsupportedError("'" + where + "': structured dtype " + dtype.dump() +
                           " is not supported");
  }
  if (!dtype.is_string()) {
    throw MetadataError("'" + where + "': field 'dtype' must be a string, got " +
                        json_type_name(dtype));
  }
  const std::string s = dtype.get<std::string>();
  auto unknown = [&]() -> std::pair<DataType, Endian> {
    throw MetadataError("'" + where + "': unknown dtype '" + s + "'");
  };
  if (s.size() >= 2 && (s[1] == 'O' || s[1] == 'V')) {
    // Object arrays are resolved by parse_v2_array, which knows their object codec.
    throw UnsupportedError("'" + where + "': dtype '" + s + "' (raw bytes, objects) is not supported");
  }
  if (s.size() < 3) return unknown();
  const char order = s[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') return unknown();
  const char code = s[1];
  DataType t;
  std::string rest = s.substr(2);
  if (code == 'M' || code == 'm') {
    // "M8[ns]"
    if (rest.size() < 4 || rest[0] != '8' || rest[1] != '[' || rest.back() != ']') {
      return unknown();
    }
    t.kind = code == 'M' ? DTypeKind::DateTime : DTypeKind::TimeDelta;
    t.size = 8;
    t.unit = rest.substr(2, rest.size() - 3);
    if (!valid_time_unit(t.unit)) return unknown();
  } else {
    int size = 0;
    for (char c : rest) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || size > (1 << 24)) return unknown();
      size = size * 10 + (c - '0');
    }
    t.size = size;
    switch (code) {
      case 'b': t.kind = DTypeKind::Bool; if (size != 1) return unknown(); break;
      case 'i': t.kind = DTypeKind::Int; break;
      case 'u': t.kind = DTypeKind::UInt; break;
      case 'f': t.kind = DTypeKind::Float; break;
      case 'c': t.kind = DTypeKind::Complex; break;
      case 'S': t.kind = DTypeKind::Bytes; break;
      case 'U': t.kind = DTypeKind::Unicode; break;
      default: return unknown();
    }
    const bool ok_int = size == 1 || size == 2 || size == 4 || size == 8;
    if ((t.kind == DTypeKind::Int || t.kind == DTypeKind::UInt) && !ok_int) return unknown();
    if (t.kind == DTypeKind::Float && size != 2 && size != 4 && size != 8) {
      if (size == 16 || size == 12) {
        throw UnsupportedError("'" + where + "': dtype '" + s + "' (long double) is not supported");
      }
      return unknown();
    }
    if (t.kind == DTypeKind::Complex && size != 8 && size != 16) return unknown();
    if (t.kind == DTypeKind::Bytes || t.kind == DTypeKind::Unicode) {
      // "S0"/"U0" have no room for text; the size bound keeps n * 4 and chunk sizes in range.
      if (size < 1 || size > (1 << 24)) return unknown();
      if (t.kind == DTypeKind::Unicode) t.size = size * 4;
    }
  }
  Endian e = order == '>' ? Endian::Big : order == '<' ? Endian::Little : native_endian();
  if (t.swap_unit() == 0) e = native_endian();
  return {t, e};
}

namespace {

// {"name": "fixed_length_utf32" | "null_terminated_bytes", "configuration": {"length_bytes": n}},
// as zarr-python 3 writes NumPy's "U<n>" and "S<n>".
DataType parse_v3_fixed_text(const Json& data_type, const std::string& name, const std::string& where) {
  const Json conf = data_type.contains("configuration") ? data_type["configuration"] : Json::object();
  require_object(conf, "data_type configuration", where);
  const Json& length = require_field(conf, "length_bytes", where);
  const std::int64_t n = require_int(length, "'length_bytes'", where);
  const bool utf32 = name == "fixed_length_utf32";
  if (n < 1 || n > (std::int64_t{1} << 26) || (utf32 && n % 4 != 0)) {
    throw MetadataError("'" + where + "': data type '" + name + "' has length_bytes " + length.dump() +
                        (utf32 ? " (must be a positive multiple of 4)" : " (must be positive)"));
  }
  return DataType{utf32 ? DTypeKind::Unicode : DTypeKind::Bytes, static_cast<int>(n), {}};
}

}  // namespace

DataType parse_v3_dtype(const Json& data_type, const std::string& where) {
  if (data_type.is_object()) {
    const std::string name = data_type.contains("name") && data_type["name"].is_string()
                                 ? data_type["name"].get<std::string>()
                                 : data_type.dump();
    if (name == "fixed_length_utf32" || name == "null_terminated_bytes") {
      return parse_v3_fixed_text(data_type, name, where);
    }
    if (name == "string" || name == "variable_length_bytes" || name == "bytes") {
      return parse_v3_dtype(Json(name), where);
    }
    throw UnsupportedError("'" + where + "': data type '" + name + "' is not supported");
  }
  if (!data_type.is_string()) {
    throw MetadataError("'" + where + "': field 'data_type' must be a string, got " +
                        json_type_name(data_type));
  }
  const std::string s = data_type.get<std::string>();
  // zarr-python 3 writes "variable_length_bytes"; the zarr-extensions registry names it "bytes".
  if (s == "string") return DataType{DTypeKind::String, kVlenRecordSize, {}};
  if (s == "variable_length_bytes" || s == "bytes") return DataType{DTypeKind::VlenBytes, kVlenRecordSize, {}};
  struct Entry {
    const char* name;
    DTypeKind kind;
    int size;
  };
  static const std::array<Entry, 14> table = {{
      {"bool", DTypeKind::Bool, 1},      {"int8", DTypeKind::Int, 1},
      {"int16", DTypeKind::Int, 2},      {"int32", DTypeKind::Int, 4},
      {"int64", DTypeKind::Int, 8},      {"uint8", DTypeKind::UInt, 1},
      {"uint16", DTypeKind::UInt, 2},    {"uint32", DTypeKind::UInt, 4},
      {"uint64", DTypeKind::UInt, 8},    {"float16", DTypeKind::Float, 2},
      {"float32", DTypeKind::Float, 4},  {"float64", DTypeKind::Float, 8},
      {"complex64", DTypeKind::Complex, 8}, {"complex128", DTypeKind::Complex, 16},
  }};
  for (const Entry& e : table) {
    if (s == e.name) return DataType{e.kind, e.size, {}};
  }
  if (s.starts_with("r") || s.starts_with("numpy.") ||
      s == "bfloat16") {
    throw UnsupportedError("'" + where + "': data type '" + s + "' is not supported");
  }
  throw MetadataError("'" + where + "': unknown data type '" + s + "'");
}

}  // namespace cuzarr::metadata
