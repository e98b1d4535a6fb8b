// Selective shard reads: a shard of 64 inner chunks written by hand, read through a store wrapper
// that counts every call and byte. Reading one inner chunk reads the index and that chunk only;
// nearby inner chunks are merged into one read, chunks further apart than the coalescing gap
// (CUZARR_COALESCE_BYTES, default 1 MiB) are read separately; values are checked everywhere.
// Raw chunks partly selected read only the byte ranges the selection needs (RawPartialReadTest).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "codec/codec_chain.hpp"
#include "codec/compressors.hpp"
#include "codec/sharding_codec.hpp"
#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "exec/engine.hpp"
#include "exec/sink.hpp"
#include "exec/thread_pool.hpp"
#include "metadata/array_meta.hpp"
#include "metadata/json_util.hpp"
#include "metadata/node.hpp"
#include "node_state.hpp"
#include "cuzarr/array.hpp"
#include "cuzarr/selection.hpp"
#include "plan/chunk_plan.hpp"

namespace fs = std::filesystem;

namespace {

using cuzarr::Buffer;
using cuzarr::DataType;
using cuzarr::DTypeKind;
using cuzarr::metadata::CodecSpec;
using cuzarr::metadata::Json;
namespace codec = cuzarr::codec;
namespace plan = cuzarr::plan;

// The shard: (1024, 1024) uint32 in inner chunks of (128, 128): an 8 x 8 grid of 64 inner chunks
// of 64 KiB each, 4 MiB in all, so that the first and last rows of inner chunks lie more than the
// default 1 MiB coalescing gap apart.
constexpr std::int64_t kGrid = 8;
constexpr std::int64_t kInner = 128;
constexpr std::int64_t kShard = kGrid * kInner;
constexpr std::uint64_t kInnerBytes = kInner * kInner * 4;
constexpr std::uint64_t kIndexBytes = kGrid * kGrid * 16 + 4;  // (offset, nbytes) pairs + crc32c
constexpr std::uint64_t kMissing = ~std::uint64_t{0};
constexpr std::uint32_t kFill = 0xDEADBEEF;
const std::string kKey = "c/0/0";

std::uint32_t value_at(std::int64_t i, std::int64_t j) { return static_cast<std::uint32_t>(i * kShard + j + 1); }

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("cuzarr_shard_read_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

template <typename T>
void append_le(std::vector<std::byte>& out, T v) {
  for (std::size_t k = 0; k < sizeof(T); ++k) out.push_back(static_cast<std::byte>((v >> (8 * k)) & 0xFF));
}

struct Layout {
  // File position (in inner-chunk slots, before the gaps) of each inner chunk, by linear index;
  // -1 leaves the chunk out (missing in the index).
  std::vector<int> slot;
  bool index_at_end = true;
};

Layout c_order_layout() {
  Layout l;
  l.slot.resize(kGrid * kGrid);
  std::iota(l.slot.begin(), l.slot.end(), 0);
  return l;
}

// Writes the shard file for `layout` under `root`/c/0/0 and returns its bytes' size.
std::uint64_t write_shard(const fs::path& root, const Layout& layout) {
  const std::size_t n = static_cast<std::size_t>(kGrid * kGrid);
  const int slots = *std::max_element(layout.slot.begin(), layout.slot.end()) + 1;
  const std::uint64_t data_start = layout.index_at_end ? 0 : kIndexBytes;
  std::vector<std::byte> data(static_cast<std::size_t>(slots) * kInnerBytes, std::byte{0x5A});
  std::vector<std::byte> index;
  for (std::size_t linear = 0; linear < n; ++linear) {
    const int slot = layout.slot[linear];
    if (slot < 0) {
      append_le(index, kMissing);
      append_le(index, kMissing);
      continue;
    }
    const std::int64_t ci = static_cast<std::int64_t>(linear) / kGrid, cj = static_cast<std::int64_t>(linear) % kGrid;
    std::vector<std::byte> chunk;
    for (std::int64_t a = 0; a < kInner; ++a) {
      for (std::int64_t b = 0; b < kInner; ++b) append_le(chunk, value_at(ci * kInner + a, cj * kInner + b));
    }
    std::copy(chunk.begin(), chunk.end(), data.begin() + static_cast<std::ptrdiff_t>(slot * kInnerBytes));
    append_le(index, data_start + static_cast<std::uint64_t>(slot) * kInnerBytes);
    append_le(index, kInnerBytes);
  }
  append_le(index, codec::crc32c(index.data(), index.size()));
  EXPECT_EQ(index.size(), kIndexBytes);
  fs::create_directories(root / "c" / "0");
  std::ofstream out(root / "c" / "0" / "0", std::ios::binary);
  auto write = [&](const std::vector<std::byte>& b) {
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  };
  if (layout.index_at_end) {
    write(data);
    write(index);
  } else {
    write(index);
    write(data);
  }
  return data.size() + index.size();
}

// Forwards to a FileStore and records every call and how many bytes it returned.
class CountingStore final : public cuzarr::Store {
 public:
  struct Counts {
    int get = 0, get_range = 0, get_suffix = 0, read_into = 0, size = 0, exists = 0;
    std::uint64_t bytes = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // (offset, length) of range reads
    int reads() const { return get + get_range + get_suffix + read_into; }
  };

  explicit CountingStore(fs::path root) : inner_(std::move(root)) {}

  std::optional<Buffer> get(std::string_view key) const override {
    auto r = inner_.get(key);
    std::lock_guard lock(mutex_);
    ++counts_.get;
    if (r) counts_.bytes += r->size();
    return r;
  }
  std::optional<Buffer> get_range(std::string_view key, std::uint64_t offset, std::uint64_t length) const override {
    auto r = inner_.get_range(key, offset, length);
    std::lock_guard lock(mutex_);
    ++counts_.get_range;
    counts_.ranges.emplace_back(offset, length);
    if (r) counts_.bytes += r->size();
    return r;
  }
  std::optional<Buffer> get_suffix(std::string_view key, std::uint64_t length) const override {
    auto r = inner_.get_suffix(key, length);
    std::lock_guard lock(mutex_);
    ++counts_.get_suffix;
    if (r) counts_.bytes += r->size();
    return r;
  }
  bool read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const override {
    const bool ok = inner_.read_into(key, offset, length, dst);
    std::lock_guard lock(mutex_);
    ++counts_.read_into;
    counts_.ranges.emplace_back(offset, length);
    if (ok) counts_.bytes += length;
    return ok;
  }
  std::optional<std::uint64_t> size(std::string_view key) const override {
    std::lock_guard lock(mutex_);
    ++counts_.size;
    return inner_.size(key);
  }
  bool exists(std::string_view key) const override {
    std::lock_guard lock(mutex_);
    ++counts_.exists;
    return inner_.exists(key);
  }
  std::vector<std::string> list_dir(std::string_view prefix) const override { return inner_.list_dir(prefix); }
  std::string describe() const override { return "counting(" + inner_.describe() + ")"; }
  std::optional<fs::path> local_path(std::string_view key) const override { return inner_.local_path(key); }
  cuzarr::ReadPattern read_pattern() const override { return inner_.read_pattern(); }

  Counts counts() const {
    std::lock_guard lock(mutex_);
    return counts_;
  }
  void reset() {
    std::lock_guard lock(mutex_);
    counts_ = Counts{};
  }

 private:
  cuzarr::FileStore inner_;
  mutable std::mutex mutex_;
  mutable Counts counts_;
};

// One dimension's selection: the given shard-local positions, placed at 0, 1, 2, ...
plan::DimPart positions(const std::vector<std::int64_t>& local) {
  plan::DimPart p;
  p.local = local;
  for (std::size_t k = 0; k < local.size(); ++k) p.out.push_back(static_cast<std::int64_t>(k));
  p.contiguous = local.size() <= 1 || local.back() - local.front() + 1 == static_cast<std::int64_t>(local.size());
  return p;
}

std::vector<std::int64_t> inner_rows(std::initializer_list<std::int64_t> chunks) {
  std::vector<std::int64_t> out;
  for (std::int64_t c : chunks) {
    for (std::int64_t k = 0; k < kInner; ++k) out.push_back(c * kInner + k);
  }
  return out;
}

class ShardReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuzarr::config().coalesce_bytes != (std::size_t{1} << 20)) {
      GTEST_SKIP() << "CUZARR_COALESCE_BYTES is set; these counts assume the default gap of 1 MiB";
    }
  }

  // Writes the array's metadata (one shard of (1024, 1024) uint32; the sharding codec with its
  // index at the end or the start; bytes + crc32c index codecs) and prepares its chain.
  void prepare(bool index_at_end = true) {
    const std::string sharding = R"({"name": "sharding_indexed", "configuration": {
      "chunk_shape": [128, 128],
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
      "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
      "index_location": ")" + std::string(index_at_end ? "end" : "start") + R"("}})";
    std::ofstream(dir_.path() / "zarr.json") << R"({"zarr_format": 3, "node_type": "array",
      "shape": [1024, 1024], "data_type": "uint32", "fill_value": )" << kFill << R"(,
      "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1024, 1024]}},
      "chunk_key_encoding": {"name": "default"}, "codecs": [)" << sharding << "]}";
    cuzarr::FileStore files(dir_.path());
    meta_.emplace(std::move(*cuzarr::metadata::load_node(files, "", cuzarr::config().max_metadata_bytes).array));
    chain_ = std::make_unique<codec::CodecChain>(
        codec::CodecChain::prepare(meta_->codecs, codec::ChunkSpec{meta_->chunk_shape, meta_->dtype}, meta_->fill_value,
                                   meta_->display));
    ASSERT_EQ(chain_->traits().form, codec::CodecChain::Form::Sharded);
  }

  // Reads shard-local positions through the engine, as a read of the array does.
  cuzarr::exec::ReadStats read_region(const std::vector<const plan::DimPart*>& parts, cuzarr::exec::ChunkSink& sink) {
    const cuzarr::exec::ReadContext ctx{*meta_, *chain_, *store_, pool_};
    const std::vector<std::int64_t> coords{0, 0};
    return cuzarr::exec::read_chunk(ctx, coords, parts, sink);
  }

  // Reads rows x cols of the shard through the counting store; checks every value (fill where
  // `missing(i, j)`), and returns what the store saw.
  template <typename Missing>
  CountingStore::Counts read(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& cols,
                             Missing&& missing, bool expect_shard = true) {
    store_->reset();
    const plan::DimPart r = positions(rows), c = positions(cols);
    const std::vector<const plan::DimPart*> parts{&r, &c};
    std::vector<std::uint32_t> out(rows.size() * cols.size(), 0);
    const std::vector<std::int64_t> strides{static_cast<std::int64_t>(cols.size() * 4), 4};
    cuzarr::exec::HostSink sink(reinterpret_cast<std::byte*>(out.data()), strides, 4);
    const cuzarr::exec::ReadStats stats = read_region(parts, sink);
    EXPECT_EQ(stats.missing == 0, expect_shard);
    std::size_t wrong = 0;
    for (std::size_t a = 0; a < rows.size(); ++a) {
      for (std::size_t b = 0; b < cols.size(); ++b) {
        const std::uint32_t want = missing(rows[a], cols[b]) ? kFill : value_at(rows[a], cols[b]);
        if (out[a * cols.size() + b] != want && wrong++ < 5) {
          ADD_FAILURE() << "value at (" << rows[a] << ", " << cols[b] << ") is " << out[a * cols.size() + b]
                        << ", expected " << want;
        }
      }
    }
    EXPECT_EQ(wrong, 0u);
    // The index is read first; the data requests run on the pool, in any order.
    CountingStore::Counts counts = store_->counts();
    if (counts.ranges.size() > 1) std::sort(counts.ranges.begin() + 1, counts.ranges.end());
    return counts;
  }
  CountingStore::Counts read(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& cols) {
    return read(rows, cols, [](std::int64_t, std::int64_t) { return false; });
  }

  void write(const Layout& layout) {
    shard_size_ = write_shard(dir_.path(), layout);
    store_ = std::make_unique<CountingStore>(dir_.path());
  }

  TempDir dir_;
  std::optional<cuzarr::metadata::ArrayMeta> meta_;
  std::unique_ptr<codec::CodecChain> chain_;
  std::unique_ptr<CountingStore> store_;
  cuzarr::exec::ThreadPool pool_{2};
  std::uint64_t shard_size_ = 0;
};

