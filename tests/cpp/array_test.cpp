// End to end through the public API: stores written by hand (metadata JSON and raw chunk files,
// little and big endian, some chunks missing), opened with cuzarr::open and read back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <typeinfo>
#include <variant>
#include <vector>

#include "cuzarr/array.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/selection.hpp"

namespace fs = std::filesystem;

namespace {

using Ints = std::vector<std::int64_t>;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("cuzarr_array_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  void write(const std::string& rel, const std::string& content) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel, std::ios::binary) << content;
  }
  void write(const std::string& rel, const std::vector<unsigned char>& bytes) const {
    write(rel, std::string(bytes.begin(), bytes.end()));
  }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

// Appends `v` to `out` with the given byte order.
template <typename T>
void put(std::vector<unsigned char>& out, T v, bool big_endian) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  const bool native_big = std::endian::native == std::endian::big;
  if (big_endian != native_big) std::reverse(b, b + sizeof(T));
  out.insert(out.end(), b, b + sizeof(T));
}

// Chunk (cy, cx) of a 2-d array as raw bytes, C order, full chunk size; positions past the array's
// edge hold `junk` (readers must ignore them).
template <typename T>
std::vector<unsigned char> chunk_2d(const std::function<T(std::int64_t, std::int64_t)>& value,
                                    const Ints& shape, const Ints& chunks, std::int64_t cy,
                                    std::int64_t cx, bool big_endian, T junk, bool f_order = false) {
  std::vector<unsigned char> out;
  auto emit = [&](std::int64_t a, std::int64_t b) {
    const std::int64_t i = cy * chunks[0] + a, j = cx * chunks[1] + b;
    put<T>(out, i < shape[0] && j < shape[1] ? value(i, j) : junk, big_endian);
  };
  if (f_order) {
    for (std::int64_t b = 0; b < chunks[1]; ++b) {
      for (std::int64_t a = 0; a < chunks[0]; ++a) emit(a, b);
    }
  } else {
    for (std::int64_t a = 0; a < chunks[0]; ++a) {
      for (std::int64_t b = 0; b < chunks[1]; ++b) emit(a, b);
    }
  }
  return out;
}

template <typename T>
T at(const cuzarr::HostArray& r, const Ints& index) {
  std::int64_t lin = 0;
  for (std::size_t d = 0; d < index.size(); ++d) lin = lin * r.shape[d] + index[d];
  T v;
  std::memcpy(&v, r.data.data() + lin * static_cast<std::int64_t>(sizeof(T)), sizeof(T));
  return v;
}

