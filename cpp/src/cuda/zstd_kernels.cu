#include "cuda/zstd_kernels.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "cuda/zstd/execute.hpp"
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
  Status st = Status::Ok;
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

// Kernel 2: a warp a compressed block decodes its literals (the four Huffman streams on four
// lanes) and its sequences; the Huffman and the three FSE tables are built at once on lanes 0-3.
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
  if (!slot.valid || slot.info.type != zstd::kBlockCompressed || failed(statuses, slot.item)) return;
  const int lane = threadIdx.x;
  const BlockInfo& b = slot.info;
  const std::uint8_t* in = reinterpret_cast<const std::uint8_t*>(items[slot.item].in);
  const std::size_t in_size = items[slot.item].in_size;
  const ItemPlan& plan = plans[slot.item];
  std::uint8_t* lit = literal_scratch + plan.literal_base + slot.literal_at;
  const zstd::LiteralsHeader& lh = b.literals;
  const bool huffman_literals = lh.type == zstd::kLitCompressed || lh.type == zstd::kLitTreeless;
  if (lane == 0) shared_status = 0;
  __syncwarp();
  Status st = Status::Ok;
  if (lane == 0 && huffman_literals) {
    std::uint8_t weights[256];
    int count = 0;
    std::size_t used = 0;
    st = b.huffman_pos < in_size
             ? zstd::read_huffman_weights(in + b.huffman_pos, in_size - b.huffman_pos, weights, &count, &used,
                                          &weights_table)
             : Status::Corrupt;
    if (st == Status::Ok) st = zstd::build_huffman_table(weights, count, &huffman);
  } else if (lane >= 1 && lane <= 3 && b.sequences.count > 0) {
    st = zstd::build_sequence_table(in, in_size, b.tables[lane - 1], lane - 1, &tables[lane - 1]);
  }
  if (st != Status::Ok) atomicCAS(&shared_status, 0, static_cast<int>(st));
  __syncwarp();
  if (shared_status != 0) {
    if (lane == 0) fail(statuses, slot.item, static_cast<Status>(shared_status));
    return;
  }
  const std::uint8_t* body = in + b.content_pos + lh.header_size;
  if (lh.type == zstd::kLitRaw) {
    for (std::uint32_t k = lane; k < lh.regenerated; k += 32) lit[k] = body[k];
  } else if (lh.type == zstd::kLitRle) {
    for (std::uint32_t k = lane; k < lh.regenerated; k += 32) lit[k] = body[0];
  } else {
    const std::uint32_t own = lh.type == zstd::kLitCompressed ? b.huffman_own_size : 0;
    zstd::LiteralStream streams[4];
    st = own < lh.compressed ? zstd::literal_streams(body + own, lh.compressed - own, lh.streams, lh.regenerated, streams)
                             : Status::Corrupt;
    if (st == Status::Ok && lane < lh.streams) {
      const zstd::LiteralStream& ls = streams[lane];
      st = zstd::huffman_decode_stream(huffman, body + own + ls.in_offset, ls.in_size, lit + ls.out_offset, ls.count);
    }
    if (st != Status::Ok) atomicCAS(&shared_status, 0, static_cast<int>(st));
  }
  __syncwarp();
  if (lane == 0 && shared_status == 0) {
    // Sequences, then their repeat offsets as symbols of the offsets the block starts with, so
    // that no block waits for another here (offsets.hpp).
    zstd::Sequence* seq = sequence_scratch + plan.sequence_base + slot.sequence_at;
    if (b.sequences.count > 0) {
      st = zstd::decode_sequences(in + b.bitstream_pos, b.bitstream_size, b.sequences.count, &tables[0], &tables[1],
                                  &tables[2], seq);
    }
    zstd::RepTransform t = zstd::identity_transform();
    std::uint32_t decoded = 0;
    if (st == Status::Ok) st = zstd::resolve_offsets_symbolic(seq, b.sequences.count, lh.regenerated, &t, &decoded);
    slot.transform = t;
    slot.decoded = decoded;
    if (st != Status::Ok) shared_status = static_cast<int>(st);
  }
  __syncwarp();
  if (lane == 0 && shared_status != 0) fail(statuses, slot.item, static_cast<Status>(shared_status));
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

// Waits until the block before `s` in its frame, and every block before that, is written.
__device__ bool wait_for_predecessor(const unsigned int* done, std::uint32_t s, const std::int32_t* statuses,
                                     std::uint32_t item) {
  const volatile unsigned int* flag = done + (s - 1);
  while (*flag == 0) {
    if (failed(statuses, item)) return false;
    __nanosleep(200);
  }
  __threadfence();
  return true;
}

