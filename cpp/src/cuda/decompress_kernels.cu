// cuzarr's own decompression kernels: LZ4 blocks (8 to 32 lanes per item), stored copies, blosc's
// byte and bit unshuffle, and the translation of nvCOMP's statuses. Every read and write is
// checked against the item's input and output sizes: a bad stream ends with a status, never with
// an access outside its buffers.
#include <cstdint>

#include "cuda/decompress_kernels.hpp"
#include "cuda/check.hpp"

namespace cuzarr::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kThreads = 256;

using u8 = unsigned char;
using u64 = unsigned long long;

// LZ4 blocks: a group of L lanes (8, 16 or 32) decodes one item, kWarp / L items per warp. Every
// lane of a group walks the same sequences, so control flow is uniform per group; shuffles and
// __syncwarp name only the group's lanes. An item's decode is a sequential parse whose copies the
// lanes share: more lanes shorten an item's decode (longer copies per round, more of a sequence
// in the loaded window), fewer lanes parse more items per warp instruction. Wide groups pay while
// the device has room; once the launch's warps crowd it, instructions issued per sequence count.
// Measured on an H200 (gpu_decode_bench, GB/s with 8 / 16 / 32 lanes):
//   blosc-lz4 + shuffle, 128 KiB streams:  3200 items 38.9 / 48.2 / 52.9; 8192 items 82 / 95 / 102
//   blosc-lz4 + shuffle, 32 KiB streams:  32768 items 130 / 100 / 90
//   plain LZ4 of float32, 128 KiB items:   8192 items 95 / 117 / 82 (short sequences: the parse)
// lz4_lanes_for() takes 32 lanes while the launch's threads fill at most half of what the device
// holds at once, 16 while they all fit, else 8: on the H200 32 lanes for 3200 items, 16 for 8192,
// 8 for 16384 and more.

// Input bytes are read through the read-only cache: the input is not written by the kernel.
__device__ __forceinline__ unsigned load_in(const u8* in, std::uint64_t at) { return __ldg(in + at); }

// LZ4 length extension: bytes of 255 continue it. False when the input ends first. The length
// saturates at `cap`, above any size a Pos-sized item has, so the comparisons against the sizes
// that follow come out as with an unbounded length.
template <typename Pos>
__device__ bool read_length(const u8* in, Pos& ip, Pos end, Pos& length) {
  constexpr Pos cap = Pos{1} << (sizeof(Pos) * 8 - 1);
  while (true) {
    if (ip >= end) return false;
    const unsigned b = load_in(in, ip++);
    length = length + b < cap ? length + b : cap;
    if (b != 255) return true;
  }
}

// dst[i] = src[i] for i < n, i = lane + k * L: the source does not overlap the destination.
// Four rounds per pass load before they store, so each lane has four loads in flight.
template <int L, typename Pos>
__device__ void copy_bytes(u8* dst, const u8* src, Pos n, unsigned lane) {
  for (Pos base = 0; base < n; base += 4 * L) {
    unsigned v[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const Pos i = base + lane + k * L;
      if (i < n) v[k] = src[i];
    }
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const Pos i = base + lane + k * L;
      if (i < n) dst[i] = static_cast<u8>(v[k]);
    }
  }
}

// A match longer than its offset repeats the `offset` bytes before dst: dst[i] = dst[i % offset
// - offset]. Reading only that finished pattern, no round waits for another. j tracks i % offset.
template <int L, typename Pos>
__device__ void repeat_bytes(u8* dst, unsigned offset, Pos n, unsigned lane) {
  const u8* pattern = dst - offset;
  const unsigned step = L % offset;
  unsigned j = lane % offset;
  for (Pos base = 0; base < n; base += 4 * L) {
    unsigned v[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const Pos i = base + lane + k * L;
      if (i < n) v[k] = pattern[j];
      j += step;
      if (j >= offset) j -= offset;
    }
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const Pos i = base + lane + k * L;
      if (i < n) dst[i] = static_cast<u8>(v[k]);
    }
  }
}