TEST_F(ShardReadTest, OneInnerChunkReadsTheIndexAndThatChunkOnly) {
  prepare();
  write(c_order_layout());
  ASSERT_EQ(shard_size_, 64 * kInnerBytes + kIndexBytes);
  const auto counts = read(inner_rows({3}), inner_rows({5}));
  EXPECT_LE(counts.reads(), 2);
  EXPECT_EQ(counts.get_range + counts.read_into, 2);
  EXPECT_EQ(counts.get, 0) << "a whole-shard get";
  EXPECT_EQ(counts.get_suffix, 0);
  EXPECT_EQ(counts.bytes, kIndexBytes + kInnerBytes);
  ASSERT_EQ(counts.ranges.size(), 2u);
  EXPECT_EQ(counts.ranges[0], std::make_pair(64 * kInnerBytes, kIndexBytes)) << "the index, at the end";
  EXPECT_EQ(counts.ranges[1], std::make_pair((3 * 8 + 5) * kInnerBytes, kInnerBytes)) << "inner chunk (3, 5)";
}

TEST_F(ShardReadTest, PartOfOneInnerChunkStillReadsOnlyThatChunk) {
  prepare();
  write(c_order_layout());
  const auto counts = read({700, 701, 750}, {10, 127});  // inner chunk (5, 0)
  EXPECT_EQ(counts.reads(), 2);
  // A raw inner chunk is read like a raw chunk: only the span of the selected positions, from
  // (60, 10) to (110, 127) of the inner chunk.
  EXPECT_EQ(counts.bytes, kIndexBytes + ((110 * kInner + 127) - (60 * kInner + 10) + 1) * 4);
}