template <typename E, typename F>
::testing::AssertionResult throws_with(F&& fn, const std::vector<std::string>& needles) {
  try {
    fn();
  } catch (const E& e) {
    if (typeid(e) != typeid(E)) {
      return ::testing::AssertionFailure() << "threw " << typeid(e).name() << ": " << e.what();
    }
    const std::string msg = e.what();
    for (const std::string& n : needles) {
      if (msg.find(n) == std::string::npos) {
        return ::testing::AssertionFailure() << "message lacks '" << n << "': " << msg;
      }
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw " << typeid(e).name() << ": " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// ---------------------------------------------------------------------------------------------
// A 5 x 4 big-endian int32 v2 array in 2 x 3 chunks; chunk "1.1" is missing (fill -1).

const Ints kShape{5, 4};
const Ints kChunks{2, 3};

std::int32_t v2_value(std::int64_t i, std::int64_t j) { return static_cast<std::int32_t>(100 * i + j - 50); }

std::int32_t v2_expected(std::int64_t i, std::int64_t j) {
  return (i == 2 || i == 3) && j == 3 ? -1 : v2_value(i, j);
}

void write_v2_int32(const TempDir& dir, const std::string& prefix) {
  const std::string p = prefix.empty() ? "" : prefix + "/";
  dir.write(p + ".zarray", R"({"zarr_format": 2, "shape": [5, 4], "chunks": [2, 3], "dtype": ">i4",
                               "fill_value": -1, "order": "C", "filters": null, "compressor": null})");
  dir.write(p + ".zattrs", R"({"_ARRAY_DIMENSIONS": ["y", "x"], "units": "m"})");
  for (std::int64_t cy = 0; cy < 3; ++cy) {
    for (std::int64_t cx = 0; cx < 2; ++cx) {
      if (cy == 1 && cx == 1) continue;
      dir.write(p + std::to_string(cy) + "." + std::to_string(cx),
                chunk_2d<std::int32_t>(v2_value, kShape, kChunks, cy, cx, true, 0x7f7f7f7f));
    }
  }
}

// The same values as little-endian uint16 (+ 1000) in a v3 array; chunk c/2/0 is missing (fill 7).
std::uint16_t v3_value(std::int64_t i, std::int64_t j) { return static_cast<std::uint16_t>(1000 + 10 * i + j); }

std::uint16_t v3_expected(std::int64_t i, std::int64_t j) { return i == 4 && j < 3 ? 7 : v3_value(i, j); }

void write_v3_uint16(const TempDir& dir, const std::string& prefix) {
  const std::string p = prefix.empty() ? "" : prefix + "/";
  dir.write(p + "zarr.json", R"({
    "zarr_format": 3, "node_type": "array", "shape": [5, 4], "data_type": "uint16",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
    "chunk_key_encoding": {"name": "default"}, "fill_value": 7,
    "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    "dimension_names": ["y", null], "attributes": {"long_name": "counts"}})");
  for (std::int64_t cy = 0; cy < 3; ++cy) {
    for (std::int64_t cx = 0; cx < 2; ++cx) {
      if (cy == 2 && cx == 0) continue;
      dir.write(p + "c/" + std::to_string(cy) + "/" + std::to_string(cx),
                chunk_2d<std::uint16_t>(v3_value, kShape, kChunks, cy, cx, false, 0xabcd));
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// v2

TEST(ArrayV2, MetadataThroughThePublicApi) {
  TempDir dir;
  write_v2_int32(dir, "");
  const cuzarr::Array a = cuzarr::open_array(dir.path());
  EXPECT_EQ(a.shape(), kShape);
  EXPECT_EQ(a.chunks(), kChunks);
  EXPECT_EQ(a.rank(), 2u);
  EXPECT_EQ(a.dtype(), (cuzarr::DataType{cuzarr::DTypeKind::Int, 4, {}}));
  EXPECT_EQ(a.zarr_format(), 2);
  EXPECT_EQ(a.path(), "");
  EXPECT_EQ(a.display_path(), dir.path().string());
  ASSERT_EQ(a.dimension_names().size(), 2u);
  EXPECT_EQ(a.dimension_names()[0], std::optional<std::string>("y"));
  EXPECT_EQ(a.dimension_names()[1], std::optional<std::string>("x"));
  EXPECT_NE(a.attributes_json().find("\"units\":\"m\""), std::string::npos) << a.attributes_json();
  std::int32_t fill;
  ASSERT_EQ(a.fill_value().size(), 4u);
  std::memcpy(&fill, a.fill_value().data(), 4);
  EXPECT_EQ(fill, -1);
  EXPECT_EQ(a.fill_value_json(), "-1");
  EXPECT_EQ(a.codec_chain(), "bytes");
  EXPECT_NE(a.codecs_json().find("\"order\":\"C\""), std::string::npos) << a.codecs_json();
  EXPECT_EQ(a.result_shape(cuzarr::parse_selection("1:3, 2")), (Ints{2}));
}

TEST(ArrayV2, ReadAllWithMissingChunkAsFill) {
  TempDir dir;
  write_v2_int32(dir, "");
  const cuzarr::Array a = cuzarr::open_array(dir.path());
  const cuzarr::HostArray r = a.read();
  EXPECT_EQ(r.shape, kShape);
  EXPECT_EQ(r.dtype, a.dtype());
  ASSERT_EQ(r.data.size(), 5u * 4u * 4u);
  for (std::int64_t i = 0; i < 5; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) EXPECT_EQ(at<std::int32_t>(r, {i, j}), v2_expected(i, j)) << i << "," << j;
  }
}

TEST(ArrayV2, ReadSelections) {
  TempDir dir;
  write_v2_int32(dir, "");
  const cuzarr::Array a = cuzarr::open_array(dir.path());
  {
    const auto r = a.read(cuzarr::parse_selection("1:5:2, [3, 0, 3]"));
    ASSERT_EQ(r.shape, (Ints{2, 3}));
    const Ints is{1, 3}, js{3, 0, 3};
    for (std::size_t p = 0; p < 2; ++p) {
      for (std::size_t q = 0; q < 3; ++q) {
        EXPECT_EQ(at<std::int32_t>(r, {static_cast<std::int64_t>(p), static_cast<std::int64_t>(q)}),
                  v2_expected(is[p], js[q]));
      }
    }
  }
  {
    const auto r = a.read(cuzarr::parse_selection("-1"));
    ASSERT_EQ(r.shape, (Ints{4}));
    for (std::int64_t j = 0; j < 4; ++j) EXPECT_EQ(at<std::int32_t>(r, {j}), v2_expected(4, j));
  }
  {
    const auto r = a.read(cuzarr::parse_selection("3, 3"));
    ASSERT_TRUE(r.shape.empty());
    EXPECT_EQ(at<std::int32_t>(r, {}), -1);
  }
  {
    const auto r = a.read(cuzarr::parse_selection("2:2"));
    EXPECT_EQ(r.shape, (Ints{0, 4}));
    EXPECT_EQ(r.data.size(), 0u);
  }
  EXPECT_THROW(a.read(cuzarr::parse_selection("5")), cuzarr::SelectionError);
  EXPECT_THROW(a.read(cuzarr::parse_selection("0, 0, 0")), cuzarr::SelectionError);
}

TEST(ArrayV2, ReadIntoFOrderedOutput) {
  TempDir dir;
  write_v2_int32(dir, "");
  const cuzarr::Array a = cuzarr::open_array(dir.path());
  std::vector<std::int32_t> out(20, 12345);
  cuzarr::Output o;
  o.data = out.data();
  o.shape = kShape;
  o.byte_strides = {4, 20};  // F order: dimension 0 is the fastest
  a.read_into(cuzarr::Selection::all(), o);
  for (std::int64_t i = 0; i < 5; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) EXPECT_EQ(out[static_cast<std::size_t>(i + 5 * j)], v2_expected(i, j));
  }
  // a dropped dimension, into a strided (every other element) output
  std::vector<std::int32_t> col(8, 12345);
  cuzarr::Output oc;
  oc.data = col.data();
  oc.shape = {4};
  oc.byte_strides = {8};
  a.read_into(cuzarr::parse_selection("1:, 3"), oc);
  for (std::int64_t k = 0; k < 4; ++k) {
    EXPECT_EQ(col[static_cast<std::size_t>(2 * k)], v2_expected(1 + k, 3));
    EXPECT_EQ(col[static_cast<std::size_t>(2 * k + 1)], 12345);
  }
  // reversed (negative strides): data points at the last element
  std::vector<std::int32_t> rev(20, 0);
  cuzarr::Output orv;
  orv.data = rev.data() + 19;
  orv.shape = kShape;
  orv.byte_strides = {-16, -4};
  a.read_into(cuzarr::Selection::all(), orv);
  for (std::int64_t i = 0; i < 5; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) EXPECT_EQ(rev[static_cast<std::size_t>(19 - (4 * i + j))], v2_expected(i, j));
  }
}

TEST(ArrayV2, ReadIntoRejectsMismatchedOutputs) {
  TempDir dir;
  write_v2_int32(dir, "");
  const cuzarr::Array a = cuzarr::open_array(dir.path());
  std::vector<std::int32_t> out(20);
  cuzarr::Output o{out.data(), {4, 5}, {20, 4}};
  EXPECT_TRUE(throws_with<cuzarr::SelectionError>([&] { a.read_into(cuzarr::Selection::all(), o); },
                                                  {dir.path().string(), "shape"}));
  cuzarr::Output strides{out.data(), {5, 4}, {16}};
  EXPECT_THROW(a.read_into(cuzarr::Selection::all(), strides), cuzarr::SelectionError);
  cuzarr::Output null_data{nullptr, {5, 4}, {16, 4}};
  EXPECT_THROW(a.read_into(cuzarr::Selection::all(), null_data), cuzarr::SelectionError);
  // an empty selection never touches the (null) pointer
  cuzarr::Output empty{nullptr, {0, 4}, {16, 4}};
  EXPECT_NO_THROW(a.read_into(cuzarr::parse_selection("3:3"), empty));
}

TEST(ArrayV2, NestedKeysOrderFAndNaNFill) {
  TempDir dir;
  dir.write(".zarray", R"({"zarr_format": 2, "shape": [3, 5], "chunks": [2, 2], "dtype": "<f8",
                           "fill_value": "NaN", "order": "F", "filters": null, "compressor": null,
                           "dimension_separator": "/"})");
  const Ints shape{3, 5}, chunks{2, 2};
  auto value = [](std::int64_t i, std::int64_t j) { return 0.5 * static_cast<double>(i) + 10.0 * static_cast<double>(j); };
  for (std::int64_t cy = 0; cy < 2; ++cy) {
    for (std::int64_t cx = 0; cx < 3; ++cx) {
      if (cy == 1 && cx == 2) continue;
      dir.write(std::to_string(cy) + "/" + std::to_string(cx),
                chunk_2d<double>(value, shape, chunks, cy, cx, false, -999.0, /*f_order=*/true));
    }
  }
  const cuzarr::Array a = cuzarr::open_array(dir.path());
  EXPECT_EQ(a.codec_chain(), "transpose, bytes");
  const auto r = a.read();
  for (std::int64_t i = 0; i < 3; ++i) {
    for (std::int64_t j = 0; j < 5; ++j) {
      const double got = at<double>(r, {i, j});
      if (i == 2 && j == 4) {
        EXPECT_TRUE(std::isnan(got));
      } else {
        EXPECT_EQ(got, value(i, j)) << i << "," << j;
      }
    }
  }
}

TEST(ArrayV2, ChunkOfWrongSizeIsCodecErrorNamingTheKey) {
  TempDir dir;
  write_v2_int32(dir, "arr");
  dir.write(".zgroup", R"({"zarr_format": 2})");
  dir.write("arr/1.0", std::string(10, 'x'));
  const cuzarr::Group g = cuzarr::open_group(dir.path());
  const cuzarr::Array a = g.open_array("arr");
  EXPECT_EQ(a.path(), "arr");
  EXPECT_TRUE(throws_with<cuzarr::CodecError>([&] { a.read(); },
                                              {"arr', chunk '1.0'", "10 bytes", "expected 24"}));
  // chunks the selection does not touch are not read
  EXPECT_NO_THROW(a.read(cuzarr::parse_selection("0:2")));
  EXPECT_NO_THROW(a.read(cuzarr::parse_selection("4")));
}

// ---------------------------------------------------------------------------------------------
// v3

TEST(ArrayV3, ReadLittleEndianWithMissingChunk) {
  TempDir dir;
  write_v3_uint16(dir, "");
  const cuzarr::Array a = cuzarr::open_array(dir.path());
  EXPECT_EQ(a.zarr_format(), 3);
  EXPECT_EQ(a.dtype(), (cuzarr::DataType{cuzarr::DTypeKind::UInt, 2, {}}));
  ASSERT_EQ(a.dimension_names().size(), 2u);
  EXPECT_EQ(a.dimension_names()[0], std::optional<std::string>("y"));
  EXPECT_EQ(a.dimension_names()[1], std::nullopt);
  EXPECT_EQ(a.attributes_json(), R"({"long_name":"counts"})");
  const auto r = a.read();
  for (std::int64_t i = 0; i < 5; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) EXPECT_EQ(at<std::uint16_t>(r, {i, j}), v3_expected(i, j)) << i << "," << j;
  }
  std::vector<std::uint16_t> out(20, 1);
  a.read_into(cuzarr::Selection::all(), cuzarr::Output{out.data(), kShape, {2, 10}});
  for (std::int64_t i = 0; i < 5; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) EXPECT_EQ(out[static_cast<std::size_t>(i + 5 * j)], v3_expected(i, j));
  }
}

