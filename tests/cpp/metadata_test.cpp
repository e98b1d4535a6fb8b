// Metadata parsing (v2 .zarray/.zattrs, v3 zarr.json), fill values, and the codec chain built
// from the parsed codec list.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <typeinfo>
#include <vector>

#include "codec/bytes_codec.hpp"
#include "codec/codec_chain.hpp"
#include "cuzarr/error.hpp"
#include "metadata/array_meta.hpp"
#include "metadata/dtype_parse.hpp"
#include "metadata/fill_value.hpp"
#include "metadata/json_util.hpp"

namespace {

using cuzarr::DataType;
using cuzarr::DTypeKind;
using cuzarr::Endian;
using cuzarr::metadata::ArrayMeta;
using cuzarr::metadata::CodecSpec;
using cuzarr::metadata::Json;
namespace md = cuzarr::metadata;
namespace codec = cuzarr::codec;

const std::string kDisplay = "mem://store/arr";
const std::string kZarray = kDisplay + "/.zarray";
const std::string kZarrJson = kDisplay + "/zarr.json";

// Runs `fn` and checks that it throws exactly `E` with every one of `needles` in the message.
template <typename E, typename F>
::testing::AssertionResult throws_with(F&& fn, const std::vector<std::string>& needles) {
  try {
    fn();
  } catch (const E& e) {
    if (typeid(e) != typeid(E)) {
      return ::testing::AssertionFailure()
             << "threw a subclass " << typeid(e).name() << " instead of " << typeid(E).name()
             << ": " << e.what();
    }
    const std::string msg = e.what();
    for (const std::string& n : needles) {
      if (msg.find(n) == std::string::npos) {
        return ::testing::AssertionFailure() << "message lacks '" << n << "': " << msg;
      }
    }
    return ::testing::AssertionSuccess() << msg;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << "threw " << typeid(e).name() << " instead of " << typeid(E).name() << ": "
           << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

Json base_v2() {
  return Json::parse(R"({
    "zarr_format": 2, "shape": [10, 20], "chunks": [4, 5], "dtype": "<f8",
    "fill_value": 0, "order": "C", "filters": null, "compressor": null
  })");
}

Json base_v3() {
  return Json::parse(R"({
    "zarr_format": 3, "node_type": "array", "shape": [10, 20], "data_type": "float64",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 5]}},
    "chunk_key_encoding": {"name": "default"},
    "fill_value": 0,
    "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]
  })");
}

ArrayMeta v2(const Json& z, const Json* zattrs = nullptr) {
  return md::parse_v2_array(z, zattrs, "arr", kDisplay);
}
ArrayMeta v3(const Json& doc) { return md::parse_v3_array(doc, "arr", kDisplay); }

const CodecSpec* find_codec(const ArrayMeta& m, const std::string& name) {
  for (const CodecSpec& c : m.codecs) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string endian_name(Endian e) { return e == Endian::Big ? "big" : "little"; }
std::string native_name() { return endian_name(cuzarr::native_endian()); }

template <typename T>
T as(const std::vector<std::byte>& bytes) {
  T v{};
  EXPECT_EQ(bytes.size(), sizeof(T));
  std::memcpy(&v, bytes.data(), std::min(bytes.size(), sizeof(T)));
  return v;
}

template <typename T>
std::vector<std::byte> bytes_of(const T& v) {
  std::vector<std::byte> b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

std::vector<std::byte> fill(const Json& v, const DataType& t, int format = 3,
                            Endian stored = cuzarr::native_endian()) {
  return md::parse_fill_value(v, t, format, stored, "doc");
}

const DataType kBool{DTypeKind::Bool, 1, {}};
const DataType kI8{DTypeKind::Int, 1, {}};
const DataType kI16{DTypeKind::Int, 2, {}};
const DataType kI32{DTypeKind::Int, 4, {}};
const DataType kI64{DTypeKind::Int, 8, {}};
const DataType kU8{DTypeKind::UInt, 1, {}};
const DataType kU16{DTypeKind::UInt, 2, {}};
const DataType kU64{DTypeKind::UInt, 8, {}};
const DataType kF16{DTypeKind::Float, 2, {}};
const DataType kF32{DTypeKind::Float, 4, {}};
const DataType kF64{DTypeKind::Float, 8, {}};
const DataType kC64{DTypeKind::Complex, 8, {}};
const DataType kC128{DTypeKind::Complex, 16, {}};
const DataType kM8ns{DTypeKind::DateTime, 8, "ns"};
const DataType km8s{DTypeKind::TimeDelta, 8, "s"};

}  // namespace

// ---------------------------------------------------------------------------------------------
// JSON helpers

TEST(ParseJson, ValidDocument) {
  const std::string text = R"({"a": [1, 2], "b": "x"})";
  Json j = md::parse_json(std::as_bytes(std::span(text)), "doc");
  EXPECT_EQ(j["a"], Json::parse("[1,2]"));
  EXPECT_EQ(j["b"], "x");
}

TEST(ParseJson, SyntaxErrorGivesDocumentLineAndColumn) {
  const std::string text = "{\n  \"a\": 1,\n  \"b\": ]\n}\n";
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [&] { md::parse_json(std::as_bytes(std::span(text)), "store/arr/.zarray"); },
      {"store/arr/.zarray", "line 3", "column 8"}));
}

TEST(ParseJson, ErrorOnFirstLine) {
  const std::string text = R"({"a": 1,, "b": 2})";
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [&] { md::parse_json(std::as_bytes(std::span(text)), "x/zarr.json"); },
      {"x/zarr.json", "line 1, column 9"}));
}

TEST(ParseJson, TruncatedAndEmptyDocuments) {
  const std::string truncated = "{\"shape\": [1,\n";
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [&] { md::parse_json(std::as_bytes(std::span(truncated)), "t/.zarray"); },
      {"t/.zarray", "line "}));
  const std::string empty;
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [&] { md::parse_json(std::as_bytes(std::span(empty)), "e/.zarray"); },
      {"e/.zarray", "line 1, column 1"}));
}

// The comment in parse_json says nlohmann's "[json.exception.parse_error.101] parse error at
// line L, column C: " prefix is dropped, keeping only nlohmann's description of the problem.
TEST(ParseJson, MessageDropsNlohmannPrefixButKeepsReason) {
  const std::string text = "{\n  \"a\": 1,\n  \"b\": ]\n}\n";
  try {
    md::parse_json(std::as_bytes(std::span(text)), "doc");
    FAIL() << "no exception";
  } catch (const cuzarr::MetadataError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find("json.exception"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected ']'"), std::string::npos) << msg;
  }
}

TEST(JsonUtil, TypeNames) {
  EXPECT_EQ(md::json_type_name(Json(nullptr)), "null");
  EXPECT_EQ(md::json_type_name(Json::object()), "an object");
  EXPECT_EQ(md::json_type_name(Json::array()), "an array");
  EXPECT_EQ(md::json_type_name(Json("s")), "a string");
  EXPECT_EQ(md::json_type_name(Json(true)), "a boolean");
  EXPECT_EQ(md::json_type_name(Json(-3)), "an integer");
  EXPECT_EQ(md::json_type_name(Json(3u)), "an integer");
  EXPECT_EQ(md::json_type_name(Json(1.5)), "a number");
}

TEST(JsonUtil, RequireHelpers) {
  const Json obj = Json::parse(R"({"n": 3, "big": 18446744073709551615, "s": "x",
                                   "l": [1, 2, 3], "neg": [1, -1], "f": 2.5})");
  EXPECT_EQ(md::require_int(obj["n"], "'n'", "doc"), 3);
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [&] { md::require_int(obj["big"], "'big'", "doc"); }, {"doc", "'big'", "too large"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [&] { md::require_int(obj["f"], "'f'", "doc"); }, {"doc", "'f'", "integer", "2.5"}));
  EXPECT_EQ(md::require_string(obj, "s", "doc"), "x");
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { md::require_string(obj, "n", "doc"); },
                                                 {"doc", "'n'", "string"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { md::require_field(obj, "zz", "doc"); },
                                                 {"doc", "'zz'", "missing"}));
  EXPECT_EQ(md::require_int_list(obj, "l", 0, "doc"), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [&] { md::require_int_list(obj, "neg", 0, "doc"); }, {"doc", "'neg'[1]", "-1"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [&] { md::require_object(obj["l"], "the thing", "doc"); }, {"doc", "the thing", "an array"}));
}

// ---------------------------------------------------------------------------------------------
// v2 data types

struct V2DtypeCase {
  const char* dtype;
  DTypeKind kind;
  int size;
  const char* unit;
  const char* endian;  // nullptr: native (single-byte types have no byte order)
};

