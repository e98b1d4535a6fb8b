// The batched device-decompression interface: one call decompresses many independent compressed
// buffers in device memory into device outputs of known size, each with its own status. Behind
// it: cuzarr's own kernels (LZ4, stored copies) and nvCOMP (zstd, deflate, snappy, and LZ4 when
// chosen); their kernels and blosc's unshuffle kernels are in decompress_kernels.hpp.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codec/gpu_streams.hpp"
#include "cuda/backend_choice.hpp"
#include "cuzarr/config.hpp"
#include "cuda/decompress_kernels.hpp"
#include "cuda/resources.hpp"

namespace cuzarr::cuda {

class Nvcomp;

// Decompresses batches. Owns the device workspace of its launches, so one object serves one
// stream at a time; the workspace must not be reused before the stream has passed the launch.
class BatchDecompressor {
 public:
  // `nvcomp` may be null (own kernels only). `lz4`, `zstd`: which decoder takes LZ4 and zstd
  // items (CUZARR_GPU_LZ4, CUZARR_GPU_ZSTD). Auto, with nvCOMP loaded: the one `choice` has
  // measured faster for each batch (backend_choice.hpp), which this object times on the device;
  // without a `choice`, nvCOMP's.
  BatchDecompressor(const Nvcomp* nvcomp, Config::GpuLz4 lz4, Config::GpuZstd zstd = Config::GpuZstd::Auto,
                    BackendChoice* choice = nullptr);
  bool supports(codec::StreamKind kind) const;
  // Which backend decompresses `kind`, for logs and benchmarks: "cuzarr", "nvCOMP", "none", or
  // "measured" where `choice` picks per batch.
  const char* backend(codec::StreamKind kind) const;
  // Threads per LZ4 item of cuzarr's kernel (8, 16, 32), for tests and benchmarks; 0 (the
  // default): each launch takes lz4_lanes_for(its items).
  void set_lz4_lanes(int lanes) { lz4_lanes_ = lanes; }

  // Launches the decompression of items[i] (of kinds[i]) on `stream`; one int32 ItemStatus per
  // item is written to `statuses` (device memory) in stream order.
  void launch(std::span<const codec::StreamKind> kinds, std::span<const DeviceItem> items, std::int32_t* statuses,
              cudaStream_t stream);
  // launch(), then copies the statuses back and waits for the stream.
  std::vector<ItemStatus> run(std::span<const codec::StreamKind> kinds, std::span<const DeviceItem> items,
                              cudaStream_t stream);

 private:
  std::byte* workspace(std::size_t bytes);
  std::byte* temp_space(std::size_t bytes);
  // A group of a launch timed on the device for `choice_`, until the stream has passed it.
  struct Timing {
    Event begun{true}, done{true};
    codec::StreamKind kind{};
    Backend backend{};
    std::uint64_t item_bytes = 0, total_bytes = 0;
    std::size_t items = 0;
    bool pending = false;
  };
  void collect_timings();                   // hands finished timings to choice_
  Timing* free_timing();                    // null when all are pending
  bool both(codec::StreamKind kind) const;  // kind's decoder is measured per batch
  const Nvcomp* nvcomp_;
  Config::GpuLz4 lz4_;
  Config::GpuZstd zstd_;
  BackendChoice* choice_;
  std::vector<std::unique_ptr<Timing>> timings_;
  int lz4_lanes_ = 0;
  DeviceBuffer work_;
  DeviceBuffer temp_;
  DeviceBuffer statuses_;  // for run()
};

}  // namespace cuzarr::cuda
