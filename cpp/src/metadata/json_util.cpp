#include "metadata/json_util.hpp"

#include "cuzarr/error.hpp"

namespace cuzarr::metadata {
namespace {

// No Zarr document nests anywhere near this deep. The JSON library parses without recursion but
// copies and prints documents recursively, so a hostile depth (a .zattrs of 200000 '[') would
// overflow the stack later.
constexpr int kMaxDepth = 512;

// Offset of the bracket that opens level kMaxDepth + 1, outside strings; npos when none does.
std::size_t too_deep_at(std::string_view text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

std::string line_and_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

Json parse_json(std::span<const std::byte> text, const std::string& where) {
  const char* begin = reinterpret_cast<const char*>(text.data());
  const std::string_view view(begin, text.size());
  if (const std::size_t at = too_deep_at(view); at != std::string_view::npos) {
    throw MetadataError("malformed JSON in '" + where + "' at " + line_and_column(view, at) +
                        ": nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  try {
    return Json::parse(begin, begin + text.size());
  } catch (const Json::parse_error& e) {
    // e.byte is 1-based and may point one past the end for truncated documents.
    std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    if (offset > text.size()) offset = text.size();
    // e.what() reads "[json.exception.parse_error.101] parse error at line L, column C: <detail>";
    // keep only the detail, since the position is reported above in our own terms.
    std::string detail = e.what();
    if (auto col = detail.find("column "); col != std::string::npos) {
      if (auto colon = detail.find(": ", col); colon != std::string::npos) detail = detail.substr(colon + 2);
    }
    throw MetadataError("malformed JSON in '" + where + "' at " + line_and_column(view, offset) + ": " + detail);
  } catch (const Json::exception& e) {
    // Valid syntax the library still refuses, e.g. a number beyond a double ("1e400": out_of_range
    // 406, which carries no position). Keep the description, drop the "[json.exception...] " tag.
    std::string detail = e.what();
    if (auto tag = detail.find("] "); detail.starts_with("[json.exception") && tag != std::string::npos) {
      detail = detail.substr(tag + 2);
    }
    throw MetadataError("unreadable JSON in '" + where + "': " + detail);
  }
}

std::string json_type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a number";
    default: return "an unexpected value";
  }
}

void require_object(const Json& value, const std::string& what, const std::string& where) {
  if (!value.is_object()) {
    throw MetadataError("'" + where + "': " + what + " must be a JSON object, got " +
                        json_type_name(value));
  }
}

const Json& require_field(const Json& obj, std::string_view field, const std::string& where) {
  auto it = obj.find(field);
  if (it == obj.end()) {
    throw MetadataError("'" + where + "': missing required field '" + std::string(field) + "'");
  }
  return *it;
}

std::string require_string(const Json& obj, std::string_view field, const std::string& where) {
  const Json& v = require_field(obj, field, where);
  if (!v.is_string()) {
    throw MetadataError("'" + where + "': field '" + std::string(field) +
                        "' must be a string, got " + json_type_name(v));
  }
  return v.get<std::string>();
}

std::int64_t require_int(const Json& value, const std::string& what, const std::string& where) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      throw MetadataError("'" + where + "': " + what + " is too large");
    }
    return value.get<std::int64_t>();
  }
  throw MetadataError("'" + where + "': " + what + " must be an integer, got " +
                      json_type_name(value) + (value.is_primitive() ? " " + value.dump() : ""));
}

std::vector<std::int64_t> require_int_list(const Json& obj, std::string_view field,
                                           std::int64_t min_value, const std::string& where) {
  const Json& v = require_field(obj, field, where);
  if (!v.is_array()) {
    throw MetadataError("'" + where + "': field '" + std::string(field) +
                        "' must be an array of integers, got " + json_type_name(v));
  }
  std::vector<std::int64_t> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string what = "'" + std::string(field) + "'[" + std::to_string(i) + "]";
    std::int64_t x = require_int(v[i], what, where);
    if (x < min_value) {
      throw MetadataError("'" + where + "': " + what + " = " + std::to_string(x) +
                          " must be >= " + std::to_string(min_value));
    }
    out.push_back(x);
  }
  return out;
}

}  // namespace cuzarr::metadata
