// GPU decompression. Host half (no GPU needed): stream splitting of blosc, LZ4, zstd, gzip and
// zlib chunks, checked by decompressing the streams with the CPU libraries and undoing the
// shuffle with the host reference, bit for bit against blosc/zlib/zstd's own decoders; the
// decode policy. Device half (skipped without a GPU): the LZ4 kernel, unshuffle kernels and
// nvCOMP backends against the same references, and corrupt streams that must end with a bad
// status (run under compute-sanitizer memcheck by make test-gpu).
#include <blosc.h>
#include <gtest/gtest.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <random>
#include <string>

#include "codec/gpu_streams.hpp"
#include "cuda/decode_policy.hpp"
#include "cuda/decode_split.hpp"
#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"

#if CUZARR_WITH_CUDA
#include "cuda/batch_decompress.hpp"
#include "cuda/nvcomp.hpp"
#include "cuda/zstd/host_decoder.hpp"
#include "cuda/zstd_kernels.hpp"
#endif

namespace {

using namespace cuzarr;
using namespace cuzarr::codec;
using Bytes = std::vector<std::byte>;

// Float-like data of adjustable entropy: a smooth signal with `noise_bits` random low bits.
Bytes sample(std::size_t size, int noise_bits, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (std::size_t i = 0; i < size; i += 4) {
    float v = static_cast<float>(std::sin(static_cast<double>(i) * 1e-4) * 100.0);
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    if (noise_bits > 0) bits ^= rng() & ((noise_bits >= 32 ? 0u : (1u << noise_bits)) - 1u);
    std::memcpy(out.data() + i, &bits, std::min<std::size_t>(4, size - i));
  }
  return out;
}

Bytes blosc_frame(const Bytes& data, const char* compressor, int shuffle, int typesize, int blocksize = 0,
                  int clevel = 5) {
  Bytes out(data.size() + BLOSC_MAX_OVERHEAD);
  const int n = blosc_compress_ctx(clevel, shuffle, static_cast<std::size_t>(typesize), data.size(), data.data(),
                                   out.data(), out.size(), compressor, static_cast<std::size_t>(blocksize), 1);
  EXPECT_GT(n, 0) << compressor;
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Bytes raw_inflate(const std::byte* in, std::size_t n, std::size_t out_size) {
  Bytes out(out_size + 1);  // one spare byte: an empty output still has an address
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in));
  z.avail_in = static_cast<uInt>(n);
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int r = inflate(&z, Z_FINISH);
  inflateEnd(&z);
  EXPECT_EQ(r, Z_STREAM_END);
  EXPECT_EQ(z.avail_in, 0u) << "the deflate stream must end where the item ends";
  EXPECT_EQ(z.total_out, out_size);
  out.resize(out_size);
  return out;
}

// Decodes a chunk from its streams on the host: the GPU path's plan, executed by the CPU libraries.
Bytes decode_streams(const ChunkStreams& cs, const Bytes& stored) {
  Bytes raw(cs.decoded_size);
  for (const StreamItem& it : cs.items) {
    EXPECT_LE(it.in_offset + it.in_size, stored.size());
    EXPECT_LE(it.out_offset + it.out_size, cs.decoded_size);
    const std::byte* in = stored.data() + it.in_offset;
    std::byte* out = raw.data() + it.out_offset;
    switch (it.kind) {
      case StreamKind::Copy:
        EXPECT_EQ(it.in_size, it.out_size);
        std::memcpy(out, in, it.out_size);
        break;
      case StreamKind::Lz4:
        EXPECT_EQ(LZ4_decompress_safe(reinterpret_cast<const char*>(in), reinterpret_cast<char*>(out),
                                      static_cast<int>(it.in_size), static_cast<int>(it.out_size)),
                  static_cast<int>(it.out_size));
        break;
      case StreamKind::Zstd:
        EXPECT_EQ(ZSTD_decompress(out, it.out_size, in, it.in_size), it.out_size);
        break;
      case StreamKind::Deflate: {
        const Bytes d = raw_inflate(in, it.in_size, it.out_size);
        if (!d.empty()) std::memcpy(out, d.data(), d.size());  // out may be null for an empty stream
        break;
      }
      default:
        ADD_FAILURE() << "no host decoder for " << stream_kind_name(it.kind);
    }
  }
  if (cs.unshuffle == Unshuffle::None) return raw;
  Bytes out(cs.decoded_size);
  for (std::uint64_t at = 0; at < cs.decoded_size; at += cs.block_size) {
    unshuffle_block(cs.unshuffle, cs.typesize, raw.data() + at, out.data() + at,
                    std::min(cs.block_size, cs.decoded_size - at));
  }
  return out;
}

struct BloscCase {
  const char* compressor;
  int shuffle, typesize, blocksize;
  std::size_t size;
  int noise;
};

std::vector<BloscCase> blosc_cases() {
  std::vector<BloscCase> cases;
  for (const char* c : {"lz4", "lz4hc", "zstd", "zlib"}) {
    for (int shuffle : {BLOSC_NOSHUFFLE, BLOSC_SHUFFLE, BLOSC_BITSHUFFLE}) {
      for (int typesize : {1, 2, 4, 8, 3, 16, 24}) {
        // Sizes with a leftover block, one smaller than a block, and blocks whose element count
        // is not a multiple of 8 (bit shuffle leaves those alone).
        for (std::size_t size : {std::size_t{1}, std::size_t{100}, std::size_t{4096 * 3 + 24}, std::size_t{200000}}) {
          cases.push_back({c, shuffle, typesize, 0, size / typesize * typesize, 12});
        }
        cases.push_back({c, shuffle, typesize, 2040 * typesize, 40000 * static_cast<std::size_t>(typesize), 4});
        // A last block of whole groups of 8 elements and then part of one: blosc shuffles the
        // elements and keeps the partial one's bytes as they are.
        if (typesize > 1) {
          const auto t = static_cast<std::size_t>(typesize);
          cases.push_back({c, shuffle, typesize, 2048 * typesize, (2048 + 64) * t + t - 1, 12});
        }
      }
    }
  }
  return cases;
}

