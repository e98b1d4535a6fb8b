// Shared by the zstd format headers (RFC 8878): the host/device qualifier, the status every step
// returns, and little-endian loads. These headers are C++17 (CUDA sources compile as C++17) and
// use no exceptions, no std containers and no dynamic memory: every function works on buffers its
// caller provides, so the same code runs in a CUDA kernel, in the host decoder and in the fuzzer.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define CUZARR_HD __host__ __device__
#else
#define CUZARR_HD
#endif

namespace cuzarr::zstd {

enum class Status : std::int32_t {
  Ok = 0,
  Truncated = 1,         // the input ends inside a frame, block or table
  Corrupt = 2,           // a value the format does not allow (bad magic, table, bitstream, offset)
  Reserved = 3,          // a reserved bit or block type is set
  Dictionary = 4,        // the frame needs a dictionary (Dictionary_ID != 0): not supported
  ChecksumMismatch = 5,  // the content checksum differs from the decoded data's
  SizeMismatch = 6,      // the data decodes to another size than expected (or than Frame_Content_Size)
  TooLarge = 7,          // a limit of this decoder (e.g. a caller's array of block descriptors) is exceeded
};

// Most of the format's limits.
inline constexpr std::uint32_t kMagic = 0xFD2FB528u;
inline constexpr std::uint32_t kSkippableMagicMask = 0xFFFFFFF0u;
inline constexpr std::uint32_t kSkippableMagic = 0x184D2A50u;
inline constexpr std::uint32_t kMaxBlockSize = 128u * 1024u;
// Every sequence's match is at least 3 bytes long and a block decodes to at most 128 KiB.
inline constexpr std::uint32_t kMaxSequences = kMaxBlockSize / 3;

CUZARR_HD inline std::uint32_t load_le16(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8);
}
CUZARR_HD inline std::uint32_t load_le24(const std::uint8_t* p) {
  return load_le16(p) | (static_cast<std::uint32_t>(p[2]) << 16);
}
CUZARR_HD inline std::uint32_t load_le32(const std::uint8_t* p) {
  return load_le16(p) | (load_le16(p + 2) << 16);
}
CUZARR_HD inline std::uint64_t load_le64(const std::uint8_t* p) {
#if !defined(__CUDA_ARCH__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  std::uint64_t v;  // one unaligned load on little-endian hosts
  __builtin_memcpy(&v, p, 8);
  return v;
#else
  return static_cast<std::uint64_t>(load_le32(p)) | (static_cast<std::uint64_t>(load_le32(p + 4)) << 32);
#endif
}
// Up to 8 bytes, those past `avail` read as zero.
CUZARR_HD inline std::uint64_t load_le_upto8(const std::uint8_t* p, std::int64_t avail) {
  if (avail >= 8) return load_le64(p);
  std::uint64_t v = 0;
  for (std::int64_t i = 0; i < avail; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

// Index of the highest set bit; v must not be 0.
CUZARR_HD inline int highbit32(std::uint32_t v) {
#if defined(__CUDA_ARCH__)
  return 31 - __clz(v);
#else
  return 31 - __builtin_clz(v);
#endif
}

CUZARR_HD inline std::uint64_t low_mask64(int n) { return n >= 64 ? ~0ull : ((1ull << n) - 1); }

}  // namespace cuzarr::zstd