// Kernel 4: a warp a block executes its sequences (literal runs and matches copied by all lanes).
// Blocks take tickets in slot order, so every block a warp may wait for has already started:
// the waits cannot deadlock. A block marks itself done once it and all blocks before it in its
// frame are written; a match that reads before the block's own start waits for that mark.
__global__ void execute_kernel(const DeviceItem* items, const ItemPlan* plans, const BlockSlot* blocks,
                               const FrameSlot* frames, std::uint32_t slots, const std::uint8_t* literal_scratch,
                               const zstd::Sequence* sequence_scratch, unsigned int* ticket, unsigned int* done,
                               std::int32_t* statuses) {
  __shared__ unsigned int shared_ticket;
  const int lane = threadIdx.x;
  if (lane == 0) shared_ticket = atomicAdd(ticket, 1u);
  __syncwarp();
  const std::uint32_t s = shared_ticket;
  if (s >= slots) return;
  const BlockSlot& slot = blocks[s];
  if (!slot.valid) return;
  const std::uint32_t item = slot.item;
  if (failed(statuses, item)) return;
  const BlockInfo& b = slot.info;
  const std::uint8_t* in = reinterpret_cast<const std::uint8_t*>(items[item].in);
  std::uint8_t* const out = reinterpret_cast<std::uint8_t*>(items[item].out);
  const FrameSlot& frame = frames[slot.frame];
  std::uint8_t* const frame_out = out + frame.out_start;
  std::uint8_t* op = out + slot.out_pos;
  bool waited = slot.first_in_frame;  // nothing to wait for before a frame's first block
  Status st = Status::Ok;
  if (b.type == zstd::kBlockRaw) {
    for (std::uint32_t k = lane; k < slot.decoded; k += 32) op[k] = in[b.content_pos + k];
  } else if (b.type == zstd::kBlockRle) {
    for (std::uint32_t k = lane; k < slot.decoded; k += 32) op[k] = in[b.content_pos];
  } else {
    const ItemPlan& plan = plans[item];
    const std::uint8_t* lp = literal_scratch + plan.literal_base + slot.literal_at;
    const std::uint8_t* const lend = lp + b.literals.regenerated;
    const zstd::Sequence* seq = sequence_scratch + plan.sequence_base + slot.sequence_at;
    std::uint8_t* const end = op + slot.decoded;
    std::uint8_t* const block_start = op;
    for (std::uint32_t q = 0; q < b.sequences.count; ++q) {
      const zstd::Sequence raw = seq[q];
      const zstd::Sequence sq{raw.literal_length, zstd::match_length_of(raw), zstd::concrete_offset(raw, slot.start)};
      if (sq.literal_length > static_cast<std::uint64_t>(lend - lp) ||
          static_cast<std::uint64_t>(sq.literal_length) + sq.match_length > static_cast<std::uint64_t>(end - op)) {
        st = Status::Corrupt;
        break;
      }
      for (std::uint32_t k = lane; k < sq.literal_length; k += 32) op[k] = lp[k];
      op += sq.literal_length;
      lp += sq.literal_length;
      if (sq.offset == 0 || sq.offset > static_cast<std::uint64_t>(op - frame_out)) {
        st = Status::Corrupt;
        break;
      }
      const std::uint8_t* src = op - sq.offset;
      if (!waited && src < block_start) {
        if (!wait_for_predecessor(done, s, statuses, item)) return;
        waited = true;
      }
      __syncwarp();  // the literals just written (and earlier matches) are visible to all lanes
      // Steps of up to min(offset, 32) bytes, so that an overlapping match reads only bytes
      // written by an earlier step.
      const std::uint32_t step = sq.offset < 32 ? sq.offset : 32;
      for (std::uint32_t k = 0; k < sq.match_length; k += step) {
        const std::uint32_t j = k + lane;
        if (lane < step && j < sq.match_length) op[j] = __ldcg(src + j);
        __syncwarp();
      }
      op += sq.match_length;
    }
    if (st == Status::Ok) {
      const std::size_t rest = static_cast<std::size_t>(lend - lp);
      if (rest != static_cast<std::size_t>(end - op)) {
        st = Status::Corrupt;
      } else {
        for (std::size_t k = lane; k < rest; k += 32) op[k] = lp[k];
      }
    }
  }
  if (st != Status::Ok) {
    if (lane == 0) fail(statuses, item, st);
    return;
  }
  if (!waited && !wait_for_predecessor(done, s, statuses, item)) return;
  __threadfence();  // every lane's writes, before the mark that publishes them
  __syncwarp();
  if (lane == 0) atomicExch(done + s, 1u);
}

// Kernel 5: a thread a frame checks the content checksum, after execution (a kernel boundary
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

}  // namespace

