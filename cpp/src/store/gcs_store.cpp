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

class GcsBackend final : public store::ObjectBackend {
 public:
  // The environment is read now, as S3Store reads AWS's: credentials set since the first cuzarr
  // call are seen by the next open.
  GcsBackend(const std::string& url, const StoreOptions& options)
      : ObjectBackend("gs://", parse_gcs_url(url)),
        access_(store::naming_location(display_, [&] { return store::resolve_gcs_access(options.gcs, gcs_environment()); })),
        base_(access_.endpoint + "/" + store::percent_encode(location_.bucket, false)),
        transport_(settings(options)) {}

 protected:
  const std::string& bucket_url() const override { return base_; }
  const store::CurlTransport& transport() const override { return transport_; }

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

  std::optional<Outcome> judge(const store::Response& r, const std::string& key) const override {
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

  store::GcsAccess access_;
  std::string base_;
  store::CurlTransport transport_;
};

}  // namespace

GcsStore::GcsStore(const std::string& url, const StoreOptions& options)
    : ObjectStore(std::make_unique<GcsBackend>(url, options)) {}

}  // namespace cuzarr
