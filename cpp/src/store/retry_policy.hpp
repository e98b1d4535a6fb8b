// When a network store tries a failed request again: exponential backoff with full jitter, a
// server's Retry-After honoured, and a budget for the waiting of one request in all. Pure
// functions of their inputs (the random draw included), so the tests need no clock and no sleep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cuzarr::store {

struct RetryPolicy {
  std::size_t retries = 10;       // further attempts after the first at most
  double budget = 20.0;           // seconds of waiting between the attempts of one request, in all
  double base = 0.2;              // the first wait is drawn from [0, base)
  double cap = 10.0;              // no drawn wait exceeds this
  double retry_after_cap = 20.0;  // a server's Retry-After above this is cut to it
};

// The seconds to wait before retry number `retry` (0: the first retry) when `waited` seconds
// have been waited already, or nullopt to give up (no retry or no budget left). Without
// `retry_after` the wait is `unit` (a draw from [0, 1)) times min(cap, base * 2^retry): full
// jitter, so clients failing together do not come back together. With it, the server's wait
// (capped) is taken as it is. Either way the wait is cut to what remains of the budget.
std::optional<double> retry_delay(const RetryPolicy& policy, std::size_t retry, double waited,
                                  std::optional<double> retry_after, double unit);

// A Retry-After header value in seconds from `now` (seconds since the epoch): delta-seconds
// ("120") or an HTTP-date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"; a date in the past is
// 0). nullopt for anything else, which is then ignored.
std::optional<double> parse_retry_after(std::string_view value, std::int64_t now);

// Seconds since the epoch of a UTC time written as an IMF-fixdate (HTTP) or as ISO 8601
// ("2026-12-07T03:00:00Z", fractions and "+00:00" allowed: what the AWS credential endpoints
// write); nullopt when the text is not one.
std::optional<std::int64_t> parse_http_date(std::string_view text);
std::optional<std::int64_t> parse_iso8601_utc(std::string_view text);

}  // namespace cuzarr::store