TEST(ArrayV3, TransposeAndBigEndian) {
  TempDir dir;
  dir.write("zarr.json", R"({
    "zarr_format": 3, "node_type": "array", "shape": [3, 5], "data_type": "float32",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "."}},
    "fill_value": "-Infinity",
    "codecs": [{"name": "transpose", "configuration": {"order": [1, 0]}},
               {"name": "bytes", "configuration": {"endian": "big"}}]})");
  const Ints shape{3, 5}, chunks{2, 3};
  auto value = [](std::int64_t i, std::int64_t j) { return static_cast<float>(i) - 0.25f * static_cast<float>(j); };
  for (std::int64_t cy = 0; cy < 2; ++cy) {
    for (std::int64_t cx = 0; cx < 2; ++cx) {
      if (cy == 0 && cx == 1) continue;
      // transpose [1, 0]: the stored array is the chunk transposed, i.e. the chunk in F order
      dir.write("c." + std::to_string(cy) + "." + std::to_string(cx),
                chunk_2d<float>(value, shape, chunks, cy, cx, true, 1e30f, /*f_order=*/true));
    }
  }
  const cuzarr::Array a = cuzarr::open_array(dir.path());
  EXPECT_EQ(a.codec_chain(), "transpose, bytes");
  const auto r = a.read();
  for (std::int64_t i = 0; i < 3; ++i) {
    for (std::int64_t j = 0; j < 5; ++j) {
      const float want = i < 2 && j >= 3 ? -INFINITY : value(i, j);
      EXPECT_EQ(at<float>(r, {i, j}), want) << i << "," << j;
    }
  }
  const auto s = a.read(cuzarr::parse_selection("[2, 0], 1::2"));
  ASSERT_EQ(s.shape, (Ints{2, 2}));
  EXPECT_EQ(at<float>(s, {0, 0}), value(2, 1));
  EXPECT_EQ(at<float>(s, {0, 1}), value(2, 3));
  EXPECT_EQ(at<float>(s, {1, 0}), value(0, 1));
  EXPECT_EQ(at<float>(s, {1, 1}), -INFINITY);
}

