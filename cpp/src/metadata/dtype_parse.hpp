// Data type names of both formats: v2 NumPy type strings and v3 data type names.
#pragma once

#include <string>
#include <utility>

#include "cuzarr/dtype.hpp"
#include "metadata/json_util.hpp"

namespace cuzarr::metadata {

// "<f4", ">i8", "|b1", "<M8[ns]" → type and stored byte order. Throws MetadataError /
// UnsupportedError naming `where`.
std::pair<DataType, Endian> parse_v2_dtype(const Json& dtype, const std::string& where);
// "float32", "int8", "bool", "complex128" ...
DataType parse_v3_dtype(const Json& data_type, const std::string& where);

}  // namespace cuzarr::metadata
