// Typed access to the flat element buffers that value-transforming array→array codecs (numcodecs
// filters, scale_offset, cast_value) read and write: dispatch from a DataType to its C++ type,
// unaligned loads and stores, and the data type fields of their configurations.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "codec/codec.hpp"
#include "cuzarr/dtype.hpp"
#include "cuzarr/error.hpp"
#include "metadata/json_util.hpp"

namespace cuzarr::codec {

// Calls f(T{}) with the C++ type of a numeric dtype (bool as uint8); UnsupportedError naming
// `array` and `codec` for the rest (complex, float16, text, variable-length items).
template <typename F>
decltype(auto) dispatch_numeric(const DataType& t, const std::string& array, const std::string& codec, F&& f) {
  switch (t.kind) {
    case DTypeKind::Bool: return f(std::uint8_t{});
    case DTypeKind::Int:
    case DTypeKind::DateTime:
    case DTypeKind::TimeDelta:
      switch (t.size) {
        case 1: return f(std::int8_t{});
        case 2: return f(std::int16_t{});
        case 4: return f(std::int32_t{});
        default: return f(std::int64_t{});
      }
    case DTypeKind::UInt:
      switch (t.size) {
        case 1: return f(std::uint8_t{});
        case 2: return f(std::uint16_t{});
        case 4: return f(std::uint32_t{});
        default: return f(std::uint64_t{});
      }
    case DTypeKind::Float:
      if (t.size == 4) return f(float{});
      if (t.size == 8) return f(double{});
      break;
    default:
      break;
  }
  throw UnsupportedError("array '" + array + "': codec '" + codec + "' does not support " + t.name());
}

template <typename T>
T load_element(const std::byte* p, std::int64_t i) {
  T v;
  std::memcpy(&v, p + i * static_cast<std::int64_t>(sizeof(T)), sizeof(T));
  return v;
}

template <typename T>
void store_element(std::byte* p, std::int64_t i, T v) {
  std::memcpy(p + i * static_cast<std::int64_t>(sizeof(T)), &v, sizeof(T));
}

// The elements of `view` (of `dtype`) in C order and native byte order: the view's own memory
// when it already is, else a copy in `tmp`. Element-wise codecs run on it, whatever transposes
// sit between them and the bytes.
const std::byte* c_order_elements(const ChunkView& view, const DataType& dtype, Buffer& tmp);

// A data type as numcodecs configurations spell it: a NumPy type string ("<i2", "|u1"), the
// bare code ("i2", "f8") or the NumPy/v3 name ("int16", "float32", "bool") that zarr-python's
// numcodecs wrappers write (str(numpy.dtype)). Throws MetadataError naming `where`.
DataType parse_numpy_dtype(const metadata::Json& value, const std::string& where);

}  // namespace cuzarr::codec