TEST(ArrayV3, V2KeyEncoding) {
  TempDir dir;
  dir.write("zarr.json", R"({
    "zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "int8",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [3]}},
    "chunk_key_encoding": {"name": "v2", "configuration": {"separator": "."}},
    "fill_value": -5, "codecs": [{"name": "bytes"}]})");
  dir.write("0", std::string("\x01\x02\x03", 3));
  const auto r = cuzarr::open_array(dir.path()).read();
  EXPECT_EQ(at<std::int8_t>(r, {0}), 1);
  EXPECT_EQ(at<std::int8_t>(r, {2}), 3);
  EXPECT_EQ(at<std::int8_t>(r, {3}), -5);
}

TEST(ArrayV3, ZeroDimensional) {
  TempDir dir;
  dir.write("zarr.json", R"({
    "zarr_format": 3, "node_type": "array", "shape": [], "data_type": "int64",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": []}},
    "chunk_key_encoding": {"name": "default"}, "fill_value": 9,
    "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}]})");
  const cuzarr::Array a = cuzarr::open_array(dir.path());
  EXPECT_EQ(a.rank(), 0u);
  auto r = a.read();
  EXPECT_TRUE(r.shape.empty());
  EXPECT_EQ(at<std::int64_t>(r, {}), 9);  // chunk "c" missing
  std::vector<unsigned char> bytes;
  put<std::int64_t>(bytes, -123456789012LL, true);
  dir.write("c", bytes);
  r = a.read();
  EXPECT_EQ(at<std::int64_t>(r, {}), -123456789012LL);
  std::int64_t one = 0;
  a.read_into(cuzarr::Selection::all(), cuzarr::Output{&one, {}, {}});
  EXPECT_EQ(one, -123456789012LL);
  EXPECT_THROW(a.read(cuzarr::parse_selection("0")), cuzarr::SelectionError);
}