// The input window: lane l holds in[ip + l], 0 past the end. One coalesced load per sequence
// brings its token and, for most sequences, its literals and offset, which the lanes then take
// from each other by shuffles instead of a chain of dependent loads.
template <int L, typename Pos>
__device__ __forceinline__ unsigned load_window(const u8* in, Pos ip, Pos end, unsigned lane) {
  return ip + lane < end ? load_in(in, ip + lane) : 0u;
}

template <int L>
__device__ __forceinline__ unsigned window_byte(unsigned mask, unsigned window, unsigned at) {
  return __shfl_sync(mask, window, static_cast<int>(at), L);
}

// Decodes one LZ4 block with the L lanes of a group (`lane` 0..L-1, `mask` the group's lanes of
// the warp). Pos is the type of positions: 32 bits when both sizes are below 2^31 (cheaper
// arithmetic), else 64.
template <int L, typename Pos>
__device__ ItemStatus lz4_decode(const u8* in, Pos in_end, u8* out, Pos out_end, unsigned lane, unsigned mask) {
  Pos ip = 0, op = 0;
  unsigned window = load_window<L>(in, ip, in_end, lane);
  // A short match is loaded in one sequence and stored in the next, so the wait for its load
  // (an L2 round trip: the output was written by this kernel) overlaps the next parse.
  bool pending = false;
  Pos pending_at = 0;
  unsigned pending_byte = 0;
  ItemStatus status = ItemStatus::Ok;
  while (true) {
    if (ip >= in_end) {
      status = ItemStatus::Corrupt;
      break;
    }
    const Pos start = ip;  // the window holds in[start .. start + L)
    const unsigned token = window_byte<L>(mask, window, 0);
    ++ip;
    Pos literals = token >> 4;
    if (literals == 15 && !read_length(in, ip, in_end, literals)) {
      status = ItemStatus::Corrupt;
      break;
    }
    if (literals > in_end - ip) {
      status = ItemStatus::Corrupt;
      break;
    }
    if (literals > out_end - op) {
      status = ItemStatus::SizeMismatch;
      break;
    }
    if (ip - start == 1 && literals < L) {
      // In the window: lanes 1..literals hold them.
      if (lane >= 1 && lane <= literals) out[op + lane - 1] = static_cast<u8>(window);
    } else {
      copy_bytes<L>(out + op, in + ip, literals, lane);
    }
    ip += literals;
    op += literals;
    if (ip == in_end) break;  // the last sequence has literals only
    if (in_end - ip < 2) {
      status = ItemStatus::Corrupt;
      break;
    }
    unsigned offset;
    if (ip - start + 1 < L) {
      // Both bytes are before the input end (checked above), so the window holds them.
      const auto at = static_cast<unsigned>(ip - start);
      offset = window_byte<L>(mask, window, at) | window_byte<L>(mask, window, at + 1) << 8;
    } else {
      offset = load_in(in, ip) | load_in(in, ip + 1) << 8;
    }
    ip += 2;
    Pos match = token & 15;
    if (match == 15 && !read_length(in, ip, in_end, match)) {
      status = ItemStatus::Corrupt;
      break;
    }
    match += 4;
    if (offset == 0 || offset > op) {
      status = ItemStatus::Corrupt;
      break;
    }
    if (match > out_end - op) {
      status = ItemStatus::SizeMismatch;
      break;
    }
    // The next sequence's window does not depend on this match: load it before the copy.
    window = load_window<L>(in, ip, in_end, lane);
    if (pending) out[pending_at] = static_cast<u8>(pending_byte);
    pending = false;
    __syncwarp(mask);  // the literals and matches other lanes wrote may be this match's source
    if (match <= L && offset >= match) {
      if (lane < match) {
        pending_byte = out[op - offset + lane];
        pending_at = op + lane;
        pending = true;
      }
    } else if (offset >= match) {
      copy_bytes<L>(out + op, out + op - offset, match, lane);
    } else {
      repeat_bytes<L>(out + op, offset, match, lane);
    }
    op += match;
  }
  if (pending) out[pending_at] = static_cast<u8>(pending_byte);
  if (status == ItemStatus::Ok && op != out_end) status = ItemStatus::SizeMismatch;
  return status;
}

