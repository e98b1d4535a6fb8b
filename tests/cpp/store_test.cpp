#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"

namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("cuzarr_store_test_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void write(const std::string& rel, const std::string& content) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel, std::ios::binary) << content;
  }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

std::string as_string(const cuzarr::Buffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

TEST(ValidateKey, AcceptsOrdinaryKeys) {
  EXPECT_NO_THROW(cuzarr::validate_key("a"));
  EXPECT_NO_THROW(cuzarr::validate_key("group/array/c/0/1"));
  EXPECT_NO_THROW(cuzarr::validate_key(".zarray"));
  EXPECT_NO_THROW(cuzarr::validate_key("x/0.1.2"));
}

TEST(ValidateKey, RejectsEscapesAndOddParts) {
  for (const std::string key : {"", "/abs", "../up", "a/../b", "a/..", "a//b", "a/", "./a", "a\\b"}) {
    EXPECT_THROW(cuzarr::validate_key(key), cuzarr::StoreError) << key;
  }
  EXPECT_THROW(cuzarr::validate_key(std::string("a\0b", 3)), cuzarr::StoreError);
}

TEST(ValidateKey, MessageNamesTheKey) {
  try {
    cuzarr::validate_key("a/../../etc/passwd");
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("a/../../etc/passwd"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(".."), std::string::npos);
  }
}

TEST(JoinKey, SkipsEmptyParts) {
  EXPECT_EQ(cuzarr::join_key("", "a"), "a");
  EXPECT_EQ(cuzarr::join_key("a", ""), "a");
  EXPECT_EQ(cuzarr::join_key("a/b", "c"), "a/b/c");
}

TEST(FileStore, MissingRootIsKeyNotFound) {
  EXPECT_THROW(cuzarr::FileStore("/nonexistent/cuzarr/store"), cuzarr::KeyNotFound);
}

TEST(FileStore, GetRangeSuffixSizeExists) {
  TempDir dir;
  dir.write("a/b", "0123456789");
  cuzarr::FileStore store(dir.path());
  EXPECT_EQ(as_string(*store.get("a/b")), "0123456789");
  EXPECT_EQ(as_string(*store.get_range("a/b", 2, 3)), "234");
  EXPECT_EQ(as_string(*store.get_range("a/b", 10, 0)), "");
  EXPECT_EQ(as_string(*store.get_suffix("a/b", 4)), "6789");
  EXPECT_EQ(*store.size("a/b"), 10u);
  EXPECT_TRUE(store.exists("a/b"));
  EXPECT_FALSE(store.exists("a"));  // a directory is not a value
  EXPECT_FALSE(store.get("a/missing").has_value());
  EXPECT_FALSE(store.get("a").has_value());
  EXPECT_FALSE(store.get_range("nope", 0, 1).has_value());
  EXPECT_FALSE(store.size("nope").has_value());
}

TEST(FileStore, ShortValueIsAnErrorNamingTheKey) {
  TempDir dir;
  dir.write("k", "abc");
  cuzarr::FileStore store(dir.path());
  try {
    store.get_range("k", 1, 5);
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'k'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("3 bytes"), std::string::npos) << msg;
  }
  EXPECT_THROW(store.get_suffix("k", 4), cuzarr::StoreError);
}

TEST(FileStore, InvalidKeysNeverReachTheFileSystem) {
  TempDir dir;
  cuzarr::FileStore store(dir.path() / "");
  EXPECT_THROW(store.get("../x"), cuzarr::StoreError);
  EXPECT_THROW(store.exists("/etc/passwd"), cuzarr::StoreError);
  EXPECT_THROW(store.list_dir("a/../.."), cuzarr::StoreError);
}

TEST(FileStore, ListDirIsSorted) {
  TempDir dir;
  dir.write("g/b", "");
  dir.write("g/a", "");
  dir.write("g/c/x", "");
  cuzarr::FileStore store(dir.path());
  EXPECT_EQ(store.list_dir("g"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(store.list_dir(""), (std::vector<std::string>{"g"}));
  EXPECT_TRUE(store.list_dir("nothing").empty());
}

// Store::get_metadata: a document over the cap is refused from its size, before it is read.
TEST(MetadataCap, FileStoreRefusesFromTheFileSize) {
  TempDir dir;
  dir.write("zarr.json", std::string(2000, ' '));
  const cuzarr::FileStore store(dir.path());
  EXPECT_EQ(store.get_metadata("zarr.json", 2000)->size(), 2000u);
  EXPECT_FALSE(store.get_metadata("nothing.json", 10).has_value());
  {  // a sparse 1 TiB document costs nothing to refuse
    std::ofstream(dir.path() / "big.json").close();
    fs::resize_file(dir.path() / "big.json", std::uintmax_t{1} << 40);
  }
  for (const char* key : {"zarr.json", "big.json"}) {
    try {
      store.get_metadata(key, 1999);
      FAIL() << key;
    } catch (const cuzarr::StoreError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find((dir.path() / key).string()), std::string::npos) << m;
      EXPECT_NE(m.find("over the metadata size cap of 1999 bytes"), std::string::npos) << m;
      EXPECT_NE(m.find("CUZARR_MAX_METADATA_BYTES"), std::string::npos) << m;
    }
  }
}

namespace {
// A store with only get() and size(): the default get_metadata.
class PlainStore final : public cuzarr::Store {
 public:
  explicit PlainStore(std::optional<std::uint64_t> said) : said_(said) {}
  std::optional<cuzarr::Buffer> get(std::string_view) const override {
    ++gets;
    return cuzarr::Buffer(100);
  }
  std::optional<cuzarr::Buffer> get_range(std::string_view, std::uint64_t, std::uint64_t) const override { return {}; }
  std::optional<cuzarr::Buffer> get_suffix(std::string_view, std::uint64_t) const override { return {}; }
  std::optional<std::uint64_t> size(std::string_view) const override { return said_; }
  bool exists(std::string_view) const override { return true; }
  std::vector<std::string> list_dir(std::string_view) const override { return {}; }
  std::string describe() const override { return "plain"; }
  mutable int gets = 0;

 private:
  std::optional<std::uint64_t> said_;
};
}  // namespace

TEST(MetadataCap, DefaultChecksWhatGetReturns) {
  const PlainStore store(10);  // its size() says 10, get() gives 100: the bytes decide
  EXPECT_EQ(store.get_metadata("zarr.json", 100)->size(), 100u);
  try {
    store.get_metadata("zarr.json", 99);
    FAIL() << "no error";
  } catch (const cuzarr::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("'plain/zarr.json': the metadata document is 100 bytes, over the metadata "
                                         "size cap of 99 bytes"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(store.gets, 2);  // one request each, no size() first
}
