// What the object stores (S3Store, GcsStore, AzureStore) share beyond the transport: their URLs'
// "bucket/prefix" form, the XML error documents all three answer with, and listing one level of
// a prefix page by page (ListObjectsV2 for S3 and GCS's XML API, List Blobs for Azure).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/error.hpp"
#include "store/curl_transport.hpp"
#include "store/xml.hpp"

namespace cuzarr::store {

// A server's text for a message: printable, one line, at most 300 bytes.
std::string sanitized(const std::string& text);

// <Error><Code>...</Code><Message>...</Message></Error> of a failed answer (S3, GCS, Azure), both
// sanitized; empty fields when the body is not such a document (a proxy's page, a HEAD).
struct ErrorDocument {
  std::string code;
  std::string message;
};
ErrorDocument read_error_document(const Response& response);

// "HTTP 403 Code: message" for a failed answer.
std::string status_text(int status, const ErrorDocument& error);

// Whether a failed answer may succeed when tried again: 5xx, 408, 429.
bool retryable_status(int status);

// The verdict on an answer of an object store (nullopt for 200 and 206): `missing_code` (S3's
// NoSuchKey, Azure's BlobNotFound) or a 404/410 without a document is a missing key; throttling
// and server codes (SlowDown, ServerBusy, InternalError, ...), 5xx, 408 and 429 are retried;
// anything else fails with "HTTP <status> <code>: <message> (<where>; <hint>)", the hint from
// `hint` ("" for none).
std::optional<Outcome> judge_object_answer(const Response& response, std::string_view missing_code,
                                           const std::string& where,
                                           const std::function<std::string(const ErrorDocument&, int)>& hint);

// Runs `resolve` (a store's credential resolution at open) so that its StoreError or
// UnsupportedError names the store's location (`shown`) first: "gs://bucket/prefix: ...".
template <typename Resolve>
auto naming_location(const std::string& shown, Resolve resolve) -> decltype(resolve()) {
  try {
    return resolve();
  } catch (const UnsupportedError& e) {
    throw UnsupportedError(shown + ": " + e.what());
  } catch (const StoreError& e) {
    throw StoreError(shown + ": " + e.what());
  }
}

// "bucket/prefix/..." after a URL's scheme: the bucket (or container), checked by `check_bucket`
// (which throws) before the prefix without leading or trailing '/' ("" for the root) is
// validated as a key.
struct BucketPath {
  std::string bucket;
  std::string prefix;
};
BucketPath split_bucket_path(std::string_view rest, const std::function<void(const std::string&)>& check_bucket);

// One page of a listing: the full names found (keys, and prefixes without their trailing '/'),
// and the token of the next page ("" when this was the last).
struct ListPage {
  std::vector<std::string> names;
  std::string next;
};

// The names directly under `dir` (which ends with '/', or is "" for the root), sorted, from pages
// asked for by `page(token)` ("" for the first). A repeated token is a StoreError naming `shown`
// (a listing that never ends). nullopt when the first page says the bucket is missing.
std::optional<std::vector<std::string>> list_children(const std::string& dir, const std::string& shown,
                                                      const std::function<std::optional<ListPage>(const std::string&)>& page);

// The XML document at `url` (a listing request), its root checked to be `root`; nullopt when
// `judge` calls it missing. `what` names the request kind in messages ("ListObjectsV2").
std::optional<xml::Element> fetch_xml(const CurlTransport& transport, const std::string& url, const std::string& shown,
                                      const std::string& what, const std::string& root, const AnswerJudge& judge);

// The names under `dir` of one ListObjectsV2 page at `bucket_url` (S3 and GCS's XML API), with
// the query parameters in the order and encoding AWS Signature V4 canonicalizes them.
std::optional<ListPage> list_objects_v2_page(const CurlTransport& transport, const std::string& bucket_url,
                                             const std::string& dir, const std::string& token,
                                             const std::string& shown, const AnswerJudge& judge);

// One cloud's side of an ObjectStore (S3Store, GcsStore, AzureStore): how its objects are
// addressed, what its answers mean and how it lists a page; the reads and the listing loop are
// here once. Keys in messages are "<scheme><bucket>/<key>" (never a query: it may hold a SAS).
class ObjectBackend {
 public:
  ObjectBackend(std::string scheme, BucketPath location);
  virtual ~ObjectBackend() = default;
  ObjectBackend(const ObjectBackend&) = delete;
  ObjectBackend& operator=(const ObjectBackend&) = delete;

  // Runs `request` for `key` below the store's prefix (with retries); false when it is missing.
  bool fetch(std::string_view key, const Request& request, Response& response) const;
  // The names directly under `prefix` (below the store's prefix), sorted, page by page.
  std::vector<std::string> list_dir(std::string_view prefix) const;
  const std::string& display() const { return display_; }  // "s3://bucket/prefix"
  std::size_t concurrency() const { return transport().concurrency(); }

 protected:
  // The URL of the bucket ("<endpoint>/<bucket>"), below which objects lie.
  virtual const std::string& bucket_url() const = 0;
  // The URL a request for the object `full` (prefix and key joined) goes to; by default
  // bucket_url() + "/" + the percent-encoded key.
  virtual std::string object_url(const std::string& full) const;
  // The names of one listing page of `dir` ("" or ending in '/') after `token`; nullopt when
  // `judge` calls the answer missing. By default a ListObjectsV2 page (S3, GCS's XML API).
  virtual std::optional<ListPage> list_page(const std::string& dir, const std::string& token, const std::string& shown,
                                            const AnswerJudge& judge) const;
  // The verdict on an answer about `key` (an object, or a listed folder).
  virtual std::optional<Outcome> judge(const Response& response, const std::string& key) const = 0;
  virtual const CurlTransport& transport() const = 0;

  const std::string scheme_;  // "s3://", "gs://", "az://"
  const BucketPath location_;
  const std::string display_;
};

}  // namespace cuzarr::store
