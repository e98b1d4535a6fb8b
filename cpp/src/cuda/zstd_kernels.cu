#include "cuda/zstd_kernels.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "cuda/zstd/entries.hpp"
#include "cuda/zstd/frame.hpp"
#include "cuda/zstd/huffman.hpp"
#include "cuda/zstd/literals.hpp"
#include "cuda/zstd/offsets.hpp"
#include "cuda/zstd/sequences.hpp"
#include "cuda/zstd/xxhash64.hpp"

namespace cuzarr::cuda {
namespace {

using zstd::BlockInfo;
using zstd::Status;

// One block of one item; items own consecutive ranges of slots (ItemPlan::slot_base).
struct BlockSlot {
  BlockInfo info;
  std::uint32_t item = 0;
  std::uint32_t frame = 0;  // global frame slot
  std::uint8_t valid = 0;
  std::uint8_t first_in_frame = 0;
  std::uint64_t literal_at = 0;   // item-relative until the walk's totals are known, then global
  std::uint64_t sequence_at = 0;  // likewise
  std::uint32_t decoded = 0;      // compressed blocks: set by entropy; others: by resolve
  std::uint64_t out_pos = 0;      // in the item's output, set by resolve
  zstd::RepTransform transform;   // what the block does to the repeat offsets (entropy)
  zstd::RepeatOffsets start;      // the repeat offsets it starts with (resolve)
};

struct FrameSlot {
  std::uint64_t out_start = 0;
  std::uint64_t content_size = 0;
  std::uint32_t first_block = 0;  // global block slot
  std::uint32_t blocks = 0;
  std::uint32_t checksum = 0;
  std::uint32_t block_max = 0;  // min(Window_Size, 128 KiB)
  std::uint8_t has_checksum = 0;
  std::uint8_t has_content_size = 0;
};

struct ItemPlan {
  std::uint32_t slot_base = 0;  // first block slot and first frame slot
  std::uint32_t slot_cap = 0;
  std::uint32_t blocks = 0;
  std::uint32_t frames = 0;
  std::uint64_t literals = 0;   // total literal bytes of its compressed blocks
  std::uint64_t sequences = 0;  // total sequences
  std::uint64_t literal_base = 0;
  std::uint64_t sequence_base = 0;
  std::uint64_t entry_base = 0;  // its entries (zstd/entries.hpp) in the batch's scratch
};

__device__ std::int32_t item_status_of(Status st) {
  switch (st) {
    case Status::Ok: return static_cast<std::int32_t>(ItemStatus::Ok);
    case Status::SizeMismatch: return static_cast<std::int32_t>(ItemStatus::SizeMismatch);
    case Status::Dictionary:
    case Status::TooLarge: return static_cast<std::int32_t>(ItemStatus::Unsupported);
    default: return static_cast<std::int32_t>(ItemStatus::Corrupt);
  }
}

// The first failure of an item wins.
__device__ void fail(std::int32_t* statuses, std::uint32_t item, Status st) {
  atomicCAS(statuses + item, 0, item_status_of(st));
}

__device__ bool failed(const std::int32_t* statuses, std::uint32_t item) {
  return *reinterpret_cast<const volatile std::int32_t*>(statuses + item) != 0;
}

// Kernel 1: one thread an item walks its frames and block headers (zstd::scan_block).
__global__ void walk_kernel(const DeviceItem* items, int n, ItemPlan* plans, BlockSlot* blocks, FrameSlot* frames,
                            std::int32_t* statuses) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const std::uint8_t* in = reinterpret_cast<const std::uint8_t*>(items[i].in);
  const std::size_t size = items[i].in_size;
  ItemPlan plan = plans[i];
  std::uint64_t pos = 0, literals = 0, sequences = 0;
  std::uint32_t nb = 0, nf = 0;
  // Entries keep positions in 31 bits.
  Status st = items[i].out_size < zstd::kMaxEntryItem ? Status::Ok : Status::TooLarge;
  while (pos < size && st == Status::Ok) {
    if (size - pos < 4) {
      st = Status::Truncated;
      break;
    }
    const std::uint32_t magic = zstd::load_le32(in + pos);
    if ((magic & zstd::kSkippableMagicMask) == zstd::kSkippableMagic) {
      if (size - pos < 8 || size - pos - 8 < zstd::load_le32(in + pos + 4)) {
        st = Status::Truncated;
        break;
      }
      pos += 8 + static_cast<std::uint64_t>(zstd::load_le32(in + pos + 4));
      continue;
    }
    zstd::FrameHeader fh;
    st = zstd::parse_frame_header(in + pos, size - pos, &fh);
    if (st != Status::Ok) break;
    if (nf >= plan.slot_cap) {
      st = Status::TooLarge;
      break;
    }
    FrameSlot frame;
    frame.first_block = plan.slot_base + nb;
    frame.has_content_size = fh.has_content_size;
    frame.content_size = fh.content_size;
    frame.has_checksum = fh.has_checksum;
    zstd::FrameScan scan;
    zstd::frame_scan_init(fh, &scan);
    frame.block_max = scan.block_max;
    pos += fh.header_size;
    for (bool first = true;; first = false) {
      if (nb >= plan.slot_cap) {
        st = Status::TooLarge;
        break;
      }
      BlockSlot& slot = blocks[plan.slot_base + nb];
      st = zstd::scan_block(in, size, &pos, &scan, &slot.info);
      if (st != Status::Ok) break;
      slot.item = static_cast<std::uint32_t>(i);
      slot.frame = plan.slot_base + nf;
      slot.valid = 1;
      slot.first_in_frame = first;
      slot.literal_at = literals;
      slot.sequence_at = sequences;
      if (slot.info.type == zstd::kBlockCompressed) {
        literals += slot.info.literals.regenerated;
        sequences += slot.info.sequences.count;
      }
      ++nb;
      if (slot.info.last) break;
    }
    if (st != Status::Ok) break;
    if (fh.has_checksum) {
      if (size - pos < 4) {
        st = Status::Truncated;
        break;
      }
      frame.checksum = zstd::load_le32(in + pos);
      pos += 4;
    }
    frame.blocks = plan.slot_base + nb - frame.first_block;
    frames[plan.slot_base + nf] = frame;
    ++nf;
  }
  if (st != Status::Ok) fail(statuses, static_cast<std::uint32_t>(i), st);
  plan.blocks = nb;
  plan.frames = nf;
  plan.literals = literals;
  plan.sequences = sequences;
  plans[i] = plan;
}

// Kernel 2: two warps a compressed block, one for its literals (the Huffman table on lane 0,
// then the four streams on four lanes) and one for its sequences (the three FSE tables on lanes
// 0-2, then the bitstream on lane 0, each sequence's repeat offset resolved into a symbol of the
// offsets the block starts with as it is decoded: offsets.hpp), the two at the same time.
__global__ void entropy_kernel(const DeviceItem* items, const ItemPlan* plans, BlockSlot* blocks, std::uint32_t slots,
                               std::uint8_t* literal_scratch, zstd::Sequence* sequence_scratch,
                               std::int32_t* statuses) {
  __shared__ zstd::HufTable huffman;
  __shared__ zstd::FseTable tables[3];
  __shared__ zstd::FseTable weights_table;
  __shared__ int shared_status;
  const std::uint32_t s = blockIdx.x;
  if (s >= slots) return;
  BlockSlot& slot = blocks[s];
  if (!slot.valid || slot.info.type != zstd::kBlockCompressed) return;
  // One thread looks at the item's status, so that all of them leave or stay together.
  if (threadIdx.x == 0) shared_status = failed(statuses, slot.item) ? -1 : 0;
  __syncthreads();
  if (shared_status != 0) return;
  const int lane = static_cast<int>(threadIdx.x & 31);
  const bool literal_warp = threadIdx.x < 32;
  const BlockInfo& b = slot.info;
  const std::uint8_t* in = reinterpret_cast<const std::uint8_t*>(items[slot.item].in);
  const std::size_t in_size = items[slot.item].in_size;
  const ItemPlan& plan = plans[slot.item];
  const zstd::LiteralsHeader& lh = b.literals;
  Status st = Status::Ok;
  if (literal_warp) {
    std::uint8_t* lit = literal_scratch + plan.literal_base + slot.literal_at;
    const bool huffman_literals = lh.type == zstd::kLitCompressed || lh.type == zstd::kLitTreeless;
    if (lane == 0 && huffman_literals) {
      std::uint8_t weights[256];
      int count = 0;
      std::size_t used = 0;
      st = b.huffman_pos < in_size
               ? zstd::read_huffman_weights(in + b.huffman_pos, in_size - b.huffman_pos, weights, &count, &used,
                                            &weights_table)
               : Status::Corrupt;
      if (st == Status::Ok) st = zstd::build_huffman_table(weights, count, &huffman);
      if (st != Status::Ok) atomicCAS(&shared_status, 0, static_cast<int>(st));
    }
    __syncwarp();
    const std::uint8_t* body = in + b.content_pos + lh.header_size;
    if (shared_status != 0) {
      // the table failed: nothing to decode
    } else if (lh.type == zstd::kLitRaw) {
      for (std::uint32_t k = lane; k < lh.regenerated; k += 32) lit[k] = body[k];
    } else if (lh.type == zstd::kLitRle) {
      for (std::uint32_t k = lane; k < lh.regenerated; k += 32) lit[k] = body[0];
    } else {
      const std::uint32_t own = lh.type == zstd::kLitCompressed ? b.huffman_own_size : 0;
      zstd::LiteralStream streams[4];
      st = own < lh.compressed
               ? zstd::literal_streams(body + own, lh.compressed - own, lh.streams, lh.regenerated, streams)
               : Status::Corrupt;
      if (st == Status::Ok && lane < lh.streams) {
        const zstd::LiteralStream& ls = streams[lane];
        st = zstd::huffman_decode_stream(huffman, body + own + ls.in_offset, ls.in_size, lit + ls.out_offset, ls.count);
      }
      if (st != Status::Ok) atomicCAS(&shared_status, 0, static_cast<int>(st));
    }
  } else {
    const std::uint32_t count = b.sequences.count;
    if (lane < 3 && count > 0) {
      st = zstd::build_sequence_table(in, in_size, b.tables[lane], lane, &tables[lane]);
      if (st != Status::Ok) atomicCAS(&shared_status, 0, static_cast<int>(st));
    }
    __syncwarp();
    if (lane == 0 && shared_status == 0) {
      zstd::SymbolicSink sink(sequence_scratch + plan.sequence_base + slot.sequence_at);
      if (count > 0) {
        st = zstd::decode_sequences_to(in + b.bitstream_pos, b.bitstream_size, count, &tables[0], &tables[1],
                                       &tables[2], sink);
      }
      std::uint32_t decoded = 0;
      if (st == Status::Ok) st = sink.finish(lh.regenerated, &decoded);
      slot.transform = sink.transform;
      slot.decoded = decoded;
      if (st != Status::Ok) atomicCAS(&shared_status, 0, static_cast<int>(st));
    }
  }
  __syncthreads();
  if (threadIdx.x == 0 && shared_status != 0) fail(statuses, slot.item, static_cast<Status>(shared_status));
}

// Kernel 3: one thread an item chains its blocks' repeat-offset transforms frame by frame (three
// symbols a block) and lays the blocks out in its output.
__global__ void resolve_kernel(const DeviceItem* items, int n, const ItemPlan* plans, BlockSlot* blocks,
                               FrameSlot* frames, std::int32_t* statuses) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n || failed(statuses, static_cast<std::uint32_t>(i))) return;
  const ItemPlan& plan = plans[i];
  const std::uint64_t out_size = items[i].out_size;
  std::uint64_t at = 0;
  for (std::uint32_t f = 0; f < plan.frames; ++f) {
    FrameSlot& frame = frames[plan.slot_base + f];
    frame.out_start = at;
    zstd::RepeatOffsets rep;
    for (std::uint32_t k = 0; k < frame.blocks; ++k) {
      BlockSlot& slot = blocks[frame.first_block + k];
      std::uint32_t decoded = slot.info.decoded_size;
      if (slot.info.type == zstd::kBlockCompressed) {
        decoded = slot.decoded;
        if (decoded > frame.block_max) {
          fail(statuses, static_cast<std::uint32_t>(i), Status::Corrupt);
          return;
        }
        slot.start = rep;
        rep = zstd::apply_transform(slot.transform, rep);
      }
      if (decoded > out_size - at) {
        fail(statuses, static_cast<std::uint32_t>(i), Status::SizeMismatch);
        return;
      }
      slot.decoded = decoded;
      slot.out_pos = at;
      at += decoded;
    }
    if (frame.has_content_size && at - frame.out_start != frame.content_size) {
      fail(statuses, static_cast<std::uint32_t>(i), Status::SizeMismatch);
      return;
    }
  }
  if (at != out_size) fail(statuses, static_cast<std::uint32_t>(i), Status::SizeMismatch);
}

