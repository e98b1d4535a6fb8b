// Typed access to metadata JSON. Every failure is a MetadataError that names the document and
// the field, so "wrong JSON type" never surfaces as a bare nlohmann exception.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cuzarr::metadata {

using Json = nlohmann::json;

// Parses `text` from the document `where` (e.g. "data.zarr/temp/.zarray"); syntax errors give the
// line and column.
Json parse_json(std::span<const std::byte> text, const std::string& where);

// A description of a JSON value's type for messages: "a string", "an array", ...
std::string json_type_name(const Json& value);

const Json& require_field(const Json& obj, std::string_view field, const std::string& where);
void require_object(const Json& value, const std::string& what, const std::string& where);
std::string require_string(const Json& obj, std::string_view field, const std::string& where);
std::int64_t require_int(const Json& value, const std::string& what, const std::string& where);
// A JSON array of integers, each >= min_value.
std::vector<std::int64_t> require_int_list(const Json& obj, std::string_view field,
                                           std::int64_t min_value, const std::string& where);

}  // namespace cuzarr::metadata