cudaError_t zstd_decode_batch(const DeviceItem* items, int n, std::int32_t* statuses, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  // Each item gets slots for the blocks (and frames) that libzstd writes for its size, with
  // room to spare; an item with more (streams flushed every few KiB) goes to the CPU.
  std::vector<ItemPlan> plans(static_cast<std::size_t>(n));
  std::uint64_t slots = 0;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t by_output = items[i].out_size / 8192 + 16;
    const std::uint64_t by_input = items[i].in_size / 3 + 1;
    plans[i].slot_base = static_cast<std::uint32_t>(slots);
    plans[i].slot_cap = static_cast<std::uint32_t>(std::min(by_output, by_input));
    slots += plans[i].slot_cap;
  }
  if (slots > 0x7FFFFFFFu) return cudaErrorInvalidValue;
  ScratchBuffer d_items, d_plans, d_blocks, d_frames, d_flags;
  CUZARR_ZSTD_TRY(d_items.allocate(sizeof(DeviceItem) * n, stream));
  CUZARR_ZSTD_TRY(d_plans.allocate(sizeof(ItemPlan) * n, stream));
  CUZARR_ZSTD_TRY(d_blocks.allocate(sizeof(BlockSlot) * slots, stream));
  CUZARR_ZSTD_TRY(d_frames.allocate(sizeof(FrameSlot) * slots, stream));
  CUZARR_ZSTD_TRY(d_flags.allocate(sizeof(unsigned int) * (slots + 1), stream));
  CUZARR_ZSTD_TRY(cudaMemcpyAsync(d_items.ptr, items, sizeof(DeviceItem) * n, cudaMemcpyHostToDevice, stream));
  CUZARR_ZSTD_TRY(cudaMemcpyAsync(d_plans.ptr, plans.data(), sizeof(ItemPlan) * n, cudaMemcpyHostToDevice, stream));
  // Zero marks the slots the walk leaves unused (valid == 0, blocks == 0).
  CUZARR_ZSTD_TRY(cudaMemsetAsync(d_blocks.ptr, 0, sizeof(BlockSlot) * slots, stream));
  CUZARR_ZSTD_TRY(cudaMemsetAsync(d_frames.ptr, 0, sizeof(FrameSlot) * slots, stream));
  CUZARR_ZSTD_TRY(cudaMemsetAsync(d_flags.ptr, 0, sizeof(unsigned int) * (slots + 1), stream));
  CUZARR_ZSTD_TRY(cudaMemsetAsync(statuses, 0, sizeof(std::int32_t) * n, stream));
  const int threads = 128;
  const int item_grid = (n + threads - 1) / threads;
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
  ScratchBuffer d_literals, d_sequences;
  CUZARR_ZSTD_TRY(d_literals.allocate(literal_total, stream));
  CUZARR_ZSTD_TRY(d_sequences.allocate(sizeof(zstd::Sequence) * sequence_total, stream));
  CUZARR_ZSTD_TRY(cudaMemcpyAsync(d_plans.ptr, plans.data(), sizeof(ItemPlan) * n, cudaMemcpyHostToDevice, stream));
  const auto slot_count = static_cast<std::uint32_t>(slots);
  entropy_kernel<<<slot_count, 32, 0, stream>>>(d_items.as<DeviceItem>(), d_plans.as<ItemPlan>(),
                                                 d_blocks.as<BlockSlot>(), slot_count, d_literals.as<std::uint8_t>(),
                                                 d_sequences.as<zstd::Sequence>(), statuses);
  CUZARR_ZSTD_TRY(cudaGetLastError());
  resolve_kernel<<<item_grid, threads, 0, stream>>>(d_items.as<DeviceItem>(), n, d_plans.as<ItemPlan>(),
                                                   d_blocks.as<BlockSlot>(), d_frames.as<FrameSlot>(), statuses);
  CUZARR_ZSTD_TRY(cudaGetLastError());
  unsigned int* flags = d_flags.as<unsigned int>();
  execute_kernel<<<slot_count, 32, 0, stream>>>(d_items.as<DeviceItem>(), d_plans.as<ItemPlan>(),
                                                 d_blocks.as<BlockSlot>(), d_frames.as<FrameSlot>(), slot_count,
                                                 d_literals.as<std::uint8_t>(), d_sequences.as<zstd::Sequence>(),
                                                 flags + slots, flags, statuses);
  CUZARR_ZSTD_TRY(cudaGetLastError());
  checksum_kernel<<<(slot_count + threads - 1) / threads, threads, 0, stream>>>(
      d_items.as<DeviceItem>(), d_plans.as<ItemPlan>(), d_blocks.as<BlockSlot>(), d_frames.as<FrameSlot>(), slot_count,
      statuses);
  return cudaGetLastError();
}

}  // namespace cuzarr::cuda
