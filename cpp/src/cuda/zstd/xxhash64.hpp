// XXH64 with seed 0, the content checksum of a frame (its low 32 bits), written from the
// algorithm's published description: four lanes over 32-byte stripes, then the tail in 8-, 4-
// and 1-byte steps, then a final avalanche.
#pragma once

#include "common.hpp"

namespace cuzarr::zstd {

inline constexpr std::uint64_t kXxPrime1 = 0x9E3779B185EBCA87ull;
inline constexpr std::uint64_t kXxPrime2 = 0xC2B2AE3D27D4EB4Full;
inline constexpr std::uint64_t kXxPrime3 = 0x165667B19E3779F9ull;
inline constexpr std::uint64_t kXxPrime4 = 0x85EBCA77C2B2AE63ull;
inline constexpr std::uint64_t kXxPrime5 = 0x27D4EB2F165667C5ull;

CUZARR_HD inline std::uint64_t xx_rotl(std::uint64_t v, int r) { return (v << r) | (v >> (64 - r)); }

CUZARR_HD inline std::uint64_t xx_round(std::uint64_t acc, std::uint64_t lane) {
  acc += lane * kXxPrime2;
  acc = xx_rotl(acc, 31);
  return acc * kXxPrime1;
}

CUZARR_HD inline std::uint64_t xx_merge(std::uint64_t h, std::uint64_t v) {
  h ^= xx_round(0, v);
  return h * kXxPrime1 + kXxPrime4;
}

CUZARR_HD inline std::uint64_t xxhash64(const std::uint8_t* p, std::size_t n, std::uint64_t seed = 0) {
  const std::uint8_t* const end = p + n;
  std::uint64_t h;
  if (n >= 32) {
    std::uint64_t v1 = seed + kXxPrime1 + kXxPrime2, v2 = seed + kXxPrime2, v3 = seed, v4 = seed - kXxPrime1;
    const std::uint8_t* const limit = end - 32;
    do {
      v1 = xx_round(v1, load_le64(p));
      v2 = xx_round(v2, load_le64(p + 8));
      v3 = xx_round(v3, load_le64(p + 16));
      v4 = xx_round(v4, load_le64(p + 24));
      p += 32;
    } while (p <= limit);
    h = xx_rotl(v1, 1) + xx_rotl(v2, 7) + xx_rotl(v3, 12) + xx_rotl(v4, 18);
    h = xx_merge(h, v1);
    h = xx_merge(h, v2);
    h = xx_merge(h, v3);
    h = xx_merge(h, v4);
  } else {
    h = seed + kXxPrime5;
  }
  h += static_cast<std::uint64_t>(n);
  while (end - p >= 8) {
    h ^= xx_round(0, load_le64(p));
    h = xx_rotl(h, 27) * kXxPrime1 + kXxPrime4;
    p += 8;
  }
  if (end - p >= 4) {
    h ^= static_cast<std::uint64_t>(load_le32(p)) * kXxPrime1;
    h = xx_rotl(h, 23) * kXxPrime2 + kXxPrime3;
    p += 4;
  }
  while (p < end) {
    h ^= static_cast<std::uint64_t>(*p) * kXxPrime5;
    h = xx_rotl(h, 11) * kXxPrime1;
    ++p;
  }
  h ^= h >> 33;
  h *= kXxPrime2;
  h ^= h >> 29;
  h *= kXxPrime3;
  h ^= h >> 32;
  return h;
}

}  // namespace cuzarr::zstd
