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
  // Built with append: GCC 12 warns falsely (-Wrestrict) on `char + std::string`.
  std::string out(1, size == 1 ? '|' : (native_endian() == Endian::Little ? '<' : '>'));
  const std::string n = std::to_string(size);
  switch (kind) {
    case DTypeKind::Bool: return "|b1";
    case DTypeKind::Int: return out.append("i").append(n);
    case DTypeKind::UInt: return out.append("u").append(n);
    case DTypeKind::Float: return out.append("f").append(n);
    case DTypeKind::Complex: return out.append("c").append(n);
    case DTypeKind::DateTime: return out.append("M8[").append(unit).append("]");
    case DTypeKind::TimeDelta: return out.append("m8[").append(unit).append("]");
  }
  return "|V" + n;
}

}  // namespace cuzarr
