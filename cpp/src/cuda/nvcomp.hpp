// nvCOMP's batched decompression C API, loaded at run time with dlopen: cuzarr builds and runs
// without it, and uses it for zstd, deflate, snappy (and, by choice, LZ4) when it is installed
// (pip install cuzarr[gpu], or CUZARR_NVCOMP_LIBRARY). The declarations below are our own,
// written against the 6.x headers, where every call takes an options struct of 64 bytes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <string>

#include "codec/gpu_streams.hpp"

namespace cuzarr::cuda {

class Nvcomp {
 public:
  // Loads the library (config().nvcomp_library, else libnvcomp.so.6 from the loader's path) and
  // checks its version; nullptr with `why` set when that fails.
  static std::unique_ptr<Nvcomp> open(std::string& why);
  ~Nvcomp();
  Nvcomp(const Nvcomp&) = delete;
  Nvcomp& operator=(const Nvcomp&) = delete;

  bool supports(codec::StreamKind kind) const;
  // Alignment nvCOMP requires of each input and output buffer of `kind`.
  std::size_t in_alignment(codec::StreamKind kind) const;
  std::size_t out_alignment(codec::StreamKind kind) const;
  std::string version() const { return version_; }

  // Temporary device memory a batch of `n` items needs.
  std::size_t temp_bytes(codec::StreamKind kind, std::size_t n, std::size_t max_out, std::size_t total_out) const;
  // Launches nvcompBatched<kind>DecompressAsync on `stream`. Arrays are device memory: `statuses`
  // receives nvcompStatus_t values (int), `actual` the sizes produced. Throws CudaError when the
  // launch itself is refused.
  void decompress(codec::StreamKind kind, const void* const* in, const std::size_t* in_bytes,
                  const std::size_t* out_bytes, std::size_t* actual, std::size_t n, void* temp, std::size_t temp_bytes,
                  void* const* out, int* statuses, cudaStream_t stream) const;

 private:
  struct Api;
  Nvcomp() = default;
  void* handle_ = nullptr;
  std::unique_ptr<Api> api_;
  std::string version_;
};

}  // namespace cuzarr::cuda
