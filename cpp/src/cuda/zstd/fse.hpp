// FSE (RFC 8878 section 4.1): a table description (normalized counts, read forward), the decoding
// table built from it, and the predefined distributions of the sequence codes.
#pragma once

#include "bit_reader.hpp"
#include "common.hpp"

namespace cuzarr::zstd {

inline constexpr int kMaxFseLog = 9;  // literal and match lengths; offsets 8, Huffman weights 6
inline constexpr int kMaxFseSymbols = 53;  // match length codes 0..52, the largest alphabet

// Trivial types (no member initializers): tables live in CUDA __shared__ memory, which cannot
// run constructors; every table is filled by a build function before use.
struct FseEntry {
  std::uint16_t baseline;
  std::uint8_t symbol;
  std::uint8_t bits;
};

// A decoding table of 1 << log entries. An RLE table has log 0 and one entry of 0 bits.
struct FseTable {
  FseEntry entries[1 << kMaxFseLog];
  int log;
};

// Reads a table description from p[0, n): counts[0, max_symbol] (-1 = "less than 1"), the accuracy
// log, and the bytes used. A count set that does not add up to 1 << log exactly is Corrupt.
CUZARR_HD inline Status read_fse_description(const std::uint8_t* p, std::size_t n, int max_symbol, int max_log,
                                             std::int16_t* counts, int* log_out, std::size_t* used) {
  if (n < 1) return Status::Truncated;
  ForwardBits f{p, static_cast<std::int64_t>(n), 0};
  const int log = static_cast<int>(forward_read(f, 4)) + 5;
  if (log > max_log) return Status::Corrupt;
  // Values 0..remaining are possible for the next symbol: the points not yet given out, plus one.
  int remaining = (1 << log) + 1;
  int symbol = 0;
  while (remaining > 1) {
    if (symbol > max_symbol) return Status::Corrupt;
    const int bits = highbit32(static_cast<std::uint32_t>(remaining)) + 1;
    const int short_values = (1 << bits) - 1 - remaining;  // these take one bit less
    int value = static_cast<int>(forward_peek(f, bits - 1));
    if (value < short_values) {
      f.pos += bits - 1;
    } else {
      value = static_cast<int>(forward_peek(f, bits));
      if (value >= (1 << (bits - 1))) value -= short_values;
      f.pos += bits;
    }
    const int count = value - 1;
    remaining -= count < 0 ? 1 : count;
    if (remaining < 1) return Status::Corrupt;
    counts[symbol++] = static_cast<std::int16_t>(count);
    if (count == 0) {
      for (;;) {  // 2-bit repeat flags for further zero counts
        const int repeat = static_cast<int>(forward_read(f, 2));
        if (symbol + repeat > max_symbol + 1) return Status::Corrupt;
        for (int i = 0; i < repeat; ++i) counts[symbol++] = 0;
        if (repeat != 3) break;
        if (forward_overflowed(f)) return Status::Truncated;
      }
    }
    if (forward_overflowed(f)) return Status::Truncated;
  }
  if (forward_overflowed(f)) return Status::Truncated;
  for (int s = symbol; s <= max_symbol; ++s) counts[s] = 0;
  *log_out = log;
  *used = static_cast<std::size_t>((f.pos + 7) >> 3);
  return Status::Ok;
}

// Builds the decoding table of counts[0, symbols) (which add up to 1 << log) into t.
CUZARR_HD inline Status build_fse_table(const std::int16_t* counts, int symbols, int log, FseTable* t) {
  if (log < 5 || log > kMaxFseLog || symbols < 1 || symbols > 256) return Status::Corrupt;
  const int size = 1 << log;
  int total = 0;  // checked here too, so that the spreading below always ends
  for (int s = 0; s < symbols; ++s) {
    if (counts[s] < -1) return Status::Corrupt;
    total += counts[s] == -1 ? 1 : counts[s];
  }
  if (total != size) return Status::Corrupt;
  std::uint16_t next[256];
  int high = size - 1;
  for (int s = 0; s < symbols; ++s) {
    if (counts[s] == -1) {
      if (high < 0) return Status::Corrupt;
      t->entries[high--].symbol = static_cast<std::uint8_t>(s);
      next[s] = 1;
    } else {
      next[s] = static_cast<std::uint16_t>(counts[s]);
    }
  }
  const int step = (size >> 1) + (size >> 3) + 3;  // odd, so it visits every cell
  const int mask = size - 1;
  int pos = 0;
  for (int s = 0; s < symbols; ++s) {
    for (int i = 0; i < counts[s]; ++i) {
      t->entries[pos].symbol = static_cast<std::uint8_t>(s);
      do {
        pos = (pos + step) & mask;
      } while (pos > high);
    }
  }
  if (pos != 0) return Status::Corrupt;  // the counts did not fill the table exactly
  for (int u = 0; u < size; ++u) {
    FseEntry& e = t->entries[u];
    const std::uint32_t state = next[e.symbol]++;
    const int bits = log - highbit32(state);
    e.bits = static_cast<std::uint8_t>(bits);
    e.baseline = static_cast<std::uint16_t>((state << bits) - static_cast<std::uint32_t>(size));
  }
  t->log = log;
  return Status::Ok;
}

CUZARR_HD inline void build_rle_table(std::uint8_t symbol, FseTable* t) {
  t->entries[0].symbol = symbol;
  t->entries[0].bits = 0;
  t->entries[0].baseline = 0;
  t->log = 0;
}

enum SequenceKind : int { kLiteralLengths = 0, kOffsets = 1, kMatchLengths = 2 };

CUZARR_HD inline int max_code(int kind) { return kind == kLiteralLengths ? 35 : kind == kOffsets ? 31 : 52; }
CUZARR_HD inline int max_table_log(int kind) { return kind == kOffsets ? 8 : 9; }

// The predefined distributions (RFC 8878 section 3.1.1.3.2.2).
CUZARR_HD inline Status build_predefined_table(int kind, FseTable* t) {
  const std::int16_t ll[36] = {4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2,
                               2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1};
  const std::int16_t ml[53] = {1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                               1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                               1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1};
  const std::int16_t of[29] = {1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1,
                               1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1};
  if (kind == kLiteralLengths) return build_fse_table(ll, 36, 6, t);
  if (kind == kMatchLengths) return build_fse_table(ml, 53, 6, t);
  return build_fse_table(of, 29, 5, t);
}

}  // namespace cuzarr::zstd
