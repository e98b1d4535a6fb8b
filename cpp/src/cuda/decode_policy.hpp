// The GPU backend's decode policy: for each array (or inner chunk chain), whether its compressed
// chunks are decompressed on the GPU or on CPU threads before staging. Plain C++ (no CUDA), so the
// rules are tested in every build.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "codec/gpu_streams.hpp"
#include "cuzarr/config.hpp"

namespace cuzarr::cuda {

using codec::GpuFormat;

// Where to decompress an array's chunks (CUZARR_DECODE and what the GPU path can do).
struct DecodeChoice {
  bool gpu = false;
  std::string why;  // for the debug log
};
// Below this decoded chunk size CUZARR_DECODE=auto keeps decoding on the CPU.
inline constexpr std::int64_t kGpuDecodeMinChunk = std::int64_t{64} << 10;
// Above this decoded chunk size CUZARR_DECODE=auto decodes gzip and zlib chunks (one deflate stream
// each, which nvCOMP decodes on one thread block) on the CPU. Measured on an H100 (docs/gpu.md):
// nvCOMP deflate gave 14 GB/s over 64 KiB streams, 9.6 over 1 MiB, 0.7 over 8 MiB. zstd frames go
// to the GPU at any size: nvCOMP decodes the frames of a launch in parallel, and with batches of
// hundreds of frames (gpu_decode.hpp) it decoded 50-65 GB/s of realistic data on an H200 in
// frames of 64 KiB to 16 MiB (docs/gpu.md), against about 6 GB/s for 16 CPU threads.
inline constexpr std::int64_t kNvcompMaxFrame = std::int64_t{1} << 20;
// `format`: the array's compressor when the GPU path handles its chain, else nullopt.
// `nvcomp`: whether nvCOMP was loaded (deflate needs it; zstd too unless `own_zstd`).
// `own_zstd`: whether cuzarr's own zstd kernels may decode zstd (CUZARR_GPU_ZSTD is not `nvcomp`).
// `chunk_bytes`: decoded size of one chunk.
DecodeChoice choose_decode(Config::Decode setting, std::optional<GpuFormat> format, bool nvcomp,
                           std::int64_t chunk_bytes, bool own_zstd = false);

}  // namespace cuzarr::cuda
