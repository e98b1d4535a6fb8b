// The libcurl side of the network stores (HttpStore, S3Store): a pool of easy handles (each
// keeps its connections alive; DNS answers and TLS sessions are shared), one request attempt at
// a time checked through store::Response, and retries with backoff around it.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/store.hpp"
#include "store/aws_credentials.hpp"
#include "store/http_response.hpp"

namespace cuzarr::store {

// What an attempt is about to send, for TransportSettings::attempt_headers.
struct AttemptLine {
  std::string_view method;  // "GET" or "HEAD"
  std::string_view url;     // the full URL, query included
  std::string_view range;   // the Range header's value ("bytes=0-99"), "" for none
};

struct TransportSettings {
  // Requests in flight at most: the ceiling of the request window (store/request_window.hpp),
  // which starts lower and widens while requests succeed. `concurrency_given`: the user chose it
  // (storage option or CUZARR_HTTP_CONCURRENCY), so a server answering over HTTP/1.0 does not lower it.
  std::size_t concurrency = 64;
  bool concurrency_given = false;
  std::size_t retries = 10;      // further attempts after a retryable failure
  double retry_budget = 20.0;    // seconds of waiting between the attempts of one request, in all
  double timeout = 30.0;         // seconds without progress before a request fails
  // Sent with every request to the origin of its URL, never past a redirect to another origin;
  // values may be secrets (never shown).
  std::map<std::string, std::string> headers;
  // Redirects: at most 8, http(s) only, never from https to http (docs/stores.md).
  bool follow_redirects = true;
  // AWS Signature V4 by libcurl (CURLOPT_AWS_SIGV4, e.g. "aws:amz:us-east-1:s3") with the
  // credentials aws_credentials gives, asked for on every attempt (temporary ones are renewed
  // while the store is in use); their session token goes in x-amz-security-token. Empty:
  // requests are not signed. Secrets are never shown.
  std::string aws_sigv4;
  std::function<AwsCredentials()> aws_credentials;
  // Header lines ("Name: value") made for each attempt from what it sends: an OAuth2 bearer token
  // (renewed while the store is in use), an Azure SharedKey signature over the method, URL and
  // Range. They go only to the request's own origin, as `headers` do. A StoreError thrown here
  // (credentials that could not be renewed) fails the request. Values are never shown.
  std::function<std::vector<std::string>(const AttemptLine&)> attempt_headers;
};

// The settings of `options` where set, else the CUZARR_HTTP_* configuration. The headers of
// CUZARR_HTTP_HEADERS join `options.http_headers` only with `environment_headers` (HTTP stores: they
// were given for HTTP; an S3 request carries its signature instead). Throws StoreError for a zero
// concurrency, a timeout that is not positive or an invalid header.
TransportSettings transport_settings(const StoreOptions& options, bool environment_headers);

// Looks at an answer before the generic checks of Response::finish and may decide it (an S3
// error document says whether a 404 is a missing key or a missing bucket); nullopt leaves it to
// finish().
using AnswerJudge = std::function<std::optional<Outcome>(const Response&)>;

class CurlTransport {
 public:
  explicit CurlTransport(TransportSettings settings);
  ~CurlTransport();
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  // Runs `request` on `url` with retries; false when the key does not exist. Failures are a
  // StoreError starting with request.describe(shown): `shown` is the URL as messages may name it.
  bool run(const std::string& url, const std::string& shown, const Request& request, Response& response,
           const AnswerJudge& judge = {}) const;

  std::size_t concurrency() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether `headers` has one named `lower_name` (given in lower case), in any case.
bool sets_header(const std::map<std::string, std::string>& headers, std::string_view lower_name);

// `text` with every byte outside A-Z a-z 0-9 - . _ ~ (and '/' when keep_slash) written as %XX,
// the encoding AWS Signature V4 expects for paths and query values.
std::string percent_encode(std::string_view text, bool keep_slash);

// The URL without "user:password@", for messages.
std::string without_userinfo(const std::string& url);

}  // namespace cuzarr::store
