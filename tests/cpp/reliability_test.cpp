// Regression tests for bugs found by the reliability harness (fuzzing, sanitizers, the bad-input
// corpus); each test names the input that used to fail. The fuzzers' own crash inputs are kept
// in tests/fuzz/regressions/ and replayed by `make fuzz`.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <malloc.h>
#include <unistd.h>
#include <zstd.h>

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "codec/codec_chain.hpp"
#include "codec/compressors.hpp"
#include "codec/v2_filters.hpp"
#include "cuzarr/array.hpp"
#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "exec/thread_pool.hpp"
#include "metadata/array_meta.hpp"
#include "metadata/json_util.hpp"
#include "metadata/node.hpp"
#include "sanitizer.hpp"

namespace {

using cuzarr::metadata::Json;
using cuzarr::metadata::parse_json;

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// fuzz_v2_metadata / fuzz_v3_metadata: a number beyond a double ("1E612") made the JSON library
// throw its own out_of_range exception, which escaped as a RuntimeError without the file's name.
TEST(Reliability, JsonNumberBeyondDoubleIsAMetadataError) {
  for (std::string_view doc : {"1E612", R"({"shape": [1e400]})", "-1e99999"}) {
    try {
      parse_json(bytes_of(doc), "x.zarr/.zarray");
      FAIL() << "no error for " << doc;
    } catch (const cuzarr::MetadataError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("x.zarr/.zarray"), std::string::npos) << message;
      EXPECT_NE(message.find("number overflow"), std::string::npos) << message;
      EXPECT_EQ(message.find("json.exception"), std::string::npos) << message;
    }
  }
}

// Bad-input corpus: a .zattrs of 200000 nested '[' parsed, then overflowed the stack when the
// document was copied (segfault in cuzarr.open). Deep documents are now refused before parsing.
TEST(Reliability, DeeplyNestedJsonIsAMetadataError) {
  const std::string deep = "{\"a\": " + std::string(200000, '[') + std::string(200000, ']') + "}";
  try {
    parse_json(bytes_of(deep), "x.zarr/.zattrs");
    FAIL() << "no error";
  } catch (const cuzarr::MetadataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("x.zarr/.zattrs"), std::string::npos) << message;
    EXPECT_NE(message.find("nested deeper than 512 levels"), std::string::npos) << message;
    EXPECT_NE(message.find("line 1, column 518"), std::string::npos) << message;
  }
  // 512 levels are fine, and brackets inside strings (escaped quotes too) do not count.
  const std::string ok = std::string(511, '[') + "{\"k\": \"[[[\\\"[[\"}" + std::string(511, ']');
  EXPECT_NO_THROW(parse_json(bytes_of(ok), "ok")) << ok.substr(505, 30);
  const std::string strings = "[\"" + std::string(100000, '[') + "\"]";
  EXPECT_NO_THROW(parse_json(bytes_of(strings), "strings"));
}

// Bad-input corpus: a v3 sharding codec whose "index_location" was a number made
// Json::value<std::string> throw the JSON library's type_error (a RuntimeError in Python).
TEST(Reliability, ShardIndexLocationOfTheWrongTypeIsAMetadataError) {
  for (const Json& location : {Json(5), Json(nullptr), Json::array({"end"}), Json("middle")}) {
    const Json sharding = {{"name", "sharding_indexed"},
                           {"configuration",
                            {{"chunk_shape", {2, 2}}, {"codecs", {"bytes"}}, {"index_location", location}}}};
    const auto specs = cuzarr::metadata::parse_codec_list(Json::array({sharding}), "codecs", "x.zarr/zarr.json");
    try {
      cuzarr::codec::CodecChain::prepare(specs, {{4, 4}, {cuzarr::DTypeKind::UInt, 1, {}}},
                                         std::vector<std::byte>(1), "x.zarr");
      FAIL() << "no error for index_location " << location.dump();
    } catch (const cuzarr::MetadataError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("x.zarr"), std::string::npos) << message;
      EXPECT_NE(message.find("index_location"), std::string::npos) << message;
    }
  }
}

