// The manifest store and kerchunk references: the parser (versions 0 and 1, templates, gen), the
// template expressions, reads through the store, and whole arrays read through references.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cuzarr/array.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/icechunk.hpp"
#include "cuzarr/manifest.hpp"
#include "store/kerchunk_template.hpp"
#include "store/http_response.hpp"
#include "store/manifest_targets.hpp"

namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("cuzarr_manifest_test_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void write(const std::string& rel, const std::string& content) const {
    std::ofstream(path_ / rel, std::ios::binary) << content;
  }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

std::string text(const cuzarr::Buffer& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

cuzarr::Manifest parse(const std::string& json) {
  return cuzarr::parse_kerchunk({reinterpret_cast<const std::byte*>(json.data()), json.size()}, "refs.json");
}

// The message of the MetadataError that parsing `json` raises.
std::string parse_error(const std::string& json) {
  try {
    parse(json);
  } catch (const cuzarr::MetadataError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string expand(const std::string& t, const cuzarr::store::TemplateVars& vars = {{"i", "3"}, {"u", "s3://b/f.nc"}}) {
  return cuzarr::store::expand_template(t, vars);
}

}  // namespace

TEST(KerchunkTemplate, ExpandsNamesAndArithmetic) {
  EXPECT_EQ(expand("{{u}}"), "s3://b/f.nc");
  EXPECT_EQ(expand("{{ u }}/x"), "s3://b/f.nc/x");
  EXPECT_EQ(expand("data/{{i}}.0"), "data/3.0");
  EXPECT_EQ(expand("{{ (i + 1) * 1000 }}"), "4000");
  EXPECT_EQ(expand("{{ i * 2 - 10 }}"), "-4");
  EXPECT_EQ(expand("{{ -7 // 2 }},{{ -7 % 2 }},{{ 7 % -2 }}"), "-4,1,-1");  // Python's rounding
  EXPECT_EQ(expand("no template"), "no template");
}

TEST(KerchunkTemplate, RefusesWhatDoesNotExpand) {
  for (const char* bad : {"{{ v }}", "{{u + 1}}", "{{ i / 2 }}", "{{ i // 0 }}", "{{ i", "{{ (i }}", "{{ }}",
                          "{{ 9223372036854775807 + 1 }}", "{{ i $ 2 }}"}) {
    EXPECT_THROW(expand(bad), cuzarr::MetadataError) << bad;
  }
  try {
    expand("{{ nope }}");
    FAIL();
  } catch (const cuzarr::MetadataError& e) {
    EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos) << e.what();
  }
}

TEST(Kerchunk, ParsesVersion0) {
  const cuzarr::Manifest m = parse(R"({
    ".zgroup": "{\"zarr_format\": 2}",
    "a/.zattrs": {"x": 1},
    "a/0": ["/data/f.nc", 100, 20],
    "a/1": ["/data/f.nc"],
    "a/2": "base64:AAEC"
  })");
  ASSERT_EQ(m.size(), 5u);
  const auto& e = m.entries();
  EXPECT_TRUE(e.at(".zgroup").is_inline);
  EXPECT_EQ(e.at(".zgroup").bytes, "{\"zarr_format\": 2}");
  EXPECT_EQ(e.at("a/.zattrs").bytes, R"({"x":1})");
  EXPECT_EQ(e.at("a/2").bytes, std::string("\0\1\2", 3));
  EXPECT_FALSE(e.at("a/0").is_inline);
  EXPECT_EQ(m.targets()[e.at("a/0").target], "/data/f.nc");
  EXPECT_EQ(e.at("a/0").offset, 100u);
  EXPECT_EQ(e.at("a/0").length, 20u);
  EXPECT_EQ(e.at("a/1").target, e.at("a/0").target);  // one copy of each target
  EXPECT_FALSE(e.at("a/1").length.has_value());
}

