// cuzarr's own decompression kernels: LZ4 blocks (a warp per item), stored copies, blosc's
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
constexpr int kWarpsPerBlock = kThreads / kWarp;

using u8 = unsigned char;
using u64 = unsigned long long;

// LZ4 length extension: bytes of 255 continue it. False when the input ends first.
__device__ bool read_length(const u8* in, u64& ip, u64 end, u64& length) {
  while (true) {
    if (ip >= end) return false;
    const unsigned b = in[ip++];
    length += b;
    if (b != 255) return true;
  }
}

// Every lane of the warp walks the same sequences (the token and length loads are broadcast), so
// control flow stays uniform; the lanes share out each literal run and match copy.
__global__ void lz4_kernel(const DeviceItem* items, const std::int32_t* index, int n, std::int32_t* statuses) {
  const int warp = static_cast<int>((blockIdx.x * static_cast<u64>(blockDim.x) + threadIdx.x) / kWarp);
  const int lane = threadIdx.x % kWarp;
  if (warp >= n) return;
  const DeviceItem item = items[warp];
  const u8* in = reinterpret_cast<const u8*>(item.in);
  u8* out = reinterpret_cast<u8*>(item.out);
  const u64 in_end = item.in_size, out_end = item.out_size;
  u64 ip = 0, op = 0;
  ItemStatus status = ItemStatus::Ok;
  while (true) {
    if (ip >= in_end) {
      status = ItemStatus::Corrupt;
      break;
    }
    const unsigned token = in[ip++];
    u64 literals = token >> 4;
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
    for (u64 i = lane; i < literals; i += kWarp) out[op + i] = in[ip + i];
    ip += literals;
    op += literals;
    if (ip == in_end) break;  // the last sequence has literals only
    if (in_end - ip < 2) {
      status = ItemStatus::Corrupt;
      break;
    }
    const u64 offset = in[ip] | (static_cast<u64>(in[ip + 1]) << 8);
    ip += 2;
    u64 match = token & 15;
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
    __syncwarp();  // the literals just written by other lanes may be the match's source
    if (offset >= kWarp) {
      // Rounds of 32 bytes: each round reads only bytes finished in earlier rounds.
      for (u64 base = 0; base < match; base += kWarp) {
        const u64 i = base + lane;
        if (i < match) out[op + i] = out[op + i - offset];
        __syncwarp();
      }
    } else {
      // A short offset repeats the last `offset` bytes: every lane reads that finished pattern.
      for (u64 i = lane; i < match; i += kWarp) out[op + i] = out[op - offset + i % offset];
    }
    op += match;
    __syncwarp();
  }
  if (status == ItemStatus::Ok && op != out_end) status = ItemStatus::SizeMismatch;
  if (lane == 0) statuses[index[warp]] = static_cast<std::int32_t>(status);
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

__global__ void nvcomp_status_kernel(const int* nv_status, const std::size_t* actual, const std::size_t* expected,
                                     const std::int32_t* index, int n, std::int32_t* statuses) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= n) return;
  ItemStatus s = ItemStatus::Ok;
  if (nv_status[k] != 0) s = ItemStatus::Corrupt;
  else if (actual[k] != expected[k]) s = ItemStatus::SizeMismatch;
  statuses[index[k]] = static_cast<std::int32_t>(s);
}

// Byte shuffle: stream i holds byte i of every element. A thread per element gathers its bytes.
__device__ void byte_unshuffle(const UnshuffleJob& job) {
  const u64 ts = job.typesize, elements = job.size / ts;
  const u8* src = reinterpret_cast<const u8*>(job.src);
  u8* dst = reinterpret_cast<u8*>(job.dst);
  for (u64 e = threadIdx.x; e < elements; e += blockDim.x) {
    for (u64 i = 0; i < ts; ++i) dst[e * ts + i] = src[i * elements + e];
  }
  for (u64 k = elements * ts + threadIdx.x; k < job.size; k += blockDim.x) dst[k] = src[k];
}

// Bit shuffle: plane (byte b, bit k) holds that bit of every element, 8 elements a byte, the
// first in the lowest bit. A thread takes 8 elements' byte b: an 8x8 bit transpose.
__device__ void bit_unshuffle(const UnshuffleJob& job) {
  const u64 ts = job.typesize, elements = job.size / ts;
  const u8* src = reinterpret_cast<const u8*>(job.src);
  u8* dst = reinterpret_cast<u8*>(job.dst);
  if (elements % 8 != 0) {  // blosc 1.x leaves such blocks unshuffled
    for (u64 k = threadIdx.x; k < job.size; k += blockDim.x) dst[k] = src[k];
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
}

__global__ void unshuffle_kernel(const UnshuffleJob* jobs) {
  const UnshuffleJob job = jobs[blockIdx.x];
  if (job.mode == kUnshuffleByte && job.typesize > 1) byte_unshuffle(job);
  else if (job.mode == kUnshuffleBit) bit_unshuffle(job);
  else
    for (u64 k = threadIdx.x; k < job.size; k += blockDim.x) job.dst[k] = job.src[k];
}

unsigned blocks_for(int n, int per_block) { return static_cast<unsigned>((n + per_block - 1) / per_block); }

}  // namespace

void launch_lz4(const DeviceItem* items, const std::int32_t* index, int n, std::int32_t* statuses, cudaStream_t stream) {
  if (n == 0) return;
  lz4_kernel<<<blocks_for(n, kWarpsPerBlock), kThreads, 0, stream>>>(items, index, n, statuses);
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
