// The parts of an http(s) URL that decide where a request goes and what a message may show: the
// user name and password (never shown), and the origin (scheme, host, port) that headers and
// credentials were given for. Pure functions, no libcurl: the tests feed them hostile URLs.
#pragma once

#include <string>
#include <string_view>

namespace cuzarr::store {

// Where the authority of `url` ("user:password@host:port") lies, as [begin, end) offsets, and
// where its user information ends (the offset of the host; == begin when there is none).
// `valid` is false when the URL has no "scheme://".
struct Authority {
  bool valid = false;
  std::size_t begin = 0;
  std::size_t host = 0;
  std::size_t end = 0;
};

// Finds the authority. A password may hold '/', '?', '#' or '@' that its writer did not
// percent-encode ("https://u:pa/ss@host/x"): when the text before the first '/', '?' or '#' is
// not a host[:port] and a later '@' exists, everything up to the last such '@' before the next
// host is taken as user information, so that a message never shows it.
Authority find_authority(std::string_view url);

// "scheme://host:port" in lower case, with the default port (80, 443) written out; "" when `url`
// is not an http or https URL.
std::string origin_of(std::string_view url);

// What to do with a redirect from `from` to `to` (both absolute URLs).
struct RedirectDecision {
  enum Kind {
    SameOrigin,   // follow, with every header and credential
    OtherOrigin,  // follow without the custom headers and credentials
    Refused,      // do not follow: `why` says why
  } kind = SameOrigin;
  std::string why;
};
// https -> http is refused (it would send the request, and any header, in clear text), and so is
// any scheme but http and https. `why` names the target by its origin only (a query string may
// hold a signature).
RedirectDecision judge_redirect(std::string_view from, std::string_view to);

}  // namespace cuzarr::store