TEST(V2Array, EveryDtype) {
  const V2DtypeCase cases[] = {
      {"|b1", DTypeKind::Bool, 1, "", nullptr},
      {"|i1", DTypeKind::Int, 1, "", nullptr},
      {"|u1", DTypeKind::UInt, 1, "", nullptr},
      {"<i1", DTypeKind::Int, 1, "", nullptr},
      {">u1", DTypeKind::UInt, 1, "", nullptr},
      {"<i2", DTypeKind::Int, 2, "", "little"},
      {"<i4", DTypeKind::Int, 4, "", "little"},
      {"<i8", DTypeKind::Int, 8, "", "little"},
      {">i2", DTypeKind::Int, 2, "", "big"},
      {">i4", DTypeKind::Int, 4, "", "big"},
      {">i8", DTypeKind::Int, 8, "", "big"},
      {"<u2", DTypeKind::UInt, 2, "", "little"},
      {"<u4", DTypeKind::UInt, 4, "", "little"},
      {"<u8", DTypeKind::UInt, 8, "", "little"},
      {">u2", DTypeKind::UInt, 2, "", "big"},
      {">u4", DTypeKind::UInt, 4, "", "big"},
      {">u8", DTypeKind::UInt, 8, "", "big"},
      {"<f2", DTypeKind::Float, 2, "", "little"},
      {"<f4", DTypeKind::Float, 4, "", "little"},
      {"<f8", DTypeKind::Float, 8, "", "little"},
      {">f2", DTypeKind::Float, 2, "", "big"},
      {">f4", DTypeKind::Float, 4, "", "big"},
      {">f8", DTypeKind::Float, 8, "", "big"},
      {"<c8", DTypeKind::Complex, 8, "", "little"},
      {"<c16", DTypeKind::Complex, 16, "", "little"},
      {">c8", DTypeKind::Complex, 8, "", "big"},
      {">c16", DTypeKind::Complex, 16, "", "big"},
      {"<M8[ns]", DTypeKind::DateTime, 8, "ns", "little"},
      {">M8[D]", DTypeKind::DateTime, 8, "D", "big"},
      {"<m8[10s]", DTypeKind::TimeDelta, 8, "10s", "little"},
      {"<m8[us]", DTypeKind::TimeDelta, 8, "us", "little"},
  };
  for (const V2DtypeCase& c : cases) {
    SCOPED_TRACE(c.dtype);
    Json z = base_v2();
    z["dtype"] = c.dtype;
    z["fill_value"] = c.kind == DTypeKind::Complex ? Json::parse("[0, 0]") : Json(0);
    if (c.kind == DTypeKind::Bool) z["fill_value"] = false;
    const ArrayMeta m = v2(z);
    EXPECT_EQ(m.dtype.kind, c.kind);
    EXPECT_EQ(m.dtype.size, c.size);
    EXPECT_EQ(m.dtype.unit, c.unit);
    ASSERT_EQ(m.codecs.size(), 1u);
    EXPECT_EQ(m.codecs[0].name, "bytes");
    EXPECT_EQ(m.codecs[0].configuration["endian"], c.endian ? std::string(c.endian) : native_name());
    EXPECT_EQ(m.fill_value, std::vector<std::byte>(static_cast<std::size_t>(c.size)));
  }
}

TEST(V2Dtype, ParseDirectlyReturnsStoredOrder) {
  auto [t, e] = md::parse_v2_dtype(Json(">f4"), "doc");
  EXPECT_EQ(t, (DataType{DTypeKind::Float, 4, {}}));
  EXPECT_EQ(e, Endian::Big);
  auto [t2, e2] = md::parse_v2_dtype(Json("=i4"), "doc");
  EXPECT_EQ(t2, kI32);
  EXPECT_EQ(e2, cuzarr::native_endian());
}

TEST(V2Dtype, Names) {
  EXPECT_EQ(md::parse_v2_dtype(Json("<M8[ns]"), "d").first.name(), "datetime64[ns]");
  EXPECT_EQ(md::parse_v2_dtype(Json("<m8[10s]"), "d").first.name(), "timedelta64[10s]");
  EXPECT_EQ(md::parse_v2_dtype(Json(">c16"), "d").first.name(), "complex128");
  EXPECT_EQ(md::parse_v2_dtype(Json("|b1"), "d").first.numpy_str(), "|b1");
}

TEST(V2Dtype, UnknownAndUnsupported) {
  for (const char* bad : {"<q9", "<i3", "<u16", "<f3", "<c4", "|b2", "f4", "<", "", "xf4",
                          "<M8", "<M8[xs]", "<M8ns]", "<i4x", "<m4[s]"}) {
    EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { md::parse_v2_dtype(Json(bad), "doc"); },
                                                   {"doc", "dtype"}))
        << bad;
  }
  for (const char* unsupported : {"|V8", "|O8", "<f16"}) {
    EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>(
        [&] { md::parse_v2_dtype(Json(unsupported), "doc"); }, {"doc", unsupported}))
        << unsupported;
  }
}

// Object arrays ("|O") are typed by their object codec, which parse_v2_array reads; the dtype
// string alone is not enough (see vlen_test.cpp for the object codecs).
TEST(V2Dtype, ObjectDtypeIsUnsupportedNotUnknown) {
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([] { md::parse_v2_dtype(Json("|O"), "doc"); },
                                                    {"doc", "|O"}));
}

// ---------------------------------------------------------------------------------------------
// v2 arrays

TEST(V2Array, BasicFields) {
  const ArrayMeta m = v2(base_v2());
  EXPECT_EQ(m.zarr_format, 2);
  EXPECT_EQ(m.path, "arr");
  EXPECT_EQ(m.display, kDisplay);
  EXPECT_EQ(m.shape, (std::vector<std::int64_t>{10, 20}));
  EXPECT_EQ(m.chunk_shape, (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(m.dtype, kF64);
  EXPECT_EQ(m.rank(), 2u);
  EXPECT_EQ(m.fill_value_json, Json(0));
  EXPECT_TRUE(m.dimension_names.empty());
  EXPECT_EQ(m.attributes, Json::object());
  EXPECT_EQ(m.key_encoding, md::KeyEncoding::V2);
  EXPECT_EQ(m.separator, '.');
  EXPECT_EQ(m.codecs_as_written,
            Json::parse(R"({"order": "C", "filters": null, "compressor": null})"));
}

TEST(V2Array, OrderFPutsReversedTransposeFirst) {
  Json z = base_v2();
  z["order"] = "F";
  z["shape"] = {6, 7, 8};
  z["chunks"] = {2, 3, 4};
  z["dtype"] = ">i2";
  z["compressor"] = Json::parse(R"({"id": "zlib", "level": 1})");
  const ArrayMeta m = v2(z);
  ASSERT_EQ(m.codecs.size(), 3u);
  EXPECT_EQ(m.codecs[0].name, "transpose");
  EXPECT_EQ(m.codecs[0].configuration, Json::parse(R"({"order": [2, 1, 0]})"));
  EXPECT_EQ(m.codecs[1].name, "bytes");
  EXPECT_EQ(m.codecs[1].configuration, Json::parse(R"({"endian": "big"})"));
  EXPECT_EQ(m.codecs[2].name, "zlib");
  EXPECT_EQ(m.codecs_as_written["order"], "F");

  Json z2 = base_v2();
  z2["order"] = "F";
  const ArrayMeta m2 = v2(z2);
  ASSERT_FALSE(m2.codecs.empty());
  EXPECT_EQ(m2.codecs[0].name, "transpose");
  EXPECT_EQ(m2.codecs[0].configuration["order"], Json::parse("[1, 0]"));
}

TEST(V2Array, OrderFOnOneDimensionNeedsNoTranspose) {
  Json z = base_v2();
  z["order"] = "F";
  z["shape"] = {10};
  z["chunks"] = {3};
  const ArrayMeta m = v2(z);
  EXPECT_EQ(find_codec(m, "transpose"), nullptr);
}

TEST(V2Array, CompressorAndFiltersBecomeCodecSpecs) {
  Json z = base_v2();
  z["dtype"] = "<i4";
  z["filters"] = Json::parse(R"([{"id": "delta", "dtype": "<i4", "astype": "<i2"},
                                 {"id": "fixedscaleoffset", "scale": 10, "offset": 0, "dtype": "<i4"}])");
  z["compressor"] =
      Json::parse(R"({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0})");
  const ArrayMeta m = v2(z);
  ASSERT_EQ(m.codecs.size(), 4u);
  EXPECT_EQ(m.codecs[0].name, "delta");
  EXPECT_EQ(m.codecs[0].configuration, Json::parse(R"({"dtype": "<i4", "astype": "<i2"})"));
  EXPECT_EQ(m.codecs[1].name, "fixedscaleoffset");
  EXPECT_EQ(m.codecs[1].configuration,
            Json::parse(R"({"scale": 10, "offset": 0, "dtype": "<i4"})"));
  EXPECT_EQ(m.codecs[2].name, "bytes");
  EXPECT_EQ(m.codecs[2].configuration, Json::parse(R"({"endian": "little"})"));
  EXPECT_EQ(m.codecs[3].name, "blosc");
  EXPECT_EQ(m.codecs[3].configuration,
            Json::parse(R"({"cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0})"));
  EXPECT_EQ(m.codecs_as_written["filters"], z["filters"]);
  EXPECT_EQ(m.codecs_as_written["compressor"], z["compressor"]);
}

// A filter that changes the element type (numcodecs "astype" / "encode_dtype") decides the byte
// order of what is stored; a single-byte encoded type has none and leaves the dtype's order.
TEST(V2Array, StoredByteOrderFollowsTypeChangingFilters) {
  Json z = base_v2();
  z["dtype"] = ">f8";
  z["filters"] = Json::parse(R"([{"id": "fixedscaleoffset", "scale": 10, "offset": 0,
                                  "dtype": ">f8", "astype": "<i2"}])");
  const ArrayMeta m = v2(z);
  const CodecSpec* bytes = find_codec(m, "bytes");
  ASSERT_NE(bytes, nullptr);
  EXPECT_EQ(bytes->configuration["endian"], "little");

  z["dtype"] = "<f8";
  z["filters"] = Json::parse(R"([{"id": "quantize", "digits": 2, "dtype": "<f8", "astype": ">f4"}])");
  EXPECT_EQ(find_codec(v2(z), "bytes")->configuration["endian"], "big");

  z["dtype"] = ">f8";
  z["filters"] = Json::parse(R"([{"id": "fixedscaleoffset", "scale": 1, "offset": 0,
                                  "dtype": ">f8", "astype": "|u1"}])");
  EXPECT_EQ(find_codec(v2(z), "bytes")->configuration["endian"], "big");

  z["filters"] = Json::parse(R"([{"id": "astype", "encode_dtype": "<i4", "decode_dtype": ">f8"}])");
  EXPECT_EQ(find_codec(v2(z), "bytes")->configuration["endian"], "little");

  z["filters"] = Json::parse(R"([{"id": "astype", "encode_dtype": "<q9", "decode_dtype": ">f8"}])");
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v2(z); }, {kZarray, "<q9"}));
}

