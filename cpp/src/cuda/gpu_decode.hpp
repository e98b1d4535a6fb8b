// GPU reads of compressed chunks, decompressed on the device. Reader threads read each stored
// chunk straight into a pinned upload buffer and cut it into streams on the host
// (codec/gpu_streams); full upload buffers are copied into the device-side input of a batch, which
// grows until it holds 2048 streams, or to hundreds of chunks where each chunk is one large frame
// (nvCOMP's zstd and deflate decode the frames of one launch in parallel, each slowly: a few
// frames per launch leave the GPU idle), while host memory stays bounded by the upload ring. A
// batch is decompressed by one batched call — straight into
// the output where a chunk's block of it is dense, else into device scratch — then unshuffled
// (blosc) and scattered into place. A chunk the GPU path cannot take, or whose streams fail on the
// device, is decoded on the CPU instead and staged: the CPU codec then gives the verdict (a
// CodecError naming the chunk), and the batch's other chunks are unaffected.
#pragma once

#include <atomic>
#include <chrono>
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
#include "cuda/decode_rates.hpp"
#include "cuda/decode_split.hpp"
#include "cuda/resources.hpp"
#include "cuda/staging.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::cuda {

class Nvcomp;

// A pinned buffer that reader threads fill with compressed chunks; once full it is copied into a
// batch's device input and given back, refilled only after that copy has completed.
struct UploadSlot {
  PinnedBuffer host;
  Event copied;
  bool pending = false;  // `copied` was recorded and not yet waited for
  explicit UploadSlot(std::size_t bytes) : host(bytes) {}
};

// One batch: device memory for compressed bytes, for decompressed (and unshuffled) chunks and
// the scatter tables, a stream and a decompressor; pinned memory for its statuses, and events
// that time its work on the device.
struct DecodeBatch {
  DeviceBuffer in;       // compressed bytes of the batch's chunks
  DeviceBuffer scratch;  // decompressed blosc blocks, before unshuffle
  DeviceBuffer out;      // decoded chunks not decoded into place, then the scatter tables and jobs
  DeviceBuffer statuses;
  PinnedBuffer host_statuses;  // the statuses, copied back in stream order
  Stream stream;
  Event begun{true}, done{true};  // around the batch's decode (timing events)
  BatchDecompressor decompressor;
  DecodeBatch(std::size_t in_bytes, const Nvcomp* nvcomp, Config::GpuLz4 lz4, Config::GpuZstd zstd,
              BackendChoice* choice)
      : in(in_bytes), decompressor(nvcomp, lz4, zstd, choice) {}
};

// The batches and upload buffers of one device, shared by every read on it (thread-safe).
class DecodeRing {
 public:
  // `batch_bytes`: compressed bytes a batch holds on the device, `batches` the most batches (each
  // made when first needed); `upload_bytes` x `uploads`: the most pinned host memory through
  // which they travel (allocated as reads need it).
  DecodeRing(int device, const Nvcomp* nvcomp, std::size_t batch_bytes, std::size_t batches, std::size_t upload_bytes,
             std::size_t uploads);
  int device() const { return device_; }
  std::size_t batch_bytes() const { return batch_bytes_; }
  std::size_t upload_bytes() const { return upload_bytes_; }
  const Nvcomp* nvcomp() const { return nvcomp_; }
  DecodeBatch* try_acquire();  // a free batch, or null
  DecodeBatch* acquire_for(std::chrono::milliseconds timeout);  // a free batch, or null after `timeout`
  void release(DecodeBatch* batch);
  UploadSlot* acquire_upload();  // waits for a free buffer and for its last copy
  void release_upload(UploadSlot* slot);

 private:
  int device_;
  const Nvcomp* nvcomp_;
  BackendChoice choice_;  // cuzarr's kernels or nvCOMP, measured by this device's batches
  DecodeBatch* take_free();  // with mutex_ held: a free batch (made if under the bound), or null
  std::size_t batch_bytes_, upload_bytes_, max_batches_, max_uploads_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<DecodeBatch>> batches_;
  std::deque<DecodeBatch*> free_;
  std::vector<std::unique_ptr<UploadSlot>> uploads_;
  std::deque<UploadSlot*> free_uploads_;
};

// How a reader shares its chunks with the calling threads. `share`: the fraction the threads decode
// (the read's plan, decode_rates.hpp), or nullopt to follow this read's own rates (DecodeSplit,
// CUZARR_DECODE_SHARE=auto); 0 with `adaptive` false: the device decodes every chunk it can.
// `rates`: where every load, CPU decode and device batch is measured (null: nowhere).
struct CpuShare {
  double share = 0;
  bool adaptive = false;
  DecodeRates* rates = nullptr;
};

// Reads into `sink`'s output, decompressing on the GPU. Chunk geometry comes from the chain's
// traits (Form::Compressed); `fallback` receives what is decoded on the CPU.
class GpuDecodeReader {
  using Clock = std::chrono::steady_clock;

 public:
  // `share`: which of the chunks the calling threads decode (CpuShare).
  GpuDecodeReader(DecodeRing& ring, const codec::CodecChain& chain, codec::GpuFormat format, std::string array,
                  std::byte* dst, std::span<const std::int64_t> dst_strides, int itemsize, DeviceSink& fallback,
                  cudaStream_t stream, CpuShare share);
  ~GpuDecodeReader();
  // Reads stored chunk `key` of `size` bytes (`load(dst, size)` fills host memory) and queues it.
  // Waits while the upload buffers and batches are all busy.
  void add(const std::string& key, std::uint64_t size, const std::function<void(std::byte*, std::size_t)>& load,
           std::span<const plan::DimPart* const> parts);
  // Whether the next chunk is better decoded by the calling thread (decode_split.hpp); only with
  // `share_with_cpu`, else always false.
  bool cpu_turn() { return share_with_cpu_ && split_.to_cpu(); }
  // Reads and decodes the chunk on this thread, straight into a pinned buffer copied into place
  // when its block of the output is dense, else through the staging sink.
  void add_on_cpu(const std::string& key, std::uint64_t size, const std::function<void(std::byte*, std::size_t)>& load,
                  std::span<const plan::DimPart* const> parts);
  // Decodes what is queued and waits for every batch; rethrows the first error.
  void finish();

