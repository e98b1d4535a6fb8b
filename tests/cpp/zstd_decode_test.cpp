// cuzarr's own zstd decoder (cpp/src/cuda/zstd/) on the host, against libzstd: every level
// -7..22, with and without checksum and content size, several and skippable frames, and a
// bad-input set that must come back as a status, never a crash (run under ASan by test-asan).
#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cuda/zstd/blockwise_decoder.hpp"
#include "cuda/zstd/entries.hpp"
#include "cuda/zstd/frame.hpp"
#include "cuda/zstd/host_decoder.hpp"
#include "cuda/zstd/offsets.hpp"
#include "cuda/zstd/sequence_codes.hpp"
#include "cuda/zstd/xxhash64.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;
using cuzarr::zstd::Status;

// A smooth float32 field with noise, in steps of 0.01: what climate and imaging arrays look like.
Bytes field_data(std::size_t n, std::uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::vector<float> v(n / 4);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const float smooth = 15.0f + 10.0f * std::sin(static_cast<float>(i) * 0.001f) *
                                     std::cos(static_cast<float>(i % 977) * 0.01f);
    v[i] = std::round((smooth + noise(rng)) * 100.0f) / 100.0f;
  }
  Bytes out(n, 0);
  if (!v.empty()) std::memcpy(out.data(), v.data(), v.size() * 4);
  return out;
}

Bytes text_data(std::size_t n, std::uint32_t seed = 2) {
  static const char* words[] = {"the ", "array ", "chunk ", "zarr ", "of ", "decode ", "GPU ", "and ",
                                "store ", "frame ", "block ", "literal ", "match ", "offset ", "\n", "{\"a\": 1}, "};
  std::mt19937 rng(seed);
  std::geometric_distribution<int> pick(0.2);
  Bytes out;
  out.reserve(n);
  while (out.size() < n) {
    const char* w = words[static_cast<std::size_t>(pick(rng)) % 16];
    for (const char* c = w; *c != 0 && out.size() < n; ++c) out.push_back(static_cast<std::uint8_t>(*c));
  }
  return out;
}

Bytes random_data(std::size_t n, std::uint32_t seed = 3) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

Bytes zeros_data(std::size_t n) { return Bytes(n, 0); }

// Runs of repeated bytes between random stretches: RLE blocks and RLE literals.
Bytes runs_data(std::size_t n, std::uint32_t seed = 4) {
  std::mt19937 rng(seed);
  Bytes out;
  while (out.size() < n) {
    const std::size_t len = 1 + rng() % 300000;
    const std::uint8_t b = static_cast<std::uint8_t>(rng());
    const bool random = rng() % 3 == 0;
    for (std::size_t i = 0; i < len && out.size() < n; ++i) out.push_back(random ? static_cast<std::uint8_t>(rng()) : b);
  }
  return out;
}

// Bytes 0..15 only: libzstd writes such literals' Huffman weights directly (4 bits each), and small
// inputs of them as compressed blocks without sequences.
Bytes nibbles_data(std::size_t n, std::uint32_t seed = 5) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng() % 16);
  return out;
}

// 3-byte words of a 1024-word vocabulary: at the highest levels every word is a match of its own,
// more than 0x7F00 sequences in a block (the 3-byte Number_of_Sequences).
Bytes tokens_data(std::size_t n, std::uint32_t seed = 6) {
  std::mt19937 rng(seed);
  Bytes vocab(3 * 1024);
  for (auto& b : vocab) b = static_cast<std::uint8_t>(rng());
  Bytes out;
  out.reserve(n + 3);
  while (out.size() < n) {
    const std::size_t w = rng() % 1024;
    out.insert(out.end(), vocab.begin() + static_cast<std::ptrdiff_t>(3 * w), vocab.begin() + static_cast<std::ptrdiff_t>(3 * w + 3));
  }
  out.resize(n);
  return out;
}

struct Options {
  int level = 3;
  bool checksum = false;
  bool content_size = true;
};

Bytes compress(const Bytes& src, const Options& o) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, o.level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, o.checksum ? 1 : 0);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, o.content_size ? 1 : 0);
  Bytes out(ZSTD_compressBound(src.size()));
  const std::size_t n = ZSTD_compress2(cctx, out.data(), out.size(), src.data(), src.size());
  ZSTD_freeCCtx(cctx);
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