TEST(V2Array, EmptyFiltersListAndMissingOptionalFields) {
  Json z = base_v2();
  z["filters"] = Json::array();
  z.erase("compressor");
  z.erase("fill_value");
  const ArrayMeta m = v2(z);
  ASSERT_EQ(m.codecs.size(), 1u);
  EXPECT_EQ(m.codecs[0].name, "bytes");
  EXPECT_EQ(m.fill_value, std::vector<std::byte>(8));
}

TEST(V2Array, DimensionSeparator) {
  Json z = base_v2();
  z["shape"] = {10, 20, 30};
  z["chunks"] = {1, 2, 3};
  const std::vector<std::int64_t> coords{0, 1, 2};
  EXPECT_EQ(v2(z).chunk_key(coords), "0.1.2");
  z["dimension_separator"] = ".";
  EXPECT_EQ(v2(z).chunk_key(coords), "0.1.2");
  z["dimension_separator"] = nullptr;
  EXPECT_EQ(v2(z).chunk_key(coords), "0.1.2");
  z["dimension_separator"] = "/";
  EXPECT_EQ(v2(z).chunk_key(coords), "0/1/2");
  const std::vector<std::int64_t> big{12, 0, 345};
  EXPECT_EQ(v2(z).chunk_key(big), "12/0/345");
  z["dimension_separator"] = "-";
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v2(z); },
                                                 {kZarray, "dimension_separator"}));
  z["dimension_separator"] = 1;
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v2(z); },
                                                 {kZarray, "dimension_separator"}));
}

TEST(V2Array, ZeroDimensional) {
  Json z = base_v2();
  z["shape"] = Json::array();
  z["chunks"] = Json::array();
  const ArrayMeta m = v2(z);
  EXPECT_EQ(m.rank(), 0u);
  EXPECT_EQ(m.chunk_key({}), "0");
  z["dimension_separator"] = "/";
  EXPECT_EQ(v2(z).chunk_key({}), "0");
  z["order"] = "F";
  EXPECT_EQ(find_codec(v2(z), "transpose"), nullptr);
}

TEST(V2Array, AttributesAndArrayDimensions) {
  const Json attrs = Json::parse(R"({"units": "K", "_ARRAY_DIMENSIONS": ["y", "x"]})");
  const ArrayMeta m = v2(base_v2(), &attrs);
  EXPECT_EQ(m.attributes, attrs);
  ASSERT_EQ(m.dimension_names.size(), 2u);
  EXPECT_EQ(m.dimension_names[0], std::optional<std::string>("y"));
  EXPECT_EQ(m.dimension_names[1], std::optional<std::string>("x"));

  const Json with_null = Json::parse(R"({"_ARRAY_DIMENSIONS": [null, "x"]})");
  const ArrayMeta m2 = v2(base_v2(), &with_null);
  ASSERT_EQ(m2.dimension_names.size(), 2u);
  EXPECT_EQ(m2.dimension_names[0], std::nullopt);
  EXPECT_EQ(m2.dimension_names[1], std::optional<std::string>("x"));

  // A list of the wrong length is someone else's convention: ignored, not an error.
  const Json wrong = Json::parse(R"({"_ARRAY_DIMENSIONS": ["only_one"]})");
  EXPECT_TRUE(v2(base_v2(), &wrong).dimension_names.empty());
}

TEST(V2Array, AttributesMustBeAnObject) {
  const Json attrs = Json::parse("[1, 2]");
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v2(base_v2(), &attrs); },
                                                 {kDisplay + "/.zattrs", "object"}));
}

TEST(V2Array, FillValueThroughTheDocument) {
  Json z = base_v2();
  z["dtype"] = ">f8";
  z["fill_value"] = "P/gAAAAAAAA=";  // base64 of big-endian 1.5
  EXPECT_EQ(as<double>(v2(z).fill_value), 1.5);
  z["fill_value"] = "NaN";
  EXPECT_TRUE(std::isnan(as<double>(v2(z).fill_value)));
  z["dtype"] = "<i2";
  z["fill_value"] = -7;
  EXPECT_EQ(as<std::int16_t>(v2(z).fill_value), -7);
  EXPECT_EQ(v2(z).fill_value_json, Json(-7));
  z["dtype"] = "|i1";
  z["fill_value"] = 200;
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v2(z); }, {kZarray, "fill_value", "200"}));
}

struct MalformedV2 {
  const char* name;
  const char* patch;  // merged into the base document (null values erase a field)
  std::vector<std::string> needles;
};

TEST(V2Array, MalformedDocuments) {
  const MalformedV2 cases[] = {
      {"shape string", R"({"shape": "10"})", {"'shape'", "array of integers", "a string"}},
      {"shape floats", R"({"shape": [10.5, 20]})", {"'shape'[0]", "integer"}},
      {"shape float integral", R"({"shape": [10.0, 20]})", {"'shape'[0]", "integer"}},
      {"shape missing", R"({"shape": null})", {"'shape'", "missing"}},
      {"chunks missing", R"({"chunks": null})", {"'chunks'", "missing"}},
      {"chunks object", R"({"chunks": {"a": 1}})", {"'chunks'", "an object"}},
      {"dtype number", R"({"dtype": 4})", {"'dtype'", "string", "an integer"}},
      {"dtype missing", R"({"dtype": null})", {"'dtype'", "missing"}},
      {"order X", R"({"order": "X"})", {"order", "\"X\""}},
      {"order missing", R"({"order": null})", {"'order'", "missing"}},
      {"order number", R"({"order": 1})", {"'order'", "string"}},
      {"filters object", R"({"filters": {"id": "delta"}})", {"filters", "an object"}},
      {"filter not object", R"({"filters": ["delta"]})", {"filters[0]", "object"}},
      {"filter without id", R"({"filters": [{"dtype": "<f8"}]})", {"'id'", "missing"}},
      {"compressor string", R"({"compressor": "zlib"})", {"compressor", "object"}},
      {"compressor id number", R"({"compressor": {"id": 3}})", {"'id'", "string"}},
      {"negative shape", R"({"shape": [-1, 20]})", {"'shape'[0]", "-1", ">= 0"}},
      {"zero chunk", R"({"chunks": [4, 0]})", {"'chunks'[1]", "0", ">= 1"}},
      {"negative chunk", R"({"chunks": [-4, 5]})", {"'chunks'[0]", "-4"}},
      {"rank mismatch", R"({"chunks": [4]})", {"shape has 2 dimensions", "chunks has 1"}},
      {"overflow", R"({"shape": [4611686018427387904, 4611686018427387904]})",
       {"shape", "4611686018427387904", "elements"}},
      {"huge chunk", R"({"chunks": [4611686018427387904, 5]})", {"chunk shape"}},
      {"shape too large", R"({"shape": [18446744073709551615, 1]})", {"'shape'[0]", "too large"}},
      {"unknown dtype", R"({"dtype": "<q9"})", {"dtype", "<q9"}},
      {"zarr_format 3", R"({"zarr_format": 3})", {"zarr_format", "3"}},
      {"zarr_format string", R"({"zarr_format": "2"})", {"zarr_format", "integer"}},
      {"zarr_format missing", R"({"zarr_format": null})", {"'zarr_format'", "missing"}},
      {"bad fill", R"({"fill_value": {"a": 1}})", {"fill_value"}},
  };
  for (const MalformedV2& c : cases) {
    SCOPED_TRACE(c.name);
    Json z = base_v2();
    z.merge_patch(Json::parse(c.patch));
    std::vector<std::string> needles = c.needles;
    needles.push_back(kZarray);
    EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v2(z); }, needles));
  }
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v2(Json::parse("[1]")); },
                                                 {kZarray, "object"}));
}

TEST(V2Array, UnsupportedFeatures) {
  Json z = base_v2();
  z["dtype"] = Json::parse(R"([["a", "<i4"], ["b", "<f8"]])");
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([&] { v2(z); }, {kZarray, "structured"}));
  z["dtype"] = "|V8";
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([&] { v2(z); }, {kZarray, "|V8"}));
}

// ---------------------------------------------------------------------------------------------
// v3 arrays

