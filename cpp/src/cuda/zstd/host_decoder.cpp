#include "cuda/zstd/host_decoder.hpp"

#include <cstring>
#include <memory>
#include <vector>

#include "cuda/zstd/execute.hpp"
#include "cuda/zstd/frame.hpp"
#include "cuda/zstd/huffman.hpp"
#include "cuda/zstd/literals.hpp"
#include "cuda/zstd/offsets.hpp"
#include "cuda/zstd/sequences.hpp"
#include "cuda/zstd/xxhash64.hpp"

namespace cuzarr::zstd {
namespace {

// Tables are built once per description and kept while later blocks (treeless literals,
// Repeat_Mode, the predefined tables) use the same one; they are keyed by their source, so a
// table stays right across frames too.
struct Scratch {
  HufTable huffman;
  bool huffman_valid = false;
  std::uint64_t huffman_pos = 0;
  FseTable weights_table;
  FseTable tables[3];
  TableRef table_keys[3];  // kModeRepeat: not built
  std::vector<std::uint8_t> literals;
  std::vector<Sequence> sequences;
};

Status prepare_huffman(const std::uint8_t* in, std::size_t in_size, std::uint64_t pos, Scratch& s) {
  if (s.huffman_valid && s.huffman_pos == pos) return Status::Ok;
  s.huffman_valid = false;
  if (pos >= in_size) return Status::Corrupt;
  std::uint8_t weights[256];
  int count = 0;
  std::size_t used = 0;
  Status st = read_huffman_weights(in + pos, in_size - pos, weights, &count, &used, &s.weights_table);
  if (st != Status::Ok) return st;
  st = build_huffman_table(weights, count, &s.huffman);
  if (st != Status::Ok) return st;
  s.huffman_valid = true;
  s.huffman_pos = pos;
  return Status::Ok;
}

Status prepare_tables(const std::uint8_t* in, std::size_t in_size, const BlockInfo& b, Scratch& s) {
  for (int k = 0; k < 3; ++k) {
    if (s.table_keys[k].mode != kModeRepeat && same_table(s.table_keys[k], b.tables[k])) continue;
    s.table_keys[k] = TableRef{};
    const Status st = build_sequence_table(in, in_size, b.tables[k], k, &s.tables[k]);
    if (st != Status::Ok) return st;
    s.table_keys[k] = b.tables[k];
  }
  return Status::Ok;
}

Status decode_compressed(const std::uint8_t* in, std::size_t in_size, const BlockInfo& b, std::uint32_t block_max,
                         RepeatOffsets& rep, std::uint8_t* frame_out, std::uint64_t at, std::uint64_t room,
                         Scratch& s, std::uint32_t* decoded) {
  const LiteralsHeader& lh = b.literals;
  const bool huffman = lh.type == kLitCompressed || lh.type == kLitTreeless;
  if (huffman) {
    const Status st = prepare_huffman(in, in_size, b.huffman_pos, s);
    if (st != Status::Ok) return st;
  }
  if (s.literals.size() < lh.regenerated) s.literals.resize(lh.regenerated);
  Status st = decode_literals(in + b.content_pos, b.content_size, lh, huffman ? &s.huffman : nullptr,
                              lh.type == kLitCompressed ? b.huffman_own_size : 0, s.literals.data());
  if (st != Status::Ok) return st;
  const std::uint32_t count = b.sequences.count;
  if (count > 0) {
    st = prepare_tables(in, in_size, b, s);
    if (st != Status::Ok) return st;
    if (s.sequences.size() < count) s.sequences.resize(count);
    st = decode_sequences(in + b.bitstream_pos, b.bitstream_size, count, &s.tables[0], &s.tables[1], &s.tables[2],
                          s.sequences.data());
    if (st != Status::Ok) return st;
  }
  st = resolve_offsets(s.sequences.data(), count, lh.regenerated, rep, decoded);
  if (st != Status::Ok) return st;
  if (*decoded > block_max) return Status::Corrupt;
  if (*decoded > room) return Status::SizeMismatch;
  return execute_sequences(s.sequences.data(), count, s.literals.data(), lh.regenerated, frame_out, at, *decoded);
}

Status decode_frame(const std::uint8_t* in, std::size_t in_size, std::uint64_t* pos, std::uint8_t* out,
                    std::size_t capacity, std::size_t* produced, Scratch& s) {
  FrameHeader fh;
  Status st = parse_frame_header(in + *pos, in_size - *pos, &fh);
  if (st != Status::Ok) return st;
  if (fh.has_content_size && fh.content_size > capacity - *produced) return Status::SizeMismatch;
  std::uint64_t at = *pos + fh.header_size;
  FrameScan scan;
  frame_scan_init(fh, &scan);
  RepeatOffsets rep;
  std::uint8_t* const frame_out = out + *produced;
  const std::uint64_t room = capacity - *produced;
  std::uint64_t written = 0;
  for (;;) {
    BlockInfo b;
    st = scan_block(in, in_size, &at, &scan, &b);
    if (st != Status::Ok) return st;
    if (b.type == kBlockCompressed) {
      std::uint32_t decoded = 0;
      st = decode_compressed(in, in_size, b, scan.block_max, rep, frame_out, written, room - written, s, &decoded);
      if (st != Status::Ok) return st;
      written += decoded;
    } else {
      if (b.decoded_size > room - written) return Status::SizeMismatch;
      if (b.type == kBlockRaw) {
        copy_bytes(frame_out + written, in + b.content_pos, b.decoded_size);
      } else if (b.decoded_size != 0) {
        std::memset(frame_out + written, in[b.content_pos], b.decoded_size);
      }
      written += b.decoded_size;
    }
    if (b.last) break;
  }
  if (fh.has_content_size && written != fh.content_size) return Status::SizeMismatch;
  if (fh.has_checksum) {
    if (in_size - at < 4) return Status::Truncated;
    const std::uint32_t expected = load_le32(in + at);
    if (static_cast<std::uint32_t>(xxhash64(frame_out, written)) != expected) return Status::ChecksumMismatch;
    at += 4;
  }
  *pos = at;
  *produced += written;
  return Status::Ok;
}

}  // namespace

Status decode_into(const std::uint8_t* in, std::size_t in_size, std::uint8_t* out, std::size_t capacity,
                   std::size_t* produced) {
  *produced = 0;
  auto scratch = std::make_unique<Scratch>();
  std::uint64_t pos = 0;
  while (pos < in_size) {
    if (in_size - pos < 4) return Status::Truncated;
    const std::uint32_t magic = load_le32(in + pos);
    if ((magic & kSkippableMagicMask) == kSkippableMagic) {
      if (in_size - pos < 8) return Status::Truncated;
      const std::uint32_t size = load_le32(in + pos + 4);
      if (in_size - pos - 8 < size) return Status::Truncated;
      pos += 8 + static_cast<std::uint64_t>(size);
      continue;
    }
    const Status st = decode_frame(in, in_size, &pos, out, capacity, produced, *scratch);
    if (st != Status::Ok) return st;
  }
  return Status::Ok;
}

Status decode(const std::uint8_t* in, std::size_t in_size, std::uint8_t* out, std::size_t out_size) {
  std::size_t produced = 0;
  const Status st = decode_into(in, in_size, out, out_size, &produced);
  if (st != Status::Ok) return st;
  return produced == out_size ? Status::Ok : Status::SizeMismatch;
}

const char* status_name(Status status) {
  switch (status) {
    case Status::Ok: return "ok";
    case Status::Truncated: return "truncated input";
    case Status::Corrupt: return "corrupt data";
    case Status::Reserved: return "reserved field set";
    case Status::Dictionary: return "needs a dictionary (not supported)";
    case Status::ChecksumMismatch: return "content checksum mismatch";
    case Status::SizeMismatch: return "decoded size differs from the expected size";
    case Status::TooLarge: return "exceeds a decoder limit";
  }
  return "unknown status";
}

}  // namespace cuzarr::zstd
