// The checks HttpStore makes on an answer, played through store::Response without a network:
// every way a server can get a range wrong must end in Retry/Fail, never in a short read.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/http_response.hpp"

namespace {

using cuzarr::store::Outcome;
using cuzarr::store::Request;
using cuzarr::store::Response;
using cuzarr::store::Want;

// A value of `n` bytes: byte i is i % 251.
std::string value(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i % 251);
  return s;
}

// Plays an answer: the header lines, then the body in pieces of `piece` bytes (stopping when the
// response says so). Returns the outcome as HttpStore would see it.
Outcome play(Response& r, const std::vector<std::string>& headers, const std::string& body, std::size_t piece = 7) {
  for (const auto& h : headers) r.header_line(h + "\r\n");
  r.header_line("\r\n");
  for (std::size_t at = 0; at < body.size(); at += piece) {
    const std::size_t n = std::min(piece, body.size() - at);
    if (r.body(reinterpret_cast<const std::byte*>(body.data() + at), n) != n) {
      if (r.stopped_early()) break;
      return {r.problem_is_final() ? Outcome::Fail : Outcome::Retry, r.problem()};
    }
  }
  return r.finish();
}

TEST(HttpResponse, RangeHeaders) {
  EXPECT_EQ((Request{Want::Range, 10, 5}).range_header(), "10-14");
  EXPECT_EQ((Request{Want::Front, 0, 100}).range_header(), "0-99");
  EXPECT_EQ((Request{Want::Back, 0, 16}).range_header(), "-16");
  EXPECT_EQ((Request{Want::Whole}).range_header(), "");
  EXPECT_EQ((Request{Want::Range, 10, 5}).describe("http://h/k"), "GET http://h/k (bytes 10-14)");
}

TEST(HttpResponse, PartialContentFillsTheCallersBuffer) {
  const std::string v = value(1000);
  std::vector<std::byte> dst(50);
  Request q{Want::Range, 100, 50, dst.data()};
  Response r(q);
  const Outcome o = play(r, {"HTTP/1.1 206 Partial Content", "Content-Range: bytes 100-149/1000", "Content-Length: 50"},
                         v.substr(100, 50));
  ASSERT_EQ(o.kind, Outcome::Done) << o.why;
  EXPECT_EQ(std::memcmp(dst.data(), v.data() + 100, 50), 0);
  EXPECT_EQ(r.total_size(), 1000u);
}

TEST(HttpResponse, WholeValueFor200IsSlicedAndStoppedEarly) {
  const std::string v = value(1000);
  std::vector<std::byte> dst(50);
  Request q{Want::Range, 100, 50, dst.data()};
  Response r(q);
  const Outcome o = play(r, {"HTTP/1.1 200 OK", "Content-Length: 1000"}, v);
  ASSERT_EQ(o.kind, Outcome::Done) << o.why;
  EXPECT_TRUE(r.stopped_early());
  EXPECT_EQ(std::memcmp(dst.data(), v.data() + 100, 50), 0);
}

TEST(HttpResponse, ShortBodyIsRetriedNotReturned) {
  const std::string v = value(1000);
  std::vector<std::byte> dst(50);
  Request q{Want::Range, 100, 50, dst.data()};
  Response r(q);
  // Content-Length agrees with the short body, but not with the range asked.
  Outcome o = play(r, {"HTTP/1.1 206 Partial Content", "Content-Range: bytes 100-149/1000", "Content-Length: 20"},
                   v.substr(100, 20));
  EXPECT_EQ(o.kind, Outcome::Retry);
  EXPECT_NE(o.why.find("does not match Content-Range"), std::string::npos) << o.why;
  // No Content-Length at all and a body cut short.
  Response r2(q);
  o = play(r2, {"HTTP/1.1 206 Partial Content", "Content-Range: bytes 100-149/1000"}, v.substr(100, 20));
  EXPECT_EQ(o.kind, Outcome::Retry);
  EXPECT_NE(o.why.find("20 of the 50 bytes"), std::string::npos) << o.why;
}

TEST(HttpResponse, WrongRangeIsRefused) {
  const std::string v = value(1000);
  std::vector<std::byte> dst(50);
  Request q{Want::Range, 100, 50, dst.data()};
  Response r(q);
  const Outcome o = play(r, {"HTTP/1.1 206 Partial Content", "Content-Range: bytes 120-169/1000"}, v.substr(120, 50));
  EXPECT_EQ(o.kind, Outcome::Retry);
  EXPECT_NE(o.why.find("sent bytes 120-169"), std::string::npos) << o.why;
}