TEST_F(ShardReadTest, EveryInnerChunkAloneReadsTwoRanges) {
  prepare();
  write(c_order_layout());
  for (std::int64_t i = 0; i < kGrid; i += 3) {
    for (std::int64_t j = 0; j < kGrid; j += 2) {
      const auto counts = read({i * kInner + 7}, {j * kInner + 100});
      EXPECT_EQ(counts.reads(), 2) << i << "," << j;
      EXPECT_EQ(counts.bytes, kIndexBytes + 4) << i << "," << j << ": the one element selected";
    }
  }
}

TEST_F(ShardReadTest, AdjacentInnerChunksAreOneRead) {
  prepare();
  write(c_order_layout());
  const auto counts = read(inner_rows({3}), inner_rows({5, 6}));  // linear 29 and 30: neighbours in the file
  EXPECT_EQ(counts.reads(), 2) << "index + one merged data read";
  EXPECT_EQ(counts.bytes, kIndexBytes + 2 * kInnerBytes);
  ASSERT_EQ(counts.ranges.size(), 2u);
  EXPECT_EQ(counts.ranges[1], std::make_pair(29 * kInnerBytes, 2 * kInnerBytes));
}

TEST_F(ShardReadTest, CloseInnerChunksAreMergedAcrossTheGap) {
  prepare();
  write(c_order_layout());
  // (0, 0) and (0, 4): 192 KiB apart, within the 1 MiB gap: one read spanning both.
  const auto counts = read(inner_rows({0}), inner_rows({0, 4}));
  EXPECT_EQ(counts.reads(), 2);
  ASSERT_EQ(counts.ranges.size(), 2u);
  EXPECT_EQ(counts.ranges[1], std::make_pair(std::uint64_t{0}, 5 * kInnerBytes));
}

