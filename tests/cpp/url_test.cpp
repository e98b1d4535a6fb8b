// What a message may show of a URL, and where headers may follow a redirect: the pure decisions
// behind HttpStore's messages and its redirect loop (store/url.hpp), fed hostile URLs.
#include <gtest/gtest.h>

#include <string>

#include "store/url.hpp"
#if CUZARR_WITH_HTTP
#include "store/curl_transport.hpp"
#endif

namespace {

using cuzarr::store::judge_redirect;
using cuzarr::store::origin_of;
using cuzarr::store::RedirectDecision;

TEST(Url, OriginsSpellOutTheDefaultPortAndIgnoreCaseAndUserinfo) {
  EXPECT_EQ(origin_of("https://Example.ORG/x"), "https://example.org:443");
  EXPECT_EQ(origin_of("HTTP://example.org"), "http://example.org:80");
  EXPECT_EQ(origin_of("http://example.org:80/a?b#c"), "http://example.org:80");
  EXPECT_EQ(origin_of("http://u:p@example.org:8080/"), "http://example.org:8080");
  EXPECT_EQ(origin_of("http://[::1]:9000/x"), "http://[::1]:9000");
  EXPECT_EQ(origin_of("ftp://example.org/x"), "");
  EXPECT_EQ(origin_of("no-scheme"), "");
}

TEST(Url, RedirectsKeepHeadersOnlyWithinTheirOrigin) {
  EXPECT_EQ(judge_redirect("http://a.org/x", "http://a.org/y").kind, RedirectDecision::SameOrigin);
  EXPECT_EQ(judge_redirect("http://a.org/x", "http://A.org:80/y").kind, RedirectDecision::SameOrigin);
  EXPECT_EQ(judge_redirect("http://a.org/x", "http://b.org/x").kind, RedirectDecision::OtherOrigin);
  EXPECT_EQ(judge_redirect("http://a.org/x", "http://a.org:8080/x").kind, RedirectDecision::OtherOrigin);
  EXPECT_EQ(judge_redirect("http://a.org/x", "https://a.org/x").kind, RedirectDecision::OtherOrigin);
  // A host that differs only in what comes after an '@' of the user information.
  EXPECT_EQ(judge_redirect("http://a.org/x", "http://a.org@b.org/x").kind, RedirectDecision::OtherOrigin);
}

TEST(Url, HttpsToHttpAndOtherSchemesAreRefused) {
  const RedirectDecision d = judge_redirect("https://a.org/x", "http://a.org/x?X-Amz-Signature=secret");
  EXPECT_EQ(d.kind, RedirectDecision::Refused);
  EXPECT_NE(d.why.find("https to http://a.org:80"), std::string::npos) << d.why;
  EXPECT_EQ(d.why.find("secret"), std::string::npos) << d.why;  // the target by its origin only
  EXPECT_EQ(judge_redirect("https://a.org/x", "HTTP://b.org/x").kind, RedirectDecision::Refused);
  EXPECT_EQ(judge_redirect("http://a.org/x", "file:///etc/passwd").kind, RedirectDecision::Refused);
  EXPECT_EQ(judge_redirect("http://a.org/x", "gopher://a.org/x").kind, RedirectDecision::Refused);
  EXPECT_EQ(judge_redirect("http://a.org/x", "https://b.org/x").kind, RedirectDecision::OtherOrigin);
}

#if CUZARR_WITH_HTTP
TEST(Url, MessagesNeverShowUserinfo) {
  using cuzarr::store::without_userinfo;
  EXPECT_EQ(without_userinfo("https://user:pw@example.org/data.zarr"), "https://example.org/data.zarr");
  EXPECT_EQ(without_userinfo("https://example.org/data.zarr"), "https://example.org/data.zarr");
  EXPECT_EQ(without_userinfo("https://example.org:8443/a@b/c"), "https://example.org:8443/a@b/c");
  EXPECT_EQ(without_userinfo("not a url"), "not a url");
  // Passwords with characters their writer did not percent-encode.
  for (const char* password : {"pa/ss", "pa?ss", "pa#ss", "pa@ss", "p/a?s#s@x", "x@/y", "/", "@@", "a:b/c"}) {
    const std::string url = std::string("https://user:") + password + "@example.org:8443/data.zarr/zarr.json";
    const std::string shown = without_userinfo(url);
    EXPECT_EQ(shown, "https://example.org:8443/data.zarr/zarr.json") << password;
    EXPECT_EQ(shown.find("user"), std::string::npos) << password;
  }
  // Only a user name.
  EXPECT_EQ(without_userinfo("http://token@127.0.0.1:9/x"), "http://127.0.0.1:9/x");
}
#endif

}  // namespace