template <int L>
__global__ void lz4_kernel(const DeviceItem* items, const std::int32_t* index, int n, std::int32_t* statuses) {
  static_assert(kWarp % L == 0 && kThreads % kWarp == 0, "groups must not straddle warps");
  const u64 item = (blockIdx.x * static_cast<u64>(blockDim.x) + threadIdx.x) / L;
  if (item >= static_cast<u64>(n)) return;  // whole groups leave together
  const unsigned lane = threadIdx.x % L;
  const unsigned mask = L == kWarp ? 0xffffffffu : ((1u << L) - 1) << (threadIdx.x % kWarp / L * L);
  const DeviceItem it = items[item];
  const u8* in = reinterpret_cast<const u8*>(it.in);
  u8* out = reinterpret_cast<u8*>(it.out);
  constexpr u64 small = u64{1} << 31;
  const ItemStatus status =
      it.in_size < small && it.out_size < small
          ? lz4_decode<L, unsigned>(in, static_cast<unsigned>(it.in_size), out, static_cast<unsigned>(it.out_size), lane, mask)
          : lz4_decode<L, u64>(in, it.in_size, out, it.out_size, lane, mask);
  if (lane == 0) statuses[index[item]] = static_cast<std::int32_t>(status);
}

__global__ void copy_kernel(const DeviceItem* items, const std::int32_t* index, std::int32_t* statuses) {
  const DeviceItem item = items[blockIdx.x];
  if (item.in_size != item.out_size) {
    if (threadIdx.x == 0) statuses[index[blockIdx.x]] = static_cast<std::int32_t>(ItemStatus::SizeMismatch);
    return;
  }
  const u64 n = item.out_size;
  const auto in_addr = reinterpret_cast<std::uintptr_t>(item.in), out_addr = reinterpret_cast<std::uintptr_t>(item.out);
  u64 done = 0;
  if (((in_addr | out_addr) & 15) == 0) {
    const auto* s = reinterpret_cast<const uint4*>(item.in);
    auto* t = reinterpret_cast<uint4*>(item.out);
    for (u64 i = threadIdx.x; i < n / 16; i += blockDim.x) t[i] = s[i];
    done = n / 16 * 16;
  }
  for (u64 i = done + threadIdx.x; i < n; i += blockDim.x) item.out[i] = item.in[i];
  if (threadIdx.x == 0) statuses[index[blockIdx.x]] = static_cast<std::int32_t>(ItemStatus::Ok);
}

__global__ void mark_kernel(const std::int32_t* index, int n, std::int32_t status, std::int32_t* statuses) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n) statuses[index[k]] = status;
}

__global__ void scatter_status_kernel(const std::int32_t* src, const std::int32_t* index, int n, std::int32_t* statuses) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n) statuses[index[k]] = src[k];
}

__global__ void nvcomp_status_kernel(const int* nv_status, const std::size_t* actual, const std::size_t* expected,
                                     const std::int32_t* index, int n, std::int32_t* statuses) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= n) return;
  ItemStatus s = ItemStatus::Ok;
  if (nv_status[k] != 0) s = ItemStatus::Corrupt;
  else if (actual[k] != expected[k]) s = ItemStatus::SizeMismatch;
  statuses[index[k]] = static_cast<std::int32_t>(s);
}

// Copies the job's bytes from `from` on unchanged: the bytes after the last whole element, or a
// whole block that is stored unshuffled.
__device__ void copy_rest(const UnshuffleJob& job, u64 from) {
  for (u64 k = from + threadIdx.x; k < job.size; k += blockDim.x) job.dst[k] = job.src[k];
}

