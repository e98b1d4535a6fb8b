// The GPU's split of a block's sequence decoding (RFC 8878 section 3.1.1.3.2.1) into a short
// serial chain and work that is parallel over the sequences.
//
// The three FSE states of a block are interleaved in one bitstream, so finding sequence i+1's
// states needs sequence i's. But the only thing carried from one sequence to the next is the bit
// position and the three states: a sequence's extra bits (the offset, match length and literal
// length values beyond their codes' baselines) do not feed the chain. So:
//   1. decode_sequence_codes, one thread: states and positions only. Each table entry is packed
//      with how many extra bits its code has (PackedEntry), so a step is three table loads, one
//      load of the bitstream and a few additions; it records each sequence's three codes and the
//      bit position where its extra bits start.
//   2. sequence_from_code, every sequence at once: reads the extra bits at the recorded position
//      and builds (literal length, match length, Offset_Value).
//   3. The repeat offsets (offsets.hpp) as a scan: each sequence is a step that maps the three
//      offsets before it to those after it and uses one of them (sequence_step); steps compose
//      (compose_transforms), so a warp resolves 32 sequences at once by a prefix scan.
// decode_sequences_to (sequences.hpp) is the one-thread reference these must agree with.
#pragma once

#include "common.hpp"
#include "fse.hpp"
#include "offsets.hpp"
#include "sequences.hpp"