TEST(GpuStreams, BloscFramesSplitIntoStreamsThatDecodeBitExactly) {
  for (const BloscCase& c : blosc_cases()) {
    if (c.size == 0) continue;
    const Bytes data = sample(c.size, c.noise, static_cast<unsigned>(c.size));
    const Bytes frame = blosc_frame(data, c.compressor, c.shuffle, c.typesize, c.blocksize);
    std::string why;
    const std::optional<ChunkStreams> cs = split_streams(GpuFormat::Blosc, frame, data.size(), why);
    ASSERT_TRUE(cs) << why << " " << c.compressor << " ts " << c.typesize << " size " << c.size;
    EXPECT_EQ(decode_streams(*cs, frame), data)
        << c.compressor << " shuffle " << c.shuffle << " typesize " << c.typesize << " size " << c.size;
  }
}

TEST(GpuStreams, BloscSplitModesAndStoredFrames) {
  const Bytes data = sample(1 << 18, 10, 7);
  for (int mode : {BLOSC_ALWAYS_SPLIT, BLOSC_NEVER_SPLIT, BLOSC_FORWARD_COMPAT_SPLIT}) {
    blosc_set_splitmode(mode);
    for (int shuffle : {BLOSC_SHUFFLE, BLOSC_BITSHUFFLE}) {
      blosc_set_compressor("lz4");
      Bytes frame(data.size() + BLOSC_MAX_OVERHEAD);
      const int n = blosc_compress(5, shuffle, 4, data.size(), data.data(), frame.data(), frame.size());
      ASSERT_GT(n, 0);
      frame.resize(static_cast<std::size_t>(n));
      std::string why;
      const auto cs = split_streams(GpuFormat::Blosc, frame, data.size(), why);
      ASSERT_TRUE(cs) << why;
      EXPECT_EQ(decode_streams(*cs, frame), data) << "split mode " << mode;
    }
  }
  blosc_set_splitmode(BLOSC_FORWARD_COMPAT_SPLIT);
  // clevel 0 stores the data as it is: one copy item.
  const Bytes stored = blosc_frame(data, "lz4", BLOSC_SHUFFLE, 4, 0, 0);
  std::string why;
  const auto cs = split_streams(GpuFormat::Blosc, stored, data.size(), why);
  ASSERT_TRUE(cs) << why;
  ASSERT_EQ(cs->items.size(), 1u);
  EXPECT_EQ(cs->items[0].kind, StreamKind::Copy);
  EXPECT_EQ(decode_streams(*cs, stored), data);
}

TEST(GpuStreams, BloscInnerCompressorsNameTheirStreams) {
  const Bytes data = sample(1 << 16, 8, 3);
  const std::pair<const char*, StreamKind> expect[] = {
      {"lz4", StreamKind::Lz4}, {"zstd", StreamKind::Zstd}, {"zlib", StreamKind::Deflate}, {"blosclz", StreamKind::Blosclz}};
  for (const auto& [name, kind] : expect) {
    const Bytes frame = blosc_frame(data, name, BLOSC_SHUFFLE, 4);
    std::string why;
    const auto cs = split_streams(GpuFormat::Blosc, frame, data.size(), why);
    ASSERT_TRUE(cs) << why;
    bool seen = false;
    for (const StreamItem& it : cs->items) seen = seen || it.kind == kind;
    EXPECT_TRUE(seen) << name;
  }
}

TEST(GpuStreams, MalformedBloscFramesAreLeftToTheCpuNeverOutOfBounds) {
  const Bytes data = sample(100000, 12, 11);
  const Bytes frame = blosc_frame(data, "lz4", BLOSC_SHUFFLE, 4);
  std::string why;
  EXPECT_FALSE(split_streams(GpuFormat::Blosc, frame, data.size() + 4, why)) << "size disagrees with the chunk";
  EXPECT_FALSE(split_streams(GpuFormat::Blosc, Bytes(frame.begin(), frame.begin() + 20), data.size(), why));
  EXPECT_FALSE(split_streams(GpuFormat::Blosc, Bytes(frame.begin(), frame.begin() + 10), data.size(), why));
  Bytes v3 = frame;
  v3[0] = std::byte{3};
  EXPECT_FALSE(split_streams(GpuFormat::Blosc, v3, data.size(), why));
  // Random damage anywhere: whatever is accepted stays inside the frame and the output.
  std::mt19937 rng(5);
  for (int trial = 0; trial < 3000; ++trial) {
    Bytes bad = frame;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bad[rng() % std::min<std::size_t>(bad.size(), 64)] ^= std::byte(1u << (rng() % 8));
    if (trial % 3 == 0) bad.resize(rng() % bad.size());
    const auto cs = split_streams(GpuFormat::Blosc, bad, data.size(), why);
    if (!cs) continue;
    for (const StreamItem& it : cs->items) {
      ASSERT_LE(it.in_offset + it.in_size, bad.size());
      ASSERT_LE(it.out_offset + it.out_size, data.size());
    }
  }
}

Bytes gzip_member(const Bytes& data, bool with_name) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  gz_header h{};
  char name[] = "chunk.bin";
  Bytef extra[] = {'a', 'b', 2, 0, 'x', 'y'};
  if (with_name) {
    h.name = reinterpret_cast<Bytef*>(name);
    h.extra = extra;
    h.extra_len = sizeof extra;
    h.hcrc = 1;
    deflateSetHeader(&z, &h);
  }
  Bytes out(deflateBound(&z, data.size()) + 64);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(GpuStreams, GzipAndZlibFramingIsStrippedToRawDeflate) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{777}, std::size_t{1} << 20}) {
    const Bytes data = sample(size, 16, static_cast<unsigned>(size));
    for (bool named : {false, true}) {
      const Bytes gz = gzip_member(data, named);
      std::string why;
      const auto cs = split_streams(GpuFormat::Gzip, gz, data.size(), why);
      ASSERT_TRUE(cs) << why;
      ASSERT_EQ(cs->items.size(), 1u);
      EXPECT_EQ(cs->items[0].kind, StreamKind::Deflate);
      EXPECT_EQ(decode_streams(*cs, gz), data);
    }
    Bytes z(compressBound(data.size()));
    uLongf n = z.size();
    ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(data.data()), data.size(), 6), Z_OK);
    z.resize(n);
    std::string why;
    const auto cs = split_streams(GpuFormat::Zlib, z, data.size(), why);
    ASSERT_TRUE(cs) << why;
    EXPECT_EQ(decode_streams(*cs, z), data);
  }
  std::string why;
  const Bytes data = sample(5000, 16, 1);
  Bytes two = gzip_member(data, false);
  const Bytes second = gzip_member(data, false);
  two.insert(two.end(), second.begin(), second.end());
  EXPECT_FALSE(split_streams(GpuFormat::Gzip, two, 2 * data.size(), why)) << "two members stay on the CPU";
  EXPECT_FALSE(split_streams(GpuFormat::Gzip, Bytes(10, std::byte{0x1f}), 10, why));
  EXPECT_FALSE(split_streams(GpuFormat::Zlib, Bytes{std::byte{0x78}, std::byte{0x00}, std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}}, 4, why));
}

