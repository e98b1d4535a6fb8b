#include <cstddef>

#include "cuda/check.hpp"
#include "cuda/scatter.hpp"

namespace cuzarr::cuda {
namespace {

template <typename U>
__device__ U swap_bytes(U v) {
  if constexpr (sizeof(U) == 2) return static_cast<U>((v >> 8) | (v << 8));
  if constexpr (sizeof(U) == 4) return __byte_perm(v, 0, 0x0123);
  if constexpr (sizeof(U) == 8) {
    const auto lo = static_cast<unsigned>(v), hi = static_cast<unsigned>(v >> 32);
    return (static_cast<U>(__byte_perm(lo, 0, 0x0123)) << 32) | __byte_perm(hi, 0, 0x0123);
  }
  return v;
}

template <typename U>
__device__ void copy_units(const std::byte* s, std::byte* t, int units, bool swap) {
  for (int u = 0; u < units; ++u) {
    U v = reinterpret_cast<const U*>(s)[u];
    reinterpret_cast<U*>(t)[u] = swap ? swap_bytes(v) : v;
  }
}

__device__ void copy_element(const std::byte* s, std::byte* t, int itemsize, int swap_unit) {
  // Elements are aligned to their unit size in both the staging buffer and the output.
  // Without a swap, the widest unit that divides the element (fixed-width text may be 12 bytes).
  const int unit = swap_unit != 0 ? swap_unit
                   : itemsize % 8 == 0 ? 8
                   : itemsize % 4 == 0 ? 4
                   : itemsize % 2 == 0 ? 2
                                       : 1;
  const bool swap = swap_unit != 0;
  switch (unit) {
    case 1: copy_units<unsigned char>(s, t, itemsize, false); break;
    case 2: copy_units<unsigned short>(s, t, itemsize / 2, swap); break;
    case 4: copy_units<unsigned int>(s, t, itemsize / 4, swap); break;
    case 8: copy_units<unsigned long long>(s, t, itemsize / 8, swap); break;
    default:
      for (int i = 0; i < itemsize; ++i) t[i] = s[i];
  }
}

constexpr int kThreads = 256;
constexpr std::int64_t kRowMode = 64;  // innermost runs at least this long get a block each
constexpr std::int64_t kMaxBlocks = 4096;

__global__ void scatter_kernel(const std::byte* base, const ScatterJob* jobs, std::byte* dst, int itemsize) {
  const ScatterJob& job = jobs[blockIdx.y];
  const int last = job.rank - 1;
  const std::int64_t inner = job.rank > 0 ? job.counts[last] : 1;
  if (inner >= kRowMode) {
    // Row mode: a block walks rows; its threads copy along the innermost dimension, so the outer
    // offsets are computed once per row rather than once per element.
    const auto* s_in = reinterpret_cast<const std::int64_t*>(base + job.src_table[last]);
    const auto* t_in = reinterpret_cast<const std::int64_t*>(base + job.dst_table[last]);
    const std::int64_t rows = job.elements / inner;
    for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
      std::int64_t rest = row, s = job.src, t = 0;
      for (int d = last - 1; d >= 0; --d) {
        const std::int64_t c = job.counts[d];
        const std::int64_t k = rest % c;
        rest /= c;
        s += reinterpret_cast<const std::int64_t*>(base + job.src_table[d])[k];
        t += reinterpret_cast<const std::int64_t*>(base + job.dst_table[d])[k];
      }
      for (std::int64_t k = threadIdx.x; k < inner; k += blockDim.x) {
        copy_element(base + s + s_in[k], dst + t + t_in[k], itemsize, job.swap_unit);
      }
    }
    return;
  }
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t e = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < job.elements;
       e += stride) {
    std::int64_t rest = e, s = job.src, t = 0;
    for (int d = last; d >= 0; --d) {
      const std::int64_t c = job.counts[d];
      const std::int64_t k = rest % c;
      rest /= c;
      s += reinterpret_cast<const std::int64_t*>(base + job.src_table[d])[k];
      t += reinterpret_cast<const std::int64_t*>(base + job.dst_table[d])[k];
    }
    copy_element(base + s, dst + t, itemsize, job.swap_unit);
  }
}

}  // namespace

std::int64_t scatter_blocks(const ScatterJob& job) {
  const std::int64_t inner = job.rank > 0 ? job.counts[job.rank - 1] : 1;
  const std::int64_t blocks = inner >= kRowMode ? job.elements / inner : (job.elements + kThreads - 1) / kThreads;
  return blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks);
}

void launch_scatter(const std::byte* base, const ScatterJob* jobs, int n_jobs, std::int64_t blocks,
                    std::byte* dst, int itemsize, cudaStream_t stream) {
  if (n_jobs == 0) return;
  if (blocks < 1) blocks = 1;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  scatter_kernel<<<dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(n_jobs)), kThreads, 0, stream>>>(
      base, jobs, dst, itemsize);
  CUZARR_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuzarr::cuda