// Byte shuffle: stream i holds byte i of every element. A thread per element gathers its bytes.
__device__ void byte_unshuffle(const UnshuffleJob& job) {
  const u64 ts = job.typesize, elements = job.size / ts;
  const u8* src = reinterpret_cast<const u8*>(job.src);
  u8* dst = reinterpret_cast<u8*>(job.dst);
  for (u64 e = threadIdx.x; e < elements; e += blockDim.x) {
    for (u64 i = 0; i < ts; ++i) dst[e * ts + i] = src[i * elements + e];
  }
  copy_rest(job, elements * ts);
}

// Byte k of each of four words, gathered into out[k]: a 4x4 byte transpose.
__device__ __forceinline__ void transpose4(const unsigned a[4], unsigned out[4]) {
  const unsigned lo01 = __byte_perm(a[0], a[1], 0x5140), hi01 = __byte_perm(a[0], a[1], 0x7362);
  const unsigned lo23 = __byte_perm(a[2], a[3], 0x5140), hi23 = __byte_perm(a[2], a[3], 0x7362);
  out[0] = __byte_perm(lo01, lo23, 0x5410);
  out[1] = __byte_perm(lo01, lo23, 0x7632);
  out[2] = __byte_perm(hi01, hi23, 0x5410);
  out[3] = __byte_perm(hi01, hi23, 0x7632);
}

// Byte shuffle of a typesize that is a multiple of 4 (float32, float64), four elements a thread:
// a 32-bit load from each of four planes holds four elements' bytes, transposed into four output
// words, so loads and stores move words instead of bytes. Needs whole quads of elements and
// word-aligned buffers (words_fit).
__device__ bool words_fit(const UnshuffleJob& job) {
  const u64 elements = job.size / job.typesize;
  const auto addresses = reinterpret_cast<std::uintptr_t>(job.src) | reinterpret_cast<std::uintptr_t>(job.dst);
  return job.typesize % 4 == 0 && elements % 4 == 0 && addresses % 4 == 0;
}

__device__ void byte_unshuffle_words(const UnshuffleJob& job) {
  const u64 ts = job.typesize, elements = job.size / ts, quads = elements / 4, words = ts / 4;
  const auto* src = reinterpret_cast<const unsigned*>(job.src);  // plane i starts at word i * quads
  auto* dst = reinterpret_cast<unsigned*>(job.dst);
  const bool vector = words == 1 && reinterpret_cast<std::uintptr_t>(job.dst) % 16 == 0;
  for (u64 q = threadIdx.x; q < quads; q += blockDim.x) {
    for (u64 j = 0; j < words; ++j) {
      unsigned a[4], o[4];
#pragma unroll
      for (u64 i = 0; i < 4; ++i) a[i] = src[(4 * j + i) * quads + q];
      transpose4(a, o);
      if (vector) {
        reinterpret_cast<uint4*>(dst)[q] = make_uint4(o[0], o[1], o[2], o[3]);
      } else {
#pragma unroll
        for (u64 k = 0; k < 4; ++k) dst[(4 * q + k) * words + j] = o[k];
      }
    }
  }
  copy_rest(job, elements * ts);
}

// Bit shuffle: plane (byte b, bit k) holds that bit of every element, 8 elements a byte, the
// first in the lowest bit. A thread takes 8 elements' byte b: an 8x8 bit transpose. The bytes
// after the last whole element are stored as they are.
__device__ void bit_unshuffle(const UnshuffleJob& job) {
  const u64 ts = job.typesize, elements = job.size / ts;
  const u8* src = reinterpret_cast<const u8*>(job.src);
  u8* dst = reinterpret_cast<u8*>(job.dst);
  if (elements % 8 != 0) {  // blosc 1.x leaves such blocks unshuffled
    copy_rest(job, 0);
    return;
  }
  const u64 plane = elements / 8;
  for (u64 t = threadIdx.x; t < plane * ts; t += blockDim.x) {
    const u64 group = t % plane, b = t / plane;
    unsigned rows[8];
    for (int k = 0; k < 8; ++k) rows[k] = src[(b * 8 + k) * plane + group];
    for (int j = 0; j < 8; ++j) {
      unsigned v = 0;
      for (int k = 0; k < 8; ++k) v |= ((rows[k] >> j) & 1u) << k;
      dst[(group * 8 + j) * ts + b] = static_cast<u8>(v);
    }
  }
  copy_rest(job, elements * ts);
}

