// The codec registry (every spelling, kinds, refusals), the checksum functions against numcodecs'
// values, and the value codecs (cast_value's rounding and range rules, scale_offset's exactness)
// through CodecChain, as a read runs them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "codec/checksums.hpp"
#include "codec/codec_chain.hpp"
#include "codec/registry.hpp"
#include "cuzarr/error.hpp"
#include "metadata/array_meta.hpp"

namespace {

using cuzarr::Buffer;
using cuzarr::DataType;
using cuzarr::DTypeKind;
using cuzarr::metadata::CodecSpec;
using cuzarr::metadata::Json;
namespace codec = cuzarr::codec;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

TEST(CodecRegistry, EveryNumcodecsNameHasBothSpellings) {
  // The numcodecs codecs zarr-python wraps as numcodecs.<id> (zarr.codecs.numcodecs).
  for (const char* id : {"blosc", "lz4", "zstd", "zlib", "gzip", "bz2", "lzma", "shuffle", "delta", "bitround",
                         "fixedscaleoffset", "quantize", "packbits", "astype", "crc32", "crc32c", "adler32",
                         "fletcher32", "jenkins_lookup3", "pcodec", "zfpy"}) {
    const codec::CodecInfo* v2 = codec::find_codec(id);
    const codec::CodecInfo* v3 = codec::find_codec(std::string("numcodecs.") + id);
    ASSERT_NE(v2, nullptr) << id;
    ASSERT_NE(v3, nullptr) << id;
    // One decoder per codec: both spellings build the same thing (shuffle changes kind in v3).
    if (std::string(id) != "shuffle") {
      EXPECT_EQ(v2->kind, v3->kind) << id;
      EXPECT_EQ(v2->make_array_to_array, v3->make_array_to_array) << id;
      EXPECT_EQ(v2->make_bytes_to_bytes, v3->make_bytes_to_bytes) << id;
    }
  }
  EXPECT_EQ(codec::find_codec("shuffle")->kind, codec::CodecKind::ArrayToArray);
  EXPECT_EQ(codec::find_codec("numcodecs.shuffle")->kind, codec::CodecKind::BytesToBytes);
  EXPECT_EQ(codec::find_codec("numcodecs.nonexistent"), nullptr);
}

TEST(CodecRegistry, RefusalsNameTheCodecAndTheLibrary) {
  try {
    codec::require_codec("numcodecs.pcodec", "x.zarr/v");
    FAIL();
  } catch (const cuzarr::UnsupportedError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'numcodecs.pcodec'"), std::string::npos) << what;
    EXPECT_NE(what.find("x.zarr/v"), std::string::npos) << what;
    EXPECT_NE(what.find("pcodec library"), std::string::npos) << what;
  }
  EXPECT_THROW(codec::require_codec("zfpy", "x"), cuzarr::UnsupportedError);
  EXPECT_THROW(codec::require_codec("no-such-codec", "x"), cuzarr::UnsupportedError);
}

TEST(Checksums, MatchNumcodecs) {
  // Values computed with numcodecs 0.16 (numcodecs.jenkins.jenkins_lookup3, Fletcher32().encode).
  const std::string text = "Four score and seven years ago";
  EXPECT_EQ(codec::jenkins_lookup3(bytes_of(text).data(), text.size(), 0), 0x17770551u);
  EXPECT_EQ(codec::jenkins_lookup3(bytes_of(text).data(), text.size(), 1), 0xcd628161u);
  EXPECT_EQ(codec::jenkins_lookup3(nullptr, 0, 0), 0xdeadbeefu);
  EXPECT_EQ(codec::fletcher32(bytes_of("abcde").data(), 5), 0x4ff029c7u);
  EXPECT_EQ(codec::fletcher32(bytes_of("abcdef").data(), 6), 0x50562a2du);
  std::string ramp;
  for (int r = 0; r < 5; ++r) {
    for (int i = 0; i < 256; ++i) ramp.push_back(static_cast<char>(i));
  }
  EXPECT_EQ(codec::fletcher32(bytes_of(ramp).data(), ramp.size()), 0xea0bc13eu);
}

// Decodes `stored` as a 1-d chunk of `n` elements of `dtype` through the v3 `codecs`; the values,
// packed.
Buffer decode_chunk(const Json& codecs, const DataType& dtype, std::int64_t n, std::span<const std::byte> stored) {
  const auto specs = cuzarr::metadata::parse_codec_list(codecs, "codecs", "t.zarr");
  const codec::CodecChain chain =
      codec::CodecChain::prepare(specs, codec::ChunkSpec{{n}, dtype}, std::vector<std::byte>(dtype.size), "t.zarr");
  const auto decoded = chain.decode(Buffer::copy_of(stored), {"t.zarr", "c/0"});
  Buffer out(static_cast<std::size_t>(n * dtype.size));
  for (std::int64_t i = 0; i < n; ++i) {
    std::memcpy(out.data() + i * dtype.size, decoded.view.data + i * decoded.view.byte_strides[0],
                static_cast<std::size_t>(dtype.size));
  }
  return out;
}

// Decodes one stored chunk of as many elements as `stored` holds through `codecs`.
template <typename T, typename S>
std::vector<T> decode(const Json& codecs, const DataType& dtype, const std::vector<S>& stored) {
  const Buffer b = decode_chunk(codecs, dtype, static_cast<std::int64_t>(stored.size()), std::as_bytes(std::span(stored)));
  std::vector<T> out(stored.size());
  std::memcpy(out.data(), b.data(), out.size() * sizeof(T));
  return out;
}

Json cast_to_int8_from(const char* data_type, const char* rounding, const char* out_of_range = nullptr) {
  Json conf{{"data_type", data_type}, {"rounding", rounding}};
  if (out_of_range) conf["out_of_range"] = out_of_range;
  return Json::array({Json{{"name", "cast_value"}, {"configuration", conf}},
                      Json{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
}

TEST(CastValue, RoundingModes) {
  const DataType i8{DTypeKind::Int, 1, {}};
  const std::vector<float> stored{1.5f, -1.5f, 2.5f, -0.4f};
  const std::vector<std::pair<const char*, std::vector<std::int8_t>>> cases = {
      {"nearest-even", {2, -2, 2, 0}},   {"nearest-away", {2, -2, 3, 0}},      {"towards-zero", {1, -1, 2, 0}},
      {"towards-positive", {2, -1, 3, 0}}, {"towards-negative", {1, -2, 2, -1}},
  };
  for (const auto& [mode, want] : cases) {
    EXPECT_EQ(decode<std::int8_t>(cast_to_int8_from("float32", mode), i8, stored), want) << mode;
  }
}

TEST(CastValue, OutOfRangeAndNaN) {
  const DataType i8{DTypeKind::Int, 1, {}};
  const std::vector<double> big{200.0, -129.0};
  EXPECT_THROW(decode<std::int8_t>(cast_to_int8_from("float64", "nearest-even"), i8, big), cuzarr::CodecError);
  EXPECT_EQ(decode<std::int8_t>(cast_to_int8_from("float64", "nearest-even", "clamp"), i8, big),
            (std::vector<std::int8_t>{127, -128}));
  // wrap is for integer data_types: int16 values modulo 256.
  EXPECT_EQ(decode<std::int8_t>(cast_to_int8_from("int16", "nearest-even", "wrap"), i8, std::vector<std::int16_t>{200, -129}),
            (std::vector<std::int8_t>{-56, 127}));
  // NaN into an integer is an error whatever out_of_range says.
  const std::vector<double> nan{std::nan("")};
  EXPECT_THROW(decode<std::int8_t>(cast_to_int8_from("float64", "nearest-even", "clamp"), i8, nan), cuzarr::CodecError);
  // wrap needs an integer data_type; unknown keys are invalid.
  EXPECT_THROW(decode<std::int8_t>(cast_to_int8_from("float32", "nearest-even", "wrap"), DataType{DTypeKind::Float, 8, {}},
                                   std::vector<float>{1}),
               cuzarr::MetadataError);
  const Json extra = Json::array({Json{{"name", "cast_value"}, {"configuration", {{"data_type", "int16"}, {"x", 1}}}},
                                  Json{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  EXPECT_THROW(decode<std::int8_t>(extra, i8, std::vector<std::int16_t>{1}), cuzarr::MetadataError);
}

TEST(ScaleOffset, IntegersMustDivideExactlyAndFit) {
  const DataType u8{DTypeKind::UInt, 1, {}};
  const Json codecs = Json::array({Json{{"name", "scale_offset"}, {"configuration", {{"offset", 10}, {"scale", 2}}}},
                                   Json{{"name", "bytes"}}});
  // The fill value 0 has no encoding here ((0 - 10) * 2 < 0): only a shard's missing inner chunks
  // would need one, so the array still reads.
  EXPECT_EQ(decode<std::uint8_t>(codecs, u8, std::vector<std::uint8_t>{0, 4, 200}), (std::vector<std::uint8_t>{10, 12, 110}));
  EXPECT_THROW(decode<std::uint8_t>(codecs, u8, std::vector<std::uint8_t>{3}), cuzarr::CodecError);
  const Json shifted = Json::array({Json{{"name", "scale_offset"}, {"configuration", {{"offset", 200}}}}, Json{{"name", "bytes"}}});
  EXPECT_THROW(decode<std::uint8_t>(shifted, u8, std::vector<std::uint8_t>{100}), cuzarr::CodecError);
  const Json zero = Json::array({Json{{"name", "scale_offset"}, {"configuration", {{"scale", 0}}}}, Json{{"name", "bytes"}}});
  EXPECT_THROW(decode<std::uint8_t>(zero, u8, std::vector<std::uint8_t>{1}), cuzarr::MetadataError);
  // Floats: the array's own arithmetic, special values from the fill-value encoding.
  const DataType f32{DTypeKind::Float, 4, {}};
  const Json floats = Json::array({Json{{"name", "scale_offset"}, {"configuration", {{"offset", "Infinity"}, {"scale", 0.5}}}},
                                   Json{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  const auto got = decode<float>(floats, f32, std::vector<float>{1.0f});
  EXPECT_TRUE(std::isinf(got[0]) && got[0] > 0);
}

}  // namespace

// HDF5's filters as kerchunk describes them (docs/references.md): fletcher32 and the byte shuffle.
namespace {

const Json kLittle = Json{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};

}  // namespace

TEST(Hdf5Filters, Fletcher32OfAChunkHdf5Wrote) {
  // netCDF4 (HDF5 1.14) wrote int32 0..7 with fletcher32: the data, then the checksum (LE).
  std::vector<std::uint8_t> chunk;
  for (std::uint8_t v = 0; v < 8; ++v) chunk.insert(chunk.end(), {v, 0, 0, 0});
  chunk.insert(chunk.end(), {0x00, 0x1c, 0x00, 0xa8});
  const DataType i4{DTypeKind::Int, 4, {}};
  const Json codecs = Json::array({kLittle, Json{{"name", "numcodecs.fletcher32"}}});
  const Buffer out = decode_chunk(codecs, i4, 8, std::as_bytes(std::span(chunk)));
  for (std::int32_t i = 0; i < 8; ++i) {
    std::int32_t v = 0;
    std::memcpy(&v, out.data() + 4 * i, 4);
    EXPECT_EQ(v, i);
  }
  chunk[5] ^= 1;
  try {
    decode_chunk(codecs, i4, 8, std::as_bytes(std::span(chunk)));
    FAIL();
  } catch (const cuzarr::CodecError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'c/0'"), std::string::npos) << what;
    EXPECT_NE(what.find("fletcher32"), std::string::npos) << what;
    EXPECT_NE(what.find("checksum mismatch"), std::string::npos) << what;
  }
}

TEST(Hdf5Filters, ShuffleLeavesATailAsHdf5Does) {
  // netCDF-C's order: the checksum appended first, then 8-byte shuffle over data and checksum,
  // whose 4 bytes are a tail shorter than an element that HDF5's shuffle leaves in place.
  const std::vector<double> values{1.5, -2.25, 1e10};
  std::vector<std::uint8_t> raw(values.size() * 8);
  std::memcpy(raw.data(), values.data(), raw.size());
  const std::uint32_t sum = codec::fletcher32(reinterpret_cast<const std::byte*>(raw.data()), raw.size());
  for (int k = 0; k < 4; ++k) raw.push_back(static_cast<std::uint8_t>(sum >> (8 * k)));
  std::vector<std::uint8_t> stored(raw.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    for (std::size_t k = 0; k < 8; ++k) stored[k * values.size() + i] = raw[i * 8 + k];
  }
  std::copy(raw.end() - 4, raw.end(), stored.end() - 4);
  const Json codecs = Json::array({kLittle, Json{{"name", "numcodecs.fletcher32"}},
                                   Json{{"name", "numcodecs.shuffle"}, {"configuration", {{"elementsize", 8}}}}});
  const Buffer out = decode_chunk(codecs, DataType{DTypeKind::Float, 8, {}}, 3, std::as_bytes(std::span(stored)));
  std::vector<double> got(3);
  std::memcpy(got.data(), out.data(), 24);
  EXPECT_EQ(got, values);
}
