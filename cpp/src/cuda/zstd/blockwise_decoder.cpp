#include "cuda/zstd/blockwise_decoder.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include "cuda/zstd/entries.hpp"
#include "cuda/zstd/frame.hpp"
#include "cuda/zstd/huffman.hpp"
#include "cuda/zstd/literals.hpp"
#include "cuda/zstd/offsets.hpp"
#include "cuda/zstd/sequence_codes.hpp"
#include "cuda/zstd/sequences.hpp"
#include "cuda/zstd/xxhash64.hpp"

namespace cuzarr::zstd {
namespace {

struct Block {
  BlockInfo info;
  std::size_t frame = 0;
  std::vector<std::uint8_t> literals;
  std::vector<Sequence> sequences;
  RepTransform transform = identity_transform();
  std::uint32_t decoded = 0;
  RepeatOffsets start;
  std::uint64_t out_pos = 0;
};

struct Frame {
  FrameHeader header;
  FrameScan scan;
  std::uint64_t out_start = 0;
  std::uint32_t checksum = 0;
};

// Walk (the GPU's kernel 1): every frame's header and block headers, skippable frames skipped.
Status walk(const std::uint8_t* in, std::size_t size, std::vector<Frame>& frames, std::vector<Block>& blocks) {
  std::uint64_t pos = 0;
  while (pos < size) {
    if (size - pos < 4) return Status::Truncated;
    if ((load_le32(in + pos) & kSkippableMagicMask) == kSkippableMagic) {
      if (size - pos < 8 || size - pos - 8 < load_le32(in + pos + 4)) return Status::Truncated;
      pos += 8 + static_cast<std::uint64_t>(load_le32(in + pos + 4));
      continue;
    }
    Frame f;
    Status st = parse_frame_header(in + pos, size - pos, &f.header);
    if (st != Status::Ok) return st;
    frame_scan_init(f.header, &f.scan);
    pos += f.header.header_size;
    for (;;) {
      Block b;
      b.frame = frames.size();
      st = scan_block(in, size, &pos, &f.scan, &b.info);
      if (st != Status::Ok) return st;
      const bool last = b.info.last;
      blocks.push_back(std::move(b));
      if (last) break;
    }
    if (f.header.has_checksum) {
      if (size - pos < 4) return Status::Truncated;
      f.checksum = load_le32(in + pos);
      pos += 4;
    }
    frames.push_back(f);
  }
  return Status::Ok;
}

// Entropy (kernel 2) of one compressed block, on its own.
Status entropy(const std::uint8_t* in, std::size_t size, Block& b) {
  const LiteralsHeader& lh = b.info.literals;
  auto huffman = std::make_unique<HufTable>();
  auto tables = std::make_unique<FseTable[]>(4);
  if (lh.type == kLitCompressed || lh.type == kLitTreeless) {
    if (b.info.huffman_pos >= size) return Status::Corrupt;
    std::uint8_t weights[256];
    int count = 0;
    std::size_t used = 0;
    Status st = read_huffman_weights(in + b.info.huffman_pos, size - b.info.huffman_pos, weights, &count, &used, &tables[3]);
    if (st == Status::Ok) st = build_huffman_table(weights, count, huffman.get());
    if (st != Status::Ok) return st;
  }
  b.literals.resize(lh.regenerated);
  Status st = decode_literals(in + b.info.content_pos, b.info.content_size, lh, huffman.get(),
                              lh.type == kLitCompressed ? b.info.huffman_own_size : 0, b.literals.data());
  if (st != Status::Ok) return st;
  const std::uint32_t n = b.info.sequences.count;
  b.sequences.resize(n);
  b.transform = identity_transform();
  std::uint64_t literal_total = 0, match_total = 0;
  if (n > 0) {
    auto packed = std::make_unique<PackedEntry[]>(3 << kMaxFseLog);
    for (int k = 0; k < 3; ++k) {
      st = build_sequence_table(in, size, b.info.tables[k], k, &tables[k]);
      if (st != Status::Ok) return st;
      pack_table(tables[k], k, &packed[k << kMaxFseLog]);
    }
    std::vector<SequenceCode> codes(n);
    auto record = [&codes](std::uint32_t i, const SequenceCode& c) { codes[i] = c; };
    const std::uint8_t* stream = in + b.info.bitstream_pos;
    const std::size_t stream_size = b.info.bitstream_size;
    st = decode_sequence_codes(stream, stream_size, n, &packed[0], tables[0].log, &packed[1 << kMaxFseLog],
                               tables[1].log, &packed[2 << kMaxFseLog], tables[2].log, record);
    if (st != Status::Ok) return st;
    // The repeat offsets by groups of 32, each a prefix scan of the steps' transforms in the
    // order the GPU's warp composes them (Hillis-Steele), carried from group to group.
    constexpr std::uint32_t kGroup = 32;
    for (std::uint32_t g = 0; g < n; g += kGroup) {
      const std::uint32_t m = std::min(kGroup, n - g);
      Sequence raw[kGroup];
      SequenceStep steps[kGroup];
      RepTransform scan[kGroup];
      for (std::uint32_t j = 0; j < kGroup; ++j) {
        raw[j] = j < m ? sequence_from_code(stream, stream_size, codes[g + j]) : Sequence{1, 0, 1};
        steps[j] = j < m ? sequence_step(raw[j].offset, raw[j].literal_length) : SequenceStep{identity_transform(), {}};
        scan[j] = steps[j].after;
      }
      for (std::uint32_t d = 1; d < kGroup; d <<= 1) {
        for (std::uint32_t j = kGroup; j-- > d;) scan[j] = compose_transforms(scan[j], scan[j - d]);
      }
      for (std::uint32_t j = 0; j < m; ++j) {
        const RepTransform before = j == 0 ? b.transform : compose_transforms(scan[j - 1], b.transform);
        b.sequences[g + j] = symbolic_sequence(raw[j], substitute(steps[j].used, before));
        literal_total += raw[j].literal_length;
        match_total += raw[j].match_length;
      }
      b.transform = compose_transforms(scan[kGroup - 1], b.transform);
    }
  }
  return block_decoded_size(literal_total, match_total, lh.regenerated, &b.decoded);
}

// Layout (kernel 3): repeat offsets chained and positions assigned, frame by frame.
Status layout(std::vector<Frame>& frames, std::vector<Block>& blocks, std::size_t out_size) {
  std::uint64_t at = 0;
  RepeatOffsets rep;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    Block& b = blocks[i];
    Frame& f = frames[b.frame];
    if (i == 0 || blocks[i - 1].frame != b.frame) {
      f.out_start = at;
      rep = RepeatOffsets{};
    }
    if (b.info.type == kBlockCompressed) {
      if (b.decoded > f.scan.block_max) return Status::Corrupt;
      b.start = rep;
      rep = apply_transform(b.transform, rep);
    } else {
      b.decoded = b.info.decoded_size;
    }
    if (b.decoded > out_size - at) return Status::SizeMismatch;
    b.out_pos = at;
    at += b.decoded;
    const bool frame_ends = i + 1 == blocks.size() || blocks[i + 1].frame != b.frame;
    if (frame_ends && f.header.has_content_size && at - f.out_start != f.header.content_size) return Status::SizeMismatch;
  }
  return at == out_size ? Status::Ok : Status::SizeMismatch;
}

}  // namespace