// Streaming with flushes every `step` bytes: no content size, blocks cut short.
Bytes compress_streaming(const Bytes& src, int level, std::size_t step) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  Bytes out(ZSTD_compressBound(src.size()) + 1024 + src.size() / step * 16);
  ZSTD_outBuffer ob{out.data(), out.size(), 0};
  for (std::size_t at = 0; at < src.size(); at += step) {
    ZSTD_inBuffer ib{src.data() + at, std::min(step, src.size() - at), 0};
    const std::size_t r = ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_flush);
    EXPECT_FALSE(ZSTD_isError(r));
  }
  ZSTD_inBuffer empty{nullptr, 0, 0};
  while (ZSTD_compressStream2(cctx, &ob, &empty, ZSTD_e_end) != 0) {
  }
  ZSTD_freeCCtx(cctx);
  out.resize(ob.pos);
  return out;
}

Status decode(const Bytes& in, std::size_t size, Bytes* out) {
  out->assign(size, 0xAB);
  return cuzarr::zstd::decode(in.data(), in.size(), out->data(), out->size());
}

void expect_round_trip(const Bytes& src, const Bytes& frame, const std::string& what) {
  Bytes out;
  const Status st = decode(frame, src.size(), &out);
  ASSERT_EQ(st, Status::Ok) << what << ": " << cuzarr::zstd::status_name(st);
  ASSERT_TRUE(out == src) << what << ": decoded bytes differ";
}

struct Kind {
  const char* name;
  Bytes (*make)(std::size_t);
};
Bytes field_default(std::size_t n) { return field_data(n); }
Bytes text_default(std::size_t n) { return text_data(n); }
Bytes random_default(std::size_t n) { return random_data(n); }
Bytes runs_default(std::size_t n) { return runs_data(n); }
Bytes nibbles_default(std::size_t n) { return nibbles_data(n); }
Bytes tokens_default(std::size_t n) { return tokens_data(n); }
const Kind kKinds[] = {{"field", field_default},     {"text", text_default},     {"zeros", zeros_data},
                       {"random", random_default},   {"runs", runs_default},     {"nibbles", nibbles_default},
                       {"tokens", tokens_default}};

TEST(ZstdDecode, XxHash64KnownValues) {
  // Published reference values of XXH64 with seed 0.
  EXPECT_EQ(cuzarr::zstd::xxhash64(nullptr, 0), 0xEF46DB3751D8E999ull);
  const std::uint8_t a[] = {'a'};
  EXPECT_EQ(cuzarr::zstd::xxhash64(a, 1), 0xD24EC4F1A98C6E5Bull);
  const std::string abc = "abc";
  EXPECT_EQ(cuzarr::zstd::xxhash64(reinterpret_cast<const std::uint8_t*>(abc.data()), 3), 0x44BC2CF5AD770999ull);
  // Longer inputs take the four-lane path: compare with libzstd's checksum of a frame.
  for (std::size_t n : {31u, 32u, 33u, 100u, 1000u, 65537u}) {
    const Bytes src = text_data(n, static_cast<std::uint32_t>(n));
    const Bytes frame = compress(src, {1, true, true});
    const std::uint32_t stored = cuzarr::zstd::load_le32(frame.data() + frame.size() - 4);
    EXPECT_EQ(static_cast<std::uint32_t>(cuzarr::zstd::xxhash64(src.data(), src.size())), stored) << n;
  }
}

TEST(ZstdDecode, EveryLevelEveryKind) {
  for (const Kind& kind : kKinds) {
    const Bytes src = kind.make(260 * 1024 + 17);
    for (int level = -7; level <= 22; ++level) {
      for (int flags = 0; flags < 4; ++flags) {
        const Options o{level, (flags & 1) != 0, (flags & 2) != 0};
        if (level > 19 && flags != 3 && flags != 0) continue;  // the slowest levels: two variants suffice
        expect_round_trip(src, compress(src, o),
                          std::string(kind.name) + " level " + std::to_string(level) + " flags " + std::to_string(flags));
      }
    }
  }
}