TEST(HttpResponse, RangeBeyondTheValueFails) {
  std::vector<std::byte> dst(50);
  Request q{Want::Range, 980, 50, dst.data()};
  Response r(q);
  const Outcome o = play(r, {"HTTP/1.1 206 Partial Content", "Content-Range: bytes 980-999/1000"}, value(20));
  EXPECT_EQ(o.kind, Outcome::Fail);
  EXPECT_NE(o.why.find("1000 bytes long"), std::string::npos) << o.why;
}

TEST(HttpResponse, SuffixGivesTheTailAndTheSize) {
  const std::string v = value(1000);
  cuzarr::Buffer out;
  Request q{Want::Back, 0, 16};
  q.out = &out;
  Response r(q);
  const Outcome o = play(r, {"HTTP/1.1 206 Partial Content", "Content-Range: bytes 984-999/1000"}, v.substr(984));
  ASSERT_EQ(o.kind, Outcome::Done) << o.why;
  EXPECT_EQ(r.total_size(), 1000u);
  cuzarr::Buffer got = r.result();
  ASSERT_EQ(got.size(), 16u);
  EXPECT_EQ(std::memcmp(got.data(), v.data() + 984, 16), 0);
}

TEST(HttpResponse, FrontOfAShortValueAndOfAnEmptyOne) {
  const std::string v = value(10);
  cuzarr::Buffer out;
  std::vector<std::byte> grow;
  Request q{Want::Front, 0, 1 << 20};
  q.out = &out;
  q.grow = &grow;
  Response r(q);
  Outcome o = play(r, {"HTTP/1.1 206 Partial Content", "Content-Range: bytes 0-9/10"}, v);
  ASSERT_EQ(o.kind, Outcome::Done) << o.why;
  EXPECT_EQ(r.result().size(), 10u);
  Response e(q);
  o = play(e, {"HTTP/1.1 416 Range Not Satisfiable", "Content-Range: bytes */0"}, "");
  ASSERT_EQ(o.kind, Outcome::Done) << o.why;
  EXPECT_EQ(e.total_size(), 0u);
}

TEST(HttpResponse, StatusesMapToOutcomes) {
  std::vector<std::byte> dst(4);
  Request q{Want::Range, 0, 4, dst.data()};
  for (const auto& [line, kind] : std::vector<std::pair<std::string, Outcome::Kind>>{
           {"HTTP/1.1 404 Not Found", Outcome::Missing},
           {"HTTP/1.1 410 Gone", Outcome::Missing},
           {"HTTP/2 500", Outcome::Retry},
           {"HTTP/1.1 503 Slow Down", Outcome::Retry},
           {"HTTP/1.1 429 Too Many Requests", Outcome::Retry},
           {"HTTP/1.1 403 Forbidden", Outcome::Fail},
           {"HTTP/1.1 401 Unauthorized", Outcome::Fail},
           {"HTTP/1.1 301 Moved Permanently", Outcome::Fail}}) {
    Response r(q);
    const Outcome o = play(r, {line, "Content-Length: 9"}, "error page");
    EXPECT_EQ(o.kind, kind) << line;
    if (kind != Outcome::Missing) {
      EXPECT_NE(o.why.find(line.substr(line.find(' ') + 1, 3)), std::string::npos) << o.why;
    }
  }
}

TEST(HttpResponse, RedirectHeadersDoNotLeakIntoTheFinalAnswer) {
  const std::string v = value(100);
  std::vector<std::byte> dst(10);
  Request q{Want::Range, 0, 10, dst.data()};
  Response r(q);
  const Outcome o = play(r, {"HTTP/1.1 302 Found", "Content-Length: 5", "Location: /x", "",
                             "HTTP/1.1 206 Partial Content", "Content-Range: bytes 0-9/100"}, v.substr(0, 10));
  ASSERT_EQ(o.kind, Outcome::Done) << o.why;
}