TEST(GpuStreams, Lz4AndZstdChunks) {
  const Bytes data = sample(300000, 12, 2);
  Bytes lz(4 + static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(data.size()))));
  const auto size = static_cast<std::uint32_t>(data.size());
  std::memcpy(lz.data(), &size, 4);
  const int n = LZ4_compress_default(reinterpret_cast<const char*>(data.data()), reinterpret_cast<char*>(lz.data() + 4),
                                     static_cast<int>(data.size()), static_cast<int>(lz.size() - 4));
  lz.resize(4 + static_cast<std::size_t>(n));
  std::string why;
  auto cs = split_streams(GpuFormat::Lz4, lz, data.size(), why);
  ASSERT_TRUE(cs) << why;
  EXPECT_EQ(decode_streams(*cs, lz), data);
  EXPECT_FALSE(split_streams(GpuFormat::Lz4, lz, data.size() - 1, why));

  Bytes zs(ZSTD_compressBound(data.size()));
  zs.resize(ZSTD_compress(zs.data(), zs.size(), data.data(), data.size(), 3));
  cs = split_streams(GpuFormat::Zstd, zs, data.size(), why);
  ASSERT_TRUE(cs) << why;
  EXPECT_EQ(decode_streams(*cs, zs), data);
  EXPECT_FALSE(split_streams(GpuFormat::Zstd, zs, data.size() + 1, why)) << "declared size differs";
  Bytes twice = zs;
  twice.insert(twice.end(), zs.begin(), zs.end());
  EXPECT_FALSE(split_streams(GpuFormat::Zstd, twice, 2 * data.size(), why)) << "two frames stay on the CPU";
}

TEST(GpuStreams, DecodePolicy) {
  using D = Config::Decode;
  using cuda::choose_decode;
  const std::int64_t big = std::int64_t{1} << 20, small = 1024;
  EXPECT_FALSE(choose_decode(D::Cpu, GpuFormat::Blosc, true, big).gpu);
  EXPECT_TRUE(choose_decode(D::Auto, GpuFormat::Blosc, false, big).gpu) << "own LZ4 kernel";
  EXPECT_TRUE(choose_decode(D::Auto, GpuFormat::Lz4, false, big).gpu);
  EXPECT_FALSE(choose_decode(D::Auto, GpuFormat::Zstd, false, big).gpu) << "zstd needs nvCOMP or the own kernels";
  EXPECT_TRUE(choose_decode(D::Auto, GpuFormat::Zstd, false, big, /*own_zstd=*/true).gpu) << "cuzarr's zstd kernels";
  EXPECT_FALSE(choose_decode(D::Gpu, GpuFormat::Gzip, false, big, /*own_zstd=*/true).gpu) << "deflate still needs nvCOMP";
  EXPECT_TRUE(choose_decode(D::Auto, GpuFormat::Zstd, true, 16 * big).gpu) << "whole-chunk zstd: GPU batches";
  EXPECT_TRUE(choose_decode(D::Gpu, GpuFormat::Zstd, true, big).gpu);
  EXPECT_TRUE(choose_decode(D::Auto, GpuFormat::Gzip, true, big).gpu);
  EXPECT_FALSE(choose_decode(D::Auto, GpuFormat::Zlib, true, 8 * big).gpu) << "8 MiB deflate streams: CPU";
  EXPECT_FALSE(choose_decode(D::Gpu, GpuFormat::Gzip, false, big).gpu) << "falls back, never fails";
  EXPECT_FALSE(choose_decode(D::Auto, GpuFormat::Blosc, true, small).gpu);
  EXPECT_TRUE(choose_decode(D::Gpu, GpuFormat::Blosc, true, small).gpu);
  EXPECT_FALSE(choose_decode(D::Gpu, std::nullopt, true, big).gpu);
  EXPECT_EQ(gpu_format("gzip"), GpuFormat::Gzip);
  EXPECT_FALSE(gpu_format("bz2"));
}

// Chunks the CPU takes out of `n`, after the rates below were measured.
int cpu_turns(cuda::DecodeSplit& split, int n) {
  int k = 0;
  for (int i = 0; i < n; ++i) k += split.to_cpu();
  return k;
}

TEST(DecodeSplit, ProbesUntilEveryRateIsMeasured) {
  cuda::DecodeSplit split(16);
  EXPECT_EQ(cpu_turns(split, 160), 160 / cuda::DecodeSplit::kProbeEvery);
  for (int i = 0; i < 4; ++i) split.read(16 << 20, 0.004);
  split.cpu(16 << 20, 0.02);
  EXPECT_EQ(cpu_turns(split, 160), 160 / cuda::DecodeSplit::kProbeEvery) << "one CPU sample, no GPU one";
}

TEST(DecodeSplit, ADeviceFasterThanTheReadersTakesEverything) {
  cuda::DecodeSplit split(16);
  for (int i = 0; i < 8; ++i) split.read(16 << 20, 0.004);  // 16 threads: 67 GB/s
  split.cpu(16 << 20, 0.016);
  split.cpu(16 << 20, 0.016);                               // 16 threads: 17 GB/s
  split.gpu(std::uint64_t{1} << 30, 0.5, 0.51);             // 107 GB/s
  EXPECT_EQ(cpu_turns(split, 1000), 0);
}

TEST(DecodeSplit, ASlowDeviceSharesByRates) {
  cuda::DecodeSplit split(16);
  const double read = 60e9 / 16, cpu = 10e9 / 16, gpu = 30e9;  // bytes per second
  for (int i = 0; i < 8; ++i) split.read(16 << 20, (16 << 20) / read);
  for (int i = 0; i < 2; ++i) split.cpu(16 << 20, (16 << 20) / cpu);
  split.gpu(std::uint64_t{1} << 30, 1.0, 1.0 + static_cast<double>(std::uint64_t{1} << 30) / gpu);
  // f = (1/30 - 1/60) / (1/30 + 1/10) = 1/8: the device's time (7/8 / 30) equals the threads'
  // (1/60 + 1/8 / 10).
  EXPECT_NEAR(cpu_turns(split, 8000), 1000, 2);
  EXPECT_NE(split.describe().find("CPU share 0.125"), std::string::npos) << split.describe();
}

