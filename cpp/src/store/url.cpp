#include "store/url.hpp"

#include <algorithm>
#include <cctype>

namespace cuzarr::store {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

// The host part of `hostport` and its port ("" when none); nullopt-like false when it is neither
// "[v6]" nor a registered name, or the port is not a number.
bool split_host_port(std::string_view hostport, std::string_view& host, std::string_view& port) {
  port = {};
  if (hostport.starts_with('[')) {
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) return false;
    host = hostport.substr(0, close + 1);
    const std::string_view rest = hostport.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':' || !all_digits(rest.substr(1))) return false;
    port = rest.substr(1);
    return true;
  }
  const std::size_t colon = hostport.find(':');
  host = hostport.substr(0, colon);
  if (colon != std::string_view::npos) {
    port = hostport.substr(colon + 1);
    if (!all_digits(port)) return false;
  }
  if (host.empty()) return false;
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("-._~%!$&'()*+,;=").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

}  // namespace

Authority find_authority(std::string_view url) {
  Authority a;
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos || scheme == 0) return a;
  a.valid = true;
  a.begin = scheme + 3;
  const std::size_t end = std::min(url.find_first_of("/?#", a.begin), url.size());
  const std::string_view authority = url.substr(a.begin, end - a.begin);
  const std::size_t at = authority.rfind('@');
  const std::size_t host_at = at == std::string_view::npos ? 0 : at + 1;
  std::string_view host, port;
  const std::size_t later_at = url.rfind('@');
  if (split_host_port(authority.substr(host_at), host, port) || later_at == std::string_view::npos ||
      later_at < end) {
    a.host = a.begin + host_at;
    a.end = end;
    return a;
  }
  // Not a host: a password with an unencoded '/', '?' or '#'. Everything up to the last '@' is
  // taken as user information: at worst a message shows too little of the URL, never the secret.
  a.host = later_at + 1;
  a.end = std::min(url.find_first_of("/?#", a.host), url.size());
  return a;
}

std::string origin_of(std::string_view url) {
  const Authority a = find_authority(url);
  if (!a.valid) return {};
  const std::string scheme = lower(url.substr(0, a.begin - 3));
  if (scheme != "http" && scheme != "https") return {};
  std::string_view host, port;
  if (!split_host_port(url.substr(a.host, a.end - a.host), host, port)) return {};
  const std::string shown_port = port.empty() ? (scheme == "https" ? "443" : "80") : std::string(port);
  return scheme + "://" + lower(host) + ":" + shown_port;
}

RedirectDecision judge_redirect(std::string_view from, std::string_view to) {
  const std::string target = origin_of(to);
  if (target.empty()) {
    return {RedirectDecision::Refused, "the server redirected to a URL that is not http:// or https:// (not followed)"};
  }
  const std::string source = origin_of(from);
  if (source.starts_with("https://") && target.starts_with("http://")) {
    return {RedirectDecision::Refused, "the server redirected from https to " + target +
                                           " (not followed: plain http would carry the request and its headers "
                                           "unencrypted)"};
  }
  return {source == target ? RedirectDecision::SameOrigin : RedirectDecision::OtherOrigin, {}};
}

}  // namespace cuzarr::store