constexpr unsigned kFullMask = 0xFFFFFFFFu;

// Copies one match of a lane into entries: `src` lies wholly before every entry this warp writes
// in the current group, so the loads need no order among themselves (four in flight at a time).
__device__ void copy_match_entries(std::uint32_t* entries, std::uint64_t dst, std::uint64_t src, std::uint32_t length,
                                   std::uint64_t block_start) {
  std::uint32_t k = 0;
  for (; k + 4 <= length; k += 4) {
    const std::uint32_t e0 = zstd::entry_of(entries, src + k, block_start);
    const std::uint32_t e1 = zstd::entry_of(entries, src + k + 1, block_start);
    const std::uint32_t e2 = zstd::entry_of(entries, src + k + 2, block_start);
    const std::uint32_t e3 = zstd::entry_of(entries, src + k + 3, block_start);
    entries[dst + k] = e0;
    entries[dst + k + 1] = e1;
    entries[dst + k + 2] = e2;
    entries[dst + k + 3] = e3;
  }
  for (; k < length; ++k) entries[dst + k] = zstd::entry_of(entries, src + k, block_start);
}

// Kernel 4: a warp a block executes its sequences into entries (zstd/entries.hpp), without
// waiting for any other block: what a match copies from before the block becomes a reference.
// The warp takes 32 sequences at a time, a lane each: their positions by a prefix sum, their
// literals at once, then the matches whose sources lie before the group (nearly all), then the
// few that read this group's own output, one after another in sequence order.
// execute_block_entries is the same on one thread (the host's reference).
__global__ void entries_kernel(const DeviceItem* items, const ItemPlan* plans, const BlockSlot* blocks,
                               const FrameSlot* frames, std::uint32_t slots, const std::uint8_t* literal_scratch,
                               const zstd::Sequence* sequence_scratch, std::uint32_t* entry_scratch,
                               std::int32_t* statuses) {
  const std::uint32_t s = (blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x & 31);
  if (s >= slots) return;
  const BlockSlot& slot = blocks[s];
  if (!slot.valid) return;
  const std::uint32_t item = slot.item;
  // Lane 0's view of the status for the whole warp: its lanes must leave or stay together.
  if (__shfl_sync(kFullMask, failed(statuses, item) ? 1 : 0, 0) != 0) return;
  const ItemPlan& plan = plans[item];
  std::uint32_t* const entries = entry_scratch + plan.entry_base;
  const BlockInfo& b = slot.info;
  const std::uint8_t* in = reinterpret_cast<const std::uint8_t*>(items[item].in);
  const std::uint64_t block_start = slot.out_pos;
  if (b.type != zstd::kBlockCompressed) {
    const bool raw = b.type == zstd::kBlockRaw;
    for (std::uint32_t k = lane; k < slot.decoded; k += 32) entries[block_start + k] = in[b.content_pos + (raw ? k : 0)];
    return;
  }
  const std::uint8_t* const lit = literal_scratch + plan.literal_base + slot.literal_at;
  const zstd::Sequence* const seq = sequence_scratch + plan.sequence_base + slot.sequence_at;
  const std::uint32_t count = b.sequences.count;
  const std::uint32_t lit_count = b.literals.regenerated;
  const std::uint64_t frame_start = frames[slot.frame].out_start;
  const std::uint64_t end = block_start + slot.decoded;
  std::uint64_t op = block_start;  // the same in every lane
  std::uint32_t lp = 0;
  bool bad = false;
  for (std::uint32_t g = 0; g < count; g += 32) {
    const std::uint32_t q = g + static_cast<std::uint32_t>(lane);
    std::uint32_t ll = 0, ml = 0, off = 0;
    if (q < count) {
      const zstd::Sequence raw = seq[q];
      ll = raw.literal_length;
      ml = zstd::match_length_of(raw);
      off = zstd::concrete_offset(raw, slot.start);
    }
    std::uint32_t lit_end = ll, len_end = ll + ml;  // inclusive prefix sums over the lanes
    for (int d = 1; d < 32; d <<= 1) {
      const std::uint32_t a = __shfl_up_sync(kFullMask, lit_end, d);
      const std::uint32_t c = __shfl_up_sync(kFullMask, len_end, d);
      if (lane >= d) {
        lit_end += a;
        len_end += c;
      }
    }
    const std::uint32_t lit_total = __shfl_sync(kFullMask, lit_end, 31);
    const std::uint32_t len_total = __shfl_sync(kFullMask, len_end, 31);
    if (lit_total > lit_count - lp || len_total > end - op) {
      bad = true;
      break;
    }
    const std::uint64_t dst = op + (len_end - ll - ml);
    const std::uint32_t lsrc = lp + (lit_end - ll);
    const std::uint64_t mdst = dst + ll;
    if (__any_sync(kFullMask, q < count && (off == 0 || off > mdst - frame_start))) {
      bad = true;
      break;
    }
    for (std::uint32_t k = 0; k < ll; ++k) entries[dst + k] = lit[lsrc + k];
    __syncwarp();  // this group's literals, visible to every lane
    const std::uint64_t msrc = mdst - off;
    const bool before = msrc + ml <= op;
    if (before && ml > 0) copy_match_entries(entries, mdst, msrc, ml, block_start);
    __syncwarp();
    for (unsigned pending = __ballot_sync(kFullMask, !before && ml > 0); pending != 0; pending &= pending - 1) {
      if (lane == __ffs(pending) - 1) {
        // Forward, one entry at a time: it may read what it has just written.
        for (std::uint32_t k = 0; k < ml; ++k) entries[mdst + k] = zstd::entry_of(entries, msrc + k, block_start);
      }
      __syncwarp();
    }
    op += len_total;
    lp += lit_total;
  }
  if (!bad) {
    const std::uint32_t rest = lit_count - lp;
    if (rest != end - op) {
      bad = true;
    } else {
      for (std::uint32_t k = lane; k < rest; k += 32) entries[op + k] = lit[lp + k];
    }
  }
  if (bad && lane == 0) fail(statuses, item, Status::Corrupt);
}

