// One plain HTTP request outside the stores' pool, retries and redirects: what the credential
// endpoints (AWS container and instance metadata, Google's OAuth2 token endpoint) are asked.
// Answers are small documents, capped at 64 KiB.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cuzarr::store {

struct PlainAnswer {
  bool connected = false;  // false: no server answered (connection refused, timed out, no route)
  long status = 0;         // -1: the answer was larger than the cap
  std::string body;
  std::string error;  // libcurl's words when !connected
};

// `method` to `url` with the header lines and, when not empty, `body` (a POST's form). With
// `direct`, never through a proxy (link-local metadata addresses). Redirects are not followed.
PlainAnswer plain_request(const char* method, const std::string& url, const std::vector<std::string>& headers,
                          long timeout_ms, std::string_view body, bool direct);

// "HTTP 404", or what kept the request from an answer, for messages.
std::string plain_failure(const PlainAnswer& answer);

}  // namespace cuzarr::store
