// Writing: every encoder round-trips through its decoder (CodecChain::encode then decode, from a
// strided input view too), codecs without an encoder are refused by name, FileStore's writes are
// atomic replacements that leave no temporary file, and the write loop (Array::write) merges
// partial chunks, skips fill-value chunks and assembles shards.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "codec/codec_chain.hpp"
#include "cuzarr/array.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/selection.hpp"
#include "metadata/array_meta.hpp"

namespace fs = std::filesystem;

namespace {

using cuzarr::Buffer;
using cuzarr::DataType;
using cuzarr::DTypeKind;
using cuzarr::metadata::Json;
namespace codec = cuzarr::codec;
using Ints = std::vector<std::int64_t>;

// A bare "bytes" in the lists below is little-endian bytes (the spec wants the order spelt out).
codec::CodecChain chain_of(std::string codecs, const codec::ChunkSpec& spec) {
  const std::string bare = "\"bytes\"", named = R"({"name": "bytes", "configuration": {"endian": "little"}})";
  for (std::size_t at = 0; (at = codecs.find(bare, at)) != std::string::npos;) {
    const bool keyed = at >= 2 && codecs.compare(at - 2, 2, ": ") == 0;  // "name": "bytes" stays
    if (keyed) {
      at += bare.size();
    } else {
      codecs.replace(at, bare.size(), named);
      at += named.size();
    }
  }
  const auto specs = cuzarr::metadata::parse_codec_list(Json::parse(codecs), "codecs", "test");
  return codec::CodecChain::prepare(specs, spec, std::vector<std::byte>(static_cast<std::size_t>(spec.dtype.size)), "t.zarr/a");
}

std::vector<std::int32_t> sample(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) x = static_cast<std::int32_t>(rng() % 2000) - 1000;  // compressible, signed
  return v;
}

// Encodes the values (C order, and the same values through a transposed view of a copy), decodes
// them, and checks the round trip.
void round_trip(const std::string& codecs) {
  SCOPED_TRACE(codecs);
  const DataType i32{DTypeKind::Int, 4, {}};
  const codec::ChunkSpec spec{{6, 8}, i32};
  const codec::CodecChain chain = chain_of(codecs, spec);
  ASSERT_TRUE(chain.can_encode());
  const std::vector<std::int32_t> values = sample(48, 7);
  const codec::EncodeContext ctx{"t.zarr/a", "c/0/0"};
  const codec::ChunkView c_view{reinterpret_cast<const std::byte*>(values.data()), {6, 8}, {32, 4}};
  // The same logical array held in F order: element (i, j) at (j * 6 + i) * 4.
  std::vector<std::int32_t> fortran(48);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 8; ++j) fortran[static_cast<std::size_t>(j * 6 + i)] = values[static_cast<std::size_t>(i * 8 + j)];
  const codec::ChunkView f_view{reinterpret_cast<const std::byte*>(fortran.data()), {6, 8}, {4, 24}};
  for (const codec::ChunkView& view : {c_view, f_view}) {
    Buffer encoded = chain.encode(view, ctx);
    const codec::CodecChain::Decoded decoded = chain.decode(std::move(encoded), ctx);
    for (int i = 0; i < 6; ++i) {
      for (int j = 0; j < 8; ++j) {
        std::int32_t got;
        std::memcpy(&got, decoded.view.data + i * decoded.view.byte_strides[0] + j * decoded.view.byte_strides[1], 4);
        ASSERT_EQ(got, values[static_cast<std::size_t>(i * 8 + j)]) << i << "," << j;
      }
    }
  }
}

