// S3Store: s3://bucket/prefix over the shared libcurl transport. libcurl signs each request
// (CURLOPT_AWS_SIGV4); S3 wants the payload hash in x-amz-content-sha256 (a fixed header) and a
// session token in x-amz-security-token (added per attempt, as temporary credentials change),
// both signed. Error documents decide what
// a failed answer means (NoSuchKey is a missing key, NoSuchBucket and AccessDenied are errors
// naming the bucket and key, SlowDown is retried). Listing is ListObjectsV2 with a '/' delimiter.
#include <cctype>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/aws_credential_endpoints.hpp"
#include "store/curl_transport.hpp"
#include "store/s3_credentials.hpp"
#include "store/object_store.hpp"

namespace cuzarr {
namespace {

using store::Outcome;

// SHA-256 of an empty body: every request S3Store makes is a GET or HEAD without one.
constexpr const char* kEmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

using S3Location = store::BucketPath;

S3Location parse_s3_url(const std::string& url) {
  const std::string shown = store::without_userinfo(url);  // "s3://user:pw@bucket" says nothing of its password
  if (!is_s3_url(url)) throw StoreError("not an s3:// URL: '" + shown + "'");
  if (url.find_first_of("?#") != std::string::npos) {
    throw UnsupportedError("S3 URL '" + shown + "': a query string or fragment cannot be combined with keys");
  }
  // S3's rules (3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a
  // letter or digit, no ".."), widened to what buckets made before 2018 in us-east-1 may hold:
  // capitals and '_', up to 255 characters.
  return store::split_bucket_path(std::string_view(url).substr(5), [&](const std::string& b) {
    const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
    if (b.size() < 3 || b.size() > 255 ||
        b.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != std::string::npos ||
        !alnum(b.front()) || !alnum(b.back()) || b.find("..") != std::string::npos) {
      if (shown != url) throw StoreError("S3 URL '" + shown + "': user information ('...@') has no place in it");
      throw StoreError("S3 URL '" + shown + "': '" + b +
                       "' is not a bucket name (3 to 63 letters, digits, '.' and '-', starting and ending with a "
                       "letter or digit)");
    }
  });
}

// Whether a bucket name can be a DNS label under an AWS host (and match its TLS certificate).
bool dns_friendly(const std::string& bucket) {
  return bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos && bucket.size() >= 3 &&
         bucket.size() <= 63;
}

class S3Backend final : public store::ObjectBackend {
 public:
  // The AWS environment is read now, not when the process first used cuzarr: credentials set or
  // rotated since then are seen by the next open.
  S3Backend(const std::string& url, const StoreOptions& options)
      : ObjectBackend("s3://", parse_s3_url(url)),
        environment_(aws_environment()),
        access_(store::resolve_s3_access(options.s3, environment_)),
        credentials_(credentials(options.s3)),
        base_(make_bucket_url()),
        transport_(settings(options)) {}

 protected:
  const std::string& bucket_url() const override { return base_; }
  const store::CurlTransport& transport() const override { return transport_; }

 private:
  // The URL of the bucket's root: "<endpoint>/<bucket>" (path style) or "<scheme>://<bucket>.<host>" (virtual).
  std::string make_bucket_url() const {
    const bool custom = !access_.endpoint.empty();
    const std::string endpoint = custom ? access_.endpoint : "https://s3." + access_.region + ".amazonaws.com";
    bool path_style = access_.addressing_style == "path";
    if (access_.addressing_style == "auto") path_style = custom || !dns_friendly(location_.bucket);
    if (path_style) return endpoint + "/" + store::percent_encode(location_.bucket, false);
    if (!dns_friendly(location_.bucket)) {
      throw StoreError("bucket '" + location_.bucket + "' cannot be addressed virtual-host style (its name is not a DNS "
                       "label); use addressing_style=path");
    }
    const std::size_t authority = endpoint.find("://") + 3;
    return endpoint.substr(0, authority) + location_.bucket + "." + endpoint.substr(authority);
  }

  // The keys requests are signed with: those the options, environment or a profile gave, else
  // those of a container or instance credential endpoint (renewed before they expire), else none.
  std::shared_ptr<store::CredentialsProvider> credentials(const S3Options& options) {
    if (!access_.anonymous) {
      return std::make_shared<store::CredentialsProvider>(store::AwsCredentials{access_.key_id, access_.secret, access_.token, {}});
    }
    if (options.anon) return nullptr;
    std::shared_ptr<store::CredentialsProvider> fetched = store::endpoint_credentials(environment_);
    if (fetched) {
      access_.anonymous = false;
      access_.anonymous_why.clear();
      access_.source = fetched->source();
    }
    return fetched;
  }

  store::TransportSettings settings(const StoreOptions& options) const {
    // CUZARR_HTTP_HEADERS is for HTTP stores: a bearer token there would replace the signature.
    store::TransportSettings s = store::transport_settings(options, /*environment_headers=*/false);
    // A redirect from S3 points at another region, where this signature is not valid.
    s.follow_redirects = false;
    if (credentials_) {
      // libcurl does not sign a request that already has one: it would go out unsigned.
      if (store::sets_header(s.headers, "authorization")) {
        throw StoreError("'" + display_ + "': storage option 'headers' sets 'Authorization', which would take the "
                         "place of the request signature; drop it (or use anon=True)");
      }
      s.aws_sigv4 = "aws:amz:" + access_.region + ":s3";
      s.aws_credentials = [provider = credentials_] { return provider->current(); };
      s.headers["x-amz-content-sha256"] = kEmptyPayloadHash;
    }
    return s;
  }

  std::optional<Outcome> judge(const store::Response& r, const std::string& key) const override {
    const std::string where = "bucket '" + location_.bucket + "'" + (key.empty() ? "" : ", key '" + key + "'");
    return store::judge_object_answer(r, "NoSuchKey", where, [&](const store::ErrorDocument& error, int status) {
      const std::string& code = error.code;
      const std::string from = access_.source.empty() ? std::string("the credentials") : access_.source;
      if (code == "NoSuchBucket") {
        return "the bucket does not exist at " +
               (access_.endpoint.empty() ? std::string("AWS") : store::without_userinfo(access_.endpoint));
      }
      if (code == "InvalidAccessKeyId") return "the server does not know the access key id from " + from;
      if (code == "SignatureDoesNotMatch") return "the secret access key from " + from + " does not belong to its key id";
      if (code == "ExpiredToken" || code == "TokenRefreshRequired") {
        return "the session token from " + from + " has expired; renew the credentials";
      }
      if (code == "InvalidToken") return "the session token from " + from + " is not valid";
      if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" || status == 301 || status == 307) {
        return "the bucket is not in region '" + access_.region +
               "'; set its region (storage option 'region' or AWS_REGION)";
      }
      if (code == "AccessDenied" || code == "AllAccessDisabled" || status == 403) {
        return access_.anonymous ? access_.anonymous_why : "the credentials from " + from + " may not read it";
      }
      return std::string();
    });
  }

  Config::Aws environment_;
  store::S3Access access_;
  std::shared_ptr<store::CredentialsProvider> credentials_;  // null: requests are not signed
  std::string base_;
  store::CurlTransport transport_;
};

}  // namespace

S3Store::S3Store(const std::string& url, const StoreOptions& options)
    : ObjectStore(std::make_unique<S3Backend>(url, options)) {}

}  // namespace cuzarr
