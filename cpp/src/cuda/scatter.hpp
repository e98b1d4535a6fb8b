// The GPU place step: one launch copies a batch of staged chunks into the output, each element
// from its chunk's position to its output position, swapping bytes where the data is big-endian.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuzarr::cuda {

inline constexpr int kMaxRank = 16;
inline constexpr int kMaxJobsPerLaunch = 65535;

// One staged chunk. Offsets are bytes from the staging buffer's device base. For dimension d,
// the tables at src_table[d] and dst_table[d] hold counts[d] int64 byte offsets: where the k-th
// selected position lies in the chunk and in the output.
struct ScatterJob {
  std::int64_t src = 0;
  std::int64_t elements = 0;
  std::int32_t rank = 0;
  std::int32_t swap_unit = 0;  // 0, or the size of the units whose bytes are reversed
  std::int64_t counts[kMaxRank] = {};
  std::int64_t src_table[kMaxRank] = {};
  std::int64_t dst_table[kMaxRank] = {};
};

// Blocks a job wants: one per row (run of the innermost dimension) when rows are long, else one
// per 256 elements.
std::int64_t scatter_blocks(const ScatterJob& job);

// Launches the scatter of `n_jobs` jobs (device array `jobs`); `blocks` is the largest
// scatter_blocks() among them.
void launch_scatter(const std::byte* base, const ScatterJob* jobs, int n_jobs, std::int64_t blocks,
                    std::byte* dst, int itemsize, cudaStream_t stream);

}  // namespace cuzarr::cuda
