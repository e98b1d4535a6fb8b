// Writing NumPy .npy files (format 1.0, or 2.0 when the header needs it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cuzarr/array.hpp"

namespace cuzarr::cli {

// Writes `array` (C order, native byte order) to `path`; throws StoreError on I/O failure.
void write_npy(const std::filesystem::path& path, const HostArray& array);

}  // namespace cuzarr::cli

namespace cuzarr::cli {

// A NumPy .npy file (format 1.0, 2.0 or 3.0) read whole: its values as stored, their shape, the
// NumPy type string ("<f4") and the byte strides of its order (C or Fortran). StoreError when the
// file cannot be read, MetadataError when it is not a .npy file or holds a structured type.
struct NpyFile {
  Buffer data;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> byte_strides;
  std::string descr;
};
NpyFile read_npy(const std::filesystem::path& path);

}  // namespace cuzarr::cli