// ---------------------------------------------------------------------------------------------
// Groups and consolidated metadata

namespace {

const char* kV2Float = R"({"zarr_format": 2, "shape": [3], "chunks": [2], "dtype": "<f4",
                           "fill_value": 0.5, "order": "C", "filters": null, "compressor": null})";

// A v2 group whose children exist only in .zmetadata (their .zarray files are not on disk), so
// that opening them proves the consolidated metadata was used.
void write_consolidated_v2(const TempDir& dir) {
  const std::string temp = R"({"zarr_format": 2, "shape": [5, 4], "chunks": [2, 3], "dtype": ">i4",
                               "fill_value": -1, "order": "C", "filters": null, "compressor": null})";
  dir.write(".zgroup", R"({"zarr_format": 2})");
  dir.write(".zattrs", R"({"title": "consolidated"})");
  dir.write(".zmetadata", std::string(R"({"zarr_consolidated_format": 1, "metadata": {
      ".zgroup": {"zarr_format": 2},
      ".zattrs": {"title": "consolidated"},
      "temp/.zarray": )") + temp + R"(,
      "temp/.zattrs": {"_ARRAY_DIMENSIONS": ["y", "x"]},
      "precip/.zarray": )" + kV2Float + R"(,
      "sub/.zgroup": {"zarr_format": 2},
      "sub/x/.zarray": )" + kV2Float + R"(}})");
  for (std::int64_t cy = 0; cy < 3; ++cy) {
    for (std::int64_t cx = 0; cx < 2; ++cx) {
      if (cy == 1 && cx == 1) continue;
      dir.write("temp/" + std::to_string(cy) + "." + std::to_string(cx),
                chunk_2d<std::int32_t>(v2_value, kShape, kChunks, cy, cx, true, 0));
    }
  }
  std::vector<unsigned char> x;
  put<float>(x, 1.25f, false);
  put<float>(x, 2.5f, false);
  dir.write("sub/x/0", x);
}

}  // namespace

