#include "cuzarr/dtype.hpp"

#include <bit>

namespace cuzarr {

Endian native_endian() {
  return std::endian::native == std::endian::little ? Endian::Little : Endian::Big;
}

std::string DataType::name() const {
  const std::string bits = std::to_string(size * 8);
  switch (kind) {
    case DTypeKind::Bool: return "bool";
    case DTypeKind::Int: return "int" + bits;
    case DTypeKind::UInt: return "uint" + bits;
    case DTypeKind::Float: return "float" + bits;
    case DTypeKind::Complex: return "complex" + bits;
    case DTypeKind::DateTime: return "datetime64[" + unit + "]";
    case DTypeKind::TimeDelta: return "timedelta64[" + unit + "]";
  }
  return "unknown";
}

std::string DataType::numpy_str() const {
  const char order = size == 1 ? '|' : (native_endian() == Endian::Little ? '<' : '>');
  const std::string n = std::to_string(size);
  switch (kind) {
    case DTypeKind::Bool: return "|b1";
    case DTypeKind::Int: return order + ("i" + n);
    case DTypeKind::UInt: return order + ("u" + n);
    case DTypeKind::Float: return order + ("f" + n);
    case DTypeKind::Complex: return order + ("c" + n);
    case DTypeKind::DateTime: return order + ("M8[" + unit + "]");
    case DTypeKind::TimeDelta: return order + ("m8[" + unit + "]");
  }
  return "|V" + n;
}

}  // namespace cuzarr
