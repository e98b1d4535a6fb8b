// Writing NumPy .npy files (format 1.0, or 2.0 when the header needs it).
#pragma once

#include <filesystem>

#include "cuzarr/array.hpp"

namespace cuzarr::cli {

// Writes `array` (C order, native byte order) to `path`; throws StoreError on I/O failure.
void write_npy(const std::filesystem::path& path, const HostArray& array);

}  // namespace cuzarr::cli