TEST(Group, ConsolidatedV2) {
  TempDir dir;
  write_consolidated_v2(dir);
  const cuzarr::Group g = cuzarr::open_group(dir.path());
  EXPECT_TRUE(g.consolidated());
  EXPECT_EQ(g.zarr_format(), 2);
  EXPECT_EQ(g.path(), "");
  EXPECT_EQ(g.attributes_json(), R"({"title":"consolidated"})");
  EXPECT_EQ(g.array_names(), (std::vector<std::string>{"precip", "temp"}));
  EXPECT_EQ(g.group_names(), (std::vector<std::string>{"sub"}));

  const cuzarr::Array temp = g.open_array("temp");
  EXPECT_EQ(temp.path(), "temp");
  EXPECT_EQ(temp.display_path(), (dir.path() / "temp").string());
  ASSERT_EQ(temp.dimension_names().size(), 2u);
  EXPECT_EQ(temp.dimension_names()[1], std::optional<std::string>("x"));
  const auto r = temp.read();
  for (std::int64_t i = 0; i < 5; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) EXPECT_EQ(at<std::int32_t>(r, {i, j}), v2_expected(i, j));
  }

  const cuzarr::Group sub = g.open_group("sub");
  EXPECT_TRUE(sub.consolidated());
  EXPECT_EQ(sub.path(), "sub");
  EXPECT_EQ(sub.array_names(), (std::vector<std::string>{"x"}));
  EXPECT_TRUE(sub.group_names().empty());
  const auto x = sub.open_array("x").read();
  EXPECT_EQ(at<float>(x, {0}), 1.25f);
  EXPECT_EQ(at<float>(x, {1}), 2.5f);
  EXPECT_EQ(at<float>(x, {2}), 0.5f);  // chunk "1" missing

  const cuzarr::Node n = g.open("sub/x");
  ASSERT_TRUE(std::holds_alternative<cuzarr::Array>(n));
  EXPECT_EQ(std::get<cuzarr::Array>(n).path(), "sub/x");
  EXPECT_TRUE(std::holds_alternative<cuzarr::Group>(g.open("sub")));

  // the precip array has no chunks at all: every element is the fill value
  const auto p = g.open_array("precip").read();
  for (std::int64_t i = 0; i < 3; ++i) EXPECT_EQ(at<float>(p, {i}), 0.5f);
}

TEST(Group, ConsolidatedIgnoreReadsTheStore) {
  TempDir dir;
  write_consolidated_v2(dir);
  cuzarr::OpenOptions opts;
  opts.consolidated = cuzarr::Consolidated::Ignore;
  const cuzarr::Group g = cuzarr::open_group(dir.path(), opts);
  EXPECT_FALSE(g.consolidated());
  // below the root only chunk files are on disk: no child has metadata of its own
  EXPECT_TRUE(g.array_names().empty());
  EXPECT_TRUE(throws_with<cuzarr::KeyNotFound>([&] { g.open_array("temp"); }, {"temp"}));
}

TEST(Group, ConsolidatedRequire) {
  TempDir dir;
  write_consolidated_v2(dir);
  cuzarr::OpenOptions require;
  require.consolidated = cuzarr::Consolidated::Require;
  const cuzarr::Group g = cuzarr::open_group(dir.path(), require);
  EXPECT_TRUE(g.consolidated());
  EXPECT_TRUE(throws_with<cuzarr::KeyNotFound>([&] { g.open("nothing"); }, {"nothing"}));

  TempDir plain;
  plain.write(".zgroup", R"({"zarr_format": 2})");
  write_v2_int32(plain, "a");
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { cuzarr::open_group(plain.path(), require); },
                                                 {plain.path().string(), "consolidated"}));
  // without Require the same group opens and lists its children from the store
  const cuzarr::Group auto_g = cuzarr::open_group(plain.path());
  EXPECT_FALSE(auto_g.consolidated());
  EXPECT_EQ(auto_g.array_names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(auto_g.open_array("a").read().shape, kShape);

  TempDir v3;
  v3.write("zarr.json", R"({"zarr_format": 3, "node_type": "group", "attributes": {}})");
  EXPECT_THROW(cuzarr::open_group(v3.path(), require), cuzarr::MetadataError);
}