TEST(Kerchunk, ParsesVersion1TemplatesAndGen) {
  const cuzarr::Manifest m = parse(R"({
    "version": 1,
    "templates": {"u": "https://host/data/file", "v": "s3://bucket/x.nc"},
    "refs": {".zgroup": "{\"zarr_format\": 2}", "x/0": ["{{v}}", 0, 8]},
    "gen": [{"key": "t/{{i}}.{{j}}", "url": "{{u}}{{i}}.nc", "offset": "{{ (j + 1) * 1000 }}", "length": "100",
             "dimensions": {"i": {"stop": 3}, "j": [0, 1]}},
            {"key": "w/{{k}}", "url": "/d/{{k}}.nc", "dimensions": {"k": {"start": 10, "stop": 4, "step": -3}}}]
  })");
  const auto& e = m.entries();
  EXPECT_EQ(m.size(), 2u + 6u + 2u);
  EXPECT_EQ(m.targets()[e.at("x/0").target], "s3://bucket/x.nc");
  EXPECT_EQ(m.targets()[e.at("t/2.1").target], "https://host/data/file2.nc");
  EXPECT_EQ(e.at("t/2.1").offset, 2000u);
  EXPECT_EQ(e.at("t/0.0").offset, 1000u);
  EXPECT_EQ(e.at("t/0.0").length, 100u);
  EXPECT_EQ(m.targets()[e.at("w/7").target], "/d/7.nc");
  EXPECT_TRUE(e.contains("w/10"));
  EXPECT_FALSE(e.at("w/10").length.has_value());
}

TEST(Kerchunk, MalformedReferencesNameTheKey) {
  struct Case {
    const char* json;
    const char* says;
  };
  const Case cases[] = {
      {R"({"a/0": ["f.nc", 0, -5]})", "reference 'a/0': negative length"},
      {R"({"a/0": ["f.nc", -1, 5]})", "reference 'a/0': negative offset"},
      {R"({"a/0": ["f.nc", "0", 5]})", "reference 'a/0': offset must be an integer"},
      {R"({"a/0": ["f.nc", 0]})", "reference 'a/0'"},
      {R"({"a/0": [7, 0, 5]})", "reference 'a/0': the URL must be a string"},
      {R"({"a/0": 12})", "reference 'a/0'"},
      {R"({"a/0": "base64:@@@"})", "reference 'a/0': 'base64:'"},
      {R"({"../a": "x"})", "reference '../a'"},
      {R"({"version": 1, "refs": {"a/0": ["{{missing}}", 0, 5]}})", "reference 'a/0': template"},
      {R"({"version": 1, "templates": {"u": 3}})", "template 'u'"},
      {R"({"version": 2, "refs": {}})", "'version' 2"},
      {R"({"version": 1, "refs": []})", "'refs' must be an object"},
      {R"({"version": 1, "gen": [{"key": "a/{{i}}", "url": "f", "offset": "1", "dimensions": {"i": [1]}}]})",
       "gen[0]: needs both 'offset' and 'length'"},
      {R"({"version": 1, "gen": [{"key": "a/{{i}}", "url": "f", "offset": "{{ i - 5 }}", "length": "1",
                                  "dimensions": {"i": [1]}}]})",
       "reference 'a/1': negative offset"},
      {R"({"version": 1, "gen": [{"key": "a/{{i}}", "url": "f", "dimensions": {"i": {"stop": 3, "step": 0}}}]})",
       "'step' must not be 0"},
      {R"([1, 2])", "a JSON object"},
      {R"({"a": )", "refs.json"},
  };
  for (const Case& c : cases) {
    const std::string what = parse_error(c.json);
    EXPECT_NE(what.find(c.says), std::string::npos) << c.json << " -> " << what;
    EXPECT_NE(what.find("refs.json"), std::string::npos) << what;
  }
}

TEST(Kerchunk, GenIsBounded) {
  const std::string json =
      R"({"version": 1, "gen": [{"key": "a/{{i}}.{{j}}", "url": "f", "dimensions": {"i": {"stop": 100000},
                                                                                    "j": {"stop": 100000}}}]})";
  EXPECT_THROW(cuzarr::parse_kerchunk({reinterpret_cast<const std::byte*>(json.data()), json.size()}, "r", 1000),
               cuzarr::MetadataError);
}

