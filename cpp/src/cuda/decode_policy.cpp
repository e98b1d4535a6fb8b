#include "cuda/decode_policy.hpp"

namespace cuzarr::cuda {

DecodeChoice choose_decode(Config::Decode setting, std::optional<GpuFormat> format, bool nvcomp,
                           std::int64_t chunk_bytes, bool own_zstd) {
  if (setting == Config::Decode::Cpu) return {false, "CUZARR_DECODE=cpu"};
  if (!format) return {false, "the codec chain has no GPU decoder"};
  const bool needs_nvcomp = (*format == GpuFormat::Zstd && !own_zstd) || *format == GpuFormat::Gzip ||
                            *format == GpuFormat::Zlib;
  if (needs_nvcomp && !nvcomp) {
    return {false, *format == GpuFormat::Zstd ? "zstd needs nvCOMP with CUZARR_GPU_ZSTD=nvcomp, and it is not loaded"
                                              : "deflate needs nvCOMP, which is not loaded"};
  }
  if (setting == Config::Decode::Gpu) return {true, "CUZARR_DECODE=gpu"};
  // auto: batching amortises launches and transfers only over chunks of some size; below
  // that the CPU decodes while the GPU path would still be setting up.
  if (chunk_bytes < kGpuDecodeMinChunk) {
    return {false, "chunks of " + std::to_string(chunk_bytes) + " bytes are below the GPU decode threshold"};
  }
  const bool deflate = *format == GpuFormat::Gzip || *format == GpuFormat::Zlib;
  if (deflate && chunk_bytes > kNvcompMaxFrame) {
    return {false, "whole-chunk deflate streams of " + std::to_string(chunk_bytes) + " bytes decode faster on the CPU"};
  }
  return {true, "CUZARR_DECODE=auto"};
}

}  // namespace cuzarr::cuda
