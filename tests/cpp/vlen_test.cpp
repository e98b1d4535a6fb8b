// Text and variable-length data types: dtype parsing (v2 "S"/"U"/"|O" + object codec, v3 names),
// fill values, the vlen codecs' chunk layout and their errors, and UTF-8 checks.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "codec/codec_chain.hpp"
#include "codec/vlen_codec.hpp"
#include "cuzarr/error.hpp"
#include "metadata/array_meta.hpp"
#include "metadata/dtype_parse.hpp"
#include "metadata/fill_value.hpp"
#include "metadata/utf8.hpp"

namespace {

using cuzarr::Buffer;
using cuzarr::DataType;
using cuzarr::DTypeKind;
using cuzarr::Endian;
using cuzarr::metadata::Json;
namespace md = cuzarr::metadata;
namespace codec = cuzarr::codec;

Buffer items(const std::vector<std::string>& parts, std::uint32_t count) {
  std::string s;
  auto put32 = [&](std::uint32_t v) {
    for (int k = 0; k < 4; ++k) s.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
  };
  put32(count);
  for (const std::string& p : parts) {
    put32(static_cast<std::uint32_t>(p.size()));
    s += p;
  }
  return Buffer::copy_of(std::as_bytes(std::span(s.data(), s.size())));
}

std::string item_at(const codec::ChunkView& view, std::int64_t i) {
  const std::byte* record = view.data + i * view.byte_strides[0];
  std::int64_t offset = 0, size = 0;
  std::memcpy(&offset, record, 8);
  std::memcpy(&size, record + 8, 8);
  return std::string(reinterpret_cast<const char*>(record + offset), static_cast<std::size_t>(size));
}

const codec::DecodeContext kCtx{"store/arr", "c/0"};

TEST(TextDtype, V2FixedWidth) {
  auto [s, se] = md::parse_v2_dtype(Json("|S7"), "d");
  EXPECT_EQ(s.kind, DTypeKind::Bytes);
  EXPECT_EQ(s.size, 7);
  EXPECT_EQ(s.swap_unit(), 0);
  EXPECT_EQ(s.numpy_str(), "|S7");
  auto [u, ue] = md::parse_v2_dtype(Json(">U3"), "d");
  EXPECT_EQ(u.kind, DTypeKind::Unicode);
  EXPECT_EQ(u.size, 12);
  EXPECT_EQ(u.swap_unit(), 4);
  EXPECT_EQ(ue, Endian::Big);
  EXPECT_EQ(u.name(), "U3");
  EXPECT_EQ(u.numpy_str().substr(1), "U3");
  for (const char* bad : {"|S0", "<U0", "|S", "<Ux", "|S99999999999"}) {
    EXPECT_THROW(md::parse_v2_dtype(Json(bad), "d"), cuzarr::MetadataError) << bad;
  }
}

TEST(TextDtype, V3Names) {
  EXPECT_EQ(md::parse_v3_dtype(Json("string"), "d").kind, DTypeKind::String);
  EXPECT_EQ(md::parse_v3_dtype(Json("variable_length_bytes"), "d").kind, DTypeKind::VlenBytes);
  EXPECT_EQ(md::parse_v3_dtype(Json("bytes"), "d").kind, DTypeKind::VlenBytes);
  const DataType u = md::parse_v3_dtype(
      Json::parse(R"({"name": "fixed_length_utf32", "configuration": {"length_bytes": 20}})"), "d");
  EXPECT_EQ(u.kind, DTypeKind::Unicode);
  EXPECT_EQ(u.size, 20);
  const DataType s = md::parse_v3_dtype(
      Json::parse(R"({"name": "null_terminated_bytes", "configuration": {"length_bytes": 3}})"), "d");
  EXPECT_EQ(s.kind, DTypeKind::Bytes);
  EXPECT_EQ(s.size, 3);
  EXPECT_THROW(md::parse_v3_dtype(Json::parse(R"({"name": "fixed_length_utf32", "configuration": {"length_bytes": 6}})"), "d"),
               cuzarr::MetadataError);
  EXPECT_THROW(md::parse_v3_dtype(Json::parse(R"({"name": "null_terminated_bytes"})"), "d"), cuzarr::MetadataError);
}

TEST(TextDtype, V2ObjectArraysTakeTheirTypeFromTheObjectCodec) {
  auto array = [](const std::string& filters) {
    return md::parse_v2_array(Json::parse(R"({"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "|O",
        "fill_value": null, "order": "C", "compressor": {"id": "zstd"}, "filters": )" + filters + "}"),
                              nullptr, "arr", "store/arr");
  };
  const md::ArrayMeta m = array(R"([{"id": "vlen-utf8"}])");
  EXPECT_EQ(m.dtype.kind, DTypeKind::String);
  ASSERT_EQ(m.codecs.size(), 2u);  // the object codec is the array→bytes codec; no "bytes"
  EXPECT_EQ(m.codecs[0].name, "vlen-utf8");
  EXPECT_EQ(m.codecs[1].name, "zstd");
  EXPECT_EQ(array(R"([{"id": "vlen-bytes"}])").dtype.kind, DTypeKind::VlenBytes);
  const md::ArrayMeta a = array(R"([{"id": "vlen-array", "dtype": ">i2"}])");
  EXPECT_EQ(a.dtype.kind, DTypeKind::VlenArray);
  EXPECT_EQ(a.dtype.unit, ">i2");
  EXPECT_THROW(array("null"), cuzarr::MetadataError);
  EXPECT_THROW(array(R"([{"id": "pickle"}])"), cuzarr::UnsupportedError);
  EXPECT_THROW(array(R"([{"id": "vlen-utf8"}, {"id": "delta", "dtype": "<i4"}])"), cuzarr::UnsupportedError);
}