TEST_F(ShardReadTest, FarApartInnerChunksAreSeparateReads) {
  prepare();
  write(c_order_layout());
  // (0, 0) and (7, 0): linear 0 and 56, 55 chunks (3.4 MiB) apart, beyond the 1 MiB gap.
  const auto counts = read(inner_rows({0, 7}), inner_rows({0}));
  EXPECT_EQ(counts.reads(), 3) << "index + two data reads";
  EXPECT_EQ(counts.bytes, kIndexBytes + 2 * kInnerBytes);
  ASSERT_EQ(counts.ranges.size(), 3u);
  EXPECT_EQ(counts.ranges[1], std::make_pair(std::uint64_t{0}, kInnerBytes));
  EXPECT_EQ(counts.ranges[2], std::make_pair(56 * kInnerBytes, kInnerBytes));
}

TEST_F(ShardReadTest, GapJustOverAndJustUnderTheThreshold) {
  prepare();
  // Chunk (0, 0) in slot 0; chunk (0, 1) 16 slots (1 MiB) after the end of slot 0, i.e. in slot
  // 17: a gap of exactly 1 MiB is still merged; 17 slots (slot 18) is not.
  for (const int slot : {17, 18}) {
    Layout l = c_order_layout();
    for (int& s : l.slot) s = s >= 2 ? s + 20 : s;  // move everything else out of the way
    l.slot[1] = slot;
    write(l);
    const auto counts = read(inner_rows({0}), inner_rows({0, 1}));
    const std::uint64_t gap = (static_cast<std::uint64_t>(slot) - 1) * kInnerBytes;
    if (gap <= (std::uint64_t{1} << 20)) {
      EXPECT_EQ(counts.reads(), 2) << "gap " << gap;
      EXPECT_EQ(counts.bytes, kIndexBytes + static_cast<std::uint64_t>(slot + 1) * kInnerBytes);
    } else {
      EXPECT_EQ(counts.reads(), 3) << "gap " << gap;
      EXPECT_EQ(counts.bytes, kIndexBytes + 2 * kInnerBytes);
    }
  }
}