TEST(Encoders, RoundTripThroughTheirDecoders) {
  for (const char* codecs : {
           R"(["bytes"])",
           R"([{"name": "bytes", "configuration": {"endian": "big"}}])",
           R"([{"name": "transpose", "configuration": {"order": [1, 0]}}, {"name": "bytes", "configuration": {"endian": "little"}}])",
           R"(["bytes", {"name": "zstd", "configuration": {"level": 5, "checksum": true}}])",
           R"(["bytes", {"name": "zstd", "configuration": {"level": 0, "checksum": false}}])",
           R"(["bytes", {"name": "gzip", "configuration": {"level": 9}}])",
           R"(["bytes", {"name": "numcodecs.zlib", "configuration": {"level": 1}}])",
           R"(["bytes", {"name": "numcodecs.lz4", "configuration": {"acceleration": 3}}])",
           R"(["bytes", {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 4}}])",
           R"(["bytes", {"name": "blosc", "configuration": {"cname": "zstd", "clevel": 1, "shuffle": "bitshuffle", "typesize": 4}}])",
           R"(["bytes", {"name": "blosc", "configuration": {"cname": "blosclz", "clevel": 9, "shuffle": "noshuffle", "typesize": 4}}])",
           R"(["bytes", {"name": "numcodecs.blosc", "configuration": {"cname": "zlib", "clevel": 3, "shuffle": -1}}])",
           R"(["bytes", "crc32c"])",
           R"(["bytes", {"name": "zstd"}, "crc32c"])",
           R"(["bytes", {"name": "numcodecs.crc32"}, {"name": "numcodecs.adler32"}, {"name": "numcodecs.fletcher32"}])",
           R"(["bytes", {"name": "numcodecs.jenkins_lookup3", "configuration": {"initval": 5, "prefix": [1, 2]}}])",
           R"([{"name": "numcodecs.delta", "configuration": {"dtype": "<i4", "astype": "<i8"}}, "bytes"])",
           R"([{"name": "numcodecs.astype", "configuration": {"encode_dtype": "<f8", "decode_dtype": "<i4"}}, "bytes"])",
           R"([{"name": "numcodecs.fixedscaleoffset", "configuration": {"offset": 100, "scale": 1, "dtype": "<i4", "astype": "<i2"}}, "bytes"])",
           R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [3, 4], "codecs": ["bytes", {"name": "zstd"}],
               "index_codecs": ["bytes", "crc32c"], "index_location": "end"}}])",
           R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 2], "codecs": [{"name": "transpose", "configuration": {"order": [1, 0]}}, "bytes"],
               "index_codecs": ["bytes"], "index_location": "start"}}])",
           R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [6, 4], "codecs": [{"name": "sharding_indexed",
               "configuration": {"chunk_shape": [3, 2], "codecs": ["bytes"]}}]}}, {"name": "gzip"}])",
       }) {
    round_trip(codecs);
  }
}

TEST(Encoders, FixedScaleOffsetRoundsHalfToEven) {
  const DataType f64{DTypeKind::Float, 8, {}};
  const codec::CodecChain chain = chain_of(
      R"([{"name": "fixedscaleoffset", "configuration": {"offset": 0, "scale": 1, "dtype": "<f8", "astype": "<i4"}}, "bytes"])",
      codec::ChunkSpec{{4}, f64});
  const double values[4] = {0.5, 1.5, 2.5, -0.5};
  Buffer encoded = chain.encode(codec::ChunkView{reinterpret_cast<const std::byte*>(values), {4}, {8}}, {"a", "c"});
  ASSERT_EQ(encoded.size(), 16u);
  std::int32_t stored[4];
  std::memcpy(stored, encoded.data(), 16);
  EXPECT_EQ(stored[0], 0);  // numpy.around: half to even
  EXPECT_EQ(stored[1], 2);
  EXPECT_EQ(stored[2], 2);
  EXPECT_EQ(stored[3], 0);
}

TEST(Encoders, ShardsLeaveFillValueInnerChunksOut) {
  const DataType i32{DTypeKind::Int, 4, {}};
  const codec::CodecChain chain = chain_of(
      R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 2], "codecs": ["bytes"]}}])", {{4, 4}, i32});
  std::vector<std::int32_t> values(16, 0);
  values[5] = 9;  // inner chunk (0, 0) holds it; the other three hold only the fill value (0)
  const Buffer encoded = chain.encode(codec::ChunkView{reinterpret_cast<const std::byte*>(values.data()), {4, 4}, {16, 4}}, {"a", "c"});
  EXPECT_EQ(encoded.size(), 16u + 4 * 16 + 4);  // one inner chunk, the index, its crc32c
}

TEST(Encoders, CodecsWithoutAnEncoderAreRefusedByName) {
  const DataType f32{DTypeKind::Float, 4, {}};
  for (const char* codecs : {R"(["bytes", "numcodecs.bz2"])", R"([{"name": "numcodecs.quantize", "configuration": {"digits": 2, "dtype": "<f4"}}, "bytes"])",
                             R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2], "codecs": ["bytes", "numcodecs.bz2"]}}])"}) {
    const codec::CodecChain chain = chain_of(codecs, {{4}, f32});
    EXPECT_FALSE(chain.can_encode()) << codecs;
    try {
      chain.check_encodable("t.zarr/a");
      FAIL() << codecs;
    } catch (const cuzarr::UnsupportedError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("t.zarr/a"), std::string::npos) << what;
      EXPECT_NE(what.find("has no encoder"), std::string::npos) << what;
    }
  }
  // A configuration that decodes but cannot encode: reads work, the write gives the reason.
  const codec::CodecChain chain = chain_of(R"(["bytes", {"name": "blosc", "configuration": {"cname": "nope"}}])", {{4}, f32});
  try {
    chain.check_encodable("t.zarr/a");
    FAIL();
  } catch (const cuzarr::UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("\"nope\""), std::string::npos) << e.what();
  }
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cuzarr_write_test_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<std::string> files_under(const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FileStoreWrite, ReplacesAtomicallyAndErases) {
  TempDir dir;
  const cuzarr::FileStore store(dir.path());
  EXPECT_TRUE(store.writable());
  const std::string a = "first", b = "second value";
  store.write("g/c/0/1", std::as_bytes(std::span(a.data(), a.size())));
  store.write("g/c/0/1", std::as_bytes(std::span(b.data(), b.size())));
  const auto got = store.get("g/c/0/1");
  ASSERT_TRUE(got);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(got->data()), got->size()), b);
  EXPECT_EQ(files_under(dir.path()), std::vector<std::string>{"g/c/0/1"});  // no temporary file left
  store.erase("g/c/0/1");
  store.erase("g/c/0/1");  // absent: nothing happens
  EXPECT_FALSE(store.exists("g/c/0/1"));
  EXPECT_THROW(store.write("../x", {}), cuzarr::StoreError);
}