TEST(V3Array, BasicFields) {
  const ArrayMeta m = v3(base_v3());
  EXPECT_EQ(m.zarr_format, 3);
  EXPECT_EQ(m.shape, (std::vector<std::int64_t>{10, 20}));
  EXPECT_EQ(m.chunk_shape, (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(m.dtype, kF64);
  EXPECT_EQ(m.key_encoding, md::KeyEncoding::Default);
  EXPECT_EQ(m.separator, '/');
  ASSERT_EQ(m.codecs.size(), 1u);
  EXPECT_EQ(m.codecs[0].name, "bytes");
  EXPECT_EQ(m.codecs[0].configuration, Json::parse(R"({"endian": "little"})"));
  EXPECT_EQ(m.codecs_as_written, base_v3()["codecs"]);
  EXPECT_TRUE(m.dimension_names.empty());
  EXPECT_EQ(m.attributes, Json::object());
}

TEST(V3Array, EveryCoreDataType) {
  const std::pair<const char*, DataType> cases[] = {
      {"bool", kBool},
      {"int8", kI8},
      {"int16", kI16},
      {"int32", kI32},
      {"int64", kI64},
      {"uint8", kU8},
      {"uint16", kU16},
      {"uint32", DataType{DTypeKind::UInt, 4, {}}},
      {"uint64", kU64},
      {"float16", kF16},
      {"float32", kF32},
      {"float64", kF64},
      {"complex64", kC64},
      {"complex128", kC128},
  };
  for (const auto& [name, type] : cases) {
    SCOPED_TRACE(name);
    Json doc = base_v3();
    doc["data_type"] = name;
    doc["fill_value"] = type.kind == DTypeKind::Complex ? Json::parse("[0, 0]")
                        : type.kind == DTypeKind::Bool  ? Json(false)
                                                        : Json(0);
    const ArrayMeta m = v3(doc);
    EXPECT_EQ(m.dtype, type);
    EXPECT_EQ(m.dtype.name(), name);
    EXPECT_EQ(m.fill_value, std::vector<std::byte>(static_cast<std::size_t>(type.size)));
  }
}

TEST(V3Array, UnknownAndUnsupportedDataTypes) {
  for (const char* bad : {"float17", "int", "Float32", "", "f4"}) {
    Json doc = base_v3();
    doc["data_type"] = bad;
    EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); },
                                                   {kZarrJson, "data type", std::string("'") + bad + "'"}))
        << bad;
  }
  for (const char* unsupported : {"r16", "bfloat16", "numpy.datetime64"}) {
    Json doc = base_v3();
    doc["data_type"] = unsupported;
    EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([&] { v3(doc); }, {kZarrJson, unsupported}))
        << unsupported;
  }
  Json doc = base_v3();
  doc["data_type"] = Json::parse(R"({"name": "numpy.datetime64", "configuration": {"unit": "ns"}})");
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([&] { v3(doc); },
                                                    {kZarrJson, "numpy.datetime64"}));
  doc["data_type"] = 8;
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); },
                                                 {kZarrJson, "'data_type'", "string"}));
}

TEST(V3Array, ChunkKeyEncodings) {
  Json doc = base_v3();
  doc["shape"] = {10, 20, 30};
  doc["chunk_grid"]["configuration"]["chunk_shape"] = {1, 2, 3};
  const std::vector<std::int64_t> coords{0, 1, 2};
  EXPECT_EQ(v3(doc).chunk_key(coords), "c/0/1/2");
  doc["chunk_key_encoding"] = Json::parse(R"({"name": "default", "configuration": {"separator": "/"}})");
  EXPECT_EQ(v3(doc).chunk_key(coords), "c/0/1/2");
  doc["chunk_key_encoding"] = Json::parse(R"({"name": "default", "configuration": {"separator": "."}})");
  EXPECT_EQ(v3(doc).chunk_key(coords), "c.0.1.2");
  doc["chunk_key_encoding"] = Json::parse(R"({"name": "v2"})");
  EXPECT_EQ(v3(doc).key_encoding, md::KeyEncoding::V2);
  EXPECT_EQ(v3(doc).chunk_key(coords), "0.1.2");
  doc["chunk_key_encoding"] = Json::parse(R"({"name": "v2", "configuration": {"separator": "/"}})");
  EXPECT_EQ(v3(doc).chunk_key(coords), "0/1/2");

  doc["chunk_key_encoding"] = Json::parse(R"({"name": "default", "configuration": {"separator": "-"}})");
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); }, {kZarrJson, "separator"}));
  doc["chunk_key_encoding"] = Json::parse(R"({"name": "fancy"})");
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([&] { v3(doc); }, {kZarrJson, "fancy"}));
  doc["chunk_key_encoding"] = "default";
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); },
                                                 {kZarrJson, "chunk_key_encoding", "object"}));
}

TEST(V3Array, ZeroDimensionalChunkKeys) {
  Json doc = base_v3();
  doc["shape"] = Json::array();
  doc["chunk_grid"]["configuration"]["chunk_shape"] = Json::array();
  EXPECT_EQ(v3(doc).rank(), 0u);
  EXPECT_EQ(v3(doc).chunk_key({}), "c");
  doc["chunk_key_encoding"] = Json::parse(R"({"name": "default", "configuration": {"separator": "."}})");
  EXPECT_EQ(v3(doc).chunk_key({}), "c");
  doc["chunk_key_encoding"] = Json::parse(R"({"name": "v2"})");
  EXPECT_EQ(v3(doc).chunk_key({}), "0");
}

TEST(V3Array, DimensionNamesAndAttributes) {
  Json doc = base_v3();
  doc["dimension_names"] = Json::parse(R"(["time", null])");
  doc["attributes"] = Json::parse(R"({"units": "K", "nested": {"a": [1, 2]}})");
  const ArrayMeta m = v3(doc);
  ASSERT_EQ(m.dimension_names.size(), 2u);
  EXPECT_EQ(m.dimension_names[0], std::optional<std::string>("time"));
  EXPECT_EQ(m.dimension_names[1], std::nullopt);
  EXPECT_EQ(m.attributes, doc["attributes"]);

  doc["dimension_names"] = nullptr;
  EXPECT_TRUE(v3(doc).dimension_names.empty());

  doc["dimension_names"] = Json::parse(R"(["a"])");
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); },
                                                 {kZarrJson, "dimension_names", "2"}));
  doc["dimension_names"] = Json::parse(R"(["a", "b", "c"])");
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); }, {kZarrJson, "dimension_names"}));
  doc["dimension_names"] = Json::parse(R"(["a", 3])");
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); }, {kZarrJson, "dimension_names"}));
  doc["dimension_names"] = "ab";
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); }, {kZarrJson, "dimension_names"}));

  doc.erase("dimension_names");
  doc["attributes"] = Json::parse("[1]");
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); }, {kZarrJson, "attributes"}));
}

TEST(V3Array, CodecListForms) {
  Json doc = base_v3();
  doc["data_type"] = "uint8";
  doc["codecs"] = Json::parse(R"(["bytes"])");
  ArrayMeta m = v3(doc);
  ASSERT_EQ(m.codecs.size(), 1u);
  EXPECT_EQ(m.codecs[0].name, "bytes");
  EXPECT_EQ(m.codecs[0].configuration, Json::object());

  doc["codecs"] = Json::parse(R"([{"name": "transpose", "configuration": {"order": [1, 0]}},
                                  {"name": "bytes"}, {"name": "crc32c"}])");
  m = v3(doc);
  ASSERT_EQ(m.codecs.size(), 3u);
  EXPECT_EQ(m.codecs[0].name, "transpose");
  EXPECT_EQ(m.codecs[0].configuration, Json::parse(R"({"order": [1, 0]})"));
  EXPECT_EQ(m.codecs[1].configuration, Json::object());
  EXPECT_EQ(m.codecs[2].name, "crc32c");
}

TEST(V3Array, MustUnderstand) {
  Json doc = base_v3();
  doc["my_extension"] = Json::parse(R"({"must_understand": false, "x": 1})");
  EXPECT_NO_THROW(v3(doc));
  doc["my_extension"] = Json::parse(R"({"must_understand": true})");
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([&] { v3(doc); }, {kZarrJson, "my_extension"}));
  doc["my_extension"] = Json::parse(R"({"x": 1})");
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([&] { v3(doc); }, {kZarrJson, "my_extension"}));
  doc["my_extension"] = 5;
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([&] { v3(doc); }, {kZarrJson, "my_extension"}));
}

TEST(V3Array, StorageTransformers) {
  Json doc = base_v3();
  doc["storage_transformers"] = Json::array();
  EXPECT_NO_THROW(v3(doc));
  doc["storage_transformers"] = Json::parse(R"([{"name": "sharding_like"}])");
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([&] { v3(doc); },
                                                    {kZarrJson, "storage transformers", "sharding_like"}));
  doc["storage_transformers"] = Json::object();
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); },
                                                 {kZarrJson, "storage_transformers"}));
}

struct MalformedV3 {
  const char* name;
  const char* patch;
  std::vector<std::string> needles;
};