TEST_F(ShardReadTest, FileOrderOtherThanGridOrder) {
  prepare();
  Layout l = c_order_layout();
  std::reverse(l.slot.begin(), l.slot.end());  // the last inner chunk first in the file
  write(l);
  // (2, 3) and (2, 4) are neighbours in the file, in reverse order.
  auto counts = read(inner_rows({2}), inner_rows({3, 4}));
  EXPECT_EQ(counts.reads(), 2);
  EXPECT_EQ(counts.bytes, kIndexBytes + 2 * kInnerBytes);
  // The four corners: (7, 7) in slot 0 and (7, 0) in slot 7 are merged (384 KiB apart), as are
  // (0, 7) in slot 56 and (0, 0) in slot 63; the two groups lie 3 MiB apart: two data reads of
  // 8 slots each.
  counts = read(inner_rows({0, 7}), inner_rows({0, 7}));
  EXPECT_EQ(counts.reads(), 3);
  EXPECT_EQ(counts.bytes, kIndexBytes + 16 * kInnerBytes);
  ASSERT_EQ(counts.ranges.size(), 3u);
  EXPECT_EQ(counts.ranges[1], std::make_pair(std::uint64_t{0}, 8 * kInnerBytes));
  EXPECT_EQ(counts.ranges[2], std::make_pair(56 * kInnerBytes, 8 * kInnerBytes));
}

TEST_F(ShardReadTest, WholeShardIsIndexPlusOneRead) {
  prepare();
  write(c_order_layout());
  const plan::DimPart full = plan::full_part(kShard);
  const auto counts = read(full.local, full.local);
  EXPECT_EQ(counts.reads(), 2);
  EXPECT_EQ(counts.bytes, kIndexBytes + 64 * kInnerBytes);
}

TEST_F(ShardReadTest, MissingInnerChunkIsFillWithoutADataRead) {
  prepare();
  Layout l = c_order_layout();
  l.slot[3 * 8 + 5] = -1;
  write(l);
  auto counts = read(inner_rows({3}), inner_rows({5}),
                     [](std::int64_t, std::int64_t) { return true; });
  EXPECT_EQ(counts.reads(), 1) << "the index only";
  EXPECT_EQ(counts.bytes, kIndexBytes);
  // With its neighbours: they are read, it is filled.
  counts = read(inner_rows({3}), inner_rows({4, 5, 6}),
                [](std::int64_t, std::int64_t j) { return j / kInner == 5; });
  EXPECT_EQ(counts.bytes, kIndexBytes + 3 * kInnerBytes) << "chunks 4 and 6, and the 64 KiB between them";
  EXPECT_EQ(counts.reads(), 2);
}