TEST(DecodeSplit, TheCpuShareIsBounded) {
  cuda::DecodeSplit split(16);
  for (int i = 0; i < 8; ++i) split.read(1 << 20, 1e-5);
  for (int i = 0; i < 2; ++i) split.cpu(1 << 20, 1e-5);
  split.gpu(1 << 20, 0.0, 1.0);  // a device that barely decodes
  EXPECT_EQ(cpu_turns(split, 1000), static_cast<int>(1000 * cuda::DecodeSplit::kMaxShare));
}

TEST(DecodeSplit, OverlappingBatchesCountTheDeviceTimeOnce) {
  cuda::DecodeSplit split(16);
  const double read = 60e9 / 16, cpu = 10e9 / 16;
  for (int i = 0; i < 8; ++i) split.read(16 << 20, (16 << 20) / read);
  for (int i = 0; i < 2; ++i) split.cpu(16 << 20, (16 << 20) / cpu);
  // Two batches of 30 GB each over the same second: 60 GB/s of device decoding, faster than
  // the threads read, so nothing is shared (counted apart, 30 GB/s would share 1/8).
  split.gpu(30'000'000'000, 0.0, 1.0);
  split.gpu(30'000'000'000, 0.0, 1.0);
  EXPECT_EQ(cpu_turns(split, 1000), 0) << split.describe();
}

TEST(DecodeSplit, ASmallShareIsNone) {
  cuda::DecodeSplit split(16);
  const double read = 60e9 / 16, cpu = 10e9 / 16;
  for (int i = 0; i < 8; ++i) split.read(16 << 20, (16 << 20) / read);
  for (int i = 0; i < 2; ++i) split.cpu(16 << 20, (16 << 20) / cpu);
  split.gpu(45'000'000'000, 0.0, 1.0);  // f = (1/45 - 1/60) / (1/45 + 1/10) = 0.045: below kMinShare
  EXPECT_EQ(cpu_turns(split, 1000), 0) << split.describe();
}

TEST(GpuStreams, DecodeSettingIsParsed) {
  static const char* value = nullptr;
  auto env = [](const char* name) -> const char* { return std::string_view(name) == "CUZARR_DECODE" ? value : nullptr; };
  value = "gpu";
  EXPECT_EQ(parse_config(env).decode, Config::Decode::Gpu);
  value = "cpu";
  EXPECT_EQ(parse_config(env).decode, Config::Decode::Cpu);
  value = "fast";
  try {
    parse_config(env);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "CUZARR_DECODE must be auto, cpu or gpu, got 'fast'");
  }
}

TEST(GpuStreams, DecodeShareSettingIsParsed) {
  static const char* value = nullptr;
  auto env = [](const char* name) -> const char* {
    return std::string_view(name) == "CUZARR_DECODE_SHARE" ? value : nullptr;
  };
  EXPECT_FALSE(parse_config(env).decode_share) << "default";
  value = "off";
  EXPECT_FALSE(parse_config(env).decode_share);
  value = "auto";
  EXPECT_TRUE(parse_config(env).decode_share);
  value = "sometimes";
  EXPECT_THROW(parse_config(env), Error);
}

#if CUZARR_WITH_CUDA

using cuda::BatchDecompressor;
using cuda::DeviceBuffer;
using cuda::DeviceItem;
using cuda::ItemStatus;

bool have_gpu() { return cuzarr::cuda_device_count() > 0; }

struct DeviceCase {
  Bytes compressed, expected;
  StreamKind kind;
};

// Copies each case to the device, decompresses them as one batch, returns statuses and outputs.
std::pair<std::vector<ItemStatus>, std::vector<Bytes>> run_batch(BatchDecompressor& d, const std::vector<DeviceCase>& cases,
                                                                  std::uint64_t extra_out = 0) {
  std::vector<DeviceBuffer> in, out;
  std::vector<DeviceItem> items;
  std::vector<StreamKind> kinds;
  for (const DeviceCase& c : cases) {
    // Exactly sized buffers: memcheck sees any access past them.
    in.emplace_back(std::max<std::size_t>(c.compressed.size(), 1));
    out.emplace_back(std::max<std::size_t>(c.expected.size() + extra_out, 1));
    cudaMemcpy(in.back().data(), c.compressed.data(), c.compressed.size(), cudaMemcpyHostToDevice);
    items.push_back({in.back().data(), c.compressed.size(), out.back().data(), c.expected.size() + extra_out});
    kinds.push_back(c.kind);
  }
  cuda::Stream stream;
  std::vector<ItemStatus> st = d.run(kinds, items, stream.get());
  std::vector<Bytes> results;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    Bytes r(cases[i].expected.size());
    cudaMemcpy(r.data(), out[i].data(), r.size(), cudaMemcpyDeviceToHost);
    results.push_back(std::move(r));
  }
  return {st, results};
}

Bytes lz4_block(const Bytes& data) {
  Bytes out(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(data.size()))) + 1);
  const int n = LZ4_compress_default(reinterpret_cast<const char*>(data.data()), reinterpret_cast<char*>(out.data()),
                                     static_cast<int>(data.size()), static_cast<int>(out.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

constexpr int kLz4LaneCounts[] = {8, 16, 32};

std::vector<std::size_t> test_sizes() { return {1, 2, 15, 64, 1000, 65536, 1 << 20, 16 << 20}; }

// Every case decodes to its expected bytes with each group width of the LZ4 kernel.
void expect_decoded_at_every_width(BatchDecompressor& own, const std::vector<DeviceCase>& cases) {
  for (const int lanes : kLz4LaneCounts) {
    SCOPED_TRACE("lanes " + std::to_string(lanes));
    own.set_lz4_lanes(lanes);
    const auto [st, out] = run_batch(own, cases);
    for (std::size_t i = 0; i < cases.size(); ++i) {
      EXPECT_EQ(st[i], ItemStatus::Ok) << i;
      EXPECT_TRUE(out[i] == cases[i].expected) << "case " << i << " size " << cases[i].expected.size();
    }
  }
}

TEST(GpuDecompress, OwnLz4KernelIsBitExactOverSizesAndEntropies) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  BatchDecompressor own(nullptr, Config::GpuLz4::Own);
  std::vector<DeviceCase> cases;
  for (std::size_t size : test_sizes()) {
    for (int noise : {0, 8, 20, 32}) cases.push_back({lz4_block(sample(size, noise, static_cast<unsigned>(size + noise))), sample(size, noise, static_cast<unsigned>(size + noise)), StreamKind::Lz4});
  }
  // Long runs (offset 1 and short periods) and incompressible bytes.
  Bytes runs(100000);
  for (std::size_t i = 0; i < runs.size(); ++i) runs[i] = std::byte(i / 5000 % 3 == 0 ? 7 : i % 3);
  cases.push_back({lz4_block(runs), runs, StreamKind::Lz4});
  expect_decoded_at_every_width(own, cases);
}

TEST(GpuDecompress, CorruptLz4StreamsGiveABadStatusAndOthersStayValid) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  BatchDecompressor own(nullptr, Config::GpuLz4::Own);
  const Bytes data = sample(200000, 10, 3);
  const Bytes good = lz4_block(data);
  std::vector<DeviceCase> cases;
  cases.push_back({good, data, StreamKind::Lz4});
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, good.size() / 2, good.size() - 1}) {
    cases.push_back({Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)), data, StreamKind::Lz4});
  }
  // A match offset pointing before the start: token 0x0f (no literals, match), offset 0xffff.
  cases.push_back({Bytes{std::byte{0x10}, std::byte{'a'}, std::byte{0xff}, std::byte{0xff}, std::byte{0x00}}, Bytes(100), StreamKind::Lz4});
  // Offset 0.
  cases.push_back({Bytes{std::byte{0x10}, std::byte{'a'}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}}, Bytes(100), StreamKind::Lz4});
  // Literal length running past the input.
  cases.push_back({Bytes{std::byte{0xf0}, std::byte{0xff}, std::byte{0xff}, std::byte{0x10}}, Bytes(1000), StreamKind::Lz4});
  // Decodes to more than the output holds, and to less.
  cases.push_back({good, Bytes(data.begin(), data.begin() + 1000), StreamKind::Lz4});
  cases.push_back({lz4_block(Bytes(data.begin(), data.begin() + 1000)), data, StreamKind::Lz4});
  cases.push_back({good, data, StreamKind::Lz4});
  // Random bit flips: any status, no out-of-bounds access (memcheck watches).
  std::mt19937 rng(9);
  for (int t = 0; t < 64; ++t) {
    Bytes bad = good;
    for (int f = 0; f < 8; ++f) bad[rng() % bad.size()] ^= std::byte(1u << (rng() % 8));
    cases.push_back({bad, data, StreamKind::Lz4});
  }
  for (const int lanes : kLz4LaneCounts) {  // every group width of the kernel
    SCOPED_TRACE("lanes " + std::to_string(lanes));
    own.set_lz4_lanes(lanes);
    const auto [st, out] = run_batch(own, cases);
    EXPECT_EQ(st[0], ItemStatus::Ok);
    EXPECT_TRUE(out[0] == data);
    for (std::size_t i = 1; i <= 4; ++i) EXPECT_NE(st[i], ItemStatus::Ok) << "truncated " << i;
    for (std::size_t i = 5; i <= 7; ++i) EXPECT_EQ(st[i], ItemStatus::Corrupt) << i;
    EXPECT_EQ(st[8], ItemStatus::SizeMismatch);
    EXPECT_EQ(st[9], ItemStatus::SizeMismatch);
    EXPECT_EQ(st[10], ItemStatus::Ok) << "a valid item after bad ones";
    EXPECT_TRUE(out[10] == data);
  }
}