// The corpus above reaches every part of the format libzstd writes: checked here with the frame
// walk itself, so that a test input that stops producing a feature is noticed.
TEST(ZstdDecode, CorpusCoversTheFormat) {
  using namespace cuzarr::zstd;
  enum Feature { RawBlock, RleBlock, CompressedBlock, RawLiterals, RleLiterals, HuffmanFse, HuffmanDirect,
                 Treeless, OneStream, FourStreams, NoSequences, Count2Bytes, Count3Bytes, Predefined, RleMode,
                 FseMode, RepeatMode, WindowDescriptor, SingleSegment, kFeatures };
  bool seen[kFeatures] = {};
  auto walk = [&](const Bytes& f) {
    FrameHeader fh;
    ASSERT_EQ(parse_frame_header(f.data(), f.size(), &fh), Status::Ok);
    seen[fh.single_segment ? SingleSegment : WindowDescriptor] = true;
    FrameScan scan;
    frame_scan_init(fh, &scan);
    std::uint64_t at = fh.header_size;
    for (;;) {
      BlockInfo b;
      ASSERT_EQ(scan_block(f.data(), f.size(), &at, &scan, &b), Status::Ok);
      seen[b.type == kBlockRaw ? RawBlock : b.type == kBlockRle ? RleBlock : CompressedBlock] = true;
      if (b.type == kBlockCompressed) {
        const std::uint8_t lt = b.literals.type;
        if (lt == kLitRaw) seen[RawLiterals] = true;
        if (lt == kLitRle) seen[RleLiterals] = true;
        if (lt == kLitCompressed) seen[f[b.huffman_pos] >= 128 ? HuffmanDirect : HuffmanFse] = true;
        if (lt == kLitTreeless) seen[Treeless] = true;
        if (lt >= kLitCompressed) seen[b.literals.streams == 1 ? OneStream : FourStreams] = true;
        const std::uint32_t count = b.sequences.count;
        if (count == 0) seen[NoSequences] = true;
        if (count >= 128 && count < 0x7F00) seen[Count2Bytes] = true;
        if (count >= 0x7F00) seen[Count3Bytes] = true;
        for (int k = 0; k < 3 && count > 0; ++k) {
          const int mode = b.sequences.modes[k];
          seen[mode == kModePredefined ? Predefined : mode == kModeRle ? RleMode : mode == kModeFse ? FseMode : RepeatMode] = true;
        }
      }
      if (b.last) break;
    }
  };
  for (const Kind& kind : kKinds) {
    for (std::size_t n : {100u, 3000u, 400000u}) {
      for (int level : {-5, 1, 3, 9, 19, 22}) walk(compress(kind.make(n), {level, false, true}));
    }
  }
  walk(compress(text_data(400000), {3, false, false}));
  const char* names[] = {"raw block", "RLE block", "compressed block", "raw literals", "RLE literals",
                         "FSE-compressed Huffman weights", "direct Huffman weights", "treeless literals", "1 stream",
                         "4 streams", "no sequences", "2-byte sequence count", "3-byte sequence count",
                         "predefined mode", "RLE mode", "FSE mode", "repeat mode", "window descriptor",
                         "single segment"};
  for (int f = 0; f < kFeatures; ++f) EXPECT_TRUE(seen[f]) << names[f];
}

// The GPU resolves repeat offsets per block without knowing the offsets a block starts with
// (resolve_offsets_symbolic, then apply_transform per frame and concrete_offset per sequence):
// it must give exactly the offsets of the sequential pass, on every block of real frames.
// The blocks of the one frame in `f`, as the walk finds them (repeat modes resolved).
std::vector<cuzarr::zstd::BlockInfo> frame_blocks(const Bytes& f) {
  using namespace cuzarr::zstd;
  std::vector<BlockInfo> blocks;
  FrameHeader fh;
  EXPECT_EQ(parse_frame_header(f.data(), f.size(), &fh), Status::Ok);
  FrameScan scan;
  frame_scan_init(fh, &scan);
  std::uint64_t at = fh.header_size;
  for (;;) {
    BlockInfo info;
    EXPECT_EQ(scan_block(f.data(), f.size(), &at, &scan, &info), Status::Ok);
    blocks.push_back(info);
    if (info.last || ::testing::Test::HasFailure()) break;
  }
  return blocks;
}

