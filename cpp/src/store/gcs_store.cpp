// GcsStore: gs://bucket/prefix over Google Cloud Storage's XML API, which answers as S3 does
// (ranges, <Error> documents, ListObjectsV2), through the shared libcurl transport. Requests
// carry a bearer token (asked for on every attempt, so a renewed one takes effect at once), or an
// HMAC signature (GOOG4-HMAC-SHA256, by libcurl), or nothing (public buckets).
#include <cctype>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/curl_transport.hpp"
#include "store/gcs_credentials.hpp"
#include "store/object_store.hpp"
#include "store/option_text.hpp"

namespace cuzarr {
namespace {

using store::Outcome;

constexpr const char* kEmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

store::BucketPath parse_gcs_url(const std::string& url) {
  const std::string shown = store::without_userinfo(url);
  if (!is_gcs_url(url)) throw StoreError("not a gs:// URL: '" + shown + "'");
  if (url.find_first_of("?#") != std::string::npos) {
    throw UnsupportedError("GCS URL '" + shown + "': a query string or fragment cannot be combined with keys");
  }
  const std::size_t scheme = url.find("://") + 3;
  // Bucket names: 3 to 63 lower-case letters, digits, '-', '_' and '.' (up to 222 with dots),
  // starting and ending with a letter or digit.
  return store::split_bucket_path(std::string_view(url).substr(scheme), [&](const std::string& b) {
    const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
    if (b.size() < 3 || b.size() > 222 || b.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos ||
        !alnum(b.front()) || !alnum(b.back())) {
      if (shown != url) throw StoreError("GCS URL '" + shown + "': user information ('...@') has no place in it");
      throw StoreError("GCS URL '" + shown + "': '" + b +
                       "' is not a bucket name (3 to 63 lower-case letters, digits, '-', '_' and '.', starting and "
                       "ending with a letter or digit)");
    }
  });
}

}  // namespace

class GcsStore::Impl {
 public:
  // The environment is read now, as S3Store reads AWS's: credentials set since the first cuzarr
  // call are seen by the next open.
  Impl(const std::string& url, const StoreOptions& options)
      : location_(parse_gcs_url(url)),
        display_("gs://" + location_.bucket + (location_.prefix.empty() ? "" : "/" + location_.prefix)),
        access_(store::naming_location(display_, [&] { return store::resolve_gcs_access(options.gcs, gcs_environment()); })),
        base_(access_.endpoint + "/" + store::percent_encode(location_.bucket, false)),
        transport_(settings(options)) {}

  const std::string& display() const { return display_; }
  std::size_t concurrency() const { return transport_.concurrency(); }

  bool fetch(std::string_view key, const store::Request& request, store::Response& response) const {
    validate_key(key);
    const std::string full = join_key(location_.prefix, key);
    const std::string url = base_ + "/" + store::percent_encode(full, /*keep_slash=*/true);
    return transport_.run(url, "gs://" + location_.bucket + "/" + full, request, response,
                          [&](const store::Response& r) { return judge(r, full); });
  }

  std::vector<std::string> list_dir(std::string_view prefix) const {
    if (!prefix.empty()) validate_key(prefix);
    std::string dir = join_key(location_.prefix, prefix);
    if (!dir.empty()) dir += '/';
    const std::string shown = "gs://" + location_.bucket + "/" + dir;
    const store::AnswerJudge judge = [&](const store::Response& r) { return this->judge(r, dir); };
    return store::list_children(dir, shown, [&](const std::string& token) {
             return store::list_objects_v2_page(transport_, base_, dir, token, shown, judge);
           }).value_or(std::vector<std::string>{});
  }

 private:
  store::TransportSettings settings(const StoreOptions& options) const {
    store::TransportSettings s = store::transport_settings(options, /*environment_headers=*/false);
    s.follow_redirects = false;  // a signature or token is for this endpoint only
    if (access_.kind != store::GcsAccess::Anonymous && store::sets_header(s.headers, "authorization")) {
      throw StoreError("'" + display_ + "': storage option 'headers' sets 'Authorization', which would take the place "
                       "of the credentials; drop it (or use token='anon')");
    }
    if (access_.kind == store::GcsAccess::Hmac) {
      s.aws_sigv4 = "goog:goog:auto:storage";
      s.aws_credentials = [key = access_.hmac_key, secret = access_.hmac_secret] {
        return store::AwsCredentials{key, secret, {}, {}};
      };
      s.headers["x-goog-content-sha256"] = kEmptyPayloadHash;
    } else if (access_.kind == store::GcsAccess::Bearer) {
      s.attempt_headers = [tokens = access_.tokens](const store::AttemptLine&) {
        return std::vector<std::string>{"Authorization: Bearer " + tokens->current().token};
      };
    }
    return s;
  }

  std::optional<Outcome> judge(const store::Response& r, const std::string& key) const {
    const std::string where = "bucket '" + location_.bucket + "'" + (key.empty() ? "" : ", key '" + key + "'");
    return store::judge_object_answer(r, "NoSuchKey", where, [&](const store::ErrorDocument& error, int status) {
      const std::string& code = error.code;
      if (code == "NoSuchBucket") return "the bucket does not exist at " + store::without_userinfo(access_.endpoint);
      if (access_.kind == store::GcsAccess::Anonymous && (status == 401 || status == 403)) return access_.anonymous_why;
      if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "InvalidSecurity") {
        return "the HMAC key from " + access_.source + " was refused (an unknown access id, or a secret that does not "
               "belong to it)";
      }
      if (status == 401) return "the access token from " + access_.source + " was refused (expired or not valid)";
      if (status == 403) return "the credentials from " + access_.source + " may not read it";
      return std::string();
    });
  }

  store::BucketPath location_;
  std::string display_;
  store::GcsAccess access_;
  std::string base_;
  store::CurlTransport transport_;
};

GcsStore::GcsStore(const std::string& url, const StoreOptions& options) : impl_(std::make_unique<Impl>(url, options)) {}

GcsStore::~GcsStore() = default;

bool GcsStore::fetch(std::string_view key, const store::Request& request, store::Response& response) const {
  return impl_->fetch(key, request, response);
}

std::vector<std::string> GcsStore::list_dir(std::string_view prefix) const { return impl_->list_dir(prefix); }

std::string GcsStore::describe() const { return impl_->display(); }

std::size_t GcsStore::preferred_concurrency() const { return impl_->concurrency(); }

}  // namespace cuzarr