TEST(V3Array, MalformedDocuments) {
  const MalformedV3 cases[] = {
      {"shape string", R"({"shape": "10"})", {"'shape'", "a string"}},
      {"shape floats", R"({"shape": [1.5, 2]})", {"'shape'[0]", "integer"}},
      {"shape negative", R"({"shape": [10, -2]})", {"'shape'[1]", "-2"}},
      {"data_type missing", R"({"data_type": null})", {"'data_type'", "missing"}},
      {"chunk_grid missing", R"({"chunk_grid": null})", {"'chunk_grid'", "missing"}},
      {"chunk_grid string", R"({"chunk_grid": "regular"})", {"chunk_grid", "object"}},
      {"chunk_grid no configuration", R"({"chunk_grid": {"configuration": null}})",
       {"'configuration'", "missing"}},
      {"chunk_shape zero", R"({"chunk_grid": {"configuration": {"chunk_shape": [0, 5]}}})",
       {"'chunk_shape'[0]", ">= 1"}},
      {"rank mismatch", R"({"chunk_grid": {"configuration": {"chunk_shape": [4, 5, 6]}}})",
       {"shape has 2 dimensions", "chunk_shape has 3"}},
      {"overflow", R"({"shape": [4611686018427387904, 4611686018427387904]})", {"shape", "elements"}},
      {"chunk_key_encoding missing", R"({"chunk_key_encoding": null})",
       {"'chunk_key_encoding'", "missing"}},
      {"codecs empty", R"({"codecs": []})", {"codecs", "non-empty"}},
      {"codecs object", R"({"codecs": {"name": "bytes"}})", {"codecs"}},
      {"codecs missing", R"({"codecs": null})", {"'codecs'", "missing"}},
      {"codec entry number", R"({"codecs": [3]})", {"codecs[0]", "object"}},
      {"codec without name", R"({"codecs": [{"configuration": {}}]})", {"'name'", "missing"}},
      {"codec configuration array", R"({"codecs": [{"name": "bytes", "configuration": [1]}]})",
       {"codecs[0] configuration", "object"}},
      {"fill_value missing", R"({"fill_value": null})", {"'fill_value'", "missing"}},
      {"fill_value bad", R"({"fill_value": "zero"})", {"fill_value", "zero"}},
  };
  for (const MalformedV3& c : cases) {
    SCOPED_TRACE(c.name);
    Json doc = base_v3();
    doc.merge_patch(Json::parse(c.patch));
    std::vector<std::string> needles = c.needles;
    needles.push_back(kZarrJson);
    EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); }, needles));
  }
  Json doc = base_v3();
  doc["fill_value"] = nullptr;
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(doc); }, {kZarrJson, "fill_value", "null"}));
  doc = base_v3();
  doc["chunk_grid"]["name"] = "rectilinear";
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([&] { v3(doc); }, {kZarrJson, "rectilinear"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { v3(Json::parse("3")); }, {kZarrJson, "object"}));
}

// ---------------------------------------------------------------------------------------------
// Fill values

TEST(FillValue, V2NullIsZeros) {
  EXPECT_EQ(fill(nullptr, kF64, 2), std::vector<std::byte>(8));
  EXPECT_EQ(fill(nullptr, kI32, 2), std::vector<std::byte>(4));
  EXPECT_EQ(fill(nullptr, kC128, 2), std::vector<std::byte>(16));
  EXPECT_EQ(fill(nullptr, kM8ns, 2), std::vector<std::byte>(8));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(nullptr, kF64, 3); }, {"doc", "null"}));
}

TEST(FillValue, Numbers) {
  EXPECT_EQ(as<std::int8_t>(fill(-128, kI8)), -128);
  EXPECT_EQ(as<std::int8_t>(fill(127, kI8)), 127);
  EXPECT_EQ(as<std::uint8_t>(fill(255, kU8)), 255);
  EXPECT_EQ(as<std::int16_t>(fill(-300, kI16)), -300);
  EXPECT_EQ(as<std::int32_t>(fill(-2147483648LL, kI32)), std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(as<std::int64_t>(fill(Json::parse("-9223372036854775808"), kI64)),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(as<std::int64_t>(fill(Json::parse("9223372036854775807"), kI64)),
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(as<std::uint64_t>(fill(Json::parse("18446744073709551615"), kU64)),
            std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(as<std::uint16_t>(fill(65535, kU16)), 65535);
  EXPECT_EQ(as<std::int32_t>(fill(3.0, kI32)), 3);  // an integral float is accepted
  EXPECT_EQ(as<float>(fill(1.5, kF32)), 1.5f);
  EXPECT_EQ(as<float>(fill(0.1, kF32)), 0.1f);
  EXPECT_EQ(as<double>(fill(0.1, kF64)), 0.1);
  EXPECT_EQ(as<double>(fill(-7, kF64)), -7.0);
  EXPECT_EQ(as<std::uint16_t>(fill(1.0, kF16)), 0x3c00);
  EXPECT_EQ(as<std::uint16_t>(fill(-2, kF16)), 0xc000);
  EXPECT_EQ(as<std::uint16_t>(fill(0.1, kF16)), 0x2e66);
}

TEST(FillValue, SpecialFloatStrings) {
  for (int format : {2, 3}) {
    SCOPED_TRACE(format);
    EXPECT_TRUE(std::isnan(as<double>(fill("NaN", kF64, format))));
    EXPECT_EQ(as<double>(fill("Infinity", kF64, format)), std::numeric_limits<double>::infinity());
    EXPECT_EQ(as<double>(fill("-Infinity", kF64, format)), -std::numeric_limits<double>::infinity());
    EXPECT_TRUE(std::isnan(as<float>(fill("NaN", kF32, format))));
    EXPECT_EQ(as<float>(fill("Infinity", kF32, format)), std::numeric_limits<float>::infinity());
    EXPECT_EQ(as<float>(fill("-Infinity", kF32, format)), -std::numeric_limits<float>::infinity());
    EXPECT_EQ(as<std::uint16_t>(fill("NaN", kF16, format)), 0x7e00);
    EXPECT_EQ(as<std::uint16_t>(fill("Infinity", kF16, format)), 0x7c00);
    EXPECT_EQ(as<std::uint16_t>(fill("-Infinity", kF16, format)), 0xfc00);
  }
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill("nan", kF64, 3); }, {"doc", "nan"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill("inf", kF32, 3); }, {"doc", "inf"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(true, kF32, 3); }, {"doc", "float32"}));
}

TEST(FillValue, V3HexBitPatternsAreBitwise) {
  EXPECT_EQ(as<std::uint32_t>(fill("0x7fc00000", kF32)), 0x7fc00000u);
  EXPECT_EQ(as<std::uint32_t>(fill("0x7f800001", kF32)), 0x7f800001u);  // signalling NaN payload
  EXPECT_EQ(as<std::uint32_t>(fill("0x80000000", kF32)), 0x80000000u);  // -0.0
  EXPECT_EQ(as<std::uint16_t>(fill("0x3c00", kF16)), 0x3c00);
  EXPECT_EQ(as<std::uint16_t>(fill("0x7E01", kF16)), 0x7e01);
  EXPECT_EQ(as<std::uint64_t>(fill("0x7ff8000000000000", kF64)), 0x7ff8000000000000ull);
  EXPECT_EQ(as<std::uint64_t>(fill("0x3ff8000000000000", kF64)), 0x3ff8000000000000ull);
  EXPECT_EQ(as<double>(fill("0x3ff8000000000000", kF64)), 1.5);
  // The pattern must have exactly one hex digit pair per byte.
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill("0x7fc0", kF32); }, {"doc", "0x7fc0"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill("0x7fc000000", kF32); }, {"doc"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill("0x7fg00000", kF32); }, {"doc"}));
  // Hex bit patterns are a v3 form; integers never take them.
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill("0x01", kU8); }, {"doc"}));
}

TEST(FillValue, Complex) {
  const auto c64 = fill(Json::parse("[1.5, -2]"), kC64);
  ASSERT_EQ(c64.size(), 8u);
  float parts[2];
  std::memcpy(parts, c64.data(), 8);
  EXPECT_EQ(parts[0], 1.5f);
  EXPECT_EQ(parts[1], -2.0f);

  const auto c128 = fill(Json::parse(R"(["NaN", "-Infinity"])"), kC128, 2);
  double d[2];
  std::memcpy(d, c128.data(), 16);
  EXPECT_TRUE(std::isnan(d[0]));
  EXPECT_EQ(d[1], -std::numeric_limits<double>::infinity());

  const auto hex = fill(Json::parse(R"(["0x7fc00000", "0x3f800000"])"), kC64);
  std::uint32_t bits[2];
  std::memcpy(bits, hex.data(), 8);
  EXPECT_EQ(bits[0], 0x7fc00000u);
  EXPECT_EQ(bits[1], 0x3f800000u);

  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(1.0, kC64); }, {"doc", "complex64"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(Json::parse("[1]"), kC64); }, {"doc"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(Json::parse("[1, 2, 3]"), kC128); },
                                                 {"doc"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(Json::parse(R"([1, "x"])"), kC128); },
                                                 {"doc"}));
}

TEST(FillValue, Bool) {
  EXPECT_EQ(fill(true, kBool), std::vector<std::byte>{std::byte{1}});
  EXPECT_EQ(fill(false, kBool), std::vector<std::byte>{std::byte{0}});
  EXPECT_EQ(fill(1, kBool, 2), std::vector<std::byte>{std::byte{1}});
  EXPECT_EQ(fill(0, kBool, 2), std::vector<std::byte>{std::byte{0}});
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(2, kBool); }, {"doc", "bool"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill("true", kBool, 3); }, {"doc", "bool"}));
}

