// libFuzzer target for the answers of the AWS credential endpoints (a container's, the EC2
// instance metadata service): the JSON credentials document with its ISO 8601 expiration, and
// the renewal decision on what it gave. Also the time parsers behind them and Retry-After.
// Input: the document. No message may repeat the secret or the token.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cuzarr/error.hpp"
#include "secret_check.hpp"
#include "store/aws_credentials.hpp"
#include "store/retry_policy.hpp"

namespace {

// The message parsing `text` ends in, "" when it succeeds.
std::string error_of(std::string_view text) {
  try {
    const cuzarr::store::AwsCredentials c = cuzarr::store::parse_credentials_json(text, "the fuzzed endpoint");
    if (c.key_id.empty() || c.secret.empty()) __builtin_trap();
    if (c.expiration) {
      (void)cuzarr::store::refresh_due(*c.expiration - 100, *c.expiration - 3600, *c.expiration);
      (void)cuzarr::store::refresh_due(*c.expiration, *c.expiration + 5, *c.expiration);
    }
    return {};
  } catch (const cuzarr::Error& e) {
    return e.what();
  }
}

std::vector<std::string> secrets(std::string_view text) {
  std::vector<std::string> out;
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) return out;
  for (const char* name : {"SecretAccessKey", "Token"}) {
    auto it = doc.find(name);
    if (it != doc.end() && it->is_string() && cuzarr::fuzz::checkable_secret(text, it->get<std::string>())) {
      out.push_back(it->get<std::string>());
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string message = error_of(text);
  if (!message.empty()) {
    for (const std::string& secret : secrets(text)) {
      if (cuzarr::fuzz::repeats_secret(text, secret, message, error_of)) __builtin_trap();
    }
  }
  (void)cuzarr::store::parse_iso8601_utc(text);
  (void)cuzarr::store::parse_http_date(text);
  if (const auto wait = cuzarr::store::parse_retry_after(text, 784111777); wait && (*wait < 0 || *wait > 86400)) {
    __builtin_trap();
  }
  return 0;
}