// Data whose LZ4 stream holds the sequences the kernel treats apart (its groups of lanes, register
// window, overlapping and short matches): repeats of every period 1..40 over lengths below and
// above the period and a lane group, literal runs of 0..300 bytes (with 0, 1 and 2 length
// extension bytes), and exact copies of 4..40 bytes from far back.
Bytes lz4_shapes(unsigned seed) {
  std::mt19937 rng(seed);
  Bytes out;
  const auto noise = [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(std::byte(rng()));
  };
  const auto repeat = [&](std::size_t offset, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(out[out.size() - offset]);
  };
  noise(64);
  for (std::size_t period = 1; period <= 40; ++period) {
    noise(period);
    repeat(period, 4 + rng() % (3 * period + 40));
    noise(rng() % 301);
    repeat(out.size() / 2, 4 + rng() % 37);
    noise(rng() % 20);
  }
  return out;
}

// The format's rules for the statuses, one byte at a time on the host: the kernel must agree on
// every stream, valid or not.
ItemStatus lz4_status_model(const Bytes& in, std::size_t out_size) {
  std::size_t ip = 0, op = 0;
  const auto length = [&](std::size_t& n) {
    for (unsigned b = 255; b == 255; n += b) {
      if (ip >= in.size()) return false;
      b = std::to_integer<unsigned>(in[ip++]);
    }
    return true;
  };
  while (true) {
    if (ip >= in.size()) return ItemStatus::Corrupt;
    const unsigned token = std::to_integer<unsigned>(in[ip++]);
    std::size_t literals = token >> 4;
    if (literals == 15 && !length(literals)) return ItemStatus::Corrupt;
    if (literals > in.size() - ip) return ItemStatus::Corrupt;
    if (literals > out_size - op) return ItemStatus::SizeMismatch;
    ip += literals;
    op += literals;
    if (ip == in.size()) return op == out_size ? ItemStatus::Ok : ItemStatus::SizeMismatch;
    if (in.size() - ip < 2) return ItemStatus::Corrupt;
    const std::size_t offset = std::to_integer<std::size_t>(in[ip]) | std::to_integer<std::size_t>(in[ip + 1]) << 8;
    ip += 2;
    std::size_t match = token & 15;
    if (match == 15 && !length(match)) return ItemStatus::Corrupt;
    match += 4;
    if (offset == 0 || offset > op) return ItemStatus::Corrupt;
    if (match > out_size - op) return ItemStatus::SizeMismatch;
    op += match;
  }
}

