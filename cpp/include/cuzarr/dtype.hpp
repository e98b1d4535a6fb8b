/// @file
/// Element types. A DataType is the logical type of the values a read produces; results are
/// always in the machine's native byte order, whatever the byte order on disk.
#pragma once

#include <cstdint>
#include <string>

namespace cuzarr {

/// Bytes and Unicode are NumPy's fixed-width "S<n>" (n bytes, NUL-padded) and "U<n>" (n UCS-4 code
/// units). String, VlenBytes and VlenArray are variable-length items (NumPy object arrays, v3
/// "string"/"variable_length_bytes"): they are read with Array::read_vlen, never into a fixed-size
/// output.
enum class DTypeKind : std::uint8_t {
  Bool, Int, UInt, Float, Complex, DateTime, TimeDelta, Bytes, Unicode, String, VlenBytes, VlenArray
};

enum class Endian : std::uint8_t { Little, Big };

Endian native_endian();

/// A decoded variable-length item is a record {offset, size} (two native int64) whose bytes lie
/// at the record's own address + offset: records stay valid wherever the buffer that holds records
/// and bytes together moves.
inline constexpr int kVlenRecordSize = 16;

struct DataType {
  DTypeKind kind = DTypeKind::UInt;
  int size = 1;          ///< bytes per element (a decoded variable-length item: kVlenRecordSize)
  /// datetime64/timedelta64 unit, e.g. "ns" or "10s"; for VlenArray the items' NumPy type ("<i4");
  /// empty otherwise
  std::string unit;

  /// Variable-length items (String, VlenBytes, VlenArray).
  bool is_vlen() const;
  /// Size of the units whose bytes a byte-order change reverses: the element size, half of it for
  /// complex numbers, 4 for UCS-4 text; 0 where byte order means nothing (bool, bytes, 1-byte
  /// types, variable-length items).
  int swap_unit() const;

  /// Zarr v3 / NumPy style name: "float32", "int8", "bool", "complex64", "datetime64[ns]", "S5",
  /// "U5", "string", "bytes", "vlen-array[<i4]".
  std::string name() const;
  /// NumPy array-protocol string in native byte order: "<f4", "|b1", "<M8[ns]", "|S5", "<U5", and
  /// "|O" for variable-length items.
  std::string numpy_str() const;

  friend bool operator==(const DataType&, const DataType&) = default;
};

}  // namespace cuzarr