TEST(ZstdDecode, SymbolicRepeatOffsetsMatchSequential) {
  using namespace cuzarr::zstd;
  std::vector<Sequence> a(kMaxSequences), b(kMaxSequences);
  auto tables = std::make_unique<FseTable[]>(3);
  std::size_t checked = 0;
  for (const Kind& kind : kKinds) {
    for (int level : {-3, 1, 3, 9, 19, 22}) {
      const Bytes f = compress(kind.make(400000), {level, false, true});
      RepeatOffsets sequential, chained;
      for (const BlockInfo& info : frame_blocks(f)) {
        if (info.type == kBlockCompressed) {
          const std::uint32_t n = info.sequences.count;
          if (n > 0) {
            for (int k = 0; k < 3; ++k) ASSERT_EQ(build_sequence_table(f.data(), f.size(), info.tables[k], k, &tables[k]), Status::Ok);
            ASSERT_EQ(decode_sequences(f.data() + info.bitstream_pos, info.bitstream_size, n, &tables[0], &tables[1],
                                       &tables[2], a.data()),
                      Status::Ok);
          }
          std::copy(a.begin(), a.begin() + n, b.begin());
          std::uint32_t d1 = 0, d2 = 0;
          ASSERT_EQ(resolve_offsets(a.data(), n, info.literals.regenerated, sequential, &d1), Status::Ok);
          RepTransform t = identity_transform();
          ASSERT_EQ(resolve_offsets_symbolic(b.data(), n, info.literals.regenerated, &t, &d2), Status::Ok);
          ASSERT_EQ(d1, d2);
          for (std::uint32_t q = 0; q < n; ++q) {
            ASSERT_EQ(concrete_offset(b[q], chained), a[q].offset) << kind.name << " level " << level << " seq " << q;
            ASSERT_EQ(match_length_of(b[q]), a[q].match_length);
          }
          chained = apply_transform(t, chained);
          for (int k = 0; k < 3; ++k) ASSERT_EQ(chained.rep[k], sequential.rep[k]);
          checked += n;
        }
      }
    }
  }
  EXPECT_GT(checked, 100000u);
}

// The GPU's split of sequence decoding (sequence_codes.hpp): states and positions on one thread,
// then the values and the repeat offsets of every sequence at once, composed in any grouping. It
// must give what the one-thread decoder and SymbolicSink give, sequence for sequence.
TEST(ZstdDecode, SequenceCodesMatchOneThreadDecoder) {
  using namespace cuzarr::zstd;
  std::vector<Sequence> expected(kMaxSequences);
  std::vector<SequenceCode> codes(kMaxSequences);
  auto tables = std::make_unique<FseTable[]>(3);
  auto packed = std::make_unique<PackedEntry[]>(3 << kMaxFseLog);
  std::size_t checked = 0;
  for (const Kind& kind : kKinds) {
    for (int level : {-7, -1, 1, 3, 5, 9, 16, 19, 22}) {
      const Bytes f = compress(kind.make(300000), {level, false, true});
      for (const BlockInfo& info : frame_blocks(f)) {
        const std::uint32_t n = info.type == kBlockCompressed ? info.sequences.count : 0;
        if (n > 0) {
          for (int k = 0; k < 3; ++k) {
            ASSERT_EQ(build_sequence_table(f.data(), f.size(), info.tables[k], k, &tables[k]), Status::Ok);
            // Packed by "lanes" 3 apart, as a warp packs them 32 apart.
            for (int lane = 0; lane < 3; ++lane) pack_table(tables[k], k, &packed[k << kMaxFseLog], lane, 3);
          }
          const std::uint8_t* stream = f.data() + info.bitstream_pos;
          SymbolicSink sink(expected.data());
          ASSERT_EQ(decode_sequences_to(stream, info.bitstream_size, n, &tables[0], &tables[1], &tables[2], sink),
                    Status::Ok);
          auto record = [&codes](std::uint32_t i, const SequenceCode& c) { codes[i] = c; };
          ASSERT_EQ(decode_sequence_codes(stream, info.bitstream_size, n, &packed[0], tables[0].log,
                                          &packed[1 << kMaxFseLog], tables[1].log, &packed[2 << kMaxFseLog],
                                          tables[2].log, record),
                    Status::Ok);
          // Composed left to right, one sequence at a time.
          RepTransform before = identity_transform();
          std::vector<SequenceStep> steps(n);
          for (std::uint32_t q = 0; q < n; ++q) {
            const Sequence raw = sequence_from_code(stream, info.bitstream_size, codes[q]);
            steps[q] = sequence_step(raw.offset, raw.literal_length);
            const Sequence got = symbolic_sequence(raw, substitute(steps[q].used, before));
            ASSERT_EQ(got.literal_length, expected[q].literal_length) << kind.name << " level " << level << " seq " << q;
            ASSERT_EQ(got.match_length, expected[q].match_length) << kind.name << " level " << level << " seq " << q;
            ASSERT_EQ(got.offset, expected[q].offset) << kind.name << " level " << level << " seq " << q;
            before = compose_transforms(steps[q].after, before);
          }
          // Composition is associative: halves composed on their own, then together, agree.
          RepTransform low = identity_transform(), high = identity_transform();
          for (std::uint32_t q = 0; q < n / 2; ++q) low = compose_transforms(steps[q].after, low);
          for (std::uint32_t q = n / 2; q < n; ++q) high = compose_transforms(steps[q].after, high);
          const RepTransform whole = compose_transforms(high, low);
          for (int k = 0; k < 3; ++k) {
            ASSERT_EQ(before.rep[k].value, sink.transform.rep[k].value);
            ASSERT_EQ(before.rep[k].source, sink.transform.rep[k].source);
            ASSERT_EQ(whole.rep[k].value, before.rep[k].value);
            ASSERT_EQ(whole.rep[k].source, before.rep[k].source);
          }
          checked += n;
        }
      }
    }
  }
  EXPECT_GT(checked, 100000u);
}

