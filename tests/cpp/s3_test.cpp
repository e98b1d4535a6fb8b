// The parts of the S3 store that need no server: the XML reader for S3's documents, AWS-style INI
// files, the credentials chain (options, environment, profiles) and the S3 options from text.
// Reads against a real S3-compatible server are in tests/python/test_s3.py.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/s3_credentials.hpp"
#include "store/xml.hpp"

namespace {

namespace xml = cuzarr::store::xml;
using cuzarr::S3Options;
using cuzarr::store::resolve_s3_access;

TEST(Xml, ReadsAListBucketResult) {
  const std::string doc = R"(<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>data.zarr/</Prefix><KeyCount>2</KeyCount>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>data.zarr/zarr.json</Key><Size>123</Size></Contents>
  <Contents><Key>data.zarr/a &amp; b&#x2F;&#233;&lt;</Key></Contents>
  <CommonPrefixes><Prefix><![CDATA[data.zarr/<temp>/]]></Prefix></CommonPrefixes>
  <s3:Empty a='1' b="2"/>
</ListBucketResult>)";
  const xml::Element root = xml::parse(doc);
  EXPECT_EQ(root.name, "ListBucketResult");
  EXPECT_EQ(root.child_text("IsTruncated"), "true");
  EXPECT_EQ(root.child_text("NextContinuationToken"), "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  ASSERT_EQ(root.children.size(), 9u);
  EXPECT_EQ(root.children[5].child_text("Key"), "data.zarr/zarr.json");
  EXPECT_EQ(root.children[6].child_text("Key"), "data.zarr/a & b/\xC3\xA9<");
  EXPECT_EQ(root.children[7].child_text("Prefix"), "data.zarr/<temp>/");
  EXPECT_EQ(root.children[8].name, "Empty");
  EXPECT_EQ(root.child("Missing"), nullptr);
  EXPECT_EQ(root.child_text("Missing"), "");
}

TEST(Xml, ReadsAnErrorDocument) {
  const xml::Element e = xml::parse(
      "\xEF\xBB\xBF<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
      "<Key>a/b</Key></Error>\n");
  EXPECT_EQ(e.name, "Error");
  EXPECT_EQ(e.child_text("Code"), "NoSuchKey");
  EXPECT_EQ(e.child_text("Message"), "The specified key does not exist.");
}

TEST(Xml, RefusesMalformedDocuments) {
  for (const char* bad : {"", "plain text", "<a>", "<a></b>", "<a><b></a></b>", "<a>&bogus;</a>", "<a>&#0;</a>",
                          "<a>&#xD800;</a>", "<a>&amp</a>", "<a></a><b></b>", "<a b></a>", "<a b=1></a>",
                          "<a b=\"1></a>", "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "<a><!-- open </a>",
                          "<a><![CDATA[open</a>", "<a/ >", "<a><!ELEMENT x></a>"}) {
    EXPECT_THROW(xml::parse(bad), cuzarr::StoreError) << bad;
  }
  try {
    xml::parse("<a></b>");
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("malformed XML"), std::string::npos);
  }
}

TEST(Xml, BoundsTheNesting) {
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  for (int i = 0; i < 100; ++i) deep += "</a>";
  EXPECT_THROW(xml::parse(deep), cuzarr::StoreError);
  std::string fine;
  for (int i = 0; i < 30; ++i) fine += "<a>";
  for (int i = 0; i < 30; ++i) fine += "</a>";
  EXPECT_NO_THROW(xml::parse(fine));
}

TEST(Ini, ReadsSectionsCommentsAndNestedBlocks) {
  const auto ini = cuzarr::store::parse_ini(
      "# comment\n[default]\naws_access_key_id = AKIADEFAULT\r\nAWS_Secret_Access_Key=s/e+c=ret\n; other\n"
      "[profile   dev]\nregion = eu-west-1\ns3 =\n  addressing_style = path\n  endpoint_url = http://x:1\n"
      "output = json\nstray line\n[broken\nkey = kept in dev\n");
  ASSERT_EQ(ini.count("default"), 1u);
  EXPECT_EQ(ini.at("default").at("aws_access_key_id"), "AKIADEFAULT");
  EXPECT_EQ(ini.at("default").at("aws_secret_access_key"), "s/e+c=ret");
  const auto& dev = ini.at("profile dev");
  EXPECT_EQ(dev.at("region"), "eu-west-1");
  EXPECT_EQ(dev.at("s3.addressing_style"), "path");
  EXPECT_EQ(dev.at("s3.endpoint_url"), "http://x:1");
  EXPECT_EQ(dev.at("output"), "json");
  EXPECT_EQ(dev.at("key"), "kept in dev");
}