Status decode_blockwise(const std::uint8_t* in, std::size_t in_size, std::uint8_t* out, std::size_t out_size) {
  if (out_size >= kMaxEntryItem) return Status::TooLarge;
  std::vector<Frame> frames;
  std::vector<Block> blocks;
  Status st = walk(in, in_size, frames, blocks);
  if (st != Status::Ok) return st;
  for (auto b = blocks.rbegin(); b != blocks.rend(); ++b) {
    if (b->info.type != kBlockCompressed) continue;
    st = entropy(in, in_size, *b);
    if (st != Status::Ok) return st;
  }
  st = layout(frames, blocks, out_size);
  if (st != Status::Ok) return st;
  std::vector<std::uint32_t> entries(out_size);
  for (auto b = blocks.rbegin(); b != blocks.rend(); ++b) {
    if (b->info.type == kBlockCompressed) {
      st = execute_block_entries(b->sequences.data(), b->info.sequences.count, b->start, b->literals.data(),
                                 b->info.literals.regenerated, entries.data(), frames[b->frame].out_start, b->out_pos,
                                 b->decoded);
      if (st != Status::Ok) return st;
    } else {
      const bool raw = b->info.type == kBlockRaw;
      for (std::uint32_t k = 0; k < b->decoded; ++k) entries[b->out_pos + k] = in[b->info.content_pos + (raw ? k : 0)];
    }
  }
  for (std::size_t p = out_size; p-- > 0;) {
    if (!resolve_entry(entries.data(), p, &out[p])) return Status::Corrupt;
  }
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const Frame& f = frames[i];
    if (!f.header.has_checksum) continue;
    const std::uint64_t end = i + 1 < frames.size() ? frames[i + 1].out_start : out_size;
    if (static_cast<std::uint32_t>(xxhash64(out + f.out_start, end - f.out_start)) != f.checksum) {
      return Status::ChecksumMismatch;
    }
  }
  return Status::Ok;
}

}  // namespace cuzarr::zstd