TEST(ManifestTargets, Resolves) {
  struct Case {
    const char *target, *base, *protocol, *want_base, *want_key;
    bool remote;
  };
  const Case cases[] = {
      {"/d/x/f.nc", "", "", "/d/x", "f.nc", false},
      {"file:///d/f.nc", "", "", "/d", "f.nc", false},
      {"sub/../g.nc", "/refs", "", "/refs", "g.nc", false},
      {"https://h:8080/a/b%20c.nc", "", "", "https://h:8080/a", "b c.nc", true},
      {"bucket/p/f.nc", "", "s3", "s3://bucket/p", "f.nc", true},
      {"f.nc", "https://h/refs", "", "https://h/refs", "f.nc", true},
      {"gs://b/d/f%20.nc", "", "", "gs://b/d", "f%20.nc", true},
      {"az://c/f.nc", "", "", "az://c", "f.nc", true},
  };
  for (const Case& c : cases) {
    const auto t = cuzarr::store::resolve_target(c.target, c.base, c.protocol);
    EXPECT_EQ(t.base, c.want_base) << c.target;
    EXPECT_EQ(t.key, c.want_key) << c.target;
    EXPECT_EQ(t.remote, c.remote) << c.target;
    EXPECT_TRUE(t.error.empty()) << c.target;
  }
  for (const char* bad : {"ftp://h/f.nc", "https://h/f.nc?sig=1", "https://h", "gs://b"}) {
    EXPECT_FALSE(cuzarr::store::resolve_target(bad, "", "").error.empty()) << bad;
  }
}

TEST(ManifestStore, ReadsInlineAndReferencedBytes) {
  TempDir dir;
  dir.write("data.bin", "0123456789abcdef");
  cuzarr::Manifest m;
  m.add_inline("g/.zattrs", "{}");
  m.add_reference("g/a", {(dir.path() / "data.bin").string(), 4, 6});
  m.add_reference("g/whole", {"data.bin", 0, std::nullopt});  // relative to the base
  m.add_reference("g/past", {"data.bin", 10, 100});
  m.add_reference("g/gone", {"missing.bin", 0, 4});
  cuzarr::ManifestOptions o;
  o.base = dir.path().string();
  o.name = "test refs";
  const auto s = cuzarr::make_manifest_store(std::move(m), o);
  EXPECT_EQ(text(*s->get("g/.zattrs")), "{}");
  EXPECT_EQ(text(*s->get("g/a")), "456789");
  EXPECT_EQ(text(*s->get_range("g/a", 2, 3)), "678");
  EXPECT_EQ(text(*s->get_suffix("g/a", 2)), "89");
  EXPECT_EQ(text(*s->get("g/whole")), "0123456789abcdef");
  EXPECT_EQ(*s->size("g/a"), 6u);
  EXPECT_EQ(*s->size("g/whole"), 16u);
  char buf[3];
  EXPECT_TRUE(s->read_into("g/a", 1, 3, buf));
  EXPECT_EQ(std::string(buf, 3), "567");
  EXPECT_FALSE(s->get("g/none").has_value());
  EXPECT_FALSE(s->read_into("g/none", 0, 1, buf));
  EXPECT_TRUE(s->exists("g/a"));
  EXPECT_EQ(s->list_dir(""), (std::vector<std::string>{"g"}));
  EXPECT_EQ(s->list_dir("g"), (std::vector<std::string>{".zattrs", "a", "gone", "past", "whole"}));
  EXPECT_THROW(s->get_range("g/a", 4, 3), cuzarr::StoreError);
  EXPECT_EQ(s->read_pattern(), cuzarr::ReadPattern::RandomRanges);
  const auto at = s->locate("g/a");
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->key, "data.bin");
  EXPECT_EQ(at->offset, 4u);
  EXPECT_FALSE(s->locate("g/.zattrs").has_value());
  for (const char* key : {"g/past", "g/gone"}) {
    try {
      s->get(key);
      FAIL() << key;
    } catch (const cuzarr::StoreError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(std::string("reference '") + key + "' in test refs"), std::string::npos) << what;
    }
  }
}

namespace {

// A v2 array of 10 x 6 int32 in chunks of 3 x 2, its chunks stored back to back in one file in
// reverse order (so that the reads must sort them), one chunk left out (fill -1).
struct ReferencedArray {
  TempDir dir;
  std::shared_ptr<const cuzarr::ManifestStore> store;

  static std::int32_t value(std::int64_t i, std::int64_t j) { return static_cast<std::int32_t>(i * 100 + j); }