// Found reviewing the JSON accessors, reproduced by tests/fuzz/regressions/fuzz_v3_metadata/
// node-type-number: listing a consolidated v3 group whose entry had "node_type": 5 threw the JSON
// library's type_error from keys().
TEST(Reliability, ConsolidatedNodeTypeOfTheWrongTypeListsAndFailsToOpen) {
  cuzarr::metadata::ConsolidatedIndex index;
  index.zarr_format = 3;
  index.docs.emplace("a", Json{{"zarr_format", 3}, {"node_type", 5}});
  index.docs.emplace("b", Json{{"zarr_format", 3}, {"node_type", "group"}});
  const auto children = cuzarr::metadata::list_children(index, "");
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].first, "a");
  EXPECT_EQ(children[0].second, cuzarr::metadata::NodeKind::Group);
  const cuzarr::FileStore store(std::filesystem::temp_directory_path());
  try {
    cuzarr::metadata::load_node(index, store, "a");
    FAIL() << "opened";
  } catch (const cuzarr::MetadataError& e) {
    EXPECT_NE(std::string(e.what()).find("node_type"), std::string::npos) << e.what();
  }
}

// fuzz_v2_metadata regression input shuffle-elementsize-huge: a v2 shuffle filter with
// "elementsize": 1e300 was cast to int64 unchecked (undefined behaviour, UBSan float-cast-overflow).
TEST(Reliability, ShuffleElementSizeBeyondInt64IsAMetadataError) {
  const cuzarr::codec::ChunkSpec spec{{4}, {cuzarr::DTypeKind::Float, 8, {}}};
  for (double size : {1e300, 1e19, -1.0, 2.5, 1e10, std::numeric_limits<double>::infinity(),
                      std::numeric_limits<double>::quiet_NaN()}) {
    const cuzarr::metadata::CodecSpec shuffle{"shuffle", Json{{"elementsize", size}}};
    EXPECT_THROW(cuzarr::codec::make_shuffle_filter(shuffle, spec, "x.zarr"), cuzarr::MetadataError) << size;
  }
  const cuzarr::metadata::CodecSpec ok{"shuffle", Json{{"elementsize", 8}}};
  EXPECT_NO_THROW(cuzarr::codec::make_shuffle_filter(ok, spec, "x.zarr"));
}

// Bad-input corpus: shape [2^61 + 1] of float64 has an addressable element count but 2^64 + 8
// bytes. cuzarr::open accepted it and Array::read computed its size with a signed overflow
// (undefined behaviour: a small buffer, then writes far past it). Now refused at open.
TEST(Reliability, ShapeWhoseByteSizeOverflowsIsAMetadataError) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("cuzarr_reliability_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* shape : {"[2305843009213693953]", "[144115188075855872, 8]", "[4611686018427387904]"}) {
    const std::string chunks = std::string(shape).find(',') == std::string::npos ? "[10]" : "[10, 10]";
    std::ofstream(dir / ".zarray") << R"({"zarr_format": 2, "shape": )" << shape << R"(, "chunks": )" << chunks
                                   << R"(, "dtype": "<f8", "fill_value": 0, "order": "C", "compressor": null,)"
                                   << R"( "filters": null})";
    try {
      cuzarr::open_array(dir).read();
      FAIL() << "no error for shape " << shape;
    } catch (const cuzarr::MetadataError& e) {
      EXPECT_NE(std::string(e.what()).find("more bytes than can be addressed"), std::string::npos) << e.what();
    }
  }
  std::filesystem::remove_all(dir);
}