TEST(TextFill, FixedWidthIsPadded) {
  const DataType s{DTypeKind::Bytes, 4, {}};
  const auto f = md::parse_fill_value(Json("YWI="), s, 2, Endian::Little, "d");  // base64 of "ab"
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.data()), f.size()), std::string("ab\0\0", 4));
  EXPECT_THROW(md::parse_fill_value(Json("YWJjZGU="), s, 2, Endian::Little, "d"), cuzarr::MetadataError);
  const DataType u{DTypeKind::Unicode, 8, {}};
  const auto g = md::parse_fill_value(Json("\xc3\xa9"), u, 3, Endian::Little, "d");  // "é"
  std::uint32_t cp[2];
  std::memcpy(cp, g.data(), 8);
  EXPECT_EQ(cp[0], 0xe9u);
  EXPECT_EQ(cp[1], 0u);
  EXPECT_THROW(md::parse_fill_value(Json("abc"), u, 3, Endian::Little, "d"), cuzarr::MetadataError);
  EXPECT_THROW(md::parse_fill_value(Json(5), u, 3, Endian::Little, "d"), cuzarr::MetadataError);
}

TEST(TextFill, VariableLengthFillIsOneRecord) {
  const DataType t{DTypeKind::String, cuzarr::kVlenRecordSize, {}};
  const auto f = md::parse_fill_value(Json("xy"), t, 3, Endian::Little, "d");
  const codec::ChunkView view{f.data(), {1}, {0}};
  EXPECT_EQ(item_at(view, 0), "xy");
  const auto none = md::parse_fill_value(Json(nullptr), t, 2, Endian::Little, "d");
  EXPECT_EQ(item_at(codec::ChunkView{none.data(), {1}, {0}}, 0), "");
  const DataType b{DTypeKind::VlenBytes, cuzarr::kVlenRecordSize, {}};
  EXPECT_EQ(item_at(codec::ChunkView{md::parse_fill_value(Json("eHk="), b, 3, Endian::Little, "d").data(), {1}, {0}}, 0), "xy");
}

TEST(VlenCodec, DecodesRecordsThatPointAtTheirBytes) {
  const codec::VlenCodec c("vlen-utf8", 1, true);
  Buffer b = items({"ab", "", "h\xc3\xa9llo"}, 3);
  const codec::ChunkSpec spec{{3}, DataType{DTypeKind::String, cuzarr::kVlenRecordSize, {}}};
  const codec::ChunkView view = c.decode(b, spec, kCtx);
  EXPECT_EQ(item_at(view, 0), "ab");
  EXPECT_EQ(item_at(view, 1), "");
  EXPECT_EQ(item_at(view, 2), "h\xc3\xa9llo");
  // The records are relative to themselves: a copy of the buffer decodes the same.
  const Buffer copy = Buffer::copy_of(b.span());
  EXPECT_EQ(item_at(codec::ChunkView{copy.data(), {3}, {16}}, 2), "h\xc3\xa9llo");
}