  explicit ReferencedArray(const std::string& gap) {
    cuzarr::Manifest m;
    m.add_inline(".zgroup", R"({"zarr_format": 2})");
    m.add_inline("v/.zarray", R"({"zarr_format": 2, "shape": [10, 6], "chunks": [3, 2], "dtype": "<i4",
      "compressor": null, "filters": null, "fill_value": -1, "order": "C"})");
    std::string file;
    for (std::int64_t ci = 3; ci >= 0; --ci) {
      for (std::int64_t cj = 2; cj >= 0; --cj) {
        if (ci == 1 && cj == 1) continue;
        const std::uint64_t offset = file.size();
        for (std::int64_t i = ci * 3; i < ci * 3 + 3; ++i) {
          for (std::int64_t j = cj * 2; j < cj * 2 + 2; ++j) {
            const std::int32_t v = value(i, j);
            file.append(reinterpret_cast<const char*>(&v), 4);
          }
        }
        m.add_reference("v/" + std::to_string(ci) + "." + std::to_string(cj), {"chunks.bin", offset, 24});
        file += gap;
      }
    }
    dir.write("chunks.bin", file);
    cuzarr::ManifestOptions o;
    o.base = dir.path().string();
    store = cuzarr::make_manifest_store(std::move(m), o);
  }
};

}  // namespace

TEST(ManifestStore, ATargetChangedSinceTheReferenceWasWrittenIsAnError) {
  TempDir dir;
  dir.write("data.bin", "0123456789abcdef");
  const auto mtime = std::chrono::duration_cast<std::chrono::seconds>(
                         fs::last_write_time(dir.path() / "data.bin").time_since_epoch() -
                         (fs::file_time_type::clock::now().time_since_epoch() -
                          std::chrono::system_clock::now().time_since_epoch()))
                         .count();
  const auto at = [&](std::int64_t seconds) { return static_cast<std::uint32_t>(seconds); };
  cuzarr::Manifest m;
  cuzarr::ChunkReference later{"data.bin", 0, 4};
  later.last_modified = at(mtime + 3600);  // written after the file's last change: fine
  m.add_reference("later", later);
  cuzarr::ChunkReference earlier{"data.bin", 4, 4};
  earlier.last_modified = at(mtime - 3600);  // the file changed after the reference was written
  m.add_reference("earlier", earlier);
  m.add_reference("earlier2", earlier);
  cuzarr::ChunkReference tagged{"data.bin", 8, 4};
  tagged.etag = "\"abc\"";  // a file has no ETag: the check cannot be made, and passes
  m.add_reference("tagged", tagged);
  EXPECT_EQ(m.checks().size(), 4u);  // none, later, earlier (shared by two), tagged
  cuzarr::ManifestOptions o;
  o.base = dir.path().string();
  o.name = "test refs";
  const auto s = cuzarr::make_manifest_store(std::move(m), o);
  EXPECT_EQ(text(*s->get("later")), "0123");
  EXPECT_EQ(text(*s->get("tagged")), "89ab");
  for (const char* key : {"earlier", "earlier2"}) {
    try {
      s->get(key);
      FAIL() << key;
    } catch (const cuzarr::StoreError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(std::string("reference '") + key + "'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("modified"), std::string::npos) << msg;
    }
    EXPECT_THROW(s->locate(key), cuzarr::StoreError);
  }
}

TEST(HttpVersionHeaders, ETagAndLastModifiedAreKept) {
  cuzarr::store::Request request{cuzarr::store::Want::Head};
  request.size_optional = true;
  cuzarr::store::Response r(request);
  for (const char* h : {"HTTP/1.1 200 OK", "ETag: \"5d41402abc4b2a76\"", "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT",
                        "Content-Length: 10"}) {
    r.header_line(std::string(h) + "\r\n");
  }
  EXPECT_EQ(r.etag(), "\"5d41402abc4b2a76\"");
  EXPECT_EQ(r.last_modified().value(), 784111777);
}

TEST(ManifestStore, ArraysReadThroughReferences) {
  for (const std::string& gap : {std::string(), std::string(3000, 'x')}) {
    ReferencedArray r(gap);
    const cuzarr::Node root = cuzarr::open(r.store);
    const cuzarr::Array a = std::get<cuzarr::Group>(root).open_array("v");
    const cuzarr::HostArray out = a.read();
    ASSERT_EQ(out.data.size(), 10u * 6u * 4u);
    for (std::int64_t i = 0; i < 10; ++i) {
      for (std::int64_t j = 0; j < 6; ++j) {
        std::int32_t v = 0;
        std::memcpy(&v, out.data.data() + (i * 6 + j) * 4, 4);
        const bool missing = i >= 3 && i < 6 && j >= 2 && j < 4;
        EXPECT_EQ(v, missing ? -1 : ReferencedArray::value(i, j)) << i << "," << j;
      }
    }
    const cuzarr::HostArray part = a.read(cuzarr::parse_selection("4:9, 1"));
    for (std::int64_t i = 0; i < 5; ++i) {
      std::int32_t v = 0;
      std::memcpy(&v, part.data.data() + i * 4, 4);
      EXPECT_EQ(v, ReferencedArray::value(4 + i, 1));
    }
  }
}

TEST(ManifestStore, ATruncatedTargetIsAnErrorNamingTheChunk) {
  ReferencedArray r("");
  fs::resize_file(r.dir.path() / "chunks.bin", 30);
  const cuzarr::Array a = std::get<cuzarr::Group>(cuzarr::open(r.store)).open_array("v");
  try {
    a.read();
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("reference 'v/"), std::string::npos) << e.what();
  }
}

