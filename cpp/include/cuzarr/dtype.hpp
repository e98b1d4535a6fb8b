// Element types. A DataType is the logical type of the values a read produces; results are
// always in the machine's native byte order, whatever the byte order on disk.
#pragma once

#include <cstdint>
#include <string>

namespace cuzarr {

enum class DTypeKind : std::uint8_t { Bool, Int, UInt, Float, Complex, DateTime, TimeDelta };

enum class Endian : std::uint8_t { Little, Big };

Endian native_endian();

struct DataType {
  DTypeKind kind = DTypeKind::UInt;
  int size = 1;          // bytes per element
  std::string unit;      // datetime64/timedelta64 unit, e.g. "ns" or "10s"; empty otherwise

  // Zarr v3 / NumPy style name: "float32", "int8", "bool", "complex64", "datetime64[ns]".
  std::string name() const;
  // NumPy array-protocol string in native byte order: "<f4", "|b1", "<M8[ns]".
  std::string numpy_str() const;

  friend bool operator==(const DataType&, const DataType&) = default;
};

}  // namespace cuzarr
