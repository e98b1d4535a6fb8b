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
  const int unit = swap_unit != 0 ? swap_unit : (itemsize >= 8 ? 8 : itemsize);
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

__global__ void scatter_kernel(const std::byte* base, const ScatterJob* jobs, std::byte* dst, int itemsize) {
  const ScatterJob& job = jobs[blockIdx.y];
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t e = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < job.elements;
       e += stride) {
    std::int64_t rest = e, s = job.src, t = 0;
    for (int d = job.rank - 1; d >= 0; --d) {
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

void launch_scatter(const std::byte* base, const ScatterJob* jobs, int n_jobs, std::int64_t max_elements,
                    std::byte* dst, int itemsize, cudaStream_t stream) {
  if (n_jobs == 0) return;
  constexpr int threads = 256;
  std::int64_t blocks = (max_elements + threads - 1) / threads;
  if (blocks > 2048) blocks = 2048;
  if (blocks < 1) blocks = 1;
  scatter_kernel<<<dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(n_jobs)), threads, 0, stream>>>(
      base, jobs, dst, itemsize);
  CUZARR_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuzarr::cuda
