#include "cuzarr/dtype.hpp"

#include <bit>

namespace cuzarr {

Endian native_endian() {
  return std::endian::native == std::endian::little ? Endian::Little : Endian::Big;
}

bool DataType::is_vlen() const {
  return kind == DTypeKind::String || kind == DTypeKind::VlenBytes || kind == DTypeKind::VlenArray;
}

int DataType::swap_unit() const {
  switch (kind) {
    case DTypeKind::Bool:
    case DTypeKind::Bytes:
    case DTypeKind::String:
    case DTypeKind::VlenBytes:
    case DTypeKind::VlenArray: return 0;
    case DTypeKind::Unicode: return 4;
    case DTypeKind::Complex: return size / 2;
    default: return size > 1 ? size : 0;
  }
}

std::string DataType::name() const {
  const std::string bits = std::to_string(size * 8);
  switch (kind) {
    // (append, not "S" + std::to_string(...): g++ 12 warns falsely on the latter, -Wrestrict)
    case DTypeKind::Bytes: return std::string("S").append(std::to_string(size));
    case DTypeKind::Unicode: return std::string("U").append(std::to_string(size / 4));
    case DTypeKind::String: return "string";
    case DTypeKind::VlenBytes: return "bytes";
    case DTypeKind::VlenArray: return "vlen-array[" + unit + "]";
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
  std::string out(1, swap_unit() == 0 ? '|' : (native_endian() == Endian::Little ? '<' : '>'));
  const std::string n = std::to_string(size);
  switch (kind) {
    case DTypeKind::Bytes: return out.append("S").append(n);
    case DTypeKind::Unicode: return out.append("U").append(std::to_string(size / 4));
    case DTypeKind::String:
    case DTypeKind::VlenBytes:
    case DTypeKind::VlenArray: return "|O";
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