TEST(GpuDecompress, OwnLz4KernelDecodesEveryShapeOfSequence) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  BatchDecompressor own(nullptr, Config::GpuLz4::Own);
  std::vector<DeviceCase> cases;
  // Prefixes of several lengths (the groups of a warp end at different sequences), the empty and
  // 1-byte item, and a count that leaves the last warp partly empty.
  for (unsigned seed = 1; seed <= 3; ++seed) {
    const Bytes data = lz4_shapes(seed);
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{13},
                             std::size_t{100}, data.size() / 3, data.size() - 1, data.size()}) {
      const Bytes d(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(size));
      cases.push_back({lz4_block(d), d, StreamKind::Lz4});
    }
  }
  // Long literal runs (incompressible bytes, extension bytes of 255) and one long run of zeros.
  cases.push_back({lz4_block(sample(70001, 32, 5)), sample(70001, 32, 5), StreamKind::Lz4});
  cases.push_back({lz4_block(Bytes(300000)), Bytes(300000), StreamKind::Lz4});
  ASSERT_NE(cases.size() % 4, 0u);
  for (const DeviceCase& c : cases) {  // the host library agrees with the expected bytes
    Bytes host(c.expected.size() + 1);
    ASSERT_EQ(LZ4_decompress_safe(reinterpret_cast<const char*>(c.compressed.data()), reinterpret_cast<char*>(host.data()),
                                  static_cast<int>(c.compressed.size()), static_cast<int>(host.size())),
              static_cast<int>(c.expected.size()));
    host.pop_back();
    ASSERT_TRUE(host == c.expected);
  }
  expect_decoded_at_every_width(own, cases);
}

TEST(GpuDecompress, OwnLz4KernelStatusesFollowTheFormatRulesOnDamagedStreams) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  BatchDecompressor own(nullptr, Config::GpuLz4::Own);
  const Bytes data = lz4_shapes(7);
  const Bytes good = lz4_block(data);
  std::mt19937 rng(11);
  std::vector<DeviceCase> cases;
  for (int t = 0; t < 400; ++t) {
    Bytes bad = good;
    for (int f = 1 + static_cast<int>(rng() % 6); f > 0; --f) bad[rng() % bad.size()] ^= std::byte(1u << (rng() % 8));
    if (rng() % 4 == 0) bad.resize(rng() % (bad.size() + 1));
    const std::size_t out_size = rng() % 3 == 0 ? rng() % (data.size() + 100) : data.size();
    cases.push_back({bad, Bytes(out_size), StreamKind::Lz4});
  }
  // Short random streams, heavy in extension bytes and small offsets.
  for (int t = 0; t < 200; ++t) {
    Bytes g(rng() % 48);
    for (std::byte& b : g) b = std::byte(rng() % 3 == 0 ? (rng() % 2 == 0 ? 0xff : rng() % 8) : rng());
    cases.push_back({g, Bytes(rng() % 400), StreamKind::Lz4});
  }
  for (const int lanes : kLz4LaneCounts) {  // every group width of the kernel
    SCOPED_TRACE("lanes " + std::to_string(lanes));
    own.set_lz4_lanes(lanes);
    const auto [st, out] = run_batch(own, cases);
    for (std::size_t i = 0; i < cases.size(); ++i) {
      EXPECT_EQ(st[i], lz4_status_model(cases[i].compressed, cases[i].expected.size())) << i;
    }
  }
}

TEST(GpuDecompress, Lz4LaunchesTakeWideGroupsWhileTheDeviceHasRoom) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  EXPECT_EQ(cuda::lz4_lanes_for(1), 32);
  EXPECT_EQ(cuda::lz4_lanes_for(1 << 24), 8);  // 2^27 threads: more than any device holds
  int last = 32;
  for (int n = 1; n <= (1 << 20); n *= 2) {  // narrower as the items grow, never wider
    const int lanes = cuda::lz4_lanes_for(n);
    EXPECT_TRUE(lanes == 8 || lanes == 16 || lanes == 32) << n;
    EXPECT_LE(lanes, last) << n;
    last = lanes;
  }
}

TEST(GpuDecompress, CopyItemsAndUnsupportedKinds) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  BatchDecompressor own(nullptr, Config::GpuLz4::Own);
  const Bytes data = sample(12345, 32, 4);
  std::vector<DeviceCase> cases{{data, data, StreamKind::Copy},
                                {Bytes(data.begin(), data.end() - 1), data, StreamKind::Copy},
                                {data, data, StreamKind::Blosclz}};
  const auto [st, out] = run_batch(own, cases);
  EXPECT_EQ(st[0], ItemStatus::Ok);
  EXPECT_TRUE(out[0] == data);
  EXPECT_EQ(st[1], ItemStatus::SizeMismatch);
  EXPECT_EQ(st[2], ItemStatus::Unsupported);
}

TEST(GpuDecompress, UnshuffleKernelsMatchTheHostReference) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  for (auto mode : {Unshuffle::Byte, Unshuffle::Bit}) {
    for (std::uint32_t ts : {1u, 2u, 3u, 4u, 8u, 16u, 24u}) {
      for (std::uint64_t size : {std::uint64_t{7}, std::uint64_t{64 * 24}, std::uint64_t{8 * 24 * 1000 + 5},
                                 std::uint64_t{8 * 24 * 1000 + 3}, std::uint64_t{262144}}) {
        // Buffers at 16-byte, 4-byte and odd addresses: the word and vector paths of typesizes
        // that are multiples of 4, and the byte path they fall back to.
        for (std::uint64_t shift : {0, 4, 1}) {
          const Bytes src = sample(size, 32, static_cast<unsigned>(size + ts));
          Bytes expect(size);
          unshuffle_block(mode, ts, src.data(), expect.data(), size);
          DeviceBuffer s(size + shift), d(size + shift), job(sizeof(cuda::UnshuffleJob));
          cudaMemcpy(s.data() + shift, src.data(), size, cudaMemcpyHostToDevice);
          const cuda::UnshuffleJob j{s.data() + shift, d.data() + shift, size, ts, static_cast<std::uint32_t>(mode)};
          cudaMemcpy(job.data(), &j, sizeof j, cudaMemcpyHostToDevice);
          cuda::launch_unshuffle(reinterpret_cast<const cuda::UnshuffleJob*>(job.data()), 1, nullptr);
          Bytes got(size);
          cudaMemcpy(got.data(), d.data() + shift, size, cudaMemcpyDeviceToHost);
          EXPECT_TRUE(got == expect) << "mode " << static_cast<int>(mode) << " ts " << ts << " size " << size
                                     << " shift " << shift;
        }
      }
    }
  }
}