// Bad-input corpus: a consolidated key escaping the store ("../x", "/abs") was refused with a bare
// StoreError "invalid store key" that named neither the store nor the document listing it.
TEST(Reliability, EscapingConsolidatedKeysNameTheirDocument) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("cuzarr_reliability_keys_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* key : {"../x/.zarray", "/abs/.zarray", "a//b/.zarray", "a/./b/.zarray"}) {
    std::ofstream(dir / ".zgroup") << R"({"zarr_format": 2})";
    std::ofstream(dir / ".zmetadata") << R"({"zarr_consolidated_format": 1, "metadata": {")" << key
                                      << R"(": {"zarr_format": 2}}})";
    try {
      cuzarr::open_group(dir);
      FAIL() << "no error for " << key;
    } catch (const cuzarr::MetadataError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find((dir / ".zmetadata").string()), std::string::npos) << message;
      EXPECT_NE(message.find("invalid store key"), std::string::npos) << message;
    }
  }
  std::filesystem::remove_all(dir);
}

// Bad-input corpus: a chunk that is a FIFO made every read hang in open() (waiting for a writer).
// Now a StoreError naming the file, at once; other special files likewise.
TEST(Reliability, FifoInTheStoreIsAStoreErrorNotAHang) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("cuzarr_reliability_fifo_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_EQ(::mkfifo((dir / "0.0").c_str(), 0600), 0);
  const cuzarr::FileStore store(dir);
  std::promise<std::string> outcome;
  std::future<std::string> result = outcome.get_future();
  std::thread([&store, p = std::move(outcome)]() mutable {
    try {
      store.get("0.0");
      p.set_value("read");
    } catch (const cuzarr::StoreError& e) {
      p.set_value(e.what());
    }
  }).detach();
  if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    // Let the blocked reader go (a writer end unblocks its open), then fail.
    ::close(::open((dir / "0.0").c_str(), O_WRONLY | O_NONBLOCK));
    result.wait();
    FAIL() << "reading a FIFO hung";
  }
  const std::string message = result.get();
  EXPECT_NE(message.find((dir / "0.0").string()), std::string::npos) << message;
  EXPECT_NE(message.find("FIFO"), std::string::npos) << message;
  EXPECT_THROW(store.exists("0.0"), cuzarr::StoreError);
  EXPECT_THROW(store.size("0.0"), cuzarr::StoreError);
  std::filesystem::remove_all(dir);
}

std::string read_string(const cuzarr::Store& store, const std::string& key) {
  const std::optional<cuzarr::Buffer> b = store.get(key);
  return b ? std::string(reinterpret_cast<const char*>(b->data()), b->size()) : "<missing>";
}

// The symlink policy (docs/reliability.md): a FileStore followed every link, so a chunk or a
// metadata file linking to any file of the machine (/etc/shadow, /dev/zero, another user's data)
// was read as part of the store. Links are now followed only to targets inside the store.
TEST(Reliability, SymlinksMayOnlyPointInsideTheStore) {
  namespace fs = std::filesystem;
  const fs::path top = fs::temp_directory_path() / ("cuzarr_reliability_links_" + std::to_string(::getpid()));
  fs::remove_all(top);
  fs::create_directories(top / "store" / "dir");
  fs::create_directories(top / "outside");
  std::ofstream(top / "outside" / "secret") << "secret";
  std::ofstream(top / "store" / "real") << "real";
  std::ofstream(top / "store" / "dir" / "deep") << "deep";
  fs::create_symlink("../outside/secret", top / "store" / "out_relative");
  fs::create_symlink(top / "outside" / "secret", top / "store" / "out_absolute");
  fs::create_symlink("../outside", top / "store" / "out_dir");
  fs::create_symlink("/dev/zero", top / "store" / "zero");
  fs::create_symlink("real", top / "store" / "in_relative");
  fs::create_symlink(top / "store" / "real", top / "store" / "in_absolute");
  fs::create_symlink("../store/dir/deep", top / "store" / "out_and_back");
  fs::create_symlink("dir", top / "store" / "in_dir");
  fs::create_symlink("nothing-here", top / "store" / "dangling");
  fs::create_symlink("loop", top / "store" / "loop");
  fs::create_symlink("store", top / "store_link");

  for (const fs::path& root : {top / "store", top / "store_link"}) {
    const cuzarr::FileStore store(root);
    EXPECT_EQ(read_string(store, "in_relative"), "real");
    EXPECT_EQ(read_string(store, "in_absolute"), "real");
    EXPECT_EQ(read_string(store, "out_and_back"), "deep");
    EXPECT_EQ(read_string(store, "in_dir/deep"), "deep");
    EXPECT_EQ(read_string(store, "dangling"), "<missing>");  // like a missing chunk
    EXPECT_FALSE(store.exists("dangling"));
    EXPECT_TRUE(store.exists("in_relative"));
    for (const char* key : {"out_relative", "out_absolute", "out_dir/secret", "zero"}) {
      try {
        read_string(store, key);
        FAIL() << key << " was read";
      } catch (const cuzarr::StoreError& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find((root / key).string()), std::string::npos) << message;
        // /dev/zero is refused as a device before its place is looked at.
        const char* why = std::string_view(key) == "zero" ? "a character device" : "outside the store";
        EXPECT_NE(message.find(why), std::string::npos) << message;
      }
      EXPECT_THROW(store.exists(key), cuzarr::StoreError) << key;
      EXPECT_THROW(store.size(key), cuzarr::StoreError) << key;
      EXPECT_THROW(store.get_range(key, 0, 1), cuzarr::StoreError) << key;
    }
    EXPECT_THROW(store.get("loop"), cuzarr::StoreError);  // ELOOP
  }
  fs::remove_all(top);
}

