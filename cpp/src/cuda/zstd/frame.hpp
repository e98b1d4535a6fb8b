// Frames and blocks (RFC 8878 section 3.1): the frame header, block headers, and the light
// per-frame pass (scan_block, called once per block in order) that finds each block's byte
// ranges and what it inherits from the blocks before it: the Huffman table of treeless literals
// and the FSE tables of Repeat_Mode, as positions of their descriptions in the input. With those,
// every block's entropy stage can run independently of the others.
#pragma once

#include "common.hpp"
#include "literals.hpp"
#include "sequences.hpp"

namespace cuzarr::zstd {

struct FrameHeader {
  std::uint64_t window_size = 0;
  std::uint64_t content_size = 0;  // valid when has_content_size
  std::uint32_t dictionary_id = 0;
  std::uint32_t header_size = 0;   // magic number included
  bool has_content_size = false;
  bool single_segment = false;
  bool has_checksum = false;
};

// Parses the frame header at p[0, n), which starts with the zstd magic number.
CUZARR_HD inline Status parse_frame_header(const std::uint8_t* p, std::size_t n, FrameHeader* h) {
  if (n < 5) return Status::Truncated;
  if (load_le32(p) != kMagic) return Status::Corrupt;
  const std::uint8_t d = p[4];
  const int fcs_flag = d >> 6;
  h->single_segment = (d >> 5) & 1;
  if ((d >> 3) & 1) return Status::Reserved;
  h->has_checksum = (d >> 2) & 1;
  const int did_flag = d & 3;
  const std::uint32_t did_size = did_flag == 3 ? 4u : static_cast<std::uint32_t>(did_flag);
  const std::uint32_t fcs_size = fcs_flag == 0 ? (h->single_segment ? 1u : 0u) : (1u << fcs_flag);
  const std::uint32_t size = 5 + (h->single_segment ? 0 : 1) + did_size + fcs_size;
  if (n < size) return Status::Truncated;
  const std::uint8_t* q = p + 5;
  if (!h->single_segment) {
    const int exponent = q[0] >> 3, mantissa = q[0] & 7;
    const std::uint64_t base = 1ull << (10 + exponent);
    h->window_size = base + (base / 8) * static_cast<std::uint64_t>(mantissa);
    ++q;
  }
  h->dictionary_id = 0;
  for (std::uint32_t i = 0; i < did_size; ++i) h->dictionary_id |= static_cast<std::uint32_t>(q[i]) << (8 * i);
  q += did_size;
  h->has_content_size = fcs_size != 0;
  h->content_size = 0;
  if (fcs_size == 1) {
    h->content_size = q[0];
  } else if (fcs_size == 2) {
    h->content_size = load_le16(q) + 256u;
  } else if (fcs_size == 4) {
    h->content_size = load_le32(q);
  } else if (fcs_size == 8) {
    h->content_size = load_le64(q);
  }
  if (h->single_segment) h->window_size = h->content_size;
  h->header_size = size;
  if (h->dictionary_id != 0) return Status::Dictionary;
  return Status::Ok;
}

enum BlockType : std::uint8_t { kBlockRaw = 0, kBlockRle = 1, kBlockCompressed = 2 };

// What a block needs to be decoded on its own. Positions are from the start of the input chunk.
struct BlockInfo {
  std::uint64_t content_pos = 0;  // after the 3-byte header
  std::uint32_t content_size = 0;
  std::uint32_t decoded_size = 0;  // exact for raw and RLE blocks; for compressed ones known after
                                   // the sequences are resolved (resolve_offsets)
  std::uint8_t type = 0;
  bool last = false;
  // Compressed blocks only:
  LiteralsHeader literals;
  std::uint64_t huffman_pos = 0;       // the tree description in use (own, or inherited for treeless)
  std::uint32_t huffman_own_size = 0;  // size of the block's own description (0 for treeless)
  SequencesHeader sequences;
  TableRef tables[3];                  // SequenceKind order, Repeat_Mode resolved
  std::uint64_t bitstream_pos = 0;     // the sequences' FSE bitstream
  std::uint32_t bitstream_size = 0;
};

// Carried from block to block within a frame.
struct FrameScan {
  std::uint32_t block_max = kMaxBlockSize;  // min(Window_Size, 128 KiB)
  bool have_huffman = false;
  std::uint64_t huffman_pos = 0;
  TableRef tables[3];
};

CUZARR_HD inline void frame_scan_init(const FrameHeader& h, FrameScan* s) {
  s->block_max = h.window_size < kMaxBlockSize ? static_cast<std::uint32_t>(h.window_size) : kMaxBlockSize;
  s->have_huffman = false;
  s->huffman_pos = 0;
  for (int k = 0; k < 3; ++k) s->tables[k] = TableRef{};
}

// Reads the block whose header is at in[pos] and advances *pos past it.
CUZARR_HD inline Status scan_block(const std::uint8_t* in, std::size_t in_size, std::uint64_t* pos, FrameScan* s,
                                   BlockInfo* b) {
  std::uint64_t at = *pos;
  if (at > in_size || in_size - at < 3) return Status::Truncated;
  const std::uint32_t header = load_le24(in + at);
  b->last = header & 1;
  b->type = static_cast<std::uint8_t>((header >> 1) & 3);
  const std::uint32_t size = header >> 3;
  at += 3;
  b->content_pos = at;
  if (b->type == 3) return Status::Reserved;
  if (b->type == kBlockRle) {
    if (in_size - at < 1) return Status::Truncated;
    if (size > s->block_max) return Status::Corrupt;
    b->content_size = 1;
    b->decoded_size = size;
    *pos = at + 1;
    return Status::Ok;
  }
  if (in_size - at < size) return Status::Truncated;
  b->content_size = size;
  *pos = at + size;
  if (b->type == kBlockRaw) {
    if (size > s->block_max) return Status::Corrupt;
    b->decoded_size = size;
    return Status::Ok;
  }
  if (size > kMaxBlockSize) return Status::Corrupt;
  b->decoded_size = 0;
  const std::uint8_t* p = in + at;
  Status st = parse_literals_header(p, size, &b->literals);
  if (st != Status::Ok) return st == Status::Truncated ? Status::Corrupt : st;
  if (b->literals.regenerated > s->block_max) return Status::Corrupt;
  b->huffman_own_size = 0;
  if (b->literals.type == kLitCompressed) {
    std::size_t desc = 0;
    st = huffman_description_size(p + b->literals.header_size, b->literals.compressed, &desc);
    if (st != Status::Ok) return Status::Corrupt;
    b->huffman_own_size = static_cast<std::uint32_t>(desc);
    s->have_huffman = true;
    s->huffman_pos = at + b->literals.header_size;
  } else if (b->literals.type == kLitTreeless && !s->have_huffman) {
    return Status::Corrupt;
  }
  b->huffman_pos = s->huffman_pos;
  std::uint32_t q = b->literals.section_size;
  st = parse_sequences_header(p + q, size - q, &b->sequences);
  if (st != Status::Ok) return st == Status::Truncated ? Status::Corrupt : st;
  q += b->sequences.header_size;
  if (b->sequences.count == 0) {
    if (q != size) return Status::Corrupt;  // nothing may follow an empty sequences section
    for (int k = 0; k < 3; ++k) b->tables[k] = s->tables[k];
    b->bitstream_pos = at + q;
    b->bitstream_size = 0;
    return Status::Ok;
  }
  for (int k = 0; k < 3; ++k) {
    TableRef ref;
    ref.mode = b->sequences.modes[k];
    if (ref.mode == kModeRle) {
      if (q >= size) return Status::Corrupt;
      ref.symbol = p[q];
      if (ref.symbol > max_code(k)) return Status::Corrupt;
      q += 1;
    } else if (ref.mode == kModeFse) {
      std::int16_t counts[kMaxFseSymbols];
      int log = 0;
      std::size_t used = 0;
      st = read_fse_description(p + q, size - q, max_code(k), max_table_log(k), counts, &log, &used);
      if (st != Status::Ok) return st == Status::Truncated ? Status::Corrupt : st;
      ref.offset = at + q;
      q += static_cast<std::uint32_t>(used);
    } else if (ref.mode == kModeRepeat) {
      ref = s->tables[k];
      if (ref.mode == kModeRepeat) return Status::Corrupt;  // nothing to repeat
    }
    b->tables[k] = ref;
  }
  for (int k = 0; k < 3; ++k) s->tables[k] = b->tables[k];
  if (q >= size) return Status::Corrupt;  // the bitstream has at least its end marker
  b->bitstream_pos = at + q;
  b->bitstream_size = size - q;
  return Status::Ok;
}

}  // namespace cuzarr::zstd