// A damaged sequence bitstream: the split decoder refuses exactly what the one-thread one refuses.
TEST(ZstdDecode, SequenceCodesRefuseWhatTheOneThreadDecoderRefuses) {
  using namespace cuzarr::zstd;
  std::vector<Sequence> scratch(kMaxSequences);
  auto tables = std::make_unique<FseTable[]>(3);
  auto packed = std::make_unique<PackedEntry[]>(3 << kMaxFseLog);
  std::mt19937 rng(5);
  int refused = 0;
  const Bytes f = compress(field_data(600000), {3, false, true});
  for (const BlockInfo& info : frame_blocks(f)) {
    const std::uint32_t n = info.type == kBlockCompressed ? info.sequences.count : 0;
    if (n > 0) {
      for (int k = 0; k < 3; ++k) {
        ASSERT_EQ(build_sequence_table(f.data(), f.size(), info.tables[k], k, &tables[k]), Status::Ok);
        pack_table(tables[k], k, &packed[k << kMaxFseLog]);
      }
      for (int trial = 0; trial < 300; ++trial) {
        Bytes stream(f.begin() + static_cast<std::ptrdiff_t>(info.bitstream_pos),
                     f.begin() + static_cast<std::ptrdiff_t>(info.bitstream_pos + info.bitstream_size));
        const std::size_t cut = trial % 3 == 0 ? rng() % stream.size() : stream.size();
        stream.resize(std::max<std::size_t>(cut, 1));
        stream[rng() % stream.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        const std::uint32_t count = trial % 5 == 0 ? n + 1 + rng() % 3 : n;
        const Status one = decode_sequences(stream.data(), stream.size(), count, &tables[0], &tables[1], &tables[2],
                                            scratch.data());
        auto ignore = [](std::uint32_t, const SequenceCode&) {};
        const Status split = decode_sequence_codes(stream.data(), stream.size(), count, &packed[0], tables[0].log,
                                                   &packed[1 << kMaxFseLog], tables[1].log, &packed[2 << kMaxFseLog],
                                                   tables[2].log, ignore);
        ASSERT_EQ(one == Status::Ok, split == Status::Ok) << "trial " << trial;
        refused += split != Status::Ok;
      }
    }
  }
  EXPECT_GT(refused, 100);
}

// The GPU's decomposition, run on the host (blockwise_decoder.hpp): each block's entropy stage and
// repeat offsets on their own, the offsets chained per frame, then execution into entries and the
// resolution of references, blocks taken last first. Must give libzstd's input back exactly, and
// agree with the sequential decoder on damaged input.
Bytes decode_blockwise(const Bytes& f, std::size_t size) {
  Bytes out(size, 0xAB);
  const Status st = cuzarr::zstd::decode_blockwise(f.data(), f.size(), out.data(), out.size());
  EXPECT_EQ(st, Status::Ok) << cuzarr::zstd::status_name(st);
  return out;
}

TEST(ZstdDecode, BlocksExecuteIndependently) {
  for (const Kind& kind : kKinds) {
    const Bytes src = kind.make(700 * 1024 + 5);
    for (int level : {-5, 1, 3, 9, 19}) {
      const Bytes out = decode_blockwise(compress(src, {level, false, true}), src.size());
      ASSERT_TRUE(out == src) << kind.name << " level " << level;
    }
    const Bytes out = decode_blockwise(compress_streaming(src, 3, 10000), src.size());
    ASSERT_TRUE(out == src) << kind.name << " streaming";
  }
  // Two frames and a skippable one in one item, checksums on.
  const Bytes a = field_data(300000), b = text_data(200000);
  Bytes two = compress(a, {3, true, true});
  const std::uint8_t skip[] = {0x50, 0x2A, 0x4D, 0x18, 2, 0, 0, 0, 7, 7};
  two.insert(two.end(), std::begin(skip), std::end(skip));
  const Bytes fb = compress(b, {9, true, false});
  two.insert(two.end(), fb.begin(), fb.end());
  Bytes both = a;
  both.insert(both.end(), b.begin(), b.end());
  ASSERT_TRUE(decode_blockwise(two, both.size()) == both);
}

// Damaged frames: the blockwise decomposition fails where the sequential decoder fails, and
// where both succeed (a damaged frame without a checksum can be a valid stream) they agree.
TEST(ZstdDecode, BlockwiseAgreesWithSequentialOnDamage) {
  std::mt19937 rng(11);
  int failures = 0;
  for (const Kind& kind : kKinds) {
    const Bytes src = kind.make(300 * 1024);
    for (int level : {1, 3, 19}) {
      const Bytes frame = compress(src, {level, level == 3, true});
      for (int trial = 0; trial < 12; ++trial) {
        Bytes bad = frame;
        if (trial % 3 == 0) {
          bad.resize(bad.size() * (rng() % 100) / 100);
        } else {
          for (int k = 0; k < 1 + trial % 3; ++k) bad[rng() % bad.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        }
        Bytes seq(src.size()), blk(src.size());
        const Status s1 = cuzarr::zstd::decode(bad.data(), bad.size(), seq.data(), seq.size());
        const Status s2 = cuzarr::zstd::decode_blockwise(bad.data(), bad.size(), blk.data(), blk.size());
        ASSERT_EQ(s1 == Status::Ok, s2 == Status::Ok) << kind.name << " level " << level << " trial " << trial << ": "
                                                      << cuzarr::zstd::status_name(s1) << " vs "
                                                      << cuzarr::zstd::status_name(s2);
        if (s1 == Status::Ok) {
          ASSERT_TRUE(seq == blk);
        }
        failures += s1 != Status::Ok;
      }
    }
  }
  EXPECT_GT(failures, 100);
}

// A damaged entry (a reference that does not point back) is refused, never followed.
TEST(ZstdDecode, EntriesRefuseForwardReferences) {
  using namespace cuzarr::zstd;
  std::vector<std::uint32_t> entries = {7, kEntryRef | 0, kEntryRef | 3, kEntryRef | 2};
  std::uint8_t v = 0;
  EXPECT_TRUE(resolve_entry(entries.data(), 1, &v));
  EXPECT_EQ(v, 7);
  EXPECT_FALSE(resolve_entry(entries.data(), 2, &v));
  EXPECT_FALSE(resolve_entry(entries.data(), 3, &v));
}

TEST(ZstdDecode, SmallInputs) {
  for (const Kind& kind : kKinds) {
    for (std::size_t n : {0u, 1u, 2u, 3u, 5u, 16u, 31u, 100u, 255u, 256u, 257u, 1000u, 1024u, 4096u, 65791u, 65792u, 131072u, 131073u}) {
      const Bytes src = kind.make(n);
      for (int level : {-7, -1, 1, 3, 9, 19}) {
        for (int flags = 0; flags < 4; ++flags) {
          expect_round_trip(src, compress(src, {level, (flags & 1) != 0, (flags & 2) != 0}),
                            std::string(kind.name) + " n " + std::to_string(n) + " level " + std::to_string(level));
        }
      }
    }
  }
}

TEST(ZstdDecode, MultiMiB) {
  for (const Kind& kind : kKinds) {
    const Bytes src = kind.make(3 * 1024 * 1024 + 5);
    for (int level : {-7, -1, 1, 3, 5, 9, 12, 15, 17}) {
      if (level > 9 && kind.make != field_default) continue;  // slow to compress; EveryLevel covers them
      expect_round_trip(src, compress(src, {level, true, true}), std::string(kind.name) + " level " + std::to_string(level));
    }
  }
}

TEST(ZstdDecode, SixteenMiBField) {
  const Bytes src = field_data(16 * 1024 * 1024);
  for (int level : {1, 3, 9}) {
    expect_round_trip(src, compress(src, {level, true, false}), "16 MiB level " + std::to_string(level));
  }
}

TEST(ZstdDecode, StreamingFlushes) {
  const Bytes src = text_data(700 * 1024);
  for (std::size_t step : {1000u, 4096u, 50000u, 200000u}) {
    for (int level : {-5, 1, 3, 9, 19}) {
      expect_round_trip(src, compress_streaming(src, level, step), "step " + std::to_string(step));
    }
  }
}

TEST(ZstdDecode, ConcatenatedAndSkippableFrames) {
  const Bytes a = text_data(200000, 7), b = field_data(150000, 8), c = zeros_data(1000);
  Bytes all, expect;
  auto skippable = [](Bytes& dst, std::uint32_t magic_low, std::size_t n) {
    const std::uint32_t magic = 0x184D2A50u | magic_low;
    for (int i = 0; i < 4; ++i) dst.push_back(static_cast<std::uint8_t>(magic >> (8 * i)));
    for (int i = 0; i < 4; ++i) dst.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    for (std::size_t i = 0; i < n; ++i) dst.push_back(static_cast<std::uint8_t>(i * 7));
  };
  skippable(all, 0, 10);
  for (const Bytes* part : {&a, &b, &c}) {
    const Bytes f = compress(*part, {3, part == &b, part != &c});
    all.insert(all.end(), f.begin(), f.end());
    expect.insert(expect.end(), part->begin(), part->end());
    skippable(all, 15, part == &a ? 0 : 33);
  }
  const Bytes empty_frame = compress(Bytes{}, {3, true, true});
  all.insert(all.end(), empty_frame.begin(), empty_frame.end());
  expect_round_trip(expect, all, "concatenated");

  Bytes cut = all;
  cut.resize(cut.size() - 1);  // inside the last skippable frame... or the empty frame's checksum
  Bytes out;
  EXPECT_NE(decode(cut, expect.size(), &out), Status::Ok);
  Bytes trailing = all;
  trailing.push_back(0);
  EXPECT_NE(decode(trailing, expect.size(), &out), Status::Ok);
}

TEST(ZstdDecode, WrongExpectedSizes) {
  const Bytes src = text_data(100000);
  for (bool content_size : {true, false}) {
    const Bytes frame = compress(src, {3, false, content_size});
    Bytes out;
    for (std::size_t size : {std::size_t{0}, src.size() - 1, src.size() + 1, src.size() * 2}) {
      EXPECT_EQ(decode(frame, size, &out), Status::SizeMismatch) << size;
    }
  }
}

TEST(ZstdDecode, Truncated) {
  for (const Kind& kind : kKinds) {
    const Bytes src = kind.make(400000);
    for (bool checksum : {true, false}) {
      const Bytes frame = compress(src, {3, checksum, true});
      const std::size_t step = std::max<std::size_t>(1, frame.size() / 300);
      Bytes out;
      for (std::size_t n = 0; n < frame.size(); n += (n < 64 ? 1 : step)) {
        Bytes cut(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_NE(decode(cut, src.size(), &out), Status::Ok) << kind.name << " cut at " << n;
      }
    }
  }
}

TEST(ZstdDecode, BitFlipsNeverCrashAndChecksumsCatchThem) {
  std::mt19937 rng(11);
  for (const Kind& kind : kKinds) {
    const Bytes src = kind.make(200000);
    for (bool checksum : {true, false}) {
      const Bytes frame = compress(src, {checksum ? 3 : 19, checksum, true});
      Bytes out;
      for (int i = 0; i < 400; ++i) {
        Bytes bad = frame;
        const std::size_t at = rng() % bad.size();
        bad[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        if (rng() % 4 == 0) bad[rng() % bad.size()] = static_cast<std::uint8_t>(rng());
        const Status st = decode(bad, src.size(), &out);
        // The frame header's unused bit changes nothing; otherwise a checksum catches any change.
        if (checksum && st == Status::Ok) {
          EXPECT_TRUE(out == src) << kind.name << " flip at " << at;
        }
      }
    }
  }
}

// A single-segment frame of one raw block "hello", with the given descriptor extras.
Bytes hello_frame(std::uint8_t descriptor_extra, const Bytes& between = {}) {
  Bytes f = {0x28, 0xB5, 0x2F, 0xFD, static_cast<std::uint8_t>(0x20 | descriptor_extra)};
  for (std::uint8_t b : between) f.push_back(b);  // (vector::insert trips a GCC 12 -Warray-bounds false positive)
  f.push_back(5);  // Frame_Content_Size
  f.push_back((5 << 3) | 1);  // last raw block of 5 bytes
  f.push_back(0);
  f.push_back(0);
  for (char c : std::string("hello")) f.push_back(static_cast<std::uint8_t>(c));
  return f;
}

TEST(ZstdDecode, HandMadeFrames) {
  Bytes out;
  EXPECT_EQ(decode(hello_frame(0), 5, &out), Status::Ok);
  EXPECT_EQ(std::string(out.begin(), out.end()), "hello");
  EXPECT_EQ(decode(hello_frame(0x10), 5, &out), Status::Ok);  // the unused bit is ignored
  EXPECT_EQ(decode(hello_frame(0x08), 5, &out), Status::Reserved);
  EXPECT_EQ(decode(hello_frame(0x01, {7}), 5, &out), Status::Dictionary);
  EXPECT_EQ(decode(hello_frame(0x02, {0, 1}), 5, &out), Status::Dictionary);
  EXPECT_EQ(decode(hello_frame(0x03, {0, 0, 0, 1}), 5, &out), Status::Dictionary);
  EXPECT_EQ(decode(hello_frame(0x01, {0}), 5, &out), Status::Ok);  // an ID of 0 is no dictionary
  Bytes reserved_block = hello_frame(0);
  reserved_block[6] |= 6;  // Block_Type 3
  EXPECT_EQ(decode(reserved_block, 5, &out), Status::Reserved);
  Bytes bad_magic = hello_frame(0);
  bad_magic[0] ^= 1;
  EXPECT_EQ(decode(bad_magic, 5, &out), Status::Corrupt);
  Bytes wrong_content_size = hello_frame(0);
  wrong_content_size[5] = 6;
  EXPECT_NE(decode(wrong_content_size, 5, &out), Status::Ok);
  Bytes not_last = hello_frame(0);
  not_last[6] &= ~1;  // the frame never ends
  EXPECT_EQ(decode(not_last, 5, &out), Status::Truncated);
}

TEST(ZstdDecode, ReservedFieldsOfCompressedBlocks) {
  const Bytes src = text_data(300000);
  const Bytes frame = compress(src, {3, false, true});
  cuzarr::zstd::FrameHeader fh;
  ASSERT_EQ(cuzarr::zstd::parse_frame_header(frame.data(), frame.size(), &fh), Status::Ok);
  cuzarr::zstd::FrameScan scan;
  cuzarr::zstd::frame_scan_init(fh, &scan);
  std::uint64_t at = fh.header_size;
  int tested = 0;
  Bytes out;
  for (;;) {
    const std::uint64_t header_at = at;
    cuzarr::zstd::BlockInfo b;
    ASSERT_EQ(cuzarr::zstd::scan_block(frame.data(), frame.size(), &at, &scan, &b), Status::Ok);
    if (b.type == cuzarr::zstd::kBlockCompressed && b.sequences.count > 0) {
      Bytes bad = frame;  // Symbol_Compression_Modes' reserved bits
      bad[b.content_pos + b.literals.section_size + b.sequences.header_size - 1] |= 1;
      EXPECT_EQ(decode(bad, src.size(), &out), Status::Reserved);
      bad = frame;  // Block_Type 3
      bad[header_at] |= 6;
      EXPECT_EQ(decode(bad, src.size(), &out), Status::Reserved);
      ++tested;
    }
    if (b.last) break;
  }
  EXPECT_GT(tested, 0);
}

TEST(ZstdDecode, ChecksumMismatch) {
  const Bytes src = field_data(100000);
  Bytes frame = compress(src, {3, true, true});
  Bytes out;
  ASSERT_EQ(decode(frame, src.size(), &out), Status::Ok);
  frame[frame.size() - 2] ^= 0x40;
  EXPECT_EQ(decode(frame, src.size(), &out), Status::ChecksumMismatch);
}

}  // namespace
