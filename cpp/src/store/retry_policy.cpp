#include "store/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace cuzarr::store {
namespace {

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int number(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's method of
// counting 400-year eras, written out here).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

std::optional<std::int64_t> epoch_seconds(int year, int month, int day, int hour, int minute, int second) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1) return std::nullopt;
  if (day > kDays[month - 1] + (month == 2 && leap(year) ? 1 : 0)) return std::nullopt;
  // 60: a leap second, which a server may write.
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hour * 3600 +
         minute * 60 + second;
}

}  // namespace

std::optional<double> retry_delay(const RetryPolicy& policy, std::size_t retry, double waited,
                                  std::optional<double> retry_after, double unit) {
  if (retry >= policy.retries) return std::nullopt;
  const double left = policy.budget - std::max(0.0, waited);
  if (!(left > 0)) return std::nullopt;
  double wait = 0;
  if (retry_after && *retry_after >= 0) {
    wait = std::min(*retry_after, policy.retry_after_cap);
  } else {
    const double ceiling = std::min(policy.cap, policy.base * std::ldexp(1.0, static_cast<int>(std::min<std::size_t>(retry, 60))));
    wait = std::clamp(unit, 0.0, 1.0) * ceiling;
  }
  return std::min(wait, left);
}

std::optional<std::int64_t> parse_http_date(std::string_view t) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed columns.
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (t.size() != 29 || t[3] != ',' || t[4] != ' ' || t[7] != ' ' || t[11] != ' ' || t[16] != ' ' || t[19] != ':' ||
      t[22] != ':' || t[25] != ' ' || t.substr(26) != "GMT") {
    return std::nullopt;
  }
  const std::string_view day = t.substr(5, 2), year = t.substr(12, 4), hour = t.substr(17, 2), minute = t.substr(20, 2),
                         second = t.substr(23, 2);
  if (!digits(day) || !digits(year) || !digits(hour) || !digits(minute) || !digits(second)) return std::nullopt;
  const auto month = std::find(kMonths.begin(), kMonths.end(), t.substr(8, 3));
  if (month == kMonths.end()) return std::nullopt;
  return epoch_seconds(number(year), static_cast<int>(month - kMonths.begin()) + 1, number(day), number(hour),
                       number(minute), number(second));
}

std::optional<std::int64_t> parse_iso8601_utc(std::string_view t) {
  // "YYYY-MM-DDTHH:MM:SS" then optional ".fraction", then "Z" or "+00:00" / "-00:00".
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || t[13] != ':' ||
      t[16] != ':') {
    return std::nullopt;
  }
  const std::string_view year = t.substr(0, 4), month = t.substr(5, 2), day = t.substr(8, 2), hour = t.substr(11, 2),
                         minute = t.substr(14, 2), second = t.substr(17, 2);
  if (!digits(year) || !digits(month) || !digits(day) || !digits(hour) || !digits(minute) || !digits(second)) {
    return std::nullopt;
  }
  std::string_view rest = t.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    std::size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 1) return std::nullopt;
    rest.remove_prefix(n);
  }
  std::int64_t offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' && digits(rest.substr(1, 2)) &&
             digits(rest.substr(4, 2))) {
    const int h = number(rest.substr(1, 2)), m = number(rest.substr(4, 2));
    if (h > 23 || m > 59) return std::nullopt;
    offset = (rest[0] == '+' ? 1 : -1) * (h * 3600 + m * 60);
  } else {
    return std::nullopt;
  }
  const auto local = epoch_seconds(number(year), number(month), number(day), number(hour), number(minute), number(second));
  if (!local) return std::nullopt;
  return *local - offset;
}

std::optional<double> parse_retry_after(std::string_view value, std::int64_t now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (digits(value)) {
    // Anything beyond a day is as good as a day: the cap cuts it much shorter anyway.
    if (value.size() > 6) return 86400.0;
    return std::min(86400.0, static_cast<double>(number(value)));
  }
  const auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  return *when <= now ? 0.0 : static_cast<double>(std::min<std::int64_t>(*when - now, 86400));
}

}  // namespace cuzarr::store
