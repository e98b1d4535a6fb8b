// The keys an S3 store signs with, as they are now: fixed ones (storage options, environment,
// profile) or temporary ones from a credential endpoint (a container's, the EC2 instance
// metadata service) that are fetched again before they expire while the store is in use. The
// transport asks for them on every request attempt, so a refresh takes effect at once.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "process_local.hpp"

namespace cuzarr::store {

struct AwsCredentials {
  std::string key_id;
  std::string secret;                     // never shown
  std::string token;                      // session token of temporary credentials, or ""; never shown
  std::optional<std::int64_t> expiration;  // seconds since the epoch; none: they do not expire
};

// The credentials in a JSON document as the container credential endpoint and the instance
// metadata service answer ({"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}; "Code"
// other than "Success" is a refusal). Throws StoreError naming `where` and what is missing or
// wrong; never a value of the document (secrets).
AwsCredentials parse_credentials_json(std::string_view text, const std::string& where);

// Whether credentials fetched at `fetched_at` and expiring at `expiration` (both seconds since
// the epoch) should be fetched again at `now`: five minutes before they expire, but not before
// half their lifetime has passed (so short-lived ones are not fetched on every request), and at
// most once a second when they came already expired.
bool refresh_due(std::int64_t now, std::int64_t fetched_at, std::int64_t expiration);

// Thread-safe: one thread refreshes while the others wait for its result. A failed refresh
// keeps the old credentials until they expire (and is tried again ten seconds later); once
// they have expired the failure is a StoreError for the request (tried again a second later).
class CredentialsProvider {
 public:
  using Fetch = std::function<AwsCredentials()>;
  using Clock = std::function<std::int64_t()>;  // seconds since the epoch

  // Credentials that never change.
  explicit CredentialsProvider(AwsCredentials fixed);
  // Credentials from `fetch` (called now, and again whenever refresh_due says so); `source`
  // names it for messages ("the container credential endpoint").
  CredentialsProvider(Fetch fetch, std::string source, Clock clock = {});

  AwsCredentials current() const;
  const std::string& source() const { return source_; }

 private:
  // What renewals change, per process: a child forked while a parent's thread renews would
  // otherwise wait forever on that thread's lock, or read half-written keys. A child starts again
  // from the credentials the provider was made with (never written after) and renews as due.
  struct State {
    std::mutex mutex;
    AwsCredentials credentials;
    std::int64_t fetched_at = 0;
    std::int64_t next_try = 0;  // after a failed refresh: not before this
    std::string last_error;
  };
  AwsCredentials first_;
  std::int64_t first_at_ = 0;
  Fetch fetch_;
  std::string source_;
  Clock clock_;
  ProcessLocal<State> state_{[this] {
    auto s = std::make_unique<State>();
    s->credentials = first_;
    s->fetched_at = first_at_;
    return s;
  }};
};

// Seconds since the epoch, from the system clock.
std::int64_t unix_now();

}  // namespace cuzarr::store