TEST(FillValue, IntegerRangeErrors) {
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(200, kI8); },
                                                 {"doc", "200", "int8", "out of range"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(-129, kI8); }, {"doc", "-129", "int8"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(-1, kU8); },
                                                 {"doc", "-1", "uint8", "negative"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(256, kU8); }, {"doc", "256", "uint8"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(65536, kU16); }, {"doc", "uint16"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(-1, kU64); }, {"doc", "uint64"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [] { fill(Json::parse("9223372036854775808"), kI64); }, {"doc", "int64", "out of range"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(2147483648LL, kI32); }, {"doc", "int32"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(1.5, kI32); },
                                                 {"doc", "int32", "not an integer"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(-1.0, kU8); }, {"doc", "uint8"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(true, kI32); }, {"doc", "int32"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(Json::parse("[1]"), kI32); }, {"doc"}));
}

// Integral floats far outside the type's range must be rejected like the equivalent integers;
// converting them to a 64-bit integer first is undefined behaviour in C++.
TEST(FillValue, HugeIntegralFloatsAreOutOfRange) {
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(1e20, kU8); }, {"doc", "uint8"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(1e20, kU64); }, {"doc", "uint64"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(1e19, kI64); }, {"doc", "int64"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(-1e19, kI64); }, {"doc", "int64"}));
}

TEST(FillValue, V2Base64) {
  // base64 of the little-endian bytes of 1.5
  EXPECT_EQ(as<double>(fill("AAAAAAAA+D8=", kF64, 2, Endian::Little)), 1.5);
  // the same value stored big-endian ('>f8') decodes to native 1.5
  EXPECT_EQ(as<double>(fill("P/gAAAAAAAA=", kF64, 2, Endian::Big)), 1.5);
  // complex: each part is swapped on its own: big-endian (1.5, -2.0) as float32s
  const auto c = fill("P8AAAMAAAAA=", kC64, 2, Endian::Big);
  float parts[2];
  std::memcpy(parts, c.data(), 8);
  EXPECT_EQ(parts[0], 1.5f);
  EXPECT_EQ(parts[1], -2.0f);
  // single bytes have no order
  EXPECT_EQ(as<std::uint8_t>(fill("/w==", kU8, 2, Endian::Big)), 255);
  EXPECT_EQ(as<std::int16_t>(fill("//8=", kI16, 2, Endian::Big)), -1);
  EXPECT_EQ(as<std::uint16_t>(fill("AQI=", kU16, 2, Endian::Little)), 0x0201);
  EXPECT_EQ(as<std::uint16_t>(fill("AQI=", kU16, 2, Endian::Big)), 0x0102);

  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill("AAAAAA==", kF64, 2); },
                                                 {"doc", "4 bytes", "expected 8"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill("@@@@", kF64, 2); }, {"doc", "base64"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill("AAA", kF64, 2); }, {"doc", "base64"}));
  // a v3 document never holds base64
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill("AAAAAAAA+D8=", kF64, 3); }, {"doc"}));
}

TEST(FillValue, DateTimes) {
  EXPECT_EQ(as<std::int64_t>(fill("NaT", kM8ns, 2)), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(as<std::int64_t>(fill("NaT", km8s, 2)), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(as<std::int64_t>(fill(1000, kM8ns, 2)), 1000);
  EXPECT_EQ(as<std::int64_t>(fill(-5, km8s, 2)), -5);
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([] { fill(1.5, kM8ns, 2); }, {"doc"}));
}

TEST(DecodeBase64, StandardVectors) {
  auto str = [](const std::vector<std::byte>& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  };
  EXPECT_EQ(str(md::decode_base64("", "doc")), "");
  EXPECT_EQ(str(md::decode_base64("TQ==", "doc")), "M");
  EXPECT_EQ(str(md::decode_base64("TWE=", "doc")), "Ma");
  EXPECT_EQ(str(md::decode_base64("TWFu", "doc")), "Man");
  EXPECT_EQ(str(md::decode_base64("Zm9vYmFy", "doc")), "foobar");
  EXPECT_EQ(md::decode_base64("+/+/", "doc"),
            (std::vector<std::byte>{std::byte{0xfb}, std::byte{0xff}, std::byte{0xbf}}));
  for (const char* bad : {"T", "TQ=", "TWFuT", "TW=u", "T===", "TQ*="}) {
    EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { md::decode_base64(bad, "doc"); },
                                                   {"doc", "base64"}))
        << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// float → binary16

TEST(FloatToHalf, ExactCases) {
  EXPECT_EQ(md::float_to_half_bits(0.0), 0x0000);
  EXPECT_EQ(md::float_to_half_bits(-0.0), 0x8000);
  EXPECT_EQ(md::float_to_half_bits(1.0), 0x3c00);
  EXPECT_EQ(md::float_to_half_bits(-2.0), 0xc000);
  EXPECT_EQ(md::float_to_half_bits(0.1), 0x2e66);
  EXPECT_EQ(md::float_to_half_bits(65504.0), 0x7bff);  // largest finite
  EXPECT_EQ(md::float_to_half_bits(65519.99), 0x7bff);  // just below the halfway point
  EXPECT_EQ(md::float_to_half_bits(65520.0), 0x7c00);   // halfway to 2^16: rounds to even = inf
  EXPECT_EQ(md::float_to_half_bits(-65520.0), 0xfc00);
  EXPECT_EQ(md::float_to_half_bits(1e10), 0x7c00);
  EXPECT_EQ(md::float_to_half_bits(std::ldexp(1.0, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(md::float_to_half_bits(std::ldexp(1.0, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(md::float_to_half_bits(std::ldexp(1023.0, -24)), 0x03ff);  // largest subnormal
  // 1023.5 * 2^-24: halfway between the largest subnormal and the smallest normal, ties to even
  EXPECT_EQ(md::float_to_half_bits(std::ldexp(2047.0, -25)), 0x0400);
  EXPECT_EQ(md::float_to_half_bits(std::ldexp(1.0, -25)), 0x0000);  // half of 2^-24: ties to even 0
  EXPECT_EQ(md::float_to_half_bits(-std::ldexp(1.0, -25)), 0x8000);
  EXPECT_EQ(md::float_to_half_bits(std::ldexp(1.0, -25) * 1.0000001), 0x0001);  // above half
  EXPECT_EQ(md::float_to_half_bits(std::ldexp(3.0, -26)), 0x0001);  // 0.75 * 2^-24 rounds up
  EXPECT_EQ(md::float_to_half_bits(std::ldexp(3.0, -25)), 0x0002);  // 1.5 units: ties to even 2
  EXPECT_EQ(md::float_to_half_bits(std::ldexp(5.0, -25)), 0x0002);  // 2.5 units: ties to even 2
  EXPECT_EQ(md::float_to_half_bits(1.0 + std::ldexp(1.0, -11)), 0x3c00);  // tie, even below
  EXPECT_EQ(md::float_to_half_bits(1.0 + std::ldexp(3.0, -11)), 0x3c02);  // tie, even above
  EXPECT_EQ(md::float_to_half_bits(1e-30), 0x0000);
  EXPECT_EQ(md::float_to_half_bits(-1e-300), 0x8000);
  EXPECT_EQ(md::float_to_half_bits(std::numeric_limits<double>::denorm_min()), 0x0000);
  EXPECT_EQ(md::float_to_half_bits(std::numeric_limits<double>::infinity()), 0x7c00);
  EXPECT_EQ(md::float_to_half_bits(-std::numeric_limits<double>::infinity()), 0xfc00);
  EXPECT_EQ(md::float_to_half_bits(std::numeric_limits<double>::quiet_NaN()), 0x7e00);
  EXPECT_EQ(md::float_to_half_bits(-std::numeric_limits<double>::quiet_NaN()), 0xfe00);
}

namespace {

// Reference decoding of binary16 bits (finite values only).
double half_to_double(std::uint16_t h) {
  const int sign = h >> 15;
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  const double magnitude =
      exp == 0 ? std::ldexp(static_cast<double>(mant), -24)
               : std::ldexp(static_cast<double>(mant + 1024), exp - 25);
  return sign ? -magnitude : magnitude;
}

}  // namespace

// Every finite half maps back to itself, and every midpoint between neighbours rounds to the one
// with the even mantissa.
TEST(FloatToHalf, ExhaustiveRoundTripAndTies) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    if (((bits >> 10) & 0x1f) == 0x1f) continue;  // inf / NaN
    const double v = half_to_double(bits);
    ASSERT_EQ(md::float_to_half_bits(v), bits) << "h=" << h << " v=" << v;
    const std::uint16_t next = static_cast<std::uint16_t>(bits + 1);
    if ((bits & 0x7fff) == 0x7bff) continue;  // the next one up is infinity (checked above)
    const double mid = (v + half_to_double(next)) / 2;
    const std::uint16_t even = (bits & 1) ? next : bits;
    ASSERT_EQ(md::float_to_half_bits(mid), even) << "midpoint above h=" << h;
    // Just off the midpoint, the nearer neighbour wins.
    ASSERT_EQ(md::float_to_half_bits(std::nextafter(mid, v)), bits) << "h=" << h;
    ASSERT_EQ(md::float_to_half_bits(std::nextafter(mid, 2 * mid - v)), next) << "h=" << h;
  }
}

// ---------------------------------------------------------------------------------------------
// Codec chain

namespace {

std::vector<CodecSpec> specs(const char* json) {
  std::vector<CodecSpec> out;
  for (const Json& c : Json::parse(json)) {
    out.push_back({c["name"].get<std::string>(), c.value("configuration", Json::object())});
  }
  return out;
}

codec::CodecChain prepare(const char* json, std::vector<std::int64_t> shape, DataType t) {
  const std::vector<std::byte> fill_value(static_cast<std::size_t>(t.size));
  return codec::CodecChain::prepare(specs(json), codec::ChunkSpec{std::move(shape), t}, fill_value,
                                    "the/array");
}

template <typename T>
cuzarr::Buffer buffer_of(const std::vector<T>& values) {
  return cuzarr::Buffer::copy_of(std::as_bytes(std::span(values)));
}

template <typename T>
T view_at(const codec::ChunkView& v, std::initializer_list<std::int64_t> index) {
  std::int64_t off = 0;
  std::size_t d = 0;
  for (std::int64_t i : index) off += i * v.byte_strides[d++];
  T x;
  std::memcpy(&x, v.data + off, sizeof(T));
  return x;
}

template <typename T>
T byteswapped(T v) {
  auto b = bytes_of(v);
  std::reverse(b.begin(), b.end());
  T out;
  std::memcpy(&out, b.data(), sizeof(T));
  return out;
}

}  // namespace

TEST(CodecChain, PrepareBytesOnly) {
  auto chain = prepare(R"([{"name": "bytes", "configuration": {"endian": "little"}}])", {3, 4}, kI32);
  EXPECT_EQ(chain.describe(), "bytes");
  EXPECT_EQ(chain.fixed_encoded_size(), std::optional<std::int64_t>(48));
  // single-byte types may leave out the byte order
  auto u8 = prepare(R"([{"name": "bytes"}])", {5}, kU8);
  EXPECT_EQ(u8.fixed_encoded_size(), std::optional<std::int64_t>(5));
  auto b = prepare(R"([{"name": "bytes", "configuration": {}}])", {5}, kBool);
  EXPECT_EQ(b.describe(), "bytes");
}

TEST(CodecChain, PrepareWithTranspose) {
  auto chain = prepare(R"([{"name": "transpose", "configuration": {"order": [1, 0]}},
                           {"name": "bytes", "configuration": {"endian": "big"}}])",
                       {3, 4}, kI32);
  EXPECT_EQ(chain.describe(), "transpose, bytes");
  EXPECT_EQ(chain.fixed_encoded_size(), std::optional<std::int64_t>(48));
  EXPECT_NO_THROW(prepare(R"([{"name": "transpose", "configuration": {"order": "F"}},
                              {"name": "bytes", "configuration": {"endian": "little"}}])",
                          {3, 4, 5}, kF32));
  EXPECT_NO_THROW(prepare(R"([{"name": "transpose", "configuration": {"order": "C"}},
                              {"name": "bytes", "configuration": {"endian": "little"}}])",
                          {3, 4}, kF32));
}

