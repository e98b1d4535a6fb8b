// Sequence execution with every block of a frame at once (the GPU's way; RFC 8878 section 3.1.2).
// A match may copy bytes of earlier blocks that are not decoded yet, so blocks first execute into
// *entries*, one 32-bit word per output byte: either the byte's value, or a reference to the
// position (before the block's start) whose value it copies. A second pass resolves each
// reference by following it back -- references only ever point to earlier blocks, so the chain
// ends, at most one hop a block -- and writes the bytes. Neither pass waits for another block.
//
// Positions are relative to the start of the item (the chunk): an item decodes to less than
// 2^31 bytes (kMaxEntryItem), which leaves the top bit for the reference flag.
#pragma once

#include "common.hpp"
#include "offsets.hpp"
#include "sequences.hpp"

namespace cuzarr::zstd {

inline constexpr std::uint32_t kEntryRef = 0x80000000u;
inline constexpr std::uint64_t kMaxEntryItem = kEntryRef;

// The entry of output position `source` as seen from a block starting at `block_start`: a
// reference when it lies before the block, else whatever the block already wrote there.
CUZARR_HD inline std::uint32_t entry_of(const std::uint32_t* entries, std::uint64_t source, std::uint64_t block_start) {
  return source < block_start ? (kEntryRef | static_cast<std::uint32_t>(source)) : entries[source];
}

// Executes one compressed block's sequences seq[0, count) (offsets as symbols of `start`, the
// repeat offsets the block starts with: offsets.hpp) with literals[0, literal_count) into
// entries[block_start, block_start + decoded). `frame_start` bounds how far back a match may reach.
CUZARR_HD inline Status execute_block_entries(const Sequence* seq, std::uint32_t count, const RepeatOffsets& start,
                                              const std::uint8_t* literals, std::uint32_t literal_count,
                                              std::uint32_t* entries, std::uint64_t frame_start,
                                              std::uint64_t block_start, std::uint32_t decoded) {
  std::uint64_t op = block_start;
  const std::uint64_t end = block_start + decoded;
  std::uint32_t lp = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t ll = seq[i].literal_length, ml = match_length_of(seq[i]);
    const std::uint32_t off = concrete_offset(seq[i], start);
    if (ll > literal_count - lp || static_cast<std::uint64_t>(ll) + ml > end - op) return Status::Corrupt;
    for (std::uint32_t k = 0; k < ll; ++k) entries[op + k] = literals[lp + k];
    op += ll;
    lp += ll;
    if (off == 0 || off > op - frame_start) return Status::Corrupt;
    const std::uint64_t src = op - off;
    // Forward, one entry at a time: an overlapping match reads entries it has just written.
    for (std::uint32_t k = 0; k < ml; ++k) entries[op + k] = entry_of(entries, src + k, block_start);
    op += ml;
  }
  if (literal_count - lp != end - op) return Status::Corrupt;
  for (std::uint64_t k = 0; op + k < end; ++k) entries[op + k] = literals[lp + k];
  return Status::Ok;
}

// The byte at `position` once every block has executed: follows references back to a value.
// False when a reference does not point backward (a bug or damaged entries: never loop).
CUZARR_HD inline bool resolve_entry(const std::uint32_t* entries, std::uint64_t position, std::uint8_t* value) {
  std::uint32_t e = entries[position];
  while (e & kEntryRef) {
    const std::uint64_t target = e & ~kEntryRef;
    if (target >= position) return false;
    position = target;
    e = entries[position];
  }
  *value = static_cast<std::uint8_t>(e);
  return true;
}

}  // namespace cuzarr::zstd