TEST(HttpResponse, InvalidHeadersAreProblems) {
  std::vector<std::byte> dst(10);
  Request q{Want::Range, 0, 10, dst.data()};
  for (const char* bad : {"Content-Range: bytes 9-0/100", "Content-Range: items 0-9/100", "Content-Range: bytes 0-9/5",
                          "Content-Length: -3"}) {
    Response r(q);
    const Outcome o = play(r, {"HTTP/1.1 206 Partial Content", bad}, value(10));
    EXPECT_EQ(o.kind, Outcome::Retry) << bad;
  }
}

TEST(HttpResponse, HeadGivesTheSize) {
  Request q{Want::Head};
  Response r(q);
  ASSERT_EQ(play(r, {"HTTP/1.1 200 OK", "Content-Length: 1234"}, "").kind, Outcome::Done);
  EXPECT_EQ(r.total_size(), 1234u);
  Response r2(q);
  EXPECT_EQ(play(r2, {"HTTP/1.1 200 OK"}, "").kind, Outcome::Fail);
}

// Feeds `total` bytes of body in pieces of 64 KiB until the response stops the transfer; returns
// how many it took (the transfer a server would see closed), or `total` when it never stopped.
std::uint64_t feed_until_stopped(Response& r, std::uint64_t total) {
  const std::vector<std::byte> piece(64 * 1024, std::byte{'x'});
  for (std::uint64_t sent = 0; sent < total; sent += piece.size()) {
    if (r.body(piece.data(), piece.size()) != piece.size()) return sent + piece.size();
  }
  return total;
}

TEST(HttpResponseBounds, AnEndlessErrorPageIsCutAtItsCap) {
  for (const char* status : {"HTTP/1.1 404 Not Found", "HTTP/1.1 500 Internal Server Error", "HTTP/1.1 302 Found"}) {
    std::vector<std::byte> dst(10);
    Request q{Want::Range, 0, 10, dst.data()};
    Response r(q);
    r.header_line(std::string(status) + "\r\n");
    r.header_line("\r\n");
    const std::uint64_t taken = feed_until_stopped(r, std::uint64_t{1} << 30);
    EXPECT_LE(taken, Response::kErrorBodyLimit + 64 * 1024) << status;
    EXPECT_TRUE(r.stopped_early()) << status;
    EXPECT_EQ(r.error_body().size(), Response::kErrorBodyLimit);
    const Outcome o = r.finish();
    EXPECT_EQ(o.kind, std::string(status).find("404") != std::string::npos ? Outcome::Missing
                      : std::string(status).find("500") != std::string::npos ? Outcome::Retry
                                                                             : Outcome::Fail)
        << status << ": " << o.why;
  }
}

TEST(HttpResponseBounds, AnEndlessAnswerToARangeIsCut) {
  // A server that ignores Range and sends a body of no stated length that never ends.
  std::vector<std::byte> dst(100);
  Request q{Want::Range, 0, 100, dst.data()};
  Response r(q);
  r.header_line("HTTP/1.1 200 OK\r\n");
  r.header_line("\r\n");
  EXPECT_LE(feed_until_stopped(r, std::uint64_t{1} << 30), 64u * 1024);
  EXPECT_TRUE(r.stopped_early());
  EXPECT_EQ(r.finish().kind, Outcome::Done);  // the bytes asked for came
  // The front of a value also needs its size, which such an answer never tells: cut, final.
  cuzarr::Buffer out;
  std::vector<std::byte> grow;
  Request f{Want::Front, 0, 100};
  f.out = &out;
  f.grow = &grow;
  Response e(f);
  e.header_line("HTTP/1.1 200 OK\r\n");
  e.header_line("\r\n");
  const std::uint64_t taken = feed_until_stopped(e, std::uint64_t{1} << 30);
  EXPECT_LE(taken, Response::kUpFrontLimit + 2 * 64 * 1024);
  EXPECT_TRUE(e.problem_is_final()) << e.problem();
  EXPECT_LE(grow.size(), 100u);
}