// Blosc frames through the device: streams decompressed by the batch, blocks unshuffled by the
// kernel, against blosc_decompress.
TEST(GpuDecompress, BloscFramesDecodeOnTheDeviceBitExactly) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  std::string why;
  std::unique_ptr<cuda::Nvcomp> nv = cuda::Nvcomp::open(why);
  BatchDecompressor d(nv.get(), Config::GpuLz4::Own);
  for (const BloscCase& c : blosc_cases()) {
    if (c.size == 0) continue;
    const Bytes data = sample(c.size, c.noise, static_cast<unsigned>(c.size));
    const Bytes frame = blosc_frame(data, c.compressor, c.shuffle, c.typesize, c.blocksize);
    const auto cs = split_streams(GpuFormat::Blosc, frame, data.size(), why);
    ASSERT_TRUE(cs);
    bool supported = true;
    for (const StreamItem& it : cs->items) supported = supported && d.supports(it.kind);
    if (!supported) continue;  // zstd/zlib inside blosc need nvCOMP
    DeviceBuffer in(frame.size()), raw(data.size()), out(data.size());
    cudaMemcpy(in.data(), frame.data(), frame.size(), cudaMemcpyHostToDevice);
    std::vector<DeviceItem> items;
    std::vector<StreamKind> kinds;
    for (const StreamItem& it : cs->items) {
      items.push_back({in.data() + it.in_offset, it.in_size, raw.data() + it.out_offset, it.out_size});
      kinds.push_back(it.kind);
    }
    cuda::Stream stream;
    for (ItemStatus s : d.run(kinds, items, stream.get())) ASSERT_EQ(s, ItemStatus::Ok) << c.compressor;
    std::vector<cuda::UnshuffleJob> jobs;
    for (std::uint64_t at = 0; at < data.size(); at += cs->block_size) {
      jobs.push_back({raw.data() + at, out.data() + at, std::min<std::uint64_t>(cs->block_size, data.size() - at),
                      cs->typesize, static_cast<std::uint32_t>(cs->unshuffle)});
    }
    DeviceBuffer dj(jobs.size() * sizeof(cuda::UnshuffleJob));
    cudaMemcpy(dj.data(), jobs.data(), dj.size(), cudaMemcpyHostToDevice);
    cuda::launch_unshuffle(reinterpret_cast<const cuda::UnshuffleJob*>(dj.data()), static_cast<int>(jobs.size()), stream.get());
    ASSERT_EQ(cudaStreamSynchronize(stream.get()), cudaSuccess);  // a non-blocking stream: cudaMemcpy would not wait
    Bytes got(data.size());
    cudaMemcpy(got.data(), out.data(), got.size(), cudaMemcpyDeviceToHost);
    EXPECT_TRUE(got == data) << c.compressor << " shuffle " << c.shuffle << " ts " << c.typesize << " size " << c.size;
  }
}

TEST(GpuDecompress, NvcompBackendsAreBitExact) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  std::string why;
  std::unique_ptr<cuda::Nvcomp> nv = cuda::Nvcomp::open(why);
  if (!nv) GTEST_SKIP() << why;
  BatchDecompressor d(nv.get(), Config::GpuLz4::Nvcomp);
  std::vector<DeviceCase> cases;
  for (std::size_t size : test_sizes()) {
    const Bytes data = sample(size, 12, static_cast<unsigned>(size));
    cases.push_back({lz4_block(data), data, StreamKind::Lz4});
    Bytes zs(ZSTD_compressBound(size));
    zs.resize(ZSTD_compress(zs.data(), zs.size(), data.data(), size, 3));
    cases.push_back({zs, data, StreamKind::Zstd});
    Bytes z(compressBound(size));
    uLongf n = z.size();
    compress2(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(data.data()), size, 6);
    cases.push_back({Bytes(z.begin() + 2, z.begin() + static_cast<std::ptrdiff_t>(n) - 4), data, StreamKind::Deflate});
  }
  // Only valid streams: nvCOMP documents corrupt input as undefined behaviour (it may read out of
  // bounds), so the read path hands it only streams whose framing the host has checked, and
  // corruption tests are for cuzarr's own kernels.
  const auto [st, out] = run_batch(d, cases);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(st[i], ItemStatus::Ok) << i << " " << stream_kind_name(cases[i].kind);
    EXPECT_TRUE(out[i] == cases[i].expected) << i << " " << stream_kind_name(cases[i].kind);
  }
}

struct ZstdCase {
  Bytes compressed, expected;
  std::string what;
  bool must_decode = true;  // false: damaged, must not come back Ok with other bytes
};

Bytes zstd_frame(const Bytes& data, int level, bool checksum, bool content_size) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
  Bytes out(ZSTD_compressBound(data.size()));
  out.resize(ZSTD_compress2(cctx, out.data(), out.size(), data.data(), data.size()));
  ZSTD_freeCCtx(cctx);
  return out;
}