TEST(ManifestStore, OpensReferencesFiles) {
  TempDir dir;
  dir.write("data.bin", "abcdef");
  dir.write("refs.json", R"({"version": 1, "templates": {"u": "data.bin"},
      "refs": {".zgroup": "{\"zarr_format\": 2}", "x": ["{{u}}", 1, 2]}})");
  const auto s = cuzarr::open_store((dir.path() / "refs.json").string());
  EXPECT_EQ(text(*s->get("x")), "bc");  // relative to the references file's folder
  EXPECT_NE(s->describe().find("refs.json"), std::string::npos);
  EXPECT_THROW(cuzarr::open_kerchunk((dir.path() / "none.json").string()), cuzarr::KeyNotFound);
}

// Icechunk names its files by Crockford base32 of the objects' ids (upper case, no padding: 12
// bytes are 20 characters, the last holding one bit).
TEST(Icechunk, IdsSpellAsCrockfordBase32) {
  const std::vector<std::uint8_t> zeros(12, 0), ones(12, 0xFF), one{0x01};
  EXPECT_EQ(cuzarr::icechunk_id_text(zeros), "00000000000000000000");
  EXPECT_EQ(cuzarr::icechunk_id_text(ones), "ZZZZZZZZZZZZZZZZZZZG");
  EXPECT_EQ(cuzarr::icechunk_id_text(one), "04");
  const std::vector<std::uint8_t> eight{0x8C, 0x63, 0x18, 0xC6, 0x31, 0x8C, 0x63, 0x18};  // 10001 repeated
  EXPECT_EQ(cuzarr::icechunk_id_text(eight), "HHHHHHHHHHHHG");
}

TEST(Icechunk, MissingRepositoriesAndBadNamesAreErrors) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("cuzarr-ice-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "refs");
  EXPECT_FALSE(cuzarr::is_icechunk_directory(dir.string()));
  std::filesystem::create_directories(dir / "snapshots");
  EXPECT_TRUE(cuzarr::is_icechunk_directory(dir.string()));
  if (CUZARR_WITH_ICECHUNK) {
    EXPECT_THROW(cuzarr::open_icechunk(dir.string()), cuzarr::KeyNotFound);
    EXPECT_THROW(cuzarr::open_icechunk(dir.string(), {.branch = "a/b"}), cuzarr::MetadataError);
    EXPECT_THROW(cuzarr::open_icechunk(dir.string(), {.snapshot_id = "0000"}), cuzarr::MetadataError);
    std::filesystem::create_directories(dir / "refs/branch.main");
    std::ofstream(dir / "refs/branch.main/ref.json") << R"({"snapshot": "00000000000000000000"})";
    std::ofstream(dir / "snapshots/00000000000000000000") << "not an icechunk file at all, but long enough to have a header";
    EXPECT_THROW(cuzarr::open_icechunk(dir.string()), cuzarr::MetadataError);
  } else {
    EXPECT_THROW(cuzarr::open_icechunk(dir.string()), cuzarr::UnsupportedError);
  }
  std::filesystem::remove_all(dir);
}