TEST(CodecChain, UnknownCodecIsUnsupported) {
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>(
      [] {
        prepare(R"([{"name": "bytes", "configuration": {"endian": "little"}},
                    {"name": "fancyzip"}])",
                {4}, kF32);
      },
      {"the/array", "fancyzip"}));
}

TEST(CodecChain, ConfigurationErrors) {
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [] { prepare(R"([{"name": "bytes"}])", {4}, kF32); }, {"the/array", "bytes", "endian"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [] { prepare(R"([{"name": "bytes", "configuration": {"endian": "middle"}}])", {4}, kI16); },
      {"the/array", "bytes", "endian"}));
  const char* bad_orders[] = {"[0, 0]", "[0, 1, 2]", "[1]", "[1, 2]", "[-1, 0]", "[0.5, 1]",
                              "\"X\"", "{}", "null"};
  for (const char* order : bad_orders) {
    const std::string json = std::string(R"([{"name": "transpose", "configuration": {"order": )") +
                             order + R"(}}, {"name": "bytes", "configuration": {"endian": "little"}}])";
    EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { prepare(json.c_str(), {3, 4}, kF32); },
                                                   {"the/array", "transpose", "order"}))
        << order;
  }
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [] {
        prepare(R"([{"name": "bytes", "configuration": {"endian": "little"}},
                    {"name": "bytes", "configuration": {"endian": "big"}}])",
                {4}, kF32);
      },
      {"the/array", "more than one array-to-bytes"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [] {
        prepare(R"([{"name": "bytes", "configuration": {"endian": "little"}},
                    {"name": "transpose", "configuration": {"order": [1, 0]}}])",
                {3, 4}, kF32);
      },
      {"the/array", "transpose", "before"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [] { prepare(R"([{"name": "transpose", "configuration": {"order": [1, 0]}}])", {3, 4}, kF32); },
      {"the/array", "array-to-bytes"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>(
      [] {
        prepare(R"([{"name": "crc32c"}, {"name": "bytes", "configuration": {"endian": "little"}}])",
                {4}, kF32);
      },
      {"the/array", "crc32c", "after"}));
}

TEST(CodecChain, DescribeListsStorageOrder) {
  auto chain = prepare(R"([{"name": "transpose", "configuration": {"order": [1, 0]}},
                           {"name": "bytes", "configuration": {"endian": "little"}},
                           {"name": "zstd", "configuration": {"level": 3}},
                           {"name": "crc32c"}])",
                       {3, 4}, kF32);
  EXPECT_EQ(chain.describe(), "transpose, bytes, zstd, crc32c");
  EXPECT_EQ(chain.fixed_encoded_size(), std::nullopt);  // compressed: no fixed size
}

TEST(CodecChain, DecodesLittleEndianInPlace) {
  auto chain = prepare(R"([{"name": "bytes", "configuration": {"endian": "little"}}])", {2, 3}, kI32);
  std::vector<std::int32_t> values{1, -2, 3, -4, 5, 600000};
  std::vector<std::byte> le;
  for (std::int32_t v : values) {
    for (int b = 0; b < 4; ++b) le.push_back(static_cast<std::byte>((static_cast<std::uint32_t>(v) >> (8 * b)) & 0xff));
  }
  auto decoded = chain.decode(cuzarr::Buffer::copy_of(le), {"the/array", "c/0/0"});
  EXPECT_EQ(decoded.view.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(decoded.view.byte_strides, (std::vector<std::int64_t>{12, 4}));
  for (std::int64_t i = 0; i < 2; ++i) {
    for (std::int64_t j = 0; j < 3; ++j) {
      EXPECT_EQ(view_at<std::int32_t>(decoded.view, {i, j}), values[i * 3 + j]);
    }
  }
}

TEST(CodecChain, BigEndianDecodeSwaps) {
  {
    std::vector<std::uint16_t> v{0x0102, 0xa0b0, 7};
    std::vector<std::uint16_t> be;
    for (auto x : v) be.push_back(cuzarr::native_endian() == Endian::Big ? x : byteswapped(x));
    auto chain = prepare(R"([{"name": "bytes", "configuration": {"endian": "big"}}])", {3}, kU16);
    auto d = chain.decode(buffer_of(be), {"a", "k"});
    for (std::int64_t i = 0; i < 3; ++i) EXPECT_EQ(view_at<std::uint16_t>(d.view, {i}), v[i]);
  }
  {
    std::vector<double> v{1.5, -0.1, 1e300};
    std::vector<double> be;
    for (auto x : v) be.push_back(cuzarr::native_endian() == Endian::Big ? x : byteswapped(x));
    auto chain = prepare(R"([{"name": "bytes", "configuration": {"endian": "big"}}])", {3}, kF64);
    auto d = chain.decode(buffer_of(be), {"a", "k"});
    for (std::int64_t i = 0; i < 3; ++i) EXPECT_EQ(view_at<double>(d.view, {i}), v[i]);
  }
  {
    // complex64: two big-endian float32s per element, each swapped on its own
    std::vector<float> v{1.5f, -2.25f, 3.0f, 1e-3f};
    std::vector<float> be;
    for (auto x : v) be.push_back(cuzarr::native_endian() == Endian::Big ? x : byteswapped(x));
    auto chain = prepare(R"([{"name": "bytes", "configuration": {"endian": "big"}}])", {2}, kC64);
    auto d = chain.decode(buffer_of(be), {"a", "k"});
    for (std::int64_t i = 0; i < 2; ++i) {
      float parts[2];
      std::memcpy(parts, d.view.data + i * d.view.byte_strides[0], 8);
      EXPECT_EQ(parts[0], v[2 * i]);
      EXPECT_EQ(parts[1], v[2 * i + 1]);
    }
  }
  {
    std::vector<double> v{1.5, -2.5, 0.25, 8.0};
    std::vector<double> be;
    for (auto x : v) be.push_back(cuzarr::native_endian() == Endian::Big ? x : byteswapped(x));
    auto chain = prepare(R"([{"name": "bytes", "configuration": {"endian": "big"}}])", {2}, kC128);
    auto d = chain.decode(buffer_of(be), {"a", "k"});
    double parts[4];
    std::memcpy(parts, d.view.data, 32);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(parts[i], v[i]);
  }
  {
    // single bytes are never swapped
    std::vector<std::int8_t> v{1, -2, 3};
    auto chain = prepare(R"([{"name": "bytes", "configuration": {"endian": "big"}}])", {3}, kI8);
    auto d = chain.decode(buffer_of(v), {"a", "k"});
    for (std::int64_t i = 0; i < 3; ++i) EXPECT_EQ(view_at<std::int8_t>(d.view, {i}), v[i]);
  }
}

TEST(CodecChain, ByteswapInPlace) {
  std::vector<std::uint32_t> v{0x01020304u, 0xa1b2c3d4u};
  codec::byteswap_in_place(reinterpret_cast<std::byte*>(v.data()), 2, DataType{DTypeKind::UInt, 4, {}});
  EXPECT_EQ(v[0], 0x04030201u);
  EXPECT_EQ(v[1], 0xd4c3b2a1u);
  std::vector<std::uint32_t> c{0x01020304u, 0x05060708u};
  codec::byteswap_in_place(reinterpret_cast<std::byte*>(c.data()), 1, kC64);
  EXPECT_EQ(c[0], 0x04030201u);
  EXPECT_EQ(c[1], 0x08070605u);
}

TEST(CodecChain, TransposeDecodeIsAStridedView) {
  // decoded chunk shape (2, 3); stored as the transposed (3, 2) array in C order
  auto chain = prepare(R"([{"name": "transpose", "configuration": {"order": [1, 0]}},
                           {"name": "bytes", "configuration": {"endian": "little"}}])",
                       {2, 3}, kI16);
  std::vector<std::int16_t> stored;
  for (std::int16_t j = 0; j < 3; ++j) {
    for (std::int16_t i = 0; i < 2; ++i) stored.push_back(static_cast<std::int16_t>(10 * i + j));
  }
  auto d = chain.decode(buffer_of(stored), {"a", "k"});
  EXPECT_EQ(d.view.shape, (std::vector<std::int64_t>{2, 3}));
  for (std::int64_t i = 0; i < 2; ++i) {
    for (std::int64_t j = 0; j < 3; ++j) EXPECT_EQ(view_at<std::int16_t>(d.view, {i, j}), 10 * i + j);
  }
}

