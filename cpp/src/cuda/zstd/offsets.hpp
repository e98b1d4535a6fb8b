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

}  // namespace cuzarr::zstd
