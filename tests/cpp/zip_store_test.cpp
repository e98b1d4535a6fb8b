// ZipStore on archives written here with libzip: stored and deflated members, ranges, listing,
// the root folder rule, and refusals.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zip.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"

namespace fs = std::filesystem;

namespace {

std::string pattern(std::size_t n, int seed) {
  std::string s(n, '\0');
  std::uint32_t x = 2463534242u + static_cast<std::uint32_t>(seed);
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x % 7 == 0 ? 'a' : x & 0xff);  // partly compressible
  }
  return s;
}

std::string as_string(const cuzarr::Buffer& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

class ZipStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cuzarr_zip_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes an archive of `members` (name -> content); names in `deflate` are compressed.
  fs::path write(const std::string& name, const std::map<std::string, std::string>& members,
                 const std::set<std::string>& deflate = {}) {
    const fs::path path = dir_ / name;
    int err = 0;
    zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    EXPECT_NE(z, nullptr);
    for (const auto& [n, content] : members) {
      zip_source_t* src = zip_source_buffer(z, content.data(), content.size(), 0);
      const zip_int64_t i = zip_file_add(z, n.c_str(), src, ZIP_FL_ENC_UTF_8);
      EXPECT_GE(i, 0);
      zip_set_file_compression(z, static_cast<zip_uint64_t>(i), deflate.count(n) ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
    EXPECT_EQ(zip_close(z), 0);
    return path;
  }

  fs::path dir_;
};

TEST_F(ZipStoreTest, StoredAndDeflatedMembersReadWholeAndByRange) {
  const std::string big = pattern(300000, 1), small = pattern(1000, 2);
  const fs::path p = write("a.zip", {{"zarr.json", "{}"}, {"x/c/0", big}, {"x/c/1", small}}, {"x/c/1"});
  const cuzarr::ZipStore s(p);
  EXPECT_EQ(as_string(*s.get("x/c/0")), big);
  EXPECT_EQ(as_string(*s.get("x/c/1")), small);
  EXPECT_EQ(as_string(*s.get_range("x/c/0", 123457, 5000)), big.substr(123457, 5000));
  EXPECT_EQ(as_string(*s.get_range("x/c/1", 900, 100)), small.substr(900, 100));
  EXPECT_EQ(as_string(*s.get_suffix("x/c/0", 16)), big.substr(big.size() - 16));
  auto edge = s.get_edge("x/c/1", cuzarr::Edge::Back, 5000);
  ASSERT_TRUE(edge);
  EXPECT_EQ(edge->total_size, 1000u);
  EXPECT_EQ(as_string(edge->bytes), small);
  std::string into(64, '\0');
  ASSERT_TRUE(s.read_into("x/c/0", 64, 64, into.data()));
  EXPECT_EQ(into, big.substr(64, 64));
  EXPECT_EQ(*s.size("x/c/0"), big.size());
  EXPECT_FALSE(s.get("x/c/2"));
  EXPECT_FALSE(s.exists("x/c/2"));
  EXPECT_FALSE(s.read_into("nope", 0, 1, into.data()));
  EXPECT_THROW(s.get_range("x/c/1", 990, 20), cuzarr::StoreError);
  EXPECT_THROW(s.get("../x"), cuzarr::StoreError);
  EXPECT_EQ(s.list_dir(""), (std::vector<std::string>{"x", "zarr.json"}));
  EXPECT_EQ(s.list_dir("x/c"), (std::vector<std::string>{"0", "1"}));
  EXPECT_TRUE(s.list_dir("none").empty());
  EXPECT_EQ(s.local_path("x/c/0"), std::nullopt);  // not a file of its own: no cuFile
}

TEST_F(ZipStoreTest, ConcurrentReadsAgree) {
  const std::string big = pattern(1 << 20, 3);
  const fs::path p = write("c.zip", {{"zarr.json", "{}"}, {"s", big}, {"d", big}}, {"d"});
  const cuzarr::ZipStore s(p);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::uint64_t off = static_cast<std::uint64_t>((t * 7919 + i * 104729) % (big.size() - 4096));
        for (const char* k : {"s", "d"}) {
          if (as_string(*s.get_range(k, off, 4096)) != big.substr(off, 4096)) ++bad;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(ZipStoreTest, SingleTopFolderIsTheRoot) {
  const fs::path p = write("f.zip", {{"data.zarr/zarr.json", "{}"}, {"data.zarr/a/c/0", "xyz"}});
  const cuzarr::ZipStore s(p);
  EXPECT_TRUE(s.exists("zarr.json"));
  EXPECT_EQ(as_string(*s.get("a/c/0")), "xyz");
  EXPECT_EQ(s.list_dir(""), (std::vector<std::string>{"a", "zarr.json"}));
  // Without metadata in the folder, the archive's root stays the root.
  const cuzarr::ZipStore plain(write("g.zip", {{"d/x", "1"}}));
  EXPECT_TRUE(plain.exists("d/x"));
}

TEST_F(ZipStoreTest, RefusesWhatIsNotAZip) {
  EXPECT_THROW(cuzarr::ZipStore(dir_ / "missing.zip"), cuzarr::KeyNotFound);
  std::ofstream(dir_ / "junk.zip") << "this is not a zip archive";
  EXPECT_THROW(cuzarr::ZipStore(dir_ / "junk.zip"), cuzarr::StoreError);
  // open_store picks ZipStore for a .zip file, FileStore for a directory.
  const fs::path p = write("o.zip", {{"zarr.json", "{}"}});
  EXPECT_NE(dynamic_cast<const cuzarr::ZipStore*>(cuzarr::open_store(p.string()).get()), nullptr);
  EXPECT_NE(dynamic_cast<const cuzarr::FileStore*>(cuzarr::open_store(dir_.string()).get()), nullptr);
}

TEST_F(ZipStoreTest, CorruptDeflatedMemberIsAnError) {
  const std::string body = pattern(50000, 4);
  const fs::path p = write("bad.zip", {{"zarr.json", "{}"}, {"k", body}}, {"k"});
  // Flip bytes in the middle of the compressed data.
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(fs::file_size(p) / 2));
  f.write("\xff\x00\xff\x00\xff\x00\xff\x00", 8);
  f.close();
  const cuzarr::ZipStore s(p);
  EXPECT_THROW(s.get("k"), cuzarr::StoreError);
}

TEST_F(ZipStoreTest, MetadataOverTheCapIsRefusedFromTheDeclaredSize) {
  // 4 MiB of spaces deflate to a few KiB: the member's declared size decides, nothing is inflated.
  const std::string doc(std::size_t{4} << 20, ' ');
  const fs::path p = write("cap.zip", {{"zarr.json", doc}}, {"zarr.json"});
  const cuzarr::ZipStore s(p);
  EXPECT_EQ(s.get_metadata("zarr.json", doc.size())->size(), doc.size());
  try {
    s.get_metadata("zarr.json", 1 << 20);
    FAIL() << "no error";
  } catch (const cuzarr::StoreError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(p.string()), std::string::npos) << m;
    EXPECT_NE(m.find("'zarr.json'"), std::string::npos) << m;
    EXPECT_NE(m.find("is 4194304 bytes, over the metadata size cap of 1048576 bytes"), std::string::npos) << m;
  }
  EXPECT_FALSE(s.get_metadata("nothing", 10).has_value());
}

}  // namespace