TEST(CodecChain, TransposeThreeDimensions) {
  // order [2, 0, 1]: encoded dim k is decoded dim order[k]; encoded shape (d2, d0, d1).
  const std::vector<std::int64_t> shape{2, 3, 4};
  auto chain = prepare(R"([{"name": "transpose", "configuration": {"order": [2, 0, 1]}},
                           {"name": "bytes", "configuration": {"endian": "little"}}])",
                       shape, kI32);
  std::vector<std::int32_t> stored;
  for (int e0 = 0; e0 < 4; ++e0) {
    for (int e1 = 0; e1 < 2; ++e1) {
      for (int e2 = 0; e2 < 3; ++e2) stored.push_back(100 * e1 + 10 * e2 + e0);  // decoded (e1, e2, e0)
    }
  }
  auto d = chain.decode(buffer_of(stored), {"a", "k"});
  EXPECT_EQ(d.view.shape, shape);
  for (std::int64_t i = 0; i < 2; ++i) {
    for (std::int64_t j = 0; j < 3; ++j) {
      for (std::int64_t k = 0; k < 4; ++k) {
        EXPECT_EQ(view_at<std::int32_t>(d.view, {i, j, k}), 100 * i + 10 * j + k);
      }
    }
  }
}

TEST(CodecChain, V2OrderFChunkDecodes) {
  Json z = base_v2();
  z["shape"] = {2, 3};
  z["chunks"] = {2, 3};
  z["dtype"] = ">i4";
  z["order"] = "F";
  const ArrayMeta m = v2(z);
  auto chain = codec::CodecChain::prepare(m.codecs, {m.chunk_shape, m.dtype}, m.fill_value, m.display);
  EXPECT_EQ(chain.describe(), "transpose, bytes");
  std::vector<std::int32_t> stored;  // column-major, big-endian
  for (int j = 0; j < 3; ++j) {
    for (int i = 0; i < 2; ++i) {
      const std::int32_t v = 10 * i + j - 3;
      stored.push_back(cuzarr::native_endian() == Endian::Big ? v : byteswapped(v));
    }
  }
  auto d = chain.decode(buffer_of(stored), {"a", "0.0"});
  for (std::int64_t i = 0; i < 2; ++i) {
    for (std::int64_t j = 0; j < 3; ++j) EXPECT_EQ(view_at<std::int32_t>(d.view, {i, j}), 10 * i + j - 3);
  }
}

TEST(BytesCodec, WrongSizeNamesChunkKeyAndSizes) {
  codec::BytesCodec bytes(Endian::Little);
  cuzarr::Buffer buf(10);
  const codec::ChunkSpec spec{{2, 2}, kI32};
  EXPECT_EQ(bytes.encoded_size(spec), std::optional<std::int64_t>(16));
  EXPECT_TRUE(throws_with<cuzarr::CodecError>(
      [&] { bytes.decode(buf, spec, {"store/arr", "c/1/0"}); },
      {"store/arr", "'c/1/0'", "bytes", "10", "16"}));

  auto chain = prepare(R"([{"name": "bytes", "configuration": {"endian": "big"}}])", {2, 2}, kI32);
  EXPECT_TRUE(throws_with<cuzarr::CodecError>(
      [&] { chain.decode(cuzarr::Buffer(20), {"store/arr", "0.1"}); },
      {"store/arr", "'0.1'", "20 bytes", "expected 16"}));
  EXPECT_TRUE(throws_with<cuzarr::CodecError>(
      [&] { chain.decode(cuzarr::Buffer(), {"store/arr", "0.1"}); }, {"'0.1'", "0 bytes"}));
}

// The GPU path asks the bytes codec to leave the byte order alone and swaps while it scatters;
// the view records what is still to be swapped.
TEST(BytesCodec, DeferredByteswapLeavesBytesAndMarksTheView) {
  const bool little = cuzarr::native_endian() == Endian::Little;
  const Endian foreign = little ? Endian::Big : Endian::Little;
  codec::BytesCodec bytes(foreign);
  const std::vector<std::uint32_t> raw{0x01020304u, 0xa0b0c0d0u};
  cuzarr::Buffer buf = buffer_of(raw);
  codec::DecodeContext ctx{"a", "k"};
  ctx.defer_byteswap = true;
  const codec::ChunkView v = bytes.decode(buf, {{2}, DataType{DTypeKind::UInt, 4, {}}}, ctx);
  EXPECT_EQ(v.swap_unit, 4);
  EXPECT_EQ(view_at<std::uint32_t>(v, {0}), 0x01020304u);  // untouched
  EXPECT_EQ(view_at<std::uint32_t>(v, {1}), 0xa0b0c0d0u);

  cuzarr::Buffer c = cuzarr::Buffer(16);
  EXPECT_EQ(bytes.decode(c, {{2}, kC64}, ctx).swap_unit, 4);  // complex: per float
  cuzarr::Buffer c2 = cuzarr::Buffer(32);
  EXPECT_EQ(bytes.decode(c2, {{2}, kC128}, ctx).swap_unit, 8);
  cuzarr::Buffer one = cuzarr::Buffer(2);
  EXPECT_EQ(bytes.decode(one, {{2}, kU8}, ctx).swap_unit, 0);  // nothing to swap
  codec::BytesCodec native(cuzarr::native_endian());
  cuzarr::Buffer n = cuzarr::Buffer(8);
  EXPECT_EQ(native.decode(n, {{2}, kI32}, ctx).swap_unit, 0);
  // without deferral the swap happens at once
  cuzarr::Buffer now = buffer_of(raw);
  const codec::ChunkView swapped = bytes.decode(now, {{2}, DataType{DTypeKind::UInt, 4, {}}}, {"a", "k"});
  EXPECT_EQ(swapped.swap_unit, 0);
  EXPECT_EQ(view_at<std::uint32_t>(swapped, {0}), 0x04030201u);
}

TEST(CodecChain, DeferredByteswapSurvivesTransposeButNotFilters) {
  const bool little = cuzarr::native_endian() == Endian::Little;
  const char* foreign = little ? "big" : "little";
  codec::DecodeContext ctx{"a", "k"};
  ctx.defer_byteswap = true;

  const std::string transposed = std::string(R"([{"name": "transpose", "configuration": {"order": [1, 0]}},
      {"name": "bytes", "configuration": {"endian": ")") + foreign + R"("}}])";
  auto chain = prepare(transposed.c_str(), {2, 3}, kI32);
  std::vector<std::int32_t> stored(6);
  for (int k = 0; k < 6; ++k) stored[static_cast<std::size_t>(k)] = byteswapped(static_cast<std::int32_t>(k));
  auto d = chain.decode(buffer_of(stored), ctx);
  EXPECT_EQ(d.view.swap_unit, 4);
  EXPECT_EQ(d.view.byte_strides, (std::vector<std::int64_t>{4, 8}));
  EXPECT_EQ(view_at<std::int32_t>(d.view, {1, 2}), byteswapped(std::int32_t{5}));

  // a filter computes on values, so the chain swaps before it whatever the caller asked
  const std::string filtered = std::string(R"([{"name": "delta", "configuration": {"dtype": "<i4"}},
      {"name": "bytes", "configuration": {"endian": ")") + foreign + R"("}}])";
  auto fchain = prepare(filtered.c_str(), {4}, kI32);
  std::vector<std::int32_t> deltas{5, 1, 1, -2};
  for (auto& x : deltas) x = byteswapped(x);
  auto f = fchain.decode(buffer_of(deltas), ctx);
  EXPECT_EQ(f.view.swap_unit, 0);
  EXPECT_EQ(view_at<std::int32_t>(f.view, {0}), 5);
  EXPECT_EQ(view_at<std::int32_t>(f.view, {3}), 5);  // 5 + 1 + 1 - 2
}
