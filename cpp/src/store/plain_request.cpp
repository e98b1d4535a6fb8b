#include "store/plain_request.hpp"

#include <curl/curl.h>

#include "cuzarr/error.hpp"
#include "store/curl_handles.hpp"

namespace cuzarr::store {
namespace {

// A credentials document is a few hundred bytes; an endpoint that sends more is not one.
constexpr std::size_t kBodyLimit = 64 * 1024;

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t n = size * count;
  if (body->size() + n > kBodyLimit) return 0;  // stops the transfer
  body->append(data, n);
  return n;
}

}  // namespace

PlainAnswer plain_request(const char* method, const std::string& url, const std::vector<std::string>& headers,
                          long timeout_ms, std::string_view body, bool direct) {
  init_curl();
  Easy h(curl_easy_init());
  if (!h) throw StoreError("libcurl could not create a request handle");
  HeaderList list;
  for (const std::string& line : headers) append_header(list, line);
  PlainAnswer a;
  char errors[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_CUSTOMREQUEST, method);
  if (!body.empty()) {
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, body.data());
  } else if (std::string_view(method) == "PUT" || std::string_view(method) == "POST") {
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE, 0L);
  }
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errors);
  curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 0L);
  if (direct) curl_easy_setopt(h.get(), CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, 2 * timeout_ms);
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &a.body);
  if (list) curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, list.get());
  const CURLcode rc = curl_easy_perform(h.get());
  if (rc == CURLE_WRITE_ERROR) {
    a.connected = true;
    a.error = "the answer is larger than " + std::to_string(kBodyLimit) + " bytes";
    a.status = -1;
    return a;
  }
  if (rc != CURLE_OK) {
    a.error = errors[0] != '\0' ? errors : curl_easy_strerror(rc);
    return a;
  }
  a.connected = true;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &a.status);
  return a;
}

std::string plain_failure(const PlainAnswer& a) {
  if (!a.connected || a.status < 0) return a.error;
  return "HTTP " + std::to_string(a.status);
}

}  // namespace cuzarr::store