TEST(HttpResponseBounds, MetadataOverItsCapFailsBeforeAllocating) {
  cuzarr::Buffer out;
  std::vector<std::byte> grow;
  Request q{Want::Whole};
  q.out = &out;
  q.grow = &grow;
  q.metadata_cap = 1000;
  // A declared length over the cap: final (not retried), nothing allocated, no byte taken.
  Response r(q);
  r.header_line("HTTP/1.1 200 OK\r\n");
  r.header_line("Content-Length: 4611686018427387904\r\n");
  r.header_line("\r\n");
  const std::byte b{'{'};
  EXPECT_EQ(r.body(&b, 1), 0u);
  EXPECT_TRUE(r.problem_is_final());
  EXPECT_NE(r.problem().find("4611686018427387904 bytes"), std::string::npos) << r.problem();
  EXPECT_NE(r.problem().find("CUZARR_MAX_METADATA_BYTES"), std::string::npos) << r.problem();
  EXPECT_EQ(out.size(), 0u);
  EXPECT_EQ(r.finish().kind, Outcome::Fail);
  // No length (chunked): stopped once past the cap.
  Response c(q);
  c.header_line("HTTP/1.1 200 OK\r\n");
  c.header_line("Transfer-Encoding: chunked\r\n");
  c.header_line("\r\n");
  std::vector<std::byte> piece(300, std::byte{' '});
  std::size_t taken = 0;
  while (c.body(piece.data(), piece.size()) == piece.size()) taken += piece.size();
  EXPECT_LE(taken, 1000u);
  EXPECT_LE(grow.size(), 1000u);
  EXPECT_TRUE(c.problem_is_final());
  EXPECT_NE(c.problem().find("passed the metadata size cap of 1000 bytes"), std::string::npos) << c.problem();
  // At the cap exactly: read.
  grow.clear();
  Response ok(q);
  const Outcome o = play(ok, {"HTTP/1.1 200 OK"}, std::string(1000, ' '));
  ASSERT_EQ(o.kind, Outcome::Done) << o.why;
  EXPECT_EQ(ok.result().size(), 1000u);
}

TEST(HttpResponseBounds, AHugeContentLengthIsNotAllocatedUpFront) {
  // A chunk read (no cap) told 2^62 bytes: the buffer grows with what comes, and the short body
  // is a truncated answer, retried.
  cuzarr::Buffer out;
  std::vector<std::byte> grow;
  Request q{Want::Whole};
  q.out = &out;
  q.grow = &grow;
  Response r(q);
  const Outcome o = play(r, {"HTTP/1.1 200 OK", "Content-Length: 4611686018427387904"}, value(100));
  EXPECT_EQ(o.kind, Outcome::Retry) << o.why;
  EXPECT_EQ(out.size(), 0u);
  EXPECT_EQ(grow.size(), 100u);
  // A small one is still taken up front (no copy at the end).
  grow.clear();
  Response s(q);
  ASSERT_EQ(play(s, {"HTTP/1.1 200 OK", "Content-Length: 100"}, value(100)).kind, Outcome::Done);
  EXPECT_EQ(out.size(), 100u);
  EXPECT_TRUE(grow.empty());
}

TEST(HttpResponseBounds, AContentEncodingNotAskedForIsRefused) {
  std::vector<std::byte> dst(10);
  Request q{Want::Range, 0, 10, dst.data()};
  for (const char* coding : {"gzip", "br", "GZIP, identity"}) {
    Response r(q);
    const Outcome o = play(r, {"HTTP/1.1 206 Partial Content", "Content-Range: bytes 0-9/100",
                               std::string("Content-Encoding: ") + coding},
                           value(10));
    EXPECT_EQ(o.kind, Outcome::Fail) << coding;
    EXPECT_NE(o.why.find("Content-Encoding"), std::string::npos) << o.why;
  }
  Response head_r(Request{Want::Head});
  EXPECT_EQ(play(head_r, {"HTTP/1.1 200 OK", "Content-Length: 9", "Content-Encoding: gzip"}, "").kind, Outcome::Fail);
  Response identity(q);
  EXPECT_EQ(play(identity, {"HTTP/1.1 206 Partial Content", "Content-Range: bytes 0-9/100", "Content-Encoding: identity"},
                 value(10))
                .kind,
            Outcome::Done);
  // An error page may be compressed: it is judged by its status.
  Response missing(q);
  EXPECT_EQ(play(missing, {"HTTP/1.1 404 Not Found", "Content-Encoding: gzip"}, "\x1f\x8b").kind, Outcome::Missing);
}

