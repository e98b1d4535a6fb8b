// Repeat offsets (RFC 8878 section 3.1.2.1), resolved after the entropy stage: one pass over a
// frame's compressed blocks in order, carrying three offsets. Cheap (a few operations per
// sequence), and the only step besides execution that must see the blocks in order; it also
// yields each block's decoded size, from which output positions follow by a prefix sum.
#pragma once

#include "common.hpp"
#include "sequences.hpp"

namespace cuzarr::zstd {

struct RepeatOffsets {
  std::uint32_t rep[3] = {1, 4, 8};
};

// Turns the Offset_Values of seq[0, count) into offsets in bytes, and sums the block's decoded
// size (its literals plus every match) into *decoded.
CUZARR_HD inline Status resolve_offsets(Sequence* seq, std::uint32_t count, std::uint32_t literals, RepeatOffsets& r,
                                        std::uint32_t* decoded) {
  std::uint64_t literal_total = 0, match_total = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t value = seq[i].offset;
    std::uint32_t offset;
    if (value > 3) {
      offset = value - 3;
      r.rep[2] = r.rep[1];
      r.rep[1] = r.rep[0];
      r.rep[0] = offset;
    } else {
      const std::uint32_t index = value - 1 + (seq[i].literal_length == 0 ? 1 : 0);
      if (index == 0) {
        offset = r.rep[0];
      } else if (index == 1) {
        offset = r.rep[1];
        r.rep[1] = r.rep[0];
        r.rep[0] = offset;
      } else {
        offset = index == 2 ? r.rep[2] : r.rep[0] - 1;
        if (offset == 0) return Status::Corrupt;
        r.rep[2] = r.rep[1];
        r.rep[1] = r.rep[0];
        r.rep[0] = offset;
      }
    }
    seq[i].offset = offset;
    literal_total += seq[i].literal_length;
    match_total += seq[i].match_length;
  }
  if (literal_total > literals) return Status::Corrupt;
  const std::uint64_t total = literals + match_total;
  if (total > kMaxBlockSize) return Status::Corrupt;
  *decoded = static_cast<std::uint32_t>(total);
  return Status::Ok;
}

// The same resolution without knowing the offsets a block starts with, so that every block can
// do it at once (the GPU's entropy stage). Each repeat offset becomes a symbol: a constant, or an
// entry of the block's starting offsets minus a constant (Repeated_Offset1 - 1 steps). A frame's
// blocks then compose their transforms in order (cheap: three symbols a block), and execution
// substitutes each block's starting offsets into its sequences' symbols.
struct RepSymbol {
  std::uint32_t value;  // the constant, or what to subtract from the source
  std::int32_t source;  // -1: constant; 0..2: an entry of the starting offsets
};

struct RepTransform {
  RepSymbol rep[3];
};

CUZARR_HD inline RepTransform identity_transform() {
  RepTransform t;
  for (int k = 0; k < 3; ++k) t.rep[k] = RepSymbol{0, k};
  return t;
}

// A symbolic offset is kept in the sequence itself: the source (plus one; 0 = constant) in the
// top two bits of match_length, which never needs more than 18.
inline constexpr std::uint32_t kSymbolShift = 30;
inline constexpr std::uint32_t kMatchLengthMask = (1u << kSymbolShift) - 1;

CUZARR_HD inline std::uint32_t match_length_of(const Sequence& s) { return s.match_length & kMatchLengthMask; }