namespace cuzarr::zstd {

// A decoding table entry with the code's extra bits, in 32 bits: baseline (bits 0-8), state bits
// (9-12), extra bits of the code (13-17), the code (18-23).
using PackedEntry = std::uint32_t;

CUZARR_HD inline int code_extra_bits(int kind, std::uint32_t code) {
  if (kind == kOffsets) return static_cast<int>(code);
  std::uint32_t base = 0;
  int bits = 0;
  if (kind == kLiteralLengths) {
    literal_length_code(code, &base, &bits);
  } else {
    match_length_code(code, &base, &bits);
  }
  return bits;
}

CUZARR_HD inline PackedEntry pack_entry(const FseEntry& e, int kind) {
  return static_cast<PackedEntry>(e.baseline) | (static_cast<PackedEntry>(e.bits) << 9) |
         (static_cast<PackedEntry>(code_extra_bits(kind, e.symbol)) << 13) | (static_cast<PackedEntry>(e.symbol) << 18);
}

CUZARR_HD inline std::uint32_t entry_baseline(PackedEntry e) { return e & 0x1FFu; }
CUZARR_HD inline int entry_bits(PackedEntry e) { return static_cast<int>((e >> 9) & 0xFu); }
CUZARR_HD inline int entry_extra(PackedEntry e) { return static_cast<int>((e >> 13) & 0x1Fu); }
CUZARR_HD inline std::uint32_t entry_code(PackedEntry e) { return e >> 18; }

// Packs entries first, first + step, ... of t (a warp packs a table with step 32).
CUZARR_HD inline void pack_table(const FseTable& t, int kind, PackedEntry* out, int first = 0, int step = 1) {
  for (int u = first; u < (1 << t.log); u += step) out[u] = pack_entry(t.entries[u], kind);
}

// 64 bits of the backward stream p[0, n) whose bit 0 is the stream's bit `lo` (0 <= lo < 8n); at
// least the low 33 are right (bits past the stream's end read as zero). On the GPU, away from the
// stream's end, two aligned 32-bit loads (which may reach up to 3 bytes before p: callers keep p
// at least that far into its buffer); elsewhere byte loads.
CUZARR_HD inline std::uint64_t stream_window(const std::uint8_t* p, std::int64_t n, std::int64_t lo) {
  const std::int64_t byte = lo >> 3;
#if defined(__CUDA_ARCH__)
  if (byte + 8 <= n) {
    const auto address = reinterpret_cast<std::uintptr_t>(p + byte);
    const auto* words = reinterpret_cast<const std::uint32_t*>(address & ~static_cast<std::uintptr_t>(3));
    const std::uint64_t v = (static_cast<std::uint64_t>(__ldg(words + 1)) << 32) | __ldg(words);
    return v >> (8 * (address & 3) + (lo & 7));
  }
#endif
  return load_le_upto8(p + byte, n - byte) >> (lo & 7);
}

CUZARR_HD inline std::uint32_t low_bits(std::uint64_t v, int n) {
  return static_cast<std::uint32_t>(v) & ((1u << n) - 1u);  // n <= 31
}

// What decode_sequence_codes records of a sequence: where its extra bits start (the bit position
// after them plus their count; they are read downward from here) and its codes, packed: offset
// code (bits 0-4), match length code (5-10), literal length code (11-16).
struct SequenceCode {
  std::uint32_t position;
  std::uint32_t codes;
};

// Step 1: the states of `count` sequences of the bitstream p[0, n), handing each sequence's
// SequenceCode to sink(i, code). Statuses as decode_sequences_to's: a stream that ends before its
// last sequence, or is not consumed exactly, is Corrupt.
template <class Sink>
CUZARR_HD inline Status decode_sequence_codes(const std::uint8_t* p, std::size_t n, std::uint32_t count,
                                              const PackedEntry* ll, int ll_log, const PackedEntry* of, int of_log,
                                              const PackedEntry* ml, int ml_log, Sink& sink) {
  if (count == 0) return Status::Ok;
  if (n == 0 || p[n - 1] == 0) return Status::Corrupt;  // no end marker
  const auto size = static_cast<std::int64_t>(n);
  std::int64_t pos = (size - 1) * 8 + highbit32(p[n - 1]);
  std::int64_t lo = pos - ll_log - of_log - ml_log;
  if (lo < 0) return Status::Corrupt;
  std::uint64_t w = stream_window(p, size, lo);
  std::uint32_t sml = low_bits(w, ml_log);
  std::uint32_t sof = low_bits(w >> ml_log, of_log);
  std::uint32_t sll = low_bits(w >> (ml_log + of_log), ll_log);
  pos = lo;
  for (std::uint32_t i = 0;;) {
    const PackedEntry ell = ll[sll], eof = of[sof], eml = ml[sml];
    sink(i, SequenceCode{static_cast<std::uint32_t>(pos),
                         entry_code(eof) | (entry_code(eml) << 5) | (entry_code(ell) << 11)});
    pos -= entry_extra(eof) + entry_extra(eml) + entry_extra(ell);
    if (++i == count) break;
    const int bll = entry_bits(ell), bml = entry_bits(eml), bof = entry_bits(eof);
    lo = pos - (bll + bml + bof);
    if (lo < 0) return Status::Corrupt;
    w = stream_window(p, size, lo);
    // Literal length first (the highest bits), then match length, then offset.
    sof = entry_baseline(eof) + low_bits(w, bof);
    sml = entry_baseline(eml) + low_bits(w >> bof, bml);
    sll = entry_baseline(ell) + low_bits(w >> (bof + bml), bll);
    pos = lo;
  }
  return pos == 0 ? Status::Ok : Status::Corrupt;
}

// The `count` (<= 31) bits of the stream below bit position `top`.
CUZARR_HD inline std::uint32_t bits_below(const std::uint8_t* p, std::int64_t n, std::int64_t top, int count) {
  return count == 0 ? 0u : low_bits(stream_window(p, n, top - count), count);
}

// Step 2: one sequence from its code, as decode_sequences_to gives it (raw Offset_Value).
CUZARR_HD inline Sequence sequence_from_code(const std::uint8_t* p, std::size_t n, const SequenceCode& c) {
  const auto size = static_cast<std::int64_t>(n);
  const std::uint32_t of_code = c.codes & 0x1Fu, ml_code = (c.codes >> 5) & 0x3Fu, ll_code = (c.codes >> 11) & 0x3Fu;
  std::int64_t top = c.position;
  Sequence s;
  s.offset = (1u << of_code) + bits_below(p, size, top, static_cast<int>(of_code));
  top -= of_code;
  std::uint32_t base = 0;
  int bits = 0;
  match_length_code(ml_code, &base, &bits);
  s.match_length = base + bits_below(p, size, top, bits);
  top -= bits;
  literal_length_code(ll_code, &base, &bits);
  s.literal_length = base + bits_below(p, size, top, bits);
  return s;
}

// Step 3. A symbol of the offsets before some point, substituted with what a transform made of
// them: a constant stays; "entry k minus v" becomes the transform's entry k minus v. A constant
// that falls to 0 or below stays 0, which execution refuses as an offset (concrete_offset).
CUZARR_HD inline RepSymbol substitute(const RepSymbol& s, const RepTransform& earlier) {
  if (s.source < 0) return s;
  // Selects, not an index: on the GPU an indexed array of registers would go to local memory.
  const RepSymbol b = s.source == 0 ? earlier.rep[0] : s.source == 1 ? earlier.rep[1] : earlier.rep[2];
  if (b.source < 0) return RepSymbol{b.value > s.value ? b.value - s.value : 0u, -1};
  return RepSymbol{b.value + s.value, b.source};
}

// `later` after `earlier`.
CUZARR_HD inline RepTransform compose_transforms(const RepTransform& later, const RepTransform& earlier) {
  RepTransform t;
  for (int k = 0; k < 3; ++k) t.rep[k] = substitute(later.rep[k], earlier);
  return t;
}

// What one sequence (its Offset_Value and literal length) does to the repeat offsets before it,
// and the offset it uses, as symbols of those offsets.
struct SequenceStep {
  RepTransform after;
  RepSymbol used;
};

CUZARR_HD inline SequenceStep sequence_step(std::uint32_t offset_value, std::uint32_t literal_length) {
  SequenceStep step;
  step.after = identity_transform();
  Sequence s{literal_length, 0, offset_value};
  // From the identity, resolve_symbolic_one cannot fail: its one check is on constants.
  (void)resolve_symbolic_one(s, step.after.rep);
  step.used = RepSymbol{s.offset, static_cast<std::int32_t>(s.match_length >> kSymbolShift) - 1};
  return step;
}

// A resolved sequence as SymbolicSink stores it: `used` (a symbol of the block's starting
// offsets) in the offset and the top bits of the match length.
CUZARR_HD inline Sequence symbolic_sequence(const Sequence& raw, const RepSymbol& used) {
  return Sequence{raw.literal_length,
                  raw.match_length | (static_cast<std::uint32_t>(used.source + 1) << kSymbolShift), used.value};
}

}  // namespace cuzarr::zstd
