// The retry policy of the network stores as pure functions: the waits between attempts (full
// jitter, the budget, Retry-After) and the parsing of Retry-After and the time formats. No test
// sleeps: the draw and the clock are inputs.
#include <gtest/gtest.h>

#include <optional>

#include "store/http_response.hpp"
#include "store/retry_policy.hpp"

namespace {

using cuzarr::store::parse_http_date;
using cuzarr::store::parse_iso8601_utc;
using cuzarr::store::parse_retry_after;
using cuzarr::store::retry_delay;
using cuzarr::store::RetryPolicy;

TEST(RetryDelay, FullJitterUnderAnExponentialCeiling) {
  const RetryPolicy p;  // base 0.2 s, cap 10 s
  EXPECT_DOUBLE_EQ(*retry_delay(p, 0, 0, std::nullopt, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(*retry_delay(p, 0, 0, std::nullopt, 0.5), 0.1);
  EXPECT_DOUBLE_EQ(*retry_delay(p, 3, 0, std::nullopt, 0.5), 0.8);   // ceiling 1.6
  EXPECT_DOUBLE_EQ(*retry_delay(p, 6, 0, std::nullopt, 0.999), 9.99);  // ceiling 12.8, capped at 10
  EXPECT_DOUBLE_EQ(*retry_delay(p, 9, 0, std::nullopt, 1.0), 10.0);
  // A huge retry number does not overflow the ceiling.
  RetryPolicy many;
  many.retries = 1000;
  many.budget = 1e9;
  EXPECT_DOUBLE_EQ(*retry_delay(many, 999, 0, std::nullopt, 0.5), 5.0);
}

TEST(RetryDelay, StopsAtTheAttemptsOrTheBudget) {
  RetryPolicy p;
  p.retries = 2;
  EXPECT_TRUE(retry_delay(p, 1, 0, std::nullopt, 0.5));
  EXPECT_FALSE(retry_delay(p, 2, 0, std::nullopt, 0.5));
  p.retries = 0;
  EXPECT_FALSE(retry_delay(p, 0, 0, std::nullopt, 0.5));
  // The budget: a wait is cut to what remains of it, and none remains after it is spent.
  const RetryPolicy q;  // 20 s
  EXPECT_DOUBLE_EQ(*retry_delay(q, 6, 18.5, std::nullopt, 1.0), 1.5);
  EXPECT_FALSE(retry_delay(q, 7, 20.0, std::nullopt, 0.1));
  // Summing the largest draws: the waits of one request stay within the budget.
  double waited = 0;
  std::size_t retries = 0;
  while (auto w = retry_delay(q, retries, waited, std::nullopt, 1.0)) {
    waited += *w;
    ++retries;
  }
  EXPECT_DOUBLE_EQ(waited, 20.0);
  EXPECT_LE(retries, q.retries);
}

TEST(RetryDelay, HonoursRetryAfterWithinItsCapAndTheBudget) {
  const RetryPolicy p;
  EXPECT_DOUBLE_EQ(*retry_delay(p, 0, 0, 1.0, 0.0), 1.0);  // not jittered away
  EXPECT_DOUBLE_EQ(*retry_delay(p, 0, 0, 0.0, 0.9), 0.0);
  EXPECT_DOUBLE_EQ(*retry_delay(p, 0, 0, 3600.0, 0.5), 20.0);  // capped
  EXPECT_DOUBLE_EQ(*retry_delay(p, 1, 15.0, 30.0, 0.5), 5.0);  // the budget's rest
  EXPECT_FALSE(retry_delay(p, 10, 0, 1.0, 0.5));               // no retries left
}

TEST(RetryAfter, SecondsOrAnHttpDate) {
  const std::int64_t now = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("1", now), 1.0);
  EXPECT_EQ(parse_retry_after(" 120 ", now), 120.0);
  EXPECT_EQ(parse_retry_after("0", now), 0.0);
  EXPECT_EQ(parse_retry_after("99999999999999999999", now), 86400.0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 0.0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10.0);
  EXPECT_EQ(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now), 0.0);  // in the past
  for (const char* bad : {"", "-1", "1.5", "soon", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 32 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT"}) {
    EXPECT_FALSE(parse_retry_after(bad, now)) << bad;
  }
}

TEST(HttpDate, KnownInstants) {
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 12:00:00 GMT"), 951825600);
  EXPECT_FALSE(parse_http_date("Tue, 29 Feb 2001 12:00:00 GMT"));  // not a leap year
}

TEST(Iso8601, TheFormsCredentialEndpointsWrite) {
  EXPECT_EQ(parse_iso8601_utc("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601_utc("1994-11-06T08:49:37Z"), 784111777);
  EXPECT_EQ(parse_iso8601_utc("1994-11-06T08:49:37.123456Z"), 784111777);
  EXPECT_EQ(parse_iso8601_utc("1994-11-06T09:49:37+01:00"), 784111777);
  EXPECT_EQ(parse_iso8601_utc("1994-11-06T07:49:37-01:00"), 784111777);
  for (const char* bad : {"", "1994-11-06", "1994-11-06T08:49:37", "1994-13-06T08:49:37Z", "1994-11-06T08:49:37.Z",
                          "1994-11-06T08:49:37+0100", "1994-11-06T08:49:37Zjunk", "19a4-11-06T08:49:37Z"}) {
    EXPECT_FALSE(parse_iso8601_utc(bad)) << bad;
  }
}

TEST(RetryAfter, TheResponseKeepsTheFinalAnswersHeader) {
  using cuzarr::store::Request;
  using cuzarr::store::Response;
  Response r(Request{cuzarr::store::Want::Head});
  r.header_line("HTTP/1.1 503 Slow Down\r\n");
  r.header_line("retry-after:  7 \r\n");
  EXPECT_EQ(r.retry_after(), "7");
  EXPECT_EQ(parse_retry_after(r.retry_after(), 0), 7.0);
  // A new status line (a redirect, an interim answer) starts afresh.
  r.header_line("HTTP/1.1 429 Too Many Requests\r\n");
  EXPECT_EQ(r.retry_after(), "");
  r.header_line("Retry-After: " + std::string(1000, '9') + "\r\n");
  EXPECT_EQ(r.retry_after().size(), 64u);  // bounded
  EXPECT_EQ(parse_retry_after(r.retry_after(), 0), 86400.0);
}

}  // namespace