TEST(HttpConfig, SettingsParseAndHeadersStaySecret) {
  auto env = [](const char* name) -> const char* {
    const std::string n(name);
    if (n == "CUZARR_HTTP_CONCURRENCY") return "8";
    if (n == "CUZARR_HTTP_RETRIES") return "0";
    if (n == "CUZARR_HTTP_TIMEOUT") return "2.5";
    if (n == "CUZARR_HTTP_HEADERS") return R"({"Authorization": "Bearer x"})";
    return nullptr;
  };
  const cuzarr::Config c = cuzarr::parse_config(env);
  EXPECT_EQ(c.http_concurrency, 8u);
  EXPECT_EQ(c.http_retries, 0u);
  EXPECT_DOUBLE_EQ(c.http_timeout, 2.5);
  EXPECT_EQ(c.http_headers.at("Authorization"), "Bearer x");
  EXPECT_EQ(c.max_metadata_bytes, std::uint64_t{64} << 20);  // the default
  auto cap = [](const char* name) -> const char* {
    return std::string(name) == "CUZARR_MAX_METADATA_BYTES" ? "1048576" : nullptr;
  };
  EXPECT_EQ(cuzarr::parse_config(cap).max_metadata_bytes, 1048576u);
  auto tiny = [](const char* name) -> const char* {
    return std::string(name) == "CUZARR_MAX_METADATA_BYTES" ? "12" : nullptr;
  };
  EXPECT_THROW(cuzarr::parse_config(tiny), cuzarr::Error);
  auto bad = [](const char* name) -> const char* {
    return std::string(name) == "CUZARR_HTTP_HEADERS" ? R"({"A": ["top-secret"]})" : nullptr;
  };
  try {
    cuzarr::parse_config(bad);
    FAIL() << "no error";
  } catch (const cuzarr::Error& e) {
    EXPECT_EQ(std::string(e.what()).find("top-secret"), std::string::npos) << e.what();
  }
  auto zero = [](const char* name) -> const char* {
    return std::string(name) == "CUZARR_HTTP_TIMEOUT" ? "0" : nullptr;
  };
  EXPECT_THROW(cuzarr::parse_config(zero), cuzarr::Error);
}

#if CUZARR_WITH_HTTP
TEST(HttpStore, RefusesBadUrlsAndHeaders) {
  EXPECT_THROW(cuzarr::HttpStore("ftp://h/x"), cuzarr::StoreError);
  EXPECT_THROW(cuzarr::HttpStore("http://h/x.zarr?sig=1"), cuzarr::UnsupportedError);
  cuzarr::StoreOptions o;
  o.http_headers["X-Bad"] = "a\r\nInjected: 1";
  EXPECT_THROW(cuzarr::HttpStore("http://127.0.0.1:9/x", o), cuzarr::StoreError);
  cuzarr::StoreOptions r;
  r.http_headers["Range"] = "bytes=0-1";
  EXPECT_THROW(cuzarr::HttpStore("http://127.0.0.1:9/x", r), cuzarr::StoreError);
  const cuzarr::HttpStore s("https://user:pw@example.org/data.zarr/");
  EXPECT_EQ(s.describe(), "https://example.org/data.zarr");
  EXPECT_THROW(s.list_dir(""), cuzarr::UnsupportedError);
  EXPECT_THROW(s.get("../x"), cuzarr::StoreError);  // keys are checked before any request
}
#endif

TEST(OpenStore, PicksTheStoreByLocation) {
#if CUZARR_WITH_HTTP
  EXPECT_NE(dynamic_cast<const cuzarr::HttpStore*>(cuzarr::open_store("HTTP://127.0.0.1:9/x.zarr").get()), nullptr);
#else
  try {
    cuzarr::open_store("http://127.0.0.1:9/x.zarr");
    FAIL() << "opened a URL without an HTTP store";
  } catch (const cuzarr::UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("without libcurl"), std::string::npos) << e.what();
  }
#endif
#if CUZARR_WITH_HTTP
  cuzarr::StoreOptions anon;
  anon.s3.anon = true;  // no credential look-up on this machine
  EXPECT_NE(dynamic_cast<const cuzarr::S3Store*>(cuzarr::open_store("s3://bucket/x.zarr", anon).get()), nullptr);
#else
  EXPECT_THROW(cuzarr::open_store("s3://bucket/x.zarr"), cuzarr::UnsupportedError);
#endif
  EXPECT_THROW(cuzarr::open_store("hdfs://namenode/x.zarr"), cuzarr::UnsupportedError);
  EXPECT_THROW(cuzarr::open_store("/no/such/dir.zarr"), cuzarr::KeyNotFound);
}

}  // namespace