// cuzarr's own zstd kernels (cuda/zstd_kernels.cu) against libzstd's frames, in one batch with
// damaged items beside valid ones (run under compute-sanitizer memcheck by make test-gpu).
TEST(GpuDecompress, OwnZstdKernelsMatchLibzstd) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  std::vector<ZstdCase> cases;
  for (std::size_t size : {std::size_t{1}, std::size_t{1000}, std::size_t{65536}, std::size_t{1} << 20}) {
    for (int level : {-5, 1, 3, 9, 19}) {
      for (int noise : {4, 12, 32}) {
        const Bytes data = sample(size, noise, static_cast<unsigned>(size + level));
        cases.push_back({zstd_frame(data, level, level == 3, level != 9), data,
                         "size " + std::to_string(size) + " level " + std::to_string(level)});
      }
    }
  }
  for (int level : {1, 3, 9}) {
    const Bytes data = sample(16 << 20, 12, 7);
    cases.push_back({zstd_frame(data, level, true, true), data, "16 MiB level " + std::to_string(level)});
  }
  {  // two frames and a skippable frame in one item
    const Bytes a = sample(300000, 8, 1), b = sample(200000, 16, 2);
    ZstdCase c{zstd_frame(a, 3, true, true), a, "concatenated"};
    const Bytes fb = zstd_frame(b, 5, false, false);
    const std::uint8_t skip[] = {0x5A, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 1, 2, 3};
    for (std::uint8_t x : skip) c.compressed.push_back(static_cast<std::byte>(x));
    c.compressed.insert(c.compressed.end(), fb.begin(), fb.end());
    c.expected.insert(c.expected.end(), b.begin(), b.end());
    cases.push_back(c);
  }
  std::mt19937 rng(3);
  const std::size_t valid = cases.size();
  for (std::size_t i = 0; i < valid; i += 3) {  // damaged copies: truncated, bit-flipped
    ZstdCase cut = cases[i];
    cut.compressed.resize(cut.compressed.size() * (rng() % 100) / 100);
    cut.must_decode = false;
    cut.what += " truncated";
    cases.push_back(cut);
    ZstdCase flip = cases[i];
    for (int k = 0; k < 3; ++k) flip.compressed[rng() % flip.compressed.size()] ^= static_cast<std::byte>(1u << (rng() % 8));
    flip.must_decode = false;
    flip.what += " flipped";
    cases.push_back(flip);
  }
  std::vector<DeviceBuffer> in, out;
  std::vector<DeviceItem> items;
  for (const ZstdCase& c : cases) {
    in.emplace_back(std::max<std::size_t>(c.compressed.size(), 1));
    out.emplace_back(std::max<std::size_t>(c.expected.size(), 1));
    cudaMemcpy(in.back().data(), c.compressed.data(), c.compressed.size(), cudaMemcpyHostToDevice);
    items.push_back({in.back().data(), c.compressed.size(), out.back().data(), c.expected.size()});
  }
  cuda::Stream stream;
  DeviceBuffer statuses(items.size() * sizeof(std::int32_t));
  ASSERT_EQ(cuda::zstd_decode_batch(items.data(), static_cast<int>(items.size()),
                                    reinterpret_cast<std::int32_t*>(statuses.data()), stream.get()),
            cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream.get()), cudaSuccess);
  std::vector<std::int32_t> st(items.size());
  cudaMemcpy(st.data(), statuses.data(), st.size() * sizeof(std::int32_t), cudaMemcpyDeviceToHost);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    Bytes got(cases[i].expected.size());
    cudaMemcpy(got.data(), out[i].data(), got.size(), cudaMemcpyDeviceToHost);
    if (cases[i].must_decode) {
      EXPECT_EQ(st[i], 0) << cases[i].what << ": " << cuda::item_status_name(static_cast<ItemStatus>(st[i]));
      EXPECT_TRUE(got == cases[i].expected) << cases[i].what;
      continue;
    }
    // A damaged frame without a checksum can still be a valid stream of other bytes (libzstd then
    // returns them too): the kernels must agree with the host decoder, which runs the same format
    // functions, on the verdict and on the bytes.
    Bytes host(cases[i].expected.size());
    const bool host_ok = zstd::decode(reinterpret_cast<const std::uint8_t*>(cases[i].compressed.data()),
                                      cases[i].compressed.size(), reinterpret_cast<std::uint8_t*>(host.data()),
                                      host.size()) == zstd::Status::Ok;
    if (st[i] == static_cast<std::int32_t>(ItemStatus::Unsupported)) continue;  // left to the CPU by design
    EXPECT_EQ(st[i] == 0, host_ok) << cases[i].what << ": " << cuda::item_status_name(static_cast<ItemStatus>(st[i]));
    if (st[i] == 0 && host_ok) {
      EXPECT_TRUE(got == host) << cases[i].what << ": other bytes than the host decoder";
    }
  }
}

// The batch interface routes zstd items to cuzarr's own kernels under CUZARR_GPU_ZSTD=own (and
// without nvCOMP under auto), mixed with items of other kinds, each status in its item's place.
TEST(GpuDecompress, BatchDecompressorTakesOwnZstdAmongOtherKinds) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  cuda::BatchDecompressor own(nullptr, Config::GpuLz4::Own, Config::GpuZstd::Own);
  EXPECT_STREQ(own.backend(codec::StreamKind::Zstd), "cuzarr");
  EXPECT_STREQ(cuda::BatchDecompressor(nullptr, Config::GpuLz4::Own).backend(codec::StreamKind::Zstd), "cuzarr");
  EXPECT_STREQ(cuda::BatchDecompressor(nullptr, Config::GpuLz4::Own, Config::GpuZstd::Nvcomp).backend(codec::StreamKind::Zstd), "none");
  std::vector<Bytes> expected, compressed;
  std::vector<codec::StreamKind> kinds;
  for (int i = 0; i < 12; ++i) {
    const Bytes data = sample(std::size_t{40000} + 9000 * i, 8 + i, static_cast<unsigned>(i));
    expected.push_back(data);
    if (i % 3 == 2) {
      compressed.push_back(data);  // a stored copy between the zstd items
      kinds.push_back(codec::StreamKind::Copy);
    } else {
      compressed.push_back(zstd_frame(data, i % 2 == 0 ? 3 : 1, true, i % 4 == 0));
      kinds.push_back(codec::StreamKind::Zstd);
    }
  }
  compressed[4][compressed[4].size() / 2] ^= std::byte{0x40};  // one damaged zstd item
  std::vector<DeviceBuffer> in, out;
  std::vector<DeviceItem> items;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    in.emplace_back(compressed[i].size());
    out.emplace_back(expected[i].size());
    cudaMemcpy(in.back().data(), compressed[i].data(), compressed[i].size(), cudaMemcpyHostToDevice);
    items.push_back({in.back().data(), compressed[i].size(), out.back().data(), expected[i].size()});
  }
  cuda::Stream stream;
  const std::vector<ItemStatus> st = own.run(kinds, items, stream.get());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    Bytes got(expected[i].size());
    cudaMemcpy(got.data(), out[i].data(), got.size(), cudaMemcpyDeviceToHost);
    if (i == 4) {
      EXPECT_NE(st[i], ItemStatus::Ok) << "a damaged frame with a checksum is never Ok";
      continue;
    }
    EXPECT_EQ(st[i], ItemStatus::Ok) << "item " << i << ": " << cuda::item_status_name(st[i]);
    EXPECT_TRUE(got == expected[i]) << "item " << i;
  }
}

#endif

}  // namespace
