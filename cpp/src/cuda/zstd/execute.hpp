// Sequence execution (RFC 8878 section 3.1.2): literal copies and matches. A match may reach back
// into earlier blocks of the same frame; `frame_out` is the start of the frame's output and
// `at` the block's position in it, so every byte a match reads lies in [frame_out, frame_out + at
// + produced) and every byte written in the block's own range.
#pragma once

#include <cstring>

#include "common.hpp"
#include "sequences.hpp"

namespace cuzarr::zstd {

// memcpy for non-overlapping ranges that may be empty (an empty range's pointer may be null).
CUZARR_HD inline void copy_bytes(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) {
  if (n != 0) memcpy(dst, src, n);
}

// Executes seq[0, count) (offsets resolved) with literals[0, literal_count), writing the block's
// `decoded` bytes (resolve_offsets' sum) at frame_out + at.
CUZARR_HD inline Status execute_sequences(const Sequence* seq, std::uint32_t count, const std::uint8_t* literals,
                                          std::uint32_t literal_count, std::uint8_t* frame_out, std::uint64_t at,
                                          std::uint32_t decoded) {
  std::uint8_t* op = frame_out + at;
  std::uint8_t* const end = op + decoded;
  const std::uint8_t* lp = literals;
  const std::uint8_t* const lend = literals + literal_count;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t ll = seq[i].literal_length, ml = seq[i].match_length, off = seq[i].offset;
    if (ll > static_cast<std::size_t>(lend - lp) || static_cast<std::uint64_t>(ll) + ml > static_cast<std::uint64_t>(end - op))
      return Status::Corrupt;
#if !defined(__CUDA_ARCH__)
    // Host: 16-byte chunks when the source and the block both have room for the overshoot (later
    // bytes overwrite it); a memcpy call per short run cost more than the decoding.
    if (static_cast<std::size_t>(lend - lp) >= ll + 16u && static_cast<std::size_t>(end - op) >= ll + 16u) {
      for (std::uint32_t k = 0; k < ll; k += 16) memcpy(op + k, lp + k, 16);
    } else {
      copy_bytes(op, lp, ll);
    }
#else
    copy_bytes(op, lp, ll);
#endif
    op += ll;
    lp += ll;
    if (off == 0 || off > static_cast<std::uint64_t>(op - frame_out)) return Status::Corrupt;
    const std::uint8_t* src = op - off;
    if (off >= 16 && static_cast<std::size_t>(end - op) >= ml + 16u) {
      // Each chunk reads bytes at least 16 before those it writes: all final already.
      for (std::uint32_t k = 0; k < ml; k += 16) memcpy(op + k, src + k, 16);
    } else if (off >= ml) {
      copy_bytes(op, src, ml);
    } else {  // overlapping: each byte may be one this match just wrote
      for (std::uint32_t k = 0; k < ml; ++k) op[k] = src[k];
    }
    op += ml;
  }
  const std::size_t rest = static_cast<std::size_t>(lend - lp);
  if (rest != static_cast<std::size_t>(end - op)) return Status::Corrupt;
  copy_bytes(op, lp, rest);
  return Status::Ok;
}

}  // namespace cuzarr::zstd