__global__ void unshuffle_kernel(const UnshuffleJob* jobs) {
  const UnshuffleJob job = jobs[blockIdx.x];
  const bool bytes = job.mode == kUnshuffleByte && job.typesize > 1;
  if (bytes && words_fit(job)) byte_unshuffle_words(job);
  else if (bytes) byte_unshuffle(job);
  else if (job.mode == kUnshuffleBit) bit_unshuffle(job);
  else copy_rest(job, 0);
}

unsigned blocks_for(int n, int per_block) { return static_cast<unsigned>((n + per_block - 1) / per_block); }

}  // namespace

int lz4_lanes_for(int n) {
  int device = 0, sms = 0;
  CUZARR_CUDA_CHECK(cudaGetDevice(&device));
  CUZARR_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const auto resident = [&](auto kernel) {  // threads of `kernel` the device runs at once
    int blocks = 0;
    CUZARR_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, kThreads, 0));
    return static_cast<long long>(blocks) * sms * kThreads;
  };
  if (static_cast<long long>(n) * 32 * 2 <= resident(lz4_kernel<32>)) return 32;
  if (static_cast<long long>(n) * 16 <= resident(lz4_kernel<16>)) return 16;
  return 8;
}

void launch_lz4(const DeviceItem* items, const std::int32_t* index, int n, std::int32_t* statuses, int lanes,
                cudaStream_t stream) {
  if (n == 0) return;
  if (lanes == 32) {
    lz4_kernel<32><<<blocks_for(n, kThreads / 32), kThreads, 0, stream>>>(items, index, n, statuses);
  } else if (lanes == 16) {
    lz4_kernel<16><<<blocks_for(n, kThreads / 16), kThreads, 0, stream>>>(items, index, n, statuses);
  } else {
    lz4_kernel<8><<<blocks_for(n, kThreads / 8), kThreads, 0, stream>>>(items, index, n, statuses);
  }
  CUZARR_CUDA_CHECK(cudaGetLastError());
}

void launch_copy(const DeviceItem* items, const std::int32_t* index, int n, std::int32_t* statuses, cudaStream_t stream) {
  if (n == 0) return;
  copy_kernel<<<static_cast<unsigned>(n), kThreads, 0, stream>>>(items, index, statuses);
  CUZARR_CUDA_CHECK(cudaGetLastError());
}

void launch_mark(const std::int32_t* index, int n, ItemStatus status, std::int32_t* statuses, cudaStream_t stream) {
  if (n == 0) return;
  mark_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(index, n, static_cast<std::int32_t>(status), statuses);
  CUZARR_CUDA_CHECK(cudaGetLastError());
}

void launch_scatter_status(const std::int32_t* src, const std::int32_t* index, int n, std::int32_t* statuses,
                           cudaStream_t stream) {
  if (n == 0) return;
  scatter_status_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(src, index, n, statuses);
  CUZARR_CUDA_CHECK(cudaGetLastError());
}

void launch_nvcomp_status(const int* nv_status, const std::size_t* actual, const std::size_t* expected,
                          const std::int32_t* index, int n, std::int32_t* statuses, cudaStream_t stream) {
  if (n == 0) return;
  nvcomp_status_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(nv_status, actual, expected, index, n, statuses);
  CUZARR_CUDA_CHECK(cudaGetLastError());
}

void launch_unshuffle(const UnshuffleJob* jobs, int n, cudaStream_t stream) {
  if (n == 0) return;
  unshuffle_kernel<<<static_cast<unsigned>(n), kThreads, 0, stream>>>(jobs);
  CUZARR_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuzarr::cuda