TEST(VlenCodec, MalformedChunksAreCodecErrors) {
  const codec::ChunkSpec spec{{2}, DataType{DTypeKind::String, cuzarr::kVlenRecordSize, {}}};
  const codec::VlenCodec c("vlen-utf8", 1, true);
  const std::vector<std::pair<Buffer, std::string>> cases = [] {
    std::vector<std::pair<Buffer, std::string>> v;
    v.emplace_back(Buffer(2), "too short for the item count");
    v.emplace_back(items({"a"}, 1), "holds 1 items, expected 2");
    v.emplace_back(items({"a"}, 2), "item 1 of 2: chunk ends inside its length");
    Buffer over = items({"a", "bcd"}, 2);
    over.truncate(over.size() - 1);
    v.emplace_back(std::move(over), "item 1 has length 3 but only 2 bytes follow");
    v.emplace_back(items({"a", "b", "c"}, 2), "5 bytes follow the last item");
    v.emplace_back(items({"a", "\xc0\xaf"}, 2), "item 1 is not valid UTF-8");
    return v;
  }();
  for (const auto& [chunk, message] : cases) {
    Buffer b = Buffer::copy_of(chunk.span());
    try {
      c.decode(b, spec, kCtx);
      ADD_FAILURE() << "no error for: " << message;
    } catch (const cuzarr::CodecError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(message), std::string::npos) << what;
      EXPECT_NE(what.find("store/arr"), std::string::npos) << what;
      EXPECT_NE(what.find("chunk 'c/0'"), std::string::npos) << what;
    }
  }
  const codec::VlenCodec arr("vlen-array", 4, false);
  Buffer b = items({"abcd", "ab"}, 2);
  EXPECT_THROW(arr.decode(b, spec, kCtx), cuzarr::CodecError);
}

TEST(VlenCodec, ChainChecksCodecAgainstDataType) {
  const codec::ChunkSpec text{{4}, DataType{DTypeKind::String, cuzarr::kVlenRecordSize, {}}};
  const std::vector<std::byte> fill(16, std::byte{0});
  const auto chain = codec::CodecChain::prepare({{"vlen-utf8", Json::object()}, {"zstd", Json::object()}}, text, fill, "a");
  EXPECT_EQ(chain.describe(), "vlen-utf8, zstd");
  EXPECT_FALSE(chain.can_decode_into());
  EXPECT_THROW(codec::CodecChain::prepare({{"bytes", Json::object()}}, text, fill, "a"), cuzarr::MetadataError);
  EXPECT_THROW(codec::CodecChain::prepare({{"vlen-bytes", Json::object()}}, text, fill, "a"), cuzarr::MetadataError);
  // Only transposes may come before a vlen codec: other array→array codecs would rewrite records.
  EXPECT_EQ(codec::CodecChain::prepare({{"transpose", Json{{"order", {0}}}}, {"vlen-utf8", Json::object()}}, text, fill, "a")
                .describe(),
            "transpose, vlen-utf8");
  EXPECT_THROW(codec::CodecChain::prepare({{"shuffle", Json{{"elementsize", 16}}}, {"vlen-utf8", Json::object()}}, text, fill, "a"),
               cuzarr::UnsupportedError);
  // Sharded vlen arrays: the shard codec alone (read by the partial reader), not nested.
  const Json inner = Json::parse(R"({"chunk_shape": [2], "codecs": [{"name": "vlen-utf8"}]})");
  EXPECT_NO_THROW(codec::CodecChain::prepare({{"sharding_indexed", inner}}, text, fill, "a"));
  EXPECT_THROW(codec::CodecChain::prepare({{"sharding_indexed", inner}, {"zstd", Json::object()}}, text, fill, "a"),
               cuzarr::UnsupportedError);
  const Json nested = Json::parse(R"({"chunk_shape": [2], "codecs": [{"name": "sharding_indexed",
      "configuration": {"chunk_shape": [1], "codecs": [{"name": "vlen-utf8"}]}}]})");
  EXPECT_THROW(codec::CodecChain::prepare({{"sharding_indexed", nested}}, text, fill, "a"), cuzarr::UnsupportedError);
  const codec::ChunkSpec fixed{{4}, DataType{DTypeKind::Float, 4, {}}};
  EXPECT_THROW(codec::CodecChain::prepare({{"vlen-utf8", Json::object()}}, fixed, fill, "a"), cuzarr::MetadataError);
}

TEST(Utf8, RejectsMalformedSequences) {
  EXPECT_TRUE(md::valid_utf8("plain \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"));
  for (const char* bad : {"\x80", "\xc3", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff"}) {
    EXPECT_FALSE(md::valid_utf8(bad)) << bad;
  }
  std::vector<char32_t> cps;
  ASSERT_TRUE(md::decode_utf8("a\xc3\xa9\xf0\x9f\x98\x80", cps));
  EXPECT_EQ(cps, (std::vector<char32_t>{U'a', 0xe9, 0x1f600}));
}

}  // namespace