// One sequence of resolve_offsets_symbolic: its Offset_Value into a symbol of r (the offsets so
// far, as symbols), r updated.
CUZARR_HD inline Status resolve_symbolic_one(Sequence& s, RepSymbol* r) {
  const std::uint32_t value = s.offset;
  RepSymbol used;
  if (value > 3) {
    used = RepSymbol{value - 3, -1};
    r[2] = r[1];
    r[1] = r[0];
    r[0] = used;
  } else {
    const std::uint32_t index = value - 1 + (s.literal_length == 0 ? 1 : 0);
    if (index == 0) {
      used = r[0];
    } else if (index == 1) {
      used = r[1];
      r[1] = r[0];
      r[0] = used;
    } else {
      if (index == 2) {
        used = r[2];
      } else {  // Repeated_Offset1 - 1
        used = r[0];
        if (used.source < 0) {
          if (used.value <= 1) return Status::Corrupt;
          used.value -= 1;
        } else {
          used.value += 1;
        }
      }
      r[2] = r[1];
      r[1] = r[0];
      r[0] = used;
    }
  }
  if (s.match_length > kMatchLengthMask) return Status::Corrupt;
  s.offset = used.value;
  s.match_length |= static_cast<std::uint32_t>(used.source + 1) << kSymbolShift;
  return Status::Ok;
}

// The block's decoded size from the sums of its sequences' literal and match lengths.
CUZARR_HD inline Status block_decoded_size(std::uint64_t literal_total, std::uint64_t match_total,
                                           std::uint32_t literals, std::uint32_t* decoded) {
  if (literal_total > literals) return Status::Corrupt;
  const std::uint64_t total = literals + match_total;
  if (total > kMaxBlockSize) return Status::Corrupt;
  *decoded = static_cast<std::uint32_t>(total);
  return Status::Ok;
}

// Like resolve_offsets, but into symbols; *t starts as identity_transform() for each block.
CUZARR_HD inline Status resolve_offsets_symbolic(Sequence* seq, std::uint32_t count, std::uint32_t literals,
                                                 RepTransform* t, std::uint32_t* decoded) {
  std::uint64_t literal_total = 0, match_total = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const Status st = resolve_symbolic_one(seq[i], t->rep);
    if (st != Status::Ok) return st;
    literal_total += seq[i].literal_length;
    match_total += seq[i].match_length & kMatchLengthMask;
  }
  return block_decoded_size(literal_total, match_total, literals, decoded);
}

// The same as a sink of decode_sequences (sequences.hpp), so that each sequence is resolved as
// it is decoded and stored once (the GPU's entropy stage): then finish() gives the decoded size.
struct SymbolicSink {
  Sequence* out;
  RepTransform transform = identity_transform();
  std::uint64_t literal_total = 0, match_total = 0;
  CUZARR_HD explicit SymbolicSink(Sequence* o) : out(o) {}
  CUZARR_HD Status operator()(std::uint32_t i, Sequence s) {
    const Status st = resolve_symbolic_one(s, transform.rep);
    literal_total += s.literal_length;
    match_total += s.match_length & kMatchLengthMask;
    out[i] = s;
    return st;
  }
  CUZARR_HD Status finish(std::uint32_t literals, std::uint32_t* decoded) const {
    return block_decoded_size(literal_total, match_total, literals, decoded);
  }
};

// The value of a symbol given the starting offsets; 0 (never a valid offset) when it falls to 0
// or below.
CUZARR_HD inline std::uint32_t symbol_value(std::uint32_t value, std::int32_t source, const RepeatOffsets& start) {
  if (source < 0) return value;
  const std::uint32_t base = start.rep[source];
  return base > value ? base - value : 0u;
}

// The offsets after a block whose transform is t, given those it starts with.
CUZARR_HD inline RepeatOffsets apply_transform(const RepTransform& t, const RepeatOffsets& start) {
  RepeatOffsets out;
  for (int k = 0; k < 3; ++k) out.rep[k] = symbol_value(t.rep[k].value, t.rep[k].source, start);
  return out;
}

// A sequence's offset in bytes (0 if invalid) once its block's starting offsets are known.
CUZARR_HD inline std::uint32_t concrete_offset(const Sequence& s, const RepeatOffsets& start) {
  const std::int32_t source = static_cast<std::int32_t>(s.match_length >> kSymbolShift) - 1;
  return symbol_value(s.offset, source, start);
}

}  // namespace cuzarr::zstd