TEST_F(ShardReadTest, MissingShardIsFillWithoutReads) {
  prepare();
  write(c_order_layout());
  fs::remove(dir_.path() / "c" / "0" / "0");
  const auto counts = read(inner_rows({1}), inner_rows({2}),
                           [](std::int64_t, std::int64_t) { return true; }, /*expect_shard=*/false);
  EXPECT_EQ(counts.reads(), 0);
  EXPECT_EQ(counts.bytes, 0u);
}

TEST_F(ShardReadTest, IndexAtStart) {
  prepare(/*index_at_end=*/false);
  Layout l = c_order_layout();
  l.index_at_end = false;
  write(l);
  const auto counts = read(inner_rows({6}), inner_rows({1}));
  EXPECT_EQ(counts.reads(), 2);
  EXPECT_EQ(counts.bytes, kIndexBytes + kInnerBytes);
  ASSERT_EQ(counts.ranges.size(), 2u);
  EXPECT_EQ(counts.ranges[0], std::make_pair(std::uint64_t{0}, kIndexBytes));
  EXPECT_EQ(counts.ranges[1], std::make_pair(kIndexBytes + (6 * 8 + 1) * kInnerBytes, kInnerBytes));
}

TEST_F(ShardReadTest, CorruptIndexIsACodecErrorNamingTheShard) {
  prepare();
  write(c_order_layout());
  {
    std::fstream f(dir_.path() / "c" / "0" / "0", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(64 * kInnerBytes + 5));
    f.put('\x7f');
  }
  store_->reset();
  const plan::DimPart r = positions(inner_rows({0})), c = positions(inner_rows({0}));
  const std::vector<const plan::DimPart*> parts{&r, &c};
  std::vector<std::uint32_t> out(kInner * kInner);
  const std::vector<std::int64_t> strides{kInner * 4, 4};
  cuzarr::exec::HostSink sink(reinterpret_cast<std::byte*>(out.data()), strides, 4);
  try {
    read_region(parts, sink);
    FAIL() << "no error";
  } catch (const cuzarr::CodecError& e) {
    EXPECT_NE(std::string(e.what()).find("'" + kKey + "'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store_->counts().reads(), 1) << "nothing is read after a bad index";
}

// Raw (uncompressed) chunks read only the byte ranges a selection needs: a (16, 256, 256) uint32
// chunk (4 MiB) of which rows 100..139 of every plane are selected reads 16 ranges of 40 KiB, not
// the whole file; a selection whose span is small reads it in one go.
class RawPartialReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path() / "zarr.json") << R"({"zarr_format": 3, "node_type": "array",
      "shape": [16, 256, 256], "data_type": "uint32", "fill_value": 0,
      "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [16, 256, 256]}},
      "chunk_key_encoding": {"name": "default"},
      "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}]})";
    std::vector<std::uint32_t> values(16 * 256 * 256);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = __builtin_bswap32(static_cast<std::uint32_t>(i * 7 + 1));
    fs::create_directories(dir_.path() / "c" / "0" / "0");
    std::ofstream(dir_.path() / "c" / "0" / "0" / "0", std::ios::binary)
        .write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
    store_ = std::make_shared<CountingStore>(dir_.path());
    auto context = std::make_shared<const cuzarr::detail::Context>(store_, cuzarr::OpenOptions{});
    cuzarr::metadata::NodeMeta node = cuzarr::metadata::load_node(*store_, "", cuzarr::config().max_metadata_bytes);
    auto meta = std::move(*node.array);
    codec::CodecChain chain = codec::CodecChain::prepare(meta.codecs, codec::ChunkSpec{meta.chunk_shape, meta.dtype},
                                                         meta.fill_value, meta.display);
    array_.emplace(std::make_shared<cuzarr::detail::ArrayState>(
        cuzarr::detail::ArrayState{context, std::move(meta), std::move(chain)}));
  }

  // Reads `text`, checks every value against the (t, y, x) it came from, returns the counts.
  CountingStore::Counts read(const std::string& text, std::int64_t t0, std::int64_t t_step, std::int64_t y0,
                             std::int64_t x0) {
    store_->reset();
    const cuzarr::HostArray got = array_->read(cuzarr::parse_selection(text));
    const auto* v = reinterpret_cast<const std::uint32_t*>(got.data.data());
    const std::int64_t nt = got.shape[0], ny = got.shape[1], nx = got.shape[2];
    std::size_t wrong = 0;
    for (std::int64_t t = 0; t < nt; ++t) {
      for (std::int64_t y = 0; y < ny; ++y) {
        for (std::int64_t x = 0; x < nx; ++x) {
          const std::int64_t i = ((t0 + t * t_step) * 256 + y0 + y) * 256 + x0 + x;
          if (v[(t * ny + y) * nx + x] != static_cast<std::uint32_t>(i * 7 + 1) && wrong++ < 3) {
            ADD_FAILURE() << "wrong value at (" << t << ", " << y << ", " << x << ")";
          }
        }
      }
    }
    EXPECT_EQ(wrong, 0u);
    return store_->counts();
  }

  TempDir dir_;
  std::shared_ptr<CountingStore> store_;
  std::optional<cuzarr::Array> array_;
};