// Bad-input corpus (group-v3-stray-names): a directory named with a backslash inside a group made
// listing the group fail ("invalid store key") for all its real members.
TEST(Reliability, GroupListingSkipsNamesThatCannotBeKeys) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cuzarr_reliability_names_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "back\\slash");
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "zarr.json") << R"({"zarr_format": 3, "node_type": "group"})";
  std::ofstream(dir / "sub" / "zarr.json") << R"({"zarr_format": 3, "node_type": "group"})";
  std::ofstream(dir / "back\\slash" / "zarr.json") << R"({"zarr_format": 3, "node_type": "group"})";
  const cuzarr::Group g = cuzarr::open_group(dir);
  EXPECT_EQ(g.group_names(), std::vector<std::string>{"sub"});
  EXPECT_TRUE(g.array_names().empty());
  fs::remove_all(dir);
}


// test_resource_limits.py: under a small RLIMIT_AS (ulimit -v) the first read's thread pool could
// not start all its threads, and std::system_error escaped as RuntimeError("Resource temporarily
// unavailable"). The pool now starts the threads there is room for (the caller always works).
TEST(Reliability, ThreadPoolStartsWithTheThreadsThereIsRoomFor) {
#ifdef CUZARR_ASAN
  GTEST_SKIP() << "ASan reserves terabytes of address space: RLIMIT_AS cannot be tested under it";
#else
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::size_t vm = 0;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmSize:", 0) == 0) vm = std::stoull(line.substr(7)) * 1024;
    }
    const rlimit limit{vm + (24u << 20), RLIM_INFINITY};  // room for two or three thread stacks
    ::setrlimit(RLIMIT_AS, &limit);
    int code = 2;
    try {
      cuzarr::exec::ThreadPool pool(64);
      std::atomic<long> sum{0};
      pool.parallel_for(1000, [&](std::size_t i) { sum += static_cast<long>(i); });
      code = (pool.size() >= 1 && pool.size() < 64 && sum == 499500) ? 0 : 1;
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: wrong result or all 64 threads started, 3: an exception escaped";
#endif
}

