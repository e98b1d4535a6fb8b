// The GPU backend of the read engine: a ChunkSink whose output is device memory. Raw chunks are
// staged through the pinned ring (or read by cuFile straight into device memory) and scattered
// into place by a kernel; encoded chunks are decompressed in GPU batches where the decode policy
// (cuda/decode_policy.hpp) says so — whole chunks and the inner chunks of shards alike, one batch
// decoder per codec chain — and otherwise decoded by the engine's CPU threads and staged.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "cuda/decode_policy.hpp"
#include "cuda/gpu_decode.hpp"
#include "cuda/gpu_resources.hpp"
#include "cuda/staging.hpp"
#include "exec/sink.hpp"

namespace cuzarr::cuda {

// Where a GPU read writes: `data` on GPU `device` (-1: the pointer's own device), ordered after
// `stream` (the caller's; null for the default stream).
struct DeviceTarget {
  void* data = nullptr;
  int device = -1;
  void* stream = nullptr;
  std::vector<std::int64_t> dst_strides;  // per array dimension, 0 where the selection drops it
  int itemsize = 0;
  std::string array;  // for messages
  std::string chain;  // the array's codecs, for the debug log
  // Chunks (inner chunks of shards) the read touches, for the decode policy; 0: not known.
  std::uint64_t chunks = 0;
};

class GpuSink final : public exec::ChunkSink {
 public:
  // Checks that the target is GPU memory of an existing device (CudaError otherwise).
  GpuSink(Resources& resources, DeviceTarget target);
  ~GpuSink() override;

  void put(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) override;
  bool swaps_bytes() const override { return true; }
  void put_raw(const exec::RawChunk& chunk, std::span<const plan::DimPart* const> parts) override;
  void put_encoded(const exec::EncodedChunk& chunk, std::span<const plan::DimPart* const> parts) override;
  bool decodes_off_host(const codec::CodecChain& chain) const override;
  void finish() override;

 private:
  // The batch decoder for `chain`, or null when its chunks decode on the CPU (decided once per
  // chain, logged with the reason).
  GpuDecodeReader* reader_for(const codec::CodecChain& chain);
  struct Choice {
    std::unique_ptr<GpuDecodeReader> reader;
    std::string why;
    // Chunks the plan gives wholly to the threads (no reader) are still measured here.
    DecodeRates* rates = nullptr;
    GpuFormat format{};
  };
  const Choice& choice_for(const codec::CodecChain& chain) const;
  const io::CuFile* cufile();

  Resources& resources_;
  DeviceTarget target_;
  int device_ = 0;
  std::unique_ptr<DeviceSink> staging_;
  mutable std::mutex mutex_;
  mutable std::map<const codec::CodecChain*, Choice> choices_;
  // cuFile, when CUZARR_GDS allows it and the driver opened; refused once, never tried again.
  std::once_flag cufile_once_;
  const io::CuFile* cufile_ = nullptr;
  std::string cufile_why_;
  std::atomic<bool> cufile_refused_{false};
  std::atomic<std::size_t> cufile_chunks_{0}, cpu_chunks_{0};
};

}  // namespace cuzarr::cuda