TEST_F(RawPartialReadTest, RowsOfEveryPlaneAreReadAsRanges) {
  const auto counts = read(":, 100:140, :", 0, 1, 100, 0);
  EXPECT_EQ(counts.read_into, 16);
  EXPECT_EQ(counts.get + counts.get_range, 0) << "the whole chunk was read";
  EXPECT_EQ(counts.bytes, 16u * 40 * 256 * 4);
  for (std::size_t t = 0; t < counts.ranges.size(); ++t) {
    EXPECT_EQ(counts.ranges[t].second, 40u * 256 * 4);
    EXPECT_EQ(counts.ranges[t].first % (256 * 256 * 4), 100u * 256 * 4);
  }
}

TEST_F(RawPartialReadTest, ScatteredSelectionReadsAtMostTwiceWhatItNeeds) {
  const auto counts = read("3:13:3, 10:200, 7:250", 3, 3, 10, 7);
  EXPECT_LE(counts.bytes, 2u * 4 * 190 * 243 * 4 + (256u << 10));
  EXPECT_GT(counts.read_into, 0);
}

TEST_F(RawPartialReadTest, SmallSpanIsOneRead) {
  const auto counts = read("5:6, 3:9, 0:10", 5, 1, 3, 0);
  EXPECT_EQ(counts.read_into, 1);
  EXPECT_LE(counts.bytes, 6u * 256 * 4);
}

TEST_F(RawPartialReadTest, WrongSizeIsACodecErrorNamingTheChunk) {
  fs::resize_file(dir_.path() / "c" / "0" / "0" / "0", 1000);
  try {
    read(":, 100:140, :", 0, 1, 100, 0);
    FAIL() << "read a truncated chunk";
  } catch (const cuzarr::CodecError& e) {
    EXPECT_NE(std::string(e.what()).find("c/0/0/0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1000 bytes"), std::string::npos) << e.what();
  }
}

TEST_F(RawPartialReadTest, OpenTakesTheCallersOwnStore) {
  // cuzarr::open(store): a store of the caller's (the Python binding's store of callbacks) is read
  // through like any other.
  cuzarr::Node node = cuzarr::open(std::static_pointer_cast<const cuzarr::Store>(store_));
  ASSERT_TRUE(std::holds_alternative<cuzarr::Array>(node));
  store_->reset();
  const cuzarr::HostArray got = std::get<cuzarr::Array>(node).read(cuzarr::parse_selection("5, 3, 0:4"));
  ASSERT_EQ(got.shape, std::vector<std::int64_t>{4});
  const auto* v = reinterpret_cast<const std::uint32_t*>(got.data.data());
  for (std::int64_t x = 0; x < 4; ++x) EXPECT_EQ(v[x], static_cast<std::uint32_t>(((5 * 256 + 3) * 256 + x) * 7 + 1));
  EXPECT_GT(store_->counts().reads(), 0);
  EXPECT_THROW(cuzarr::open(std::shared_ptr<const cuzarr::Store>()), cuzarr::StoreError);
}

}  // namespace
