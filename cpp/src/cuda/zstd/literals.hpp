// The literals section of a compressed block (RFC 8878 section 3.1.1.3.1): its header, where its
// Huffman streams lie, and their decoding. The four streams of a section are independent once the
// table is known, so a GPU decodes them in parallel (literal_streams, then one
// huffman_decode_stream each).
#pragma once

#include "common.hpp"
#include "huffman.hpp"

namespace cuzarr::zstd {

enum LiteralsType : std::uint8_t { kLitRaw = 0, kLitRle = 1, kLitCompressed = 2, kLitTreeless = 3 };

struct LiteralsHeader {
  std::uint8_t type = 0;
  std::uint8_t streams = 1;       // 1 or 4 (Huffman types)
  std::uint32_t header_size = 0;  // 1 to 5 bytes
  std::uint32_t regenerated = 0;  // the number of literals
  std::uint32_t compressed = 0;   // Huffman types: tree description, jump table and streams
  std::uint32_t section_size = 0;  // header included
};

// Parses the literals header at the start of a block's content p[0, n).
CUZARR_HD inline Status parse_literals_header(const std::uint8_t* p, std::size_t n, LiteralsHeader* h) {
  if (n < 1) return Status::Truncated;
  h->type = p[0] & 3;
  const int format = (p[0] >> 2) & 3;
  if (h->type == kLitRaw || h->type == kLitRle) {
    h->streams = 1;
    h->compressed = 0;
    if ((format & 1) == 0) {
      h->header_size = 1;
      h->regenerated = p[0] >> 3;
    } else if (format == 1) {
      if (n < 2) return Status::Truncated;
      h->header_size = 2;
      h->regenerated = (p[0] >> 4) + (static_cast<std::uint32_t>(p[1]) << 4);
    } else {
      if (n < 3) return Status::Truncated;
      h->header_size = 3;
      h->regenerated = (p[0] >> 4) + (static_cast<std::uint32_t>(p[1]) << 4) + (static_cast<std::uint32_t>(p[2]) << 12);
    }
    h->section_size = h->header_size + (h->type == kLitRaw ? h->regenerated : 1);
  } else {
    int bits = 10;
    h->header_size = 3;
    h->streams = format == 0 ? 1 : 4;
    if (format == 2) {
      bits = 14;
      h->header_size = 4;
    } else if (format == 3) {
      bits = 18;
      h->header_size = 5;
    }
    if (n < h->header_size) return Status::Truncated;
    std::uint64_t v = 0;
    for (std::uint32_t i = 0; i < h->header_size; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    h->regenerated = static_cast<std::uint32_t>((v >> 4) & low_mask64(bits));
    h->compressed = static_cast<std::uint32_t>((v >> (4 + bits)) & low_mask64(bits));
    if (h->compressed == 0) return Status::Corrupt;
    h->section_size = h->header_size + h->compressed;
  }
  if (h->regenerated > kMaxBlockSize) return Status::Corrupt;
  if (n < h->section_size) return Status::Truncated;
  return Status::Ok;
}

// The size of the Huffman tree description at p[0, n) without decoding it.
CUZARR_HD inline Status huffman_description_size(const std::uint8_t* p, std::size_t n, std::size_t* size) {
  if (n < 1) return Status::Truncated;
  *size = p[0] < 128 ? 1u + p[0] : 1u + static_cast<std::size_t>((p[0] - 127 + 1) / 2);
  return *size <= n ? Status::Ok : Status::Truncated;
}

// One Huffman stream: `in_size` bytes at in_offset (from the start of the streams area), decoding
// to `count` literals at out_offset.
struct LiteralStream {
  std::uint32_t in_offset = 0;
  std::uint32_t in_size = 0;
  std::uint32_t out_offset = 0;
  std::uint32_t count = 0;
};

// Splits the streams area p[0, n) of a section of `streams` streams and `regenerated` literals.
CUZARR_HD inline Status literal_streams(const std::uint8_t* p, std::size_t n, int streams, std::uint32_t regenerated,
                                        LiteralStream* out) {
  if (streams == 1) {
    out[0] = LiteralStream{0, static_cast<std::uint32_t>(n), 0, regenerated};
    return Status::Ok;
  }
  if (n < 6 + 4) return Status::Corrupt;
  const std::uint32_t s1 = load_le16(p), s2 = load_le16(p + 2), s3 = load_le16(p + 4);
  const std::uint64_t first3 = 6ull + s1 + s2 + s3;
  if (first3 + 1 > n) return Status::Corrupt;
  const std::uint32_t s4 = static_cast<std::uint32_t>(n - first3);
  const std::uint32_t each = (regenerated + 3) / 4;
  if (3ull * each > regenerated) return Status::Corrupt;
  const std::uint32_t sizes[4] = {s1, s2, s3, s4};
  std::uint32_t in_at = 6, out_at = 0;
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t count = i < 3 ? each : regenerated - 3 * each;
    out[i] = LiteralStream{in_at, sizes[i], out_at, count};
    in_at += sizes[i];
    out_at += count;
  }
  return Status::Ok;
}

// Decodes the literals of a section whose header is `h`, at the start of a block's content
// p[0, n), into out[0, h.regenerated). `table` is the section's Huffman table (its own for
// kLitCompressed, already built from its description; the inherited one for kLitTreeless).
// `description_size` is the size of the section's own tree description (0 for treeless).
CUZARR_HD inline Status decode_literals(const std::uint8_t* p, std::size_t n, const LiteralsHeader& h,
                                        const HufTable* table, std::size_t description_size, std::uint8_t* out) {
  if (n < h.section_size) return Status::Truncated;
  const std::uint8_t* body = p + h.header_size;
  if (h.type == kLitRaw) {
    for (std::uint32_t i = 0; i < h.regenerated; ++i) out[i] = body[i];
    return Status::Ok;
  }
  if (h.type == kLitRle) {
    for (std::uint32_t i = 0; i < h.regenerated; ++i) out[i] = body[0];
    return Status::Ok;
  }
  if (table == nullptr || table->max_bits == 0) return Status::Corrupt;
  if (description_size >= h.compressed) return Status::Corrupt;
  const std::uint8_t* area = body + description_size;
  const std::size_t area_size = h.compressed - description_size;
  LiteralStream s[4];
  Status st = literal_streams(area, area_size, h.streams, h.regenerated, s);
  if (st != Status::Ok) return st;
  if (h.streams == 1) return huffman_decode_stream(*table, area, s[0].in_size, out, s[0].count);
  const std::uint8_t* in[4];
  std::uint8_t* dst[4];
  std::uint32_t sizes[4], counts[4];
  for (int i = 0; i < 4; ++i) {
    in[i] = area + s[i].in_offset;
    sizes[i] = s[i].in_size;
    dst[i] = out + s[i].out_offset;
    counts[i] = s[i].count;
  }
  return huffman_decode_four(*table, in, sizes, dst, counts);
}

}  // namespace cuzarr::zstd