  std::size_t gpu_chunks() const { return gpu_chunks_; }
  std::size_t cpu_chunks() const { return cpu_chunks_; }  // fallbacks, for cpu_reason()
  std::size_t shared_chunks() const { return shared_chunks_; }  // decoded on the CPU by the split
  std::string cpu_reason() const;
  // The split's share and rates, for the log; empty when no share is taken.
  std::string split_state() { return share_with_cpu_ ? split_.describe() : std::string(); }
  // Where the read's time went (CUZARR_LOG=debug; empty otherwise): the batches, the device's
  // busy time, the threads' summed time in each step and the wait in finish().
  std::string profile() const;

 private:
  struct Entry {
    std::string key;
    std::uint64_t in_offset = 0, in_size = 0;  // in the batch's device input
    std::vector<plan::DimPart> parts;
    codec::ChunkStreams streams;
    std::int64_t direct = -1;  // >= 0: byte offset in the output of the chunk's dense block
    bool cpu = false;          // decoded on the CPU already
    std::string failure;       // what went wrong on the GPU
  };
  // The upload buffer being filled for a batch: bytes [0, used) go to the batch's input at `base`.
  struct Upload {
    UploadSlot* slot = nullptr;
    std::uint64_t base = 0, used = 0;
    int writers = 0;
    bool sealed = false;
  };
  struct Open {
    DecodeBatch* batch = nullptr;
    std::deque<Entry> entries;
    std::size_t status_items = 0;  // statuses launched (0: nothing went to the device)
    std::vector<std::size_t> owner;  // the entry of each status
    std::vector<codec::StreamKind> kinds;  // the kind of each status's stream
    std::uint64_t in_used = 0, decoded = 0;
    std::size_t items = 0;  // streams of the entries loaded so far
    std::shared_ptr<Upload> upload;
    int writers = 0;
    bool sealed = false;
  };
  struct Slot {
    std::shared_ptr<Open> open;
    std::shared_ptr<Upload> upload;  // null: the chunk is larger than an upload buffer
    std::byte* host = nullptr;       // where the chunk's bytes go
    Entry* entry = nullptr;          // stays valid: entries is a deque, only appended to
  };
  // Reserves room for `entry` in the open batch and its upload buffer (sealing full ones, and
  // launching a full batch once its writers are done).
  Slot take_slot(Entry entry);
  void seal_upload(Open& open);  // with mutex_ held
  void submit_upload(Open& open, Upload& upload);  // with mutex_ held, once its writers are done
  void done_writing(const Slot& slot);
  // Queues a sealed batch's decode on its stream, without waiting: its statuses are checked when
  // it is completed (complete()), while later batches fill and decode.
  void launch(const std::shared_ptr<Open>& open);
  void launch_on_gpu(Open& open);
  // Waits for a launched batch, gives it back, and decodes on the CPU the chunks whose streams
  // failed on the device.
  void complete(Open& open);
  // Completes the launched batches the device has finished; with `wait`, at least the oldest.
  // Returns whether it completed any. Called without mutex_.
  bool reap(bool wait);
  DecodeBatch* next_batch(std::unique_lock<std::mutex>& lock);  // may drop the lock
  void decode_on_cpu(const Entry& e, const std::byte* bytes, const std::string& why);
  void note_cpu(const std::string& why);
  // The byte offset in the output of the chunk's block when `parts` select it whole and it is one
  // dense C-ordered block there (and stored in native order, untransposed); -1 otherwise.
  std::int64_t dense_offset(std::span<const plan::DimPart* const> parts) const;

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
  Event reference_{true};  // the origin of the batches' times on the device
  // One thread's load or CPU decode of a chunk, for the split of this read and the process's rates.
  void measured_load(double seconds);
  void measured_cpu_decode(double seconds);
  bool share_with_cpu_;
  DecodeRates* rates_;
  DecodeSplit split_;
  Stream cpu_stream_;  // copies of chunks decoded on the CPU into place
  std::mutex mutex_;  // guards current_ and the batches' bookkeeping
  std::shared_ptr<Open> current_;
  std::deque<std::shared_ptr<Open>> launched_;  // launched, not yet completed; oldest first
  // Timings for profile(), taken only when the log is at debug level.
  struct Profile {
    struct Batch {
      std::size_t chunks = 0, streams = 0;
      double begun = 0, done = 0;  // on the device, seconds from reference_
    };
    Clock::time_point created = Clock::now(), finish_begun{}, finish_done{};
    std::atomic<std::int64_t> load{0}, cut{0}, wait_upload{0}, wait_batch{0}, launch{0}, complete{0};  // ns, all threads
    std::vector<Batch> batches;  // with log_mutex_ held
  };
  static void add_time(std::atomic<std::int64_t>& to, Clock::time_point since);
  const bool profiling_;
  Profile profile_;
  std::mutex log_mutex_;
  std::size_t gpu_chunks_ = 0, cpu_chunks_ = 0, shared_chunks_ = 0;
  std::string cpu_reason_;
};

}  // namespace cuzarr::cuda