TEST(Group, ConsolidatedV3) {
  TempDir dir;
  const std::string child = R"({"zarr_format": 3, "node_type": "array", "shape": [3],
      "data_type": "int32", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [3]}},
      "chunk_key_encoding": {"name": "default"}, "fill_value": 4,
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]})";
  dir.write("zarr.json", std::string(R"({"zarr_format": 3, "node_type": "group",
      "attributes": {"k": "v"},
      "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": {
        "a": )") + child + R"(,
        "g": {"zarr_format": 3, "node_type": "group", "attributes": {}},
        "g/b": )" + child + R"(}}})");
  std::vector<unsigned char> bytes;
  for (std::int32_t v : {10, 20, 30}) put<std::int32_t>(bytes, v, false);
  dir.write("g/b/c/0", bytes);
  const cuzarr::Group g = cuzarr::open_group(dir.path());
  EXPECT_TRUE(g.consolidated());
  EXPECT_EQ(g.zarr_format(), 3);
  EXPECT_EQ(g.attributes_json(), R"({"k":"v"})");
  EXPECT_EQ(g.array_names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(g.group_names(), (std::vector<std::string>{"g"}));
  EXPECT_EQ(g.open_group("g").array_names(), (std::vector<std::string>{"b"}));
  const auto a = g.open_array("a").read();
  EXPECT_EQ(at<std::int32_t>(a, {1}), 4);
  const auto b = g.open_array("g/b").read();
  EXPECT_EQ(at<std::int32_t>(b, {0}), 10);
  EXPECT_EQ(at<std::int32_t>(b, {2}), 30);
}

TEST(Group, NonConsolidatedListing) {
  TempDir dir;
  dir.write(".zgroup", R"({"zarr_format": 2})");
  write_v2_int32(dir, "b_v2");
  write_v3_uint16(dir, "a_v3");
  dir.write("grp/.zgroup", R"({"zarr_format": 2})");
  dir.write("not_a_node/file", "x");
  const cuzarr::Group g = cuzarr::open_group(dir.path());
  EXPECT_FALSE(g.consolidated());
  EXPECT_EQ(g.array_names(), (std::vector<std::string>{"a_v3", "b_v2"}));
  EXPECT_EQ(g.group_names(), (std::vector<std::string>{"grp"}));
  const auto r = g.open_array("a_v3").read(cuzarr::parse_selection("4"));
  EXPECT_EQ(at<std::uint16_t>(r, {0}), 7);
  EXPECT_EQ(at<std::uint16_t>(r, {3}), v3_value(4, 3));
}