// Kernel 5: every output byte of the batch at once follows its entry back to a value
// (zstd::resolve_entry), four bytes a thread. Items along y, bytes along x.
__global__ void resolve_entries_kernel(const DeviceItem* items, const ItemPlan* plans, int first_item,
                                       const std::uint32_t* entry_scratch, std::int32_t* statuses) {
  const std::uint32_t item = static_cast<std::uint32_t>(first_item) + blockIdx.y;
  if (failed(statuses, item)) return;
  const std::uint64_t size = items[item].out_size;
  const std::uint32_t* const entries = entry_scratch + plans[item].entry_base;
  std::uint8_t* const out = reinterpret_cast<std::uint8_t*>(items[item].out);
  const bool aligned = (reinterpret_cast<std::uintptr_t>(out) & 3) == 0;
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x * 4;
  for (std::uint64_t p = (static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * 4; p < size; p += stride) {
    std::uint8_t v[4] = {0, 0, 0, 0};
    const int m = size - p < 4 ? static_cast<int>(size - p) : 4;
    for (int k = 0; k < m; ++k) {
      if (!zstd::resolve_entry(entries, p + k, &v[k])) {
        fail(statuses, item, Status::Corrupt);
        return;
      }
    }
    if (aligned && m == 4) {
      *reinterpret_cast<std::uint32_t*>(out + p) = static_cast<std::uint32_t>(v[0]) | (static_cast<std::uint32_t>(v[1]) << 8) |
                                                   (static_cast<std::uint32_t>(v[2]) << 16) |
                                                   (static_cast<std::uint32_t>(v[3]) << 24);
    } else {
      for (int k = 0; k < m; ++k) out[p + k] = v[k];
    }
  }
}

// Kernel 6: a thread a frame checks the content checksum, after execution (a kernel boundary
// makes every block's output visible).
__global__ void checksum_kernel(const DeviceItem* items, const ItemPlan* plans, const BlockSlot* blocks,
                                const FrameSlot* frames, std::uint32_t slots, std::int32_t* statuses) {
  const std::uint32_t f = blockIdx.x * blockDim.x + threadIdx.x;
  if (f >= slots) return;
  const FrameSlot& frame = frames[f];
  if (!frame.has_checksum || frame.blocks == 0) return;
  const std::uint32_t item = blocks[frame.first_block].item;
  if (f - plans[item].slot_base >= plans[item].frames || failed(statuses, item)) return;
  const BlockSlot& last = blocks[frame.first_block + frame.blocks - 1];
  const std::uint64_t size = last.out_pos + last.decoded - frame.out_start;
  const std::uint8_t* out = reinterpret_cast<const std::uint8_t*>(items[item].out) + frame.out_start;
  if (static_cast<std::uint32_t>(zstd::xxhash64(out, size)) != frame.checksum) fail(statuses, item, Status::ChecksumMismatch);
}

// Device memory for the life of one batch, freed on its stream.
struct ScratchBuffer {
  void* ptr = nullptr;
  cudaStream_t stream = nullptr;
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() {
    if (ptr != nullptr) cudaFreeAsync(ptr, stream);
  }
  cudaError_t allocate(std::size_t bytes, cudaStream_t s) {
    stream = s;
    return cudaMallocAsync(&ptr, bytes == 0 ? 1 : bytes, s);
  }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

#define CUZARR_ZSTD_TRY(expr)           \
  do {                                  \
    const cudaError_t err_ = (expr);    \
    if (err_ != cudaSuccess) return err_; \
  } while (0)

// Events around the steps of a group, when the caller asked for their times.
class PhaseClock {
 public:
  explicit PhaseClock(ZstdPhases* phases, cudaStream_t stream) : phases_(phases), stream_(stream) {
    if (phases_ == nullptr) return;
    for (cudaEvent_t& e : events_) cudaEventCreate(&e);
  }
  PhaseClock(const PhaseClock&) = delete;
  PhaseClock& operator=(const PhaseClock&) = delete;
  ~PhaseClock() {
    if (phases_ == nullptr) return;
    for (cudaEvent_t e : events_) cudaEventDestroy(e);
  }
  void mark(int k) {
    if (phases_ != nullptr) cudaEventRecord(events_[k], stream_);
  }
  // After mark(0..6): waits and adds the six intervals.
  void add() {
    if (phases_ == nullptr || cudaEventSynchronize(events_[6]) != cudaSuccess) return;
    double* out[6] = {&phases_->walk, &phases_->entropy, &phases_->layout, &phases_->execute, &phases_->resolve,
                      &phases_->checksum};
    for (int k = 0; k < 6; ++k) {
      float ms = 0;
      if (cudaEventElapsedTime(&ms, events_[k], events_[k + 1]) == cudaSuccess) *out[k] += ms;
    }
  }

 private:
  ZstdPhases* phases_;
  cudaStream_t stream_;
  cudaEvent_t events_[7] = {};
};

// Items decoded together are bounded by their output: the entries take four bytes a byte.
constexpr std::uint64_t kGroupOutputBytes = 256ull << 20;
// Items (grid rows) a launch of the resolution takes at most.
constexpr int kMaxGridRows = 65535;

cudaError_t decode_group(const DeviceItem* items, int n, std::int32_t* statuses, cudaStream_t stream, ZstdPhases* phases) {
  PhaseClock clock(phases, stream);
  // Each item gets slots for the blocks (and frames) that libzstd writes for its size, with
  // room to spare; an item with more (streams flushed every few KiB) goes to the CPU.
  std::vector<ItemPlan> plans(static_cast<std::size_t>(n));
  std::uint64_t slots = 0, entry_total = 0, out_max = 0;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t by_output = items[i].out_size / 8192 + 16;
    const std::uint64_t by_input = items[i].in_size / 3 + 1;
    plans[i].slot_base = static_cast<std::uint32_t>(slots);
    plans[i].slot_cap = static_cast<std::uint32_t>(std::min(by_output, by_input));
    slots += plans[i].slot_cap;
    plans[i].entry_base = entry_total;
    // Items too large for entries fail in the walk and take none.
    if (items[i].out_size < zstd::kMaxEntryItem) {
      entry_total += (items[i].out_size + 3) & ~3ull;  // 16-byte aligned starts
      out_max = std::max(out_max, items[i].out_size);
    }
  }
  if (slots > 0x7FFFFFFFu) return cudaErrorInvalidValue;
  ScratchBuffer d_items, d_plans, d_blocks, d_frames;
  CUZARR_ZSTD_TRY(d_items.allocate(sizeof(DeviceItem) * n, stream));
  CUZARR_ZSTD_TRY(d_plans.allocate(sizeof(ItemPlan) * n, stream));
  CUZARR_ZSTD_TRY(d_blocks.allocate(sizeof(BlockSlot) * slots, stream));
  CUZARR_ZSTD_TRY(d_frames.allocate(sizeof(FrameSlot) * slots, stream));
  CUZARR_ZSTD_TRY(cudaMemcpyAsync(d_items.ptr, items, sizeof(DeviceItem) * n, cudaMemcpyHostToDevice, stream));
  CUZARR_ZSTD_TRY(cudaMemcpyAsync(d_plans.ptr, plans.data(), sizeof(ItemPlan) * n, cudaMemcpyHostToDevice, stream));
  // Zero marks the slots the walk leaves unused (valid == 0, blocks == 0).
  CUZARR_ZSTD_TRY(cudaMemsetAsync(d_blocks.ptr, 0, sizeof(BlockSlot) * slots, stream));
  CUZARR_ZSTD_TRY(cudaMemsetAsync(d_frames.ptr, 0, sizeof(FrameSlot) * slots, stream));
  CUZARR_ZSTD_TRY(cudaMemsetAsync(statuses, 0, sizeof(std::int32_t) * n, stream));
  const int threads = 128;
  const int item_grid = (n + threads - 1) / threads;
  clock.mark(0);
  walk_kernel<<<item_grid, threads, 0, stream>>>(d_items.as<DeviceItem>(), n, d_plans.as<ItemPlan>(),
                                                d_blocks.as<BlockSlot>(), d_frames.as<FrameSlot>(), statuses);
  CUZARR_ZSTD_TRY(cudaGetLastError());
  // The one synchronization: literal and sequence scratch are sized by what the walk found.
  CUZARR_ZSTD_TRY(cudaMemcpyAsync(plans.data(), d_plans.ptr, sizeof(ItemPlan) * n, cudaMemcpyDeviceToHost, stream));
  CUZARR_ZSTD_TRY(cudaStreamSynchronize(stream));
  std::uint64_t literal_total = 0, sequence_total = 0;
  for (ItemPlan& p : plans) {
    p.literal_base = literal_total;
    p.sequence_base = sequence_total;
    literal_total += p.literals;
    sequence_total += p.sequences;
  }
  ScratchBuffer d_literals, d_sequences, d_entries;
  CUZARR_ZSTD_TRY(d_literals.allocate(literal_total, stream));
  CUZARR_ZSTD_TRY(d_sequences.allocate(sizeof(zstd::Sequence) * sequence_total, stream));
  CUZARR_ZSTD_TRY(d_entries.allocate(sizeof(std::uint32_t) * entry_total, stream));
  CUZARR_ZSTD_TRY(cudaMemcpyAsync(d_plans.ptr, plans.data(), sizeof(ItemPlan) * n, cudaMemcpyHostToDevice, stream));
  const auto slot_count = static_cast<std::uint32_t>(slots);
  clock.mark(1);
  entropy_kernel<<<slot_count, 64, 0, stream>>>(d_items.as<DeviceItem>(), d_plans.as<ItemPlan>(),
                                                 d_blocks.as<BlockSlot>(), slot_count, d_literals.as<std::uint8_t>(),
                                                 d_sequences.as<zstd::Sequence>(), statuses);
  CUZARR_ZSTD_TRY(cudaGetLastError());
  clock.mark(2);
  resolve_kernel<<<item_grid, threads, 0, stream>>>(d_items.as<DeviceItem>(), n, d_plans.as<ItemPlan>(),
                                                   d_blocks.as<BlockSlot>(), d_frames.as<FrameSlot>(), statuses);
  CUZARR_ZSTD_TRY(cudaGetLastError());
  clock.mark(3);
  const std::uint64_t warps_per_cta = threads / 32;
  entries_kernel<<<static_cast<unsigned>((slots + warps_per_cta - 1) / warps_per_cta), threads, 0, stream>>>(
      d_items.as<DeviceItem>(), d_plans.as<ItemPlan>(), d_blocks.as<BlockSlot>(), d_frames.as<FrameSlot>(), slot_count,
      d_literals.as<std::uint8_t>(), d_sequences.as<zstd::Sequence>(), d_entries.as<std::uint32_t>(), statuses);
  CUZARR_ZSTD_TRY(cudaGetLastError());
  clock.mark(4);
  const int resolve_threads = 256;
  const std::uint64_t per_cta = resolve_threads * 4;
  const auto columns = static_cast<unsigned>(std::max<std::uint64_t>(1, std::min<std::uint64_t>((out_max + per_cta - 1) / per_cta, 4096)));
  for (int first = 0; first < n; first += kMaxGridRows) {
    const dim3 grid(columns, static_cast<unsigned>(std::min(kMaxGridRows, n - first)));
    resolve_entries_kernel<<<grid, resolve_threads, 0, stream>>>(d_items.as<DeviceItem>(), d_plans.as<ItemPlan>(), first,
                                                                 d_entries.as<std::uint32_t>(), statuses);
    CUZARR_ZSTD_TRY(cudaGetLastError());
  }
  clock.mark(5);
  checksum_kernel<<<(slot_count + threads - 1) / threads, threads, 0, stream>>>(
      d_items.as<DeviceItem>(), d_plans.as<ItemPlan>(), d_blocks.as<BlockSlot>(), d_frames.as<FrameSlot>(), slot_count,
      statuses);
  clock.mark(6);
  clock.add();
  return cudaGetLastError();
}

}  // namespace

cudaError_t zstd_decode_batch(const DeviceItem* items, int n, std::int32_t* statuses, cudaStream_t stream,
                              ZstdPhases* phases) {
  // Groups of consecutive items, each bounded by kGroupOutputBytes of output (at least one item).
  for (int first = 0; first < n;) {
    int last = first + 1;
    std::uint64_t bytes = items[first].out_size;
    while (last < n && bytes + items[last].out_size <= kGroupOutputBytes) bytes += items[last++].out_size;
    CUZARR_ZSTD_TRY(decode_group(items + first, last - first, statuses + first, stream, phases));
    first = last;
  }
  return cudaSuccess;
}

}  // namespace cuzarr::cuda
