#include "store/aws_credentials.hpp"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "cuzarr/error.hpp"
#include "store/retry_policy.hpp"

namespace cuzarr::store {
namespace {

// How long before their expiration temporary credentials are renewed, and how long a failed
// renewal waits before the next try.
constexpr std::int64_t kRefreshAhead = 300;
constexpr std::int64_t kRetryRefreshAfter = 10;

std::string string_field(const nlohmann::json& doc, const char* name, const std::string& where, bool required) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) {
    if (required) throw StoreError(where + ": the credentials document has no \"" + std::string(name) + "\"");
    return {};
  }
  if (!it->is_string()) throw StoreError(where + ": \"" + std::string(name) + "\" in the credentials document is not a string");
  std::string value = it->get<std::string>();
  // These go into an HTTP header or the signature: anything a header cannot hold is refused
  // (without repeating it: it may be a secret).
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    throw StoreError(where + ": \"" + std::string(name) + "\" in the credentials document holds a line break or NUL");
  }
  if (required && value.empty()) throw StoreError(where + ": \"" + std::string(name) + "\" in the credentials document is empty");
  return value;
}

}  // namespace

AwsCredentials parse_credentials_json(std::string_view text, const std::string& where) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) throw StoreError(where + ": the answer is not a JSON object of credentials");
  if (auto code = doc.find("Code"); code != doc.end()) {
    if (!code->is_string() || code->get<std::string>() != "Success") {
      std::string shown = code->is_string() ? code->get<std::string>().substr(0, 64) : std::string("not a string");
      for (char& c : shown) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
      }
      throw StoreError(where + ": the credential endpoint answered Code '" + shown + "', not 'Success'");
    }
  }
  AwsCredentials out;
  out.key_id = string_field(doc, "AccessKeyId", where, true);
  out.secret = string_field(doc, "SecretAccessKey", where, true);
  out.token = string_field(doc, "Token", where, false);
  const std::string expiration = string_field(doc, "Expiration", where, false);
  if (!expiration.empty()) {
    out.expiration = parse_iso8601_utc(expiration);
    if (!out.expiration) throw StoreError(where + ": \"Expiration\" in the credentials document is not an ISO 8601 time");
  }
  return out;
}

bool refresh_due(std::int64_t now, std::int64_t fetched_at, std::int64_t expiration) {
  const std::int64_t lifetime = expiration - fetched_at;
  if (lifetime <= 0) return now >= fetched_at + 1;
  return now >= std::max(expiration - kRefreshAhead, fetched_at + lifetime / 2);
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

CredentialsProvider::CredentialsProvider(AwsCredentials fixed) : first_(std::move(fixed)) {
  first_.expiration.reset();
}

CredentialsProvider::CredentialsProvider(Fetch fetch, std::string source, Clock clock)
    : fetch_(std::move(fetch)), source_(std::move(source)), clock_(clock ? std::move(clock) : Clock(&unix_now)) {
  first_ = fetch_();
  first_at_ = clock_();
}

AwsCredentials CredentialsProvider::current() const {
  if (!fetch_ || !first_.expiration) return first_;
  State& s = state_.get();
  std::lock_guard lock(s.mutex);
  if (!s.credentials.expiration) return s.credentials;
  const std::int64_t now = clock_();
  if (!refresh_due(now, s.fetched_at, *s.credentials.expiration)) return s.credentials;
  const bool expired = now >= *s.credentials.expiration;
  if (now < s.next_try) {
    if (expired) throw StoreError(s.last_error);
    return s.credentials;
  }
  try {
    s.credentials = fetch_();
    s.fetched_at = now;
    s.next_try = 0;
  } catch (const Error& e) {
    s.last_error = "the temporary credentials from " + source_ + " have expired and could not be renewed: " + e.what();
    s.next_try = now + (expired ? 1 : kRetryRefreshAfter);
    if (expired) throw StoreError(s.last_error);
  }
  return s.credentials;
}

}  // namespace cuzarr::store
