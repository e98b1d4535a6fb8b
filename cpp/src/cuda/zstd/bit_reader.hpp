// The two bit orders of the format. Entropy-coded streams (Huffman literals, FSE sequences and
// Huffman weights) are read backward from a final 1-bit marker; FSE table descriptions are read
// forward. Reads past either end yield zero bits and are remembered, so a caller checks once,
// after a loop, instead of on every read.
#pragma once

#include "common.hpp"

namespace cuzarr::zstd {

// `pos` is the number of bits not yet read; it goes negative after an over-read.
struct BackwardBits {
  const std::uint8_t* data = nullptr;
  std::int64_t size = 0;
  std::int64_t pos = 0;
};

CUZARR_HD inline Status backward_init(BackwardBits& b, const std::uint8_t* data, std::size_t size) {
  if (size == 0) return Status::Corrupt;
  const std::uint8_t last = data[size - 1];
  if (last == 0) return Status::Corrupt;  // no end marker
  b.data = data;
  b.size = static_cast<std::int64_t>(size);
  b.pos = static_cast<std::int64_t>(size - 1) * 8 + highbit32(last);
  return Status::Ok;
}

// The next n bits (n <= 56), the first one read as the most significant.
CUZARR_HD inline std::uint64_t backward_peek(const BackwardBits& b, int n) {
  if (n == 0) return 0;
  const std::int64_t lo = b.pos - n;
  if (lo >= 0) {
    const std::int64_t byte = lo >> 3;
    return (load_le_upto8(b.data + byte, b.size - byte) >> (lo & 7)) & low_mask64(n);
  }
  if (b.pos <= 0) return 0;
  // The stream's first pos (< n <= 56) bits, followed by zeros.
  const std::uint64_t head = load_le_upto8(b.data, b.size) & low_mask64(static_cast<int>(b.pos));
  return head << (n - b.pos);
}

CUZARR_HD inline void backward_consume(BackwardBits& b, int n) { b.pos -= n; }

CUZARR_HD inline std::uint64_t backward_read(BackwardBits& b, int n) {
  const std::uint64_t v = backward_peek(b, n);
  b.pos -= n;
  return v;
}

// A window of 64 bits of a backward stream, kept between reads: bits [lo, lo + 64) of the
// stream. A loop that reads many short fields (the sequences) loads the stream once per ~57
// bits instead of once per field. backward_read_cached gives what backward_read gives.
struct BackwardWindow {
  std::uint64_t bits = 0;
  std::int64_t lo = INT64_MAX;  // empty: the first read loads
};

CUZARR_HD inline std::uint64_t backward_read_cached(BackwardBits& b, BackwardWindow& w, int n) {
  if (n == 0) return 0;
  const std::int64_t lo = b.pos - n;
  if (lo < w.lo || b.pos > w.lo + 64) {
    // At least 57 bits below pos, byte aligned, or the stream's first 8 bytes.
    w.lo = b.pos > 64 ? ((b.pos - 64 + 7) & ~static_cast<std::int64_t>(7)) : 0;
    w.bits = load_le_upto8(b.data + (w.lo >> 3), b.size - (w.lo >> 3));
    if (lo < w.lo) return backward_read(b, n);  // past the stream's start: backward_peek's zeros
  }
  b.pos = lo;
  return (w.bits >> (lo - w.lo)) & low_mask64(n);
}

CUZARR_HD inline bool backward_overflowed(const BackwardBits& b) { return b.pos < 0; }
CUZARR_HD inline bool backward_finished(const BackwardBits& b) { return b.pos == 0; }

struct ForwardBits {
  const std::uint8_t* data = nullptr;
  std::int64_t size = 0;
  std::int64_t pos = 0;  // bits read so far
};

// The next n bits (n <= 56), little-endian.
CUZARR_HD inline std::uint64_t forward_peek(const ForwardBits& f, int n) {
  const std::int64_t byte = f.pos >> 3;
  if (byte >= f.size) return 0;
  return (load_le_upto8(f.data + byte, f.size - byte) >> (f.pos & 7)) & low_mask64(n);
}

CUZARR_HD inline std::uint64_t forward_read(ForwardBits& f, int n) {
  const std::uint64_t v = forward_peek(f, n);
  f.pos += n;
  return v;
}

CUZARR_HD inline bool forward_overflowed(const ForwardBits& f) { return f.pos > f.size * 8; }

}  // namespace cuzarr::zstd
