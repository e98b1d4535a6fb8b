// GPU reads of compressed chunks, decompressed on the device. Reader threads read each stored
// chunk straight into a pinned batch buffer and cut it into streams on the host
// (codec/gpu_streams); a full batch travels to the GPU in one copy (the compressed bytes: fewer
// than the decoded ones), is decompressed by one batched call into device scratch, unshuffled
// (blosc) and scattered into the output by the place kernel. A chunk the GPU path cannot take,
// or whose streams fail on the device, is decoded on the CPU instead and staged as before: the
// CPU codec then gives the verdict (a CodecError naming the chunk), and the batch's other chunks
// are unaffected.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "codec/codec_chain.hpp"
#include "codec/gpu_streams.hpp"
#include "cuda/batch_decompress.hpp"
#include "cuda/resources.hpp"
#include "cuda/staging.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::cuda {

class Nvcomp;

// One batch: pinned and device memory for compressed bytes, device memory for decompressed
// (and unshuffled) chunks and the scatter tables, a stream and a decompressor.
struct DecodeBatch {
  PinnedBuffer in_host;
  DeviceBuffer in_device;
  DeviceBuffer scratch;  // decompressed blosc blocks, before unshuffle
  DeviceBuffer out;      // decoded chunks, then the scatter tables and jobs
  DeviceBuffer statuses;
  Stream stream;
  BatchDecompressor decompressor;
  DecodeBatch(std::size_t in_bytes, const Nvcomp* nvcomp, bool nvcomp_lz4)
      : in_host(in_bytes), in_device(in_bytes), decompressor(nvcomp, nvcomp_lz4) {}
};

// The batches of one device, shared by every read on it (thread-safe).
class DecodeRing {
 public:
  DecodeRing(int device, const Nvcomp* nvcomp, std::size_t batch_bytes, std::size_t batches);
  int device() const { return device_; }
  std::size_t batch_bytes() const { return batch_bytes_; }
  const Nvcomp* nvcomp() const { return nvcomp_; }
  DecodeBatch* acquire();  // waits for a free batch
  void release(DecodeBatch* batch);

 private:
  int device_;
  const Nvcomp* nvcomp_;
  std::size_t batch_bytes_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<DecodeBatch>> batches_;
  std::deque<DecodeBatch*> free_;
};

// Reads into `sink`'s output, decompressing on the GPU. Chunk geometry comes from the chain's
// compressed_layout(); `fallback` receives what is decoded on the CPU.
class GpuDecodeReader {
 public:
  GpuDecodeReader(DecodeRing& ring, const codec::CodecChain& chain, codec::GpuFormat format, std::string array,
                  std::byte* dst, std::span<const std::int64_t> dst_strides, int itemsize, DeviceSink& fallback,
                  cudaStream_t stream);
  ~GpuDecodeReader();
  // Reads stored chunk `key` of `size` bytes (`load(dst, size)` fills host memory) and queues it.
  void add(const std::string& key, std::uint64_t size, const std::function<void(std::byte*, std::size_t)>& load,
           std::span<const plan::DimPart* const> parts);
  // Decodes what is queued and waits for every batch; rethrows the first error.
  void finish();

  std::size_t gpu_chunks() const { return gpu_chunks_; }
  std::size_t cpu_chunks() const { return cpu_chunks_; }
  std::string cpu_reason() const;

 private:
  struct Entry {
    std::string key;
    std::uint64_t in_offset = 0, in_size = 0;
    std::vector<plan::DimPart> parts;
    codec::ChunkStreams streams;
    bool cpu = false;     // decoded on the CPU already
    std::string failure;  // what went wrong on the GPU
  };
  struct Open {
    DecodeBatch* batch = nullptr;
    std::deque<Entry> entries;
    std::uint64_t in_used = 0, decoded = 0;
    int writers = 0;
    bool sealed = false;
  };
  // Reserves room for `entry` in the open batch (sealing and running full ones).
  std::shared_ptr<Open> take_slot(Entry entry, std::uint64_t& offset, Entry*& slot);
  static std::string failure_of(const Entry& e);
  void done_writing(const std::shared_ptr<Open>& open);
  void run(Open& open);             // decodes a sealed batch and gives it back
  void decode_on_gpu(Open& open, std::vector<bool>& failed);
  void decode_on_cpu(const Entry& e, const std::byte* bytes, const std::string& why);
  void note_cpu(const std::string& why);

  DecodeRing& ring_;
  const codec::CodecChain& chain_;
  codec::GpuFormat format_;
  std::string array_;
  codec::ChunkView view_;  // geometry of a decoded chunk (data at offset 0)
  std::uint64_t decoded_size_;
  std::byte* dst_;
  std::vector<std::int64_t> dst_strides_;
  int itemsize_;
  DeviceSink& fallback_;
  Event start_;
  std::mutex mutex_;  // guards current_ and the batches' bookkeeping
  std::shared_ptr<Open> current_;
  std::mutex log_mutex_;
  std::size_t gpu_chunks_ = 0, cpu_chunks_ = 0;
  std::string cpu_reason_;
};

}  // namespace cuzarr::cuda