class TempDir {
 public:
  TempDir() : path_(std::filesystem::temp_directory_path() / ("cuzarr_s3_test_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

cuzarr::Config::Aws no_environment() { return {}; }

TEST(S3Access, OptionsComeFirst) {
  cuzarr::Config::Aws env = no_environment();
  env.access_key_id = "AKIAENV";
  env.secret_access_key = "envsecret";
  env.region = "eu-central-1";
  S3Options o;
  o.key = "AKIAOPT";
  o.secret = "optsecret";
  o.token = "opttoken";
  o.endpoint_url = "http://127.0.0.1:9000/";
  const auto a = resolve_s3_access(o, env);
  EXPECT_EQ(a.key_id, "AKIAOPT");
  EXPECT_EQ(a.secret, "optsecret");
  EXPECT_EQ(a.token, "opttoken");
  EXPECT_EQ(a.region, "eu-central-1");
  EXPECT_EQ(a.endpoint, "http://127.0.0.1:9000");
  EXPECT_FALSE(a.anonymous);
  EXPECT_EQ(a.addressing_style, "auto");
}

TEST(S3Access, EnvironmentThenDefaultProfileThenAnonymous) {
  TempDir dir;
  cuzarr::Config::Aws env = no_environment();
  env.credentials_file = dir.write("credentials", "[default]\naws_access_key_id=AKIAFILE\naws_secret_access_key=filesecret\n"
                                                  "aws_session_token=filetoken\n");
  env.config_file = dir.write("config", "[default]\nregion = ap-south-1\n");
  env.access_key_id = "AKIAENV";
  env.secret_access_key = "envsecret";
  env.session_token = "envtoken";
  auto a = resolve_s3_access({}, env);
  EXPECT_EQ(a.key_id, "AKIAENV");
  EXPECT_EQ(a.token, "envtoken");
  EXPECT_EQ(a.region, "ap-south-1");
  env.access_key_id.clear();
  env.secret_access_key.clear();
  a = resolve_s3_access({}, env);
  EXPECT_EQ(a.key_id, "AKIAFILE");
  EXPECT_EQ(a.secret, "filesecret");
  EXPECT_EQ(a.token, "filetoken");
  EXPECT_NE(a.source.find("profile 'default'"), std::string::npos);
  env.credentials_file = (std::filesystem::temp_directory_path() / "cuzarr_no_such_file").string();
  env.config_file.clear();
  a = resolve_s3_access({}, env);
  EXPECT_TRUE(a.anonymous);
  EXPECT_EQ(a.region, "us-east-1");
  EXPECT_NE(a.anonymous_why.find("no credentials were found"), std::string::npos);
}

TEST(S3Access, NamedProfilesFromBothFiles) {
  TempDir dir;
  cuzarr::Config::Aws env = no_environment();
  env.credentials_file = dir.write("credentials", "[dev]\naws_access_key_id=AKIADEV\naws_secret_access_key=devsecret\n");
  env.config_file = dir.write("config", "[profile dev]\nregion = eu-west-2\ns3 =\n  addressing_style = virtual\n"
                                        "  endpoint_url = http://minio:9000\n[profile sso]\nsso_session = corp\n"
                                        "[profile cfgkeys]\naws_access_key_id=AKIACFG\naws_secret_access_key=cfgsecret\n");
  env.access_key_id = "AKIAENV";  // an explicitly named profile wins over the environment's keys
  env.secret_access_key = "envsecret";
  S3Options o;
  o.profile = "dev";
  auto a = resolve_s3_access(o, env);
  EXPECT_EQ(a.key_id, "AKIADEV");
  EXPECT_EQ(a.region, "eu-west-2");
  EXPECT_EQ(a.addressing_style, "virtual");
  EXPECT_EQ(a.endpoint, "http://minio:9000");
  o.profile = "cfgkeys";
  EXPECT_EQ(resolve_s3_access(o, env).key_id, "AKIACFG");
  o.profile = "nope";
  EXPECT_THROW(resolve_s3_access(o, env), cuzarr::StoreError);
  o.profile = "sso";
  EXPECT_THROW(resolve_s3_access(o, env), cuzarr::UnsupportedError);
  // AWS_PROFILE names the profile when the options do not.
  env.access_key_id.clear();
  env.secret_access_key.clear();
  env.profile = "dev";
  EXPECT_EQ(resolve_s3_access({}, env).key_id, "AKIADEV");
  env.profile = "missing";
  EXPECT_THROW(resolve_s3_access({}, env), cuzarr::StoreError);
}

TEST(S3Access, ErrorsNeverShowASecret) {
  cuzarr::Config::Aws env = no_environment();
  S3Options o;
  o.secret = "TOPSECRET-VALUE";
  try {
    resolve_s3_access(o, env);
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("TOPSECRET"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'secret' needs 'key'"), std::string::npos);
  }
  env.secret_access_key = "TOPSECRET-ENV";
  try {
    resolve_s3_access({}, env);
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("TOPSECRET"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("AWS_ACCESS_KEY_ID is not"), std::string::npos);
  }
}

TEST(S3Access, AnonAndBadSettings) {
  cuzarr::Config::Aws env = no_environment();
  env.access_key_id = "AKIAENV";
  env.secret_access_key = "envsecret";
  S3Options o;
  o.anon = true;
  EXPECT_TRUE(resolve_s3_access(o, env).anonymous);
  S3Options bad_endpoint;
  bad_endpoint.endpoint_url = "ftp://host";
  EXPECT_THROW(resolve_s3_access(bad_endpoint, env), cuzarr::StoreError);
  S3Options bad_style;
  bad_style.addressing_style = "sideways";
  EXPECT_THROW(resolve_s3_access(bad_style, env), cuzarr::StoreError);
  S3Options bad_region;
  bad_region.region = "us/east";
  EXPECT_THROW(resolve_s3_access(bad_region, env), cuzarr::StoreError);
}

TEST(S3Options, FromText) {
  S3Options o;
  cuzarr::set_s3_option(o, "key", "AKIA");
  cuzarr::set_s3_option(o, "secret", "s");
  cuzarr::set_s3_option(o, "anon", "true");
  cuzarr::set_s3_option(o, "addressing_style", "path");
  EXPECT_EQ(o.key, "AKIA");
  EXPECT_TRUE(o.anon);
  EXPECT_EQ(o.addressing_style, "path");
  EXPECT_FALSE(o.empty());
  EXPECT_TRUE(S3Options{}.empty());
  EXPECT_THROW(cuzarr::set_s3_option(o, "anon", "maybe"), cuzarr::StoreError);
  EXPECT_THROW(cuzarr::set_s3_option(o, "addressing_style", "diagonal"), cuzarr::StoreError);
  EXPECT_THROW(cuzarr::set_s3_option(o, "bucket", "x"), cuzarr::StoreError);
  try {
    cuzarr::set_s3_option(o, "secret", "line\nbreak-SECRET");
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("SECRET"), std::string::npos);
  }
}

TEST(S3Url, OpenStorePicksS3AndChecksOptions) {
  EXPECT_TRUE(cuzarr::is_s3_url("s3://b/k"));
  EXPECT_TRUE(cuzarr::is_s3_url("S3://b"));
  EXPECT_FALSE(cuzarr::is_s3_url("s3:/b"));
  EXPECT_FALSE(cuzarr::is_s3_url("https://b"));
  cuzarr::StoreOptions options;
  options.s3.anon = true;
  EXPECT_THROW(cuzarr::open_store("/tmp", options), cuzarr::StoreError);
#if CUZARR_WITH_HTTP
  auto store = cuzarr::open_store("s3://my-bucket/data.zarr/", options);
  EXPECT_EQ(store->describe(), "s3://my-bucket/data.zarr");
  EXPECT_GT(store->preferred_concurrency(), 8u);
  EXPECT_THROW(cuzarr::open_store("s3://bad*bucket/x", options), cuzarr::StoreError);
  EXPECT_THROW(cuzarr::open_store("s3:///x", options), cuzarr::StoreError);
  EXPECT_THROW(cuzarr::open_store("s3://b/../x", options), cuzarr::StoreError);
  EXPECT_THROW(cuzarr::open_store("s3://b/x?versionId=1", options), cuzarr::UnsupportedError);
  options.s3.addressing_style = "virtual";
  EXPECT_THROW(cuzarr::open_store("s3://bucket.with.dots/x", options), cuzarr::StoreError);
#endif
}

TEST(S3Access, RegionAndEndpointHoldOnlyWhatTheyMay) {
  const cuzarr::Config::Aws env = no_environment();
  for (const char* bad : {"x@evil.invalid#", "us-east-1.evil", "eu west", "-eu", "a/b", "ü"}) {
    S3Options o;
    o.region = bad;
    try {
      resolve_s3_access(o, env);
      FAIL() << bad;
    } catch (const cuzarr::StoreError& e) {
      EXPECT_NE(std::string(e.what()).find("letters, digits and '-'"), std::string::npos) << e.what();
    }
  }
  S3Options good;
  good.region = "eu-west-1";
  EXPECT_EQ(resolve_s3_access(good, env).region, "eu-west-1");
  cuzarr::Config::Aws bad_env = env;
  bad_env.region = "x@evil.invalid#";
  EXPECT_THROW(resolve_s3_access({}, bad_env), cuzarr::StoreError);

  // A user name or password in the endpoint is refused, and never repeated.
  S3Options userinfo;
  userinfo.endpoint_url = "http://admin:hunter2-PASSWORD@127.0.0.1:9000";
  try {
    resolve_s3_access(userinfo, env);
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("admin"), std::string::npos) << msg;
    EXPECT_NE(msg.find("user name or password"), std::string::npos) << msg;
  }
  for (const char* bad : {"http://", "http://host:port", "http://ho st", "http://[::1", "http://a\\b", "https://h:123456",
                          "http://host/a b", "http://host/?q"}) {
    S3Options o;
    o.endpoint_url = bad;
    EXPECT_THROW(resolve_s3_access(o, env), cuzarr::StoreError) << bad;
  }
  for (const char* ok : {"http://127.0.0.1:9000", "https://s3.example.org/", "http://[::1]:9000", "http://minio/base"}) {
    S3Options o;
    o.endpoint_url = ok;
    EXPECT_NO_THROW(resolve_s3_access(o, env)) << ok;
  }
}

TEST(S3Access, ProfilesFromTextWithoutFiles) {
  cuzarr::Config::Aws env = no_environment();
  env.profile = "dev";
  const auto config = cuzarr::store::parse_ini("[profile dev]\nregion = eu-north-1\n");
  const auto credentials = cuzarr::store::parse_ini("[dev]\naws_access_key_id = AK\naws_secret_access_key = SK\n");
  const auto a = resolve_s3_access({}, env, config, credentials);
  EXPECT_EQ(a.region, "eu-north-1");
  EXPECT_EQ(a.key_id, "AK");
  EXPECT_THROW(resolve_s3_access({}, env, std::nullopt, std::nullopt), cuzarr::StoreError);
}

#if CUZARR_WITH_HTTP
TEST(S3Url, BucketNamesFollowS3Rules) {
  cuzarr::StoreOptions options;
  options.s3.anon = true;
  options.s3.endpoint_url = "http://127.0.0.1:9";
  for (const char* ok : {"s3://abc/x", "s3://my.bucket-1/x", "s3://Legacy_Bucket/x"}) {
    EXPECT_NO_THROW(cuzarr::open_store(ok, options)) << ok;
  }
  for (const char* bad : {"s3://ab/x", "s3://-abc/x", "s3://abc-/x", "s3://a..b/x", "s3://a@b.c/x", "s3://a#b/x"}) {
    EXPECT_THROW(cuzarr::open_store(bad, options), cuzarr::Error) << bad;
  }
}
#endif

}  // namespace
