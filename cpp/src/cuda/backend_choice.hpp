// Which decoder takes a batch of zstd or LZ4 items when both cuzarr's kernels and nvCOMP can
// (CUZARR_GPU_ZSTD / CUZARR_GPU_LZ4 = auto): the one this process has measured faster on batches
// like it -- the same kind, item size class and item count class (powers of two each), since
// nvCOMP decodes a zstd frame on one unit of the GPU and is fast on many small frames, slow on a
// few big ones. A class not measured yet on one side goes to that side; after that every
// kExploreEvery-th batch of a class goes to the side that looks slower, so that one unlucky first
// sample does not decide for good. Plain C++ (no CUDA), so that it is tested in every build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>

#include "codec/gpu_streams.hpp"
#include "cuda/running_mean.hpp"

namespace cuzarr::cuda {

enum class Backend : std::uint8_t { Own = 0, Nvcomp = 1 };
const char* backend_name(Backend backend);

class BackendChoice {
 public:
  static constexpr std::uint32_t kExploreEvery = 32;

  // The backend for a batch of `items` items of `kind` whose decoded sizes average `item_bytes`.
  Backend choose(codec::StreamKind kind, std::uint64_t item_bytes, std::size_t items);
  // A batch like that took `seconds` on the device with `backend` for `total_bytes` of output.
  void measured(codec::StreamKind kind, Backend backend, std::uint64_t item_bytes, std::size_t items,
                std::uint64_t total_bytes, double seconds);
  // The measured rate (bytes per second, a running mean) of `backend` on such batches, if any.
  std::optional<double> rate(codec::StreamKind kind, Backend backend, std::uint64_t item_bytes,
                             std::size_t items) const;

 private:
  struct Entry {
    RunningMean rate[2];  // by Backend
    std::uint32_t choices = 0;
  };
  using Key = std::tuple<int, int, int>;
  static Key key(codec::StreamKind kind, std::uint64_t item_bytes, std::size_t items);
  mutable std::mutex mutex_;
  std::map<Key, Entry> entries_;
};

}  // namespace cuzarr::cuda