// test_resource_limits.py: with the address space exhausted, zstd could not allocate its decoder
// and the chunk was reported as "corrupt stream: Allocation error" (a CodecError: cuzarr verify
// would list a healthy chunk as corrupt). Allocation failures of zstd, zlib and bzip2 are now
// std::bad_alloc (MemoryError in Python).
TEST(Reliability, DecompressorOutOfMemoryIsBadAllocNotACorruptChunk) {
#ifdef CUZARR_ASAN
  GTEST_SKIP() << "ASan reserves terabytes of address space: RLIMIT_AS cannot be tested under it";
#else
  std::vector<std::byte> raw(1 << 20);
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::byte>(i * 7 % 251);
  std::vector<std::byte> frame(ZSTD_compressBound(raw.size()));
  frame.resize(ZSTD_compress(frame.data(), frame.size(), raw.data(), raw.size(), 1));
  std::vector<std::byte> out(raw.size());
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    cuzarr::Buffer in = cuzarr::Buffer::copy_of(frame);
    const cuzarr::codec::DecodeContext ctx{"x.zarr", "c/0", false};
    const cuzarr::codec::ZstdCodec zstd;
    ::malloc_trim(0);
    std::size_t vm = 0;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmSize:", 0) == 0) vm = std::stoull(line.substr(7)) * 1024;
    }
    status.close();
    std::vector<void*> blocks;
    blocks.reserve(1 << 16);
    const rlimit limit{vm + (1 << 20), RLIM_INFINITY};
    ::setrlimit(RLIMIT_AS, &limit);
    // Use up the heap in 16 KiB blocks, then give back 64 KiB: room for error messages, none for
    // zstd's ~94 KiB decoder state.
    while (blocks.size() < blocks.capacity()) {
      void* p = std::malloc(16 << 10);
      if (p == nullptr) break;
      blocks.push_back(p);
    }
    for (int i = 0; i < 4 && !blocks.empty(); ++i) {
      std::free(blocks.back());
      blocks.pop_back();
    }
    int code = 4;  // decoded: the decoder found room after all (inconclusive)
    try {
      zstd.decode_into(std::move(in), out, ctx);
    } catch (const std::bad_alloc&) {
      code = 0;
    } catch (const cuzarr::CodecError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      code = 1;
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died";
  if (WEXITSTATUS(status) == 4) GTEST_SKIP() << "zstd found memory for its decoder";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: reported as a corrupt chunk, 3: another exception";
#endif
}

// Bad-input corpus (chunk-sparse-64GiB): a compressed chunk file was read whole before decoding,
// so a sparse 64 GiB file in place of an 80-byte chunk made a read allocate (and fill) 64 GiB.
// Files larger than any encoding of the chunk are now refused before they are read.
TEST(Reliability, ChunkFileLargerThanAnyEncodingIsRefusedUnread) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cuzarr_reliability_sparse_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / ".zarray") << R"({"zarr_format": 2, "shape": [8, 10], "chunks": [4, 5], "dtype": "<f4",
      "fill_value": 0, "order": "C", "compressor": {"id": "zstd", "level": 1}, "filters": null})";
  for (const char* key : {"0.0", "1.1"}) {
    std::ofstream(dir / key).put('\0');
    fs::resize_file(dir / key, std::uintmax_t{64} << 30);  // sparse: no disk space used
  }
  const cuzarr::Array a = cuzarr::open_array(dir);
  for (const char* selection : {"0:4, 0:5", "::3, ::2"}) {  // decoded into place, and into a buffer
    try {
      a.read(cuzarr::parse_selection(selection));
      FAIL() << "read " << selection;
    } catch (const cuzarr::CodecError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("68719476736 bytes, more than any encoding"), std::string::npos) << message;
      EXPECT_NE(message.find((dir / "0.0").parent_path().string()), std::string::npos) << message;
    }
  }
  EXPECT_EQ(a.verify().errors.size(), 2u);
  fs::remove_all(dir);
}

TEST(Reliability, SymlinkPolicyIsConfigurable) {
  using cuzarr::Config;
  EXPECT_EQ(cuzarr::parse_config([](const char*) -> const char* { return nullptr; }).symlinks,
            Config::Symlinks::Inside);
  EXPECT_EQ(cuzarr::parse_config([](const char* n) -> const char* {
              return std::string_view(n) == "CUZARR_SYMLINKS" ? "follow" : nullptr;
            }).symlinks,
            Config::Symlinks::Follow);
  EXPECT_THROW(cuzarr::parse_config([](const char* n) -> const char* {
                 return std::string_view(n) == "CUZARR_SYMLINKS" ? "sometimes" : nullptr;
               }),
               cuzarr::Error);
}

}  // namespace
