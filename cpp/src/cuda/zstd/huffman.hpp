// Huffman-coded literals (RFC 8878 section 4.2): the tree description (weights, direct or
// FSE-compressed), the decoding table built from the weights, and the decoding of one stream.
#pragma once

#include "bit_reader.hpp"
#include "common.hpp"
#include "fse.hpp"

namespace cuzarr::zstd {

inline constexpr int kMaxHuffmanBits = 11;

// Trivial types, like FseTable (fse.hpp).
struct HufEntry {
  std::uint8_t symbol;
  std::uint8_t bits;
};

// Indexed by the next max_bits bits of a stream.
struct HufTable {
  HufEntry entries[1 << kMaxHuffmanBits];
  int max_bits;
};

// Reads the weights of a tree description at p[0, n) into weights[0, 255): *count explicit
// weights (the last symbol's is implied), *used bytes. `scratch` holds the weights' FSE table.
CUZARR_HD inline Status read_huffman_weights(const std::uint8_t* p, std::size_t n, std::uint8_t* weights, int* count,
                                             std::size_t* used, FseTable* scratch) {
  if (n < 1) return Status::Truncated;
  const int header = p[0];
  if (header >= 128) {  // direct: 4 bits a weight, the first in the high half
    const int number = header - 127;
    const std::size_t bytes = static_cast<std::size_t>((number + 1) / 2);
    if (n < 1 + bytes) return Status::Truncated;
    for (int i = 0; i < number; ++i) {
      const std::uint8_t b = p[1 + i / 2];
      weights[i] = static_cast<std::uint8_t>((i & 1) ? (b & 15) : (b >> 4));
    }
    *count = number;
    *used = 1 + bytes;
    return Status::Ok;
  }
  const std::size_t size = static_cast<std::size_t>(header);
  if (size == 0) return Status::Corrupt;
  if (n < 1 + size) return Status::Truncated;
  std::int16_t counts[13];
  int log = 0;
  std::size_t desc = 0;
  Status st = read_fse_description(p + 1, size, 12, 6, counts, &log, &desc);
  if (st != Status::Ok) return st == Status::Truncated ? Status::Corrupt : st;
  st = build_fse_table(counts, 13, log, scratch);
  if (st != Status::Ok) return st;
  if (desc >= size) return Status::Corrupt;
  BackwardBits b;
  st = backward_init(b, p + 1 + desc, size - desc);
  if (st != Status::Ok) return st;
  // Two states share the stream and take turns; when an update reads past the stream's start,
  // the other state's symbol is the last one.
  std::uint32_t s1 = static_cast<std::uint32_t>(backward_read(b, log));
  std::uint32_t s2 = static_cast<std::uint32_t>(backward_read(b, log));
  const FseEntry* e = scratch->entries;
  int k = 0;
  for (;;) {
    if (k + 2 > 255) return Status::Corrupt;
    weights[k++] = e[s1].symbol;
    s1 = e[s1].baseline + static_cast<std::uint32_t>(backward_read(b, e[s1].bits));
    if (backward_overflowed(b)) {
      weights[k++] = e[s2].symbol;
      break;
    }
    weights[k++] = e[s2].symbol;
    s2 = e[s2].baseline + static_cast<std::uint32_t>(backward_read(b, e[s2].bits));
    if (backward_overflowed(b)) {
      weights[k++] = e[s1].symbol;
      break;
    }
  }
  *count = k;
  *used = 1 + size;
  return Status::Ok;
}

// Builds the decoding table of weights[0, count) and the implied last weight.
CUZARR_HD inline Status build_huffman_table(const std::uint8_t* weights, int count, HufTable* t) {
  if (count < 1 || count > 255) return Status::Corrupt;
  std::uint32_t rank_count[kMaxHuffmanBits + 2] = {};
  std::uint32_t sum = 0;
  for (int i = 0; i < count; ++i) {
    if (weights[i] > kMaxHuffmanBits) return Status::Corrupt;
    ++rank_count[weights[i]];
    if (weights[i] > 0) sum += 1u << (weights[i] - 1);
  }
  if (sum == 0) return Status::Corrupt;
  const int max_bits = highbit32(sum) + 1;
  if (max_bits > kMaxHuffmanBits) return Status::Corrupt;
  const std::uint32_t rest = (1u << max_bits) - sum;
  if ((rest & (rest - 1)) != 0) return Status::Corrupt;  // not completed by one weight
  const int last_weight = highbit32(rest) + 1;
  ++rank_count[last_weight];
  // A complete prefix code has an even number (at least two) of longest codes.
  if (rank_count[1] < 2 || (rank_count[1] & 1)) return Status::Corrupt;
  // Codes go to the lowest weights first, in symbol order within a weight: weight w's symbols
  // start after all cells of lighter weights and take 2^(w-1) cells each.
  std::uint32_t start[kMaxHuffmanBits + 2];
  std::uint32_t next = 0;
  for (int w = 1; w <= max_bits; ++w) {
    start[w] = next;
    next += rank_count[w] << (w - 1);
  }
  if (next != (1u << max_bits)) return Status::Corrupt;
  for (int s = 0; s <= count; ++s) {
    const int w = s < count ? weights[s] : last_weight;
    if (w == 0) continue;
    const std::uint32_t cells = 1u << (w - 1);
    const HufEntry entry{static_cast<std::uint8_t>(s), static_cast<std::uint8_t>(max_bits + 1 - w)};
    for (std::uint32_t c = 0; c < cells; ++c) t->entries[start[w] + c] = entry;
    start[w] += cells;
  }
  t->max_bits = max_bits;
  return Status::Ok;
}

// Decodes `count` more literals from a stream whose reader is `b`; the stream must then be
// consumed exactly.
CUZARR_HD inline Status huffman_decode_rest(const HufTable& t, BackwardBits& b, std::uint8_t* out, std::size_t count) {
  const int max_bits = t.max_bits;
  std::size_t i = 0;
  // Fast part: one 8-byte load holds at least 57 bits below `pos`, enough for several symbols.
  while (i < count && b.pos >= 57) {
    const std::int64_t byte = (b.pos - 1) / 8 - 7;
    const std::uint64_t window = load_le64(b.data + byte);
    int top = static_cast<int>(b.pos - byte * 8);  // bits of `window` not yet read
    while (top >= max_bits && i < count) {
      const HufEntry e = t.entries[(window >> (top - max_bits)) & ((1u << max_bits) - 1)];
      out[i++] = e.symbol;
      top -= e.bits;
    }
    b.pos = byte * 8 + top;
  }
  for (; i < count; ++i) {
    const HufEntry e = t.entries[backward_peek(b, max_bits)];
    out[i] = e.symbol;
    backward_consume(b, e.bits);
    if (b.pos < -64) return Status::Corrupt;  // far past the start: stop early, the end check fails anyway
  }
  return backward_finished(b) ? Status::Ok : Status::Corrupt;
}

// Decodes `count` literals from the stream p[0, n), which must be consumed exactly.
CUZARR_HD inline Status huffman_decode_stream(const HufTable& t, const std::uint8_t* p, std::size_t n, std::uint8_t* out,
                                              std::size_t count) {
  BackwardBits b;
  const Status st = backward_init(b, p, n);
  if (st != Status::Ok) return st;
  return huffman_decode_rest(t, b, out, count);
}

// Four streams in lockstep, a window of each per round, so that a CPU overlaps their table
// lookups (a GPU gives each stream a lane instead). `in[k]`, `size[k]`: the streams; `out[k]`,
// `count[k]`: their literals.
CUZARR_HD inline Status huffman_decode_four(const HufTable& t, const std::uint8_t* const* in, const std::uint32_t* size,
                                            std::uint8_t* const* out, const std::uint32_t* count) {
  BackwardBits b[4];
  for (int k = 0; k < 4; ++k) {
    const Status st = backward_init(b[k], in[k], size[k]);
    if (st != Status::Ok) return st;
  }
  const int max_bits = t.max_bits;
  const std::uint32_t mask = (1u << max_bits) - 1;
  const std::uint32_t per = static_cast<std::uint32_t>(57 / max_bits);  // symbols a window surely holds
  std::uint32_t done = 0;  // the same in every stream during the lockstep part
  std::uint32_t least = count[0];
  for (int k = 1; k < 4; ++k) least = count[k] < least ? count[k] : least;
  for (;;) {
    bool room = done + per <= least;
    for (int k = 0; k < 4; ++k) room = room && b[k].pos >= 57;
    if (!room) break;
    for (int k = 0; k < 4; ++k) {
      const std::int64_t byte = (b[k].pos - 1) / 8 - 7;
      const std::uint64_t window = load_le64(b[k].data + byte);
      int top = static_cast<int>(b[k].pos - byte * 8);
      std::uint8_t* o = out[k] + done;
      for (std::uint32_t j = 0; j < per; ++j) {
        const HufEntry e = t.entries[(window >> (top - max_bits)) & mask];
        o[j] = e.symbol;
        top -= e.bits;
      }
      b[k].pos = byte * 8 + top;
    }
    done += per;
  }
  for (int k = 0; k < 4; ++k) {
    const Status st = huffman_decode_rest(t, b[k], out[k] + done, count[k] - done);
    if (st != Status::Ok) return st;
  }
  return Status::Ok;
}

}  // namespace cuzarr::zstd