// One broken child does not fail the listing: a v3 child is typed by node_type alone (an unknown
// data type is still an array), one whose zarr.json says nothing readable is Unreadable; opening
// either gives the reason. v2 children are typed by their .zarray / .zgroup.
TEST(Group, ListingGoesOnPastBrokenChildren) {
  TempDir dir;
  dir.write("zarr.json", R"({"zarr_format": 3, "node_type": "group"})");
  write_v3_uint16(dir, "good");
  dir.write("malformed/zarr.json", "{ not json");
  dir.write("no_type/zarr.json", R"({"zarr_format": 3, "node_type": 5})");
  dir.write("typed/zarr.json", R"({"zarr_format": 3, "node_type": "array", "data_type": "no_such_type"})");
  dir.write("sub/zarr.json", R"({"zarr_format": 3, "node_type": "group"})");
  dir.write("v2bad/.zarray", "[]");
  const cuzarr::Group g = cuzarr::open_group(dir.path());
  std::vector<std::pair<std::string, cuzarr::MemberKind>> got;
  for (const auto& m : g.members()) got.emplace_back(m.name, m.kind);
  using K = cuzarr::MemberKind;
  EXPECT_EQ(got, (std::vector<std::pair<std::string, cuzarr::MemberKind>>{
                     {"good", K::Array}, {"malformed", K::Unreadable}, {"no_type", K::Unreadable},
                     {"sub", K::Group}, {"typed", K::Array}, {"v2bad", K::Array}}));
  EXPECT_EQ(g.array_names(), (std::vector<std::string>{"good", "typed", "v2bad"}));
  EXPECT_EQ(g.group_names(), (std::vector<std::string>{"sub"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { g.open("malformed"); }, {"malformed/zarr.json"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { g.open("no_type"); }, {"no_type/zarr.json", "node_type"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { g.open("typed"); }, {"typed/zarr.json", "shape"}));
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { g.open("v2bad"); }, {"v2bad"}));
  EXPECT_EQ(g.open_array("good").shape().size(), 2u);
}

// array_names() promises names sorted; the consolidated v2 listing walks "<name>/.zarray" keys in
// key order, where '-' and '.' sort before '/', so "t-max" came out ahead of "t".
TEST(Group, ConsolidatedNamesAreSorted) {
  TempDir dir;
  dir.write(".zgroup", R"({"zarr_format": 2})");
  dir.write(".zmetadata", std::string(R"({"zarr_consolidated_format": 1, "metadata": {
      ".zgroup": {"zarr_format": 2},
      "t/.zarray": )") + kV2Float + R"(, "t-max/.zarray": )" + kV2Float + R"(,
      "t.min/.zarray": )" + kV2Float + R"(, "u/.zgroup": {"zarr_format": 2},
      "u-v/.zgroup": {"zarr_format": 2}}})");
  const cuzarr::Group g = cuzarr::open_group(dir.path());
  ASSERT_TRUE(g.consolidated());
  EXPECT_EQ(g.array_names(), (std::vector<std::string>{"t", "t-max", "t.min"}));
  EXPECT_EQ(g.group_names(), (std::vector<std::string>{"u", "u-v"}));
}

TEST(Open, MissingPathsAreKeyNotFound) {
  TempDir dir;
  EXPECT_THROW(cuzarr::open(dir.path() / "does_not_exist"), cuzarr::KeyNotFound);
  EXPECT_TRUE(throws_with<cuzarr::KeyNotFound>([&] { cuzarr::open(dir.path()); },
                                               {dir.path().string()}));  // a directory, no metadata
  dir.write(".zgroup", R"({"zarr_format": 2})");
  write_v2_int32(dir, "arr");
  const cuzarr::Group g = cuzarr::open_group(dir.path());
  EXPECT_TRUE(throws_with<cuzarr::KeyNotFound>([&] { g.open("missing"); }, {"missing"}));
  EXPECT_TRUE(throws_with<cuzarr::KeyNotFound>([&] { g.open_array("missing/deeper"); }, {"missing"}));
  // the wrong kind of node
  EXPECT_TRUE(throws_with<cuzarr::KeyNotFound>([&] { cuzarr::open_array(dir.path()); }, {"array"}));
  EXPECT_TRUE(throws_with<cuzarr::KeyNotFound>([&] { cuzarr::open_group(dir.path() / "arr"); }, {"group"}));
  EXPECT_TRUE(throws_with<cuzarr::KeyNotFound>([&] { g.open_group("arr"); }, {"arr"}));
  // names that would leave the store are refused before any file is touched
  EXPECT_THROW(g.open("../x"), cuzarr::StoreError);
  EXPECT_THROW(g.open("/etc"), cuzarr::StoreError);
}

TEST(Open, MalformedMetadataNamesTheDocument) {
  TempDir dir;
  dir.write(".zarray", "{\n  \"zarr_format\": 2,\n  \"shape\": [5,\n}");
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { cuzarr::open(dir.path()); },
                                                 {(dir.path() / ".zarray").string(), "line 4"}));
  TempDir v3;
  v3.write("zarr.json", R"({"zarr_format": 3, "node_type": "array", "shape": [2], "data_type": "int32",
      "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
      "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zzz"}]})");
  EXPECT_TRUE(throws_with<cuzarr::UnsupportedError>([&] { cuzarr::open(v3.path()); },
                                                    {v3.path().string(), "zzz"}));
  TempDir kind;
  kind.write("zarr.json", R"({"zarr_format": 3, "node_type": "table"})");
  EXPECT_TRUE(throws_with<cuzarr::MetadataError>([&] { cuzarr::open(kind.path()); },
                                                 {"zarr.json", "node_type"}));
}
