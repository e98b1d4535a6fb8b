// The host→device staging pipeline. A ring of slots, each a pinned host buffer, a device buffer
// of the same size, a stream and an event. Reader threads pack decoded chunks (plus the offset
// tables the scatter kernel needs) into the current slot; a full slot is copied to the device in
// one transfer and scattered into the output by one kernel launch on its own stream, while the
// readers fill the next slot. Host memory for staging is bounded by the ring, whatever is read.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "cuda/resources.hpp"
#include "cuzarr/buffer.hpp"
#include "cuda/scatter.hpp"
#include "exec/sink.hpp"

namespace cuzarr::cuda {

struct Slot {
  PinnedBuffer host;
  DeviceBuffer device;
  Stream stream;
  Event done;
  // Filled by the sink:
  std::size_t front = 0;  // bytes used from the start (chunk data and offset tables)
  int jobs = 0;           // descriptors are stored from the end backwards
  int writers = 0;        // puts still copying into this slot
  bool sealed = false;
  std::int64_t max_blocks = 0;
  int device_id = 0;

  Slot(std::size_t size, int device)
      : host(size), device(size), device_id(device) {}
  std::size_t capacity() const { return host.size(); }
  ScatterJob* job_at(int index) const {
    return reinterpret_cast<ScatterJob*>(host.data() + capacity()) - (index + 1);
  }
  void reset() {
    front = 0;
    jobs = 0;
    writers = 0;
    sealed = false;
    max_blocks = 0;
  }
};

// What a scatter job needs of a chunk: the bytes of the view (from its origin) that hold selected
// elements, and the size of its offset tables.
struct ScatterLayout {
  std::int64_t src_lo = 0, src_hi = 0;
  std::size_t data_bytes = 0, table_bytes = 0;
  std::int64_t elements = 1;
};
ScatterLayout scatter_layout(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts, int itemsize);
// Describes the scatter of `src`'s selected elements (`parts`) whose bytes [src_lo, src_hi) lie at
// `data_offset` from the device base; the offset tables are written to host_base + table_offset
// (the same offset from the device base once copied).
void fill_scatter_job(std::byte* host_base, std::size_t data_offset, std::size_t table_offset, const ScatterLayout& layout,
                      const codec::ChunkView& src, std::span<const plan::DimPart* const> parts,
                      std::span<const std::int64_t> dst_strides, ScatterJob& job);

// The byte offset in the output of a chunk's block when `parts` select the chunk (`view`: its
// geometry) whole and its place in the output is one dense C-ordered block, with the chunk stored
// C-ordered in native byte order; -1 otherwise. Such a chunk needs no scatter: its bytes are
// copied (or decompressed) straight to that offset.
std::int64_t dense_block_offset(const codec::ChunkView& view, std::span<const plan::DimPart* const> parts,
                                std::span<const std::int64_t> dst_strides, int itemsize);

// The slots of one device; shared by every read on that device (thread-safe). Slots are
// allocated when first needed, up to `slots`: a process pays pinned memory only for the
// concurrency its reads use.
class StagingRing {
 public:
  StagingRing(int device, std::size_t slot_bytes, std::size_t slots);
  int device() const { return device_; }
  std::size_t slot_bytes() const { return slot_bytes_; }
  // A free slot, or nullptr when all are taken.
  Slot* try_acquire();
  // A free slot, or nullptr when none is given back within `timeout`.
  Slot* acquire_for(std::chrono::milliseconds timeout);
  // Gives back a slot whose work has completed.
  void release(Slot* slot);

 private:
  Slot* take_free();  // with mutex_ held: a free slot (allocating one while below the bound) or null

  int device_;
  std::size_t slot_bytes_, max_slots_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::deque<Slot*> free_;
};

// Writes `size` bytes of a chunk, starting `offset` bytes from its view's origin, to `dst`.
using ChunkLoader = std::function<void(std::byte* dst, std::int64_t offset, std::size_t size)>;

// A ChunkSink that stages chunks for the scatter kernel writing into a device output. Only the
// bytes between the first and last selected positions of a chunk travel.
class DeviceSink final : public exec::ChunkSink {
 public:
  // `dst_strides`: one per array dimension (0 where dropped). Work is ordered after `stream`
  // (the caller's), and finish() returns once the output is complete.
  DeviceSink(StagingRing& ring, std::byte* dst, std::span<const std::int64_t> dst_strides, int itemsize,
             cudaStream_t stream);
  ~DeviceSink() override;
  void put(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) override;
  bool swaps_bytes() const override { return true; }
  // Like put(), but the bytes come from `load` (a file read straight into pinned memory);
  // `geometry` describes the chunk (its data pointer is not used).
  void put_staged(const ChunkLoader& load, const codec::ChunkView& geometry,
                  std::span<const plan::DimPart* const> parts);
  // A chunk stored C-ordered in native byte order whose `bytes` bytes form one dense block of the
  // output at `dst_offset` (dense_block_offset): read into pinned slots a slot at a time and
  // copied straight into place, no scatter. `load(dst, offset, size)` as for put_staged.
  void put_dense(const ChunkLoader& load, std::int64_t dst_offset, std::size_t bytes);
  // Puts a chunk whose bytes `load(device_dst, offset, size)` writes straight into device memory
  // (cuFile). Returns false, having put nothing, when `load` declines.
  bool put_direct(const std::function<bool(std::byte*, std::int64_t, std::size_t)>& load,
                  const codec::ChunkView& geometry, std::span<const plan::DimPart* const> parts);
  // Submits what is staged and waits for every launch; rethrows the first CUDA error.
  void finish();

 private:
  using Layout = ScatterLayout;
  Layout measure(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) const {
    return scatter_layout(src, parts, itemsize_);
  }
  // Writes the offset tables at `offset` (just after the chunk's bytes) and describes the job.
  void fill_job(std::byte* host_base, std::size_t offset, const Layout& layout, const codec::ChunkView& src,
                std::span<const plan::DimPart* const> parts, ScatterJob& job) const;
  // Halves the selection of the dimension spanning the most bytes and puts each half.
  void put_split(const ChunkLoader& load, const codec::ChunkView& geometry,
                 std::span<const plan::DimPart* const> parts);
  Slot* next_slot(std::unique_lock<std::mutex>& lock);  // may drop the lock while it waits
  void submit(Slot* slot);  // with mutex_ held, once the slot's writers are done

  StagingRing& ring_;
  std::byte* dst_;
  std::vector<std::int64_t> dst_strides_;
  int itemsize_;
  Event start_;  // recorded on the caller's stream: staged work waits for it
  std::mutex mutex_;
  Slot* current_ = nullptr;
  std::deque<Slot*> in_flight_;  // submitted by this sink, oldest first
  bool finished_ = false;
};

}  // namespace cuzarr::cuda
