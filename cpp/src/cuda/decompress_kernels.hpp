// cuzarr's own decompression kernels and their descriptors (decompress_kernels.cu). Kept free of
// the C++20 headers of the rest of the library: CUDA sources compile as C++17.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace cuzarr::cuda {

enum class ItemStatus : std::int32_t {
  Ok = 0,
  Corrupt = 1,       // the stream does not decode (bad token, offset, or truncated)
  SizeMismatch = 2,  // it decodes to another size than expected
  Unsupported = 3,   // no backend for its kind
};
const char* item_status_name(ItemStatus status);

// Pointers and sizes in device memory terms.
struct DeviceItem {
  const std::byte* in = nullptr;
  std::uint64_t in_size = 0;
  std::byte* out = nullptr;
  std::uint64_t out_size = 0;
};

// One blosc block to unshuffle: `size` bytes from `src` to `dst` (device memory).
struct UnshuffleJob {
  const std::byte* src = nullptr;
  std::byte* dst = nullptr;
  std::uint64_t size = 0;
  std::uint32_t typesize = 1;
  std::uint32_t mode = 0;  // kUnshuffleByte, kUnshuffleBit, else a plain copy
};

// UnshuffleJob::mode values (the numbers of codec::Unshuffle).
inline constexpr std::uint32_t kUnshuffleByte = 1, kUnshuffleBit = 2;

// Launches the unshuffle of `n` blocks (descriptors in device memory).
void launch_unshuffle(const UnshuffleJob* jobs, int n, cudaStream_t stream);

// Kernel launches behind BatchDecompressor (decompress_kernels.cu). `index[k]` is the position of
// the k-th item in the caller's status array.
// `lanes` (8, 16 or 32) is the number of threads that decode one LZ4 item. lz4_lanes_for(n): 32
// while `n` items' threads fill at most half of what the current device holds at once, 16 while
// they all fit, else 8.
int lz4_lanes_for(int n);
void launch_lz4(const DeviceItem* items, const std::int32_t* index, int n, std::int32_t* statuses, int lanes,
                cudaStream_t stream);
void launch_copy(const DeviceItem* items, const std::int32_t* index, int n, std::int32_t* statuses, cudaStream_t stream);
void launch_mark(const std::int32_t* index, int n, ItemStatus status, std::int32_t* statuses, cudaStream_t stream);
// statuses[index[k]] = src[k] for k < n: a backend's statuses in its own item order put in place.
void launch_scatter_status(const std::int32_t* src, const std::int32_t* index, int n, std::int32_t* statuses,
                           cudaStream_t stream);
// Turns nvCOMP's statuses and produced sizes into ItemStatus.
void launch_nvcomp_status(const int* nv_status, const std::size_t* actual, const std::size_t* expected,
                          const std::int32_t* index, int n, std::int32_t* statuses, cudaStream_t stream);

}  // namespace cuzarr::cuda
