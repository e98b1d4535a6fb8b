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

}  // namespace cuzarr::store