TEST(ArrayWrite, MergesPartialChunksSkipsFillAndAssemblesShards) {
  for (const bool sharded : {false, true}) {
    SCOPED_TRACE(sharded);
    TempDir dir;
    cuzarr::ArrayDefinition def;
    def.name = "g/a";
    def.shape = {10, 7};
    def.dtype = "int32";
    def.chunks = {3, 4};
    if (sharded) def.shards = Ints{6, 4};
    def.fill_value = "-1";
    const cuzarr::Array a = cuzarr::create_array(dir.path(), def);
    std::vector<std::int32_t> model(70, -1);
    // Column 2, rows 1..8: partial chunks, read (absent: the fill value) and merged.
    std::vector<std::int32_t> column(8);
    for (int i = 0; i < 8; ++i) column[static_cast<std::size_t>(i)] = 100 + i;
    a.write(cuzarr::parse_selection("1:9, 2"), cuzarr::Input{column.data(), {8}, {4}});
    for (int i = 0; i < 8; ++i) model[static_cast<std::size_t>((1 + i) * 7 + 2)] = 100 + i;
    // Rows 6..9 whole, from a strided (transposed) buffer: covered chunks, edge chunks included.
    std::vector<std::int32_t> block(28);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 7; ++j) block[static_cast<std::size_t>(j * 4 + i)] = i * 10 + j;
    a.write(cuzarr::parse_selection("6:10, :"), cuzarr::Input{block.data(), {4, 7}, {4, 16}});
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 7; ++j) model[static_cast<std::size_t>((6 + i) * 7 + j)] = i * 10 + j;
    const cuzarr::HostArray r = a.read();
    ASSERT_EQ(r.data.size(), 70u * 4);
    EXPECT_EQ(std::memcmp(r.data.data(), model.data(), 280), 0);
    // Chunk rows 0..2 (and, sharded, shard row 0) hold values only in column 2; rewriting them
    // with the fill value removes them.
    std::vector<std::int32_t> fill(8, -1);
    a.write(cuzarr::parse_selection("1:9, 2"), cuzarr::Input{fill.data(), {8}, {4}});
    // Non-sharded: chunk rows 0 and 1 (array rows 0..5) hold only the fill value now; sharded:
    // shard row 0 (array rows 0..5).
    for (const std::string& f : files_under(dir.path() / "g" / "a")) {
      EXPECT_FALSE(f.starts_with("c/0/") || (!sharded && f.starts_with("c/1/"))) << f;
    }
    EXPECT_TRUE(fs::exists(dir.path() / (sharded ? "g/a/c/1/0" : "g/a/c/2/0")));
    // Errors before anything is written.
    EXPECT_THROW(a.write(cuzarr::parse_selection("0:3, 0"), cuzarr::Input{column.data(), {4}, {4}}), cuzarr::SelectionError);
    EXPECT_THROW(a.write(cuzarr::parse_selection("0:30, 0"), cuzarr::Input{column.data(), {30}, {4}}), cuzarr::SelectionError);
    const cuzarr::Array read_only = cuzarr::open_array(dir.path() / "g" / "a");
    EXPECT_THROW(read_only.write(cuzarr::parse_selection("0, 0"), cuzarr::Input{column.data(), {}, {}}), cuzarr::StoreError);
  }
}

TEST(CreateArray, RefusesBadDefinitionsBeforeWriting) {
  TempDir dir;
  cuzarr::ArrayDefinition def;
  def.name = "a";
  def.shape = {4};
  def.dtype = "float32";
  def.chunks = {2};
  def.codecs = R"([{"name": "bytes", "configuration": {"endian": "little"}}, "numcodecs.bz2"])";
  EXPECT_THROW(cuzarr::create_array(dir.path(), def), cuzarr::UnsupportedError);
  def.codecs = "[not json";
  EXPECT_THROW(cuzarr::create_array(dir.path(), def), cuzarr::MetadataError);
  def.codecs.clear();
  def.chunks = {2, 2};
  EXPECT_THROW(cuzarr::create_array(dir.path(), def), cuzarr::MetadataError);
  EXPECT_TRUE(files_under(dir.path()).empty());
  def.chunks = {2};
  cuzarr::create_array(dir.path(), def);
  EXPECT_THROW(cuzarr::create_array(dir.path(), def), cuzarr::StoreError);  // already there
  EXPECT_EQ(files_under(dir.path()), (std::vector<std::string>{"a/zarr.json", "zarr.json"}));
}

}  // namespace
