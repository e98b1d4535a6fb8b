// S3Store: s3://bucket/prefix over the shared libcurl transport. libcurl signs each request
// (CURLOPT_AWS_SIGV4); S3 wants the payload hash in x-amz-content-sha256 (a fixed header) and a
// session token in x-amz-security-token (added per attempt, as temporary credentials change),
// both signed. Error documents decide what
// a failed answer means (NoSuchKey is a missing key, NoSuchBucket and AccessDenied are errors
// naming the bucket and key, SlowDown is retried). Listing is ListObjectsV2 with a '/' delimiter.
#include <cctype>
#include <set>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/aws_credential_endpoints.hpp"
#include "store/curl_transport.hpp"
#include "store/s3_credentials.hpp"
#include "store/xml.hpp"

namespace cuzarr {
namespace {

using store::Outcome;

// SHA-256 of an empty body: every request S3Store makes is a GET or HEAD without one.
constexpr const char* kEmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct S3Location {
  std::string bucket;
  std::string prefix;  // without leading or trailing '/'; "" for the bucket's root
};

S3Location parse_s3_url(const std::string& url) {
  const std::string shown = store::without_userinfo(url);  // "s3://user:pw@bucket" says nothing of its password
  if (!is_s3_url(url)) throw StoreError("not an s3:// URL: '" + shown + "'");
  if (url.find_first_of("?#") != std::string::npos) {
    throw UnsupportedError("S3 URL '" + shown + "': a query string or fragment cannot be combined with keys");
  }
  std::string_view rest = std::string_view(url).substr(5);
  const std::size_t slash = rest.find('/');
  S3Location loc;
  loc.bucket = std::string(rest.substr(0, slash));
  // S3's rules (3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a
  // letter or digit, no ".."), widened to what buckets made before 2018 in us-east-1 may hold:
  // capitals and '_', up to 255 characters.
  const std::string& b = loc.bucket;
  const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (b.size() < 3 || b.size() > 255 ||
      b.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != std::string::npos ||
      !alnum(b.front()) || !alnum(b.back()) || b.find("..") != std::string::npos) {
    if (shown != url) throw StoreError("S3 URL '" + shown + "': user information ('...@') has no place in it");
    throw StoreError("S3 URL '" + shown + "': '" + b +
                     "' is not a bucket name (3 to 63 letters, digits, '.' and '-', starting and ending with a "
                     "letter or digit)");
  }
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    if (!prefix.empty()) {
      validate_key(prefix);
      loc.prefix = std::string(prefix);
    }
  }
  return loc;
}

// Whether a bucket name can be a DNS label under an AWS host (and match its TLS certificate).
bool dns_friendly(const std::string& bucket) {
  return bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos && bucket.size() >= 3 &&
         bucket.size() <= 63;
}

// A server's text for a message: printable, one line, bounded.
std::string sanitized(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= 300) {
      out += "...";
      break;
    }
    out += (c < 0x20 || c == 0x7F) ? ' ' : static_cast<char>(c);
  }
  return out;
}

bool retryable_code(const std::string& code) {
  return code == "SlowDown" || code == "InternalError" || code == "ServiceUnavailable" || code == "RequestTimeout" ||
         code == "OperationAborted" || code == "Throttling" || code == "ThrottlingException" ||
         code == "RequestLimitExceeded";
}

}  // namespace

class S3Store::Impl {
 public:
  // The AWS environment is read now, not when the process first used cuzarr: credentials set or
  // rotated since then are seen by the next open.
  Impl(const std::string& url, const StoreOptions& options)
      : location_(parse_s3_url(url)),
        environment_(aws_environment()),
        access_(store::resolve_s3_access(options.s3, environment_)),
        credentials_(credentials(options.s3)),
        display_("s3://" + location_.bucket + (location_.prefix.empty() ? "" : "/" + location_.prefix)),
        base_(bucket_url()),
        transport_(settings(options)) {}

  const std::string& display() const { return display_; }
  std::size_t concurrency() const { return transport_.concurrency(); }

  bool fetch(std::string_view key, const store::Request& request, store::Response& response) const {
    validate_key(key);
    const std::string full = join_key(location_.prefix, key);
    const std::string url = base_ + "/" + store::percent_encode(full, /*keep_slash=*/true);
    return transport_.run(url, "s3://" + location_.bucket + "/" + full, request, response,
                          [&](const store::Response& r) { return judge(r, full); });
  }

  std::vector<std::string> list_dir(std::string_view prefix) const {
    if (!prefix.empty()) validate_key(prefix);
    std::string dir = join_key(location_.prefix, prefix);
    if (!dir.empty()) dir += '/';
    std::set<std::string> names;
    std::set<std::string> tokens_seen;
    std::string token;
    for (;;) {
      // Query parameters in the order AWS Signature V4 sorts them, each encoded as it encodes
      // them, so the query libcurl signs is already canonical.
      std::string query = "?";
      if (!token.empty()) query += "continuation-token=" + store::percent_encode(token, false) + "&";
      query += "delimiter=%2F&list-type=2&prefix=" + store::percent_encode(dir, false);
      const std::string shown = "s3://" + location_.bucket + "/" + dir;
      Buffer out;
      std::vector<std::byte> grow;
      store::Request request{store::Want::Whole};
      request.out = &out;
      request.grow = &grow;
      store::Response response(request);
      const bool found = transport_.run(base_ + "/" + query, shown + " (ListObjectsV2)", request, response,
                                        [&](const store::Response& r) { return judge(r, dir); });
      if (!found) return {};
      const Buffer body = response.result();
      const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
      store::xml::Element doc;
      try {
        doc = store::xml::parse(text);
      } catch (const StoreError& e) {
        throw StoreError("listing " + shown + ": the answer is not a ListObjectsV2 result: " + e.what());
      }
      if (doc.name != "ListBucketResult") {
        throw StoreError("listing " + shown + ": the answer is a <" + doc.name + "> document, not <ListBucketResult>");
      }
      for (const store::xml::Element& item : doc.children) {
        std::string name;
        if (item.name == "Contents") {
          name = item.child_text("Key");
        } else if (item.name == "CommonPrefixes") {
          name = item.child_text("Prefix");
          while (!name.empty() && name.back() == '/') name.pop_back();
        } else {
          continue;
        }
        if (!name.starts_with(dir)) continue;  // a server that ignored the prefix
        name.erase(0, dir.size());
        if (!name.empty() && name.find('/') == std::string::npos) names.insert(name);
      }
      if (doc.child_text("IsTruncated") != "true") break;
      token = doc.child_text("NextContinuationToken");
      if (token.empty()) throw StoreError("listing " + shown + ": a truncated page without a NextContinuationToken");
      if (!tokens_seen.insert(token).second) {
        throw StoreError("listing " + shown + ": the server repeated a continuation token (a listing that never ends)");
      }
    }
    return {names.begin(), names.end()};
  }

 private:
  // The URL of the bucket's root: "<endpoint>/<bucket>" (path style) or "<scheme>://<bucket>.<host>" (virtual).
  std::string bucket_url() const {
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

  std::optional<Outcome> judge(const store::Response& r, const std::string& key) const {
    const int status = r.status();
    if (status == 200 || status == 206) return std::nullopt;
    std::string code, message;
    if (!r.error_body().empty()) {
      try {
        const store::xml::Element doc = store::xml::parse(r.error_body());
        if (doc.name == "Error") {
          code = sanitized(doc.child_text("Code"));
          message = sanitized(doc.child_text("Message"));
        }
      } catch (const StoreError&) {
        // Not an S3 error document (a proxy's page): judged by its status alone.
      }
    }
    if (code == "NoSuchKey" || (code.empty() && (status == 404 || status == 410))) return Outcome{Outcome::Missing, {}};
    std::string why = "HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code) +
                      (message.empty() ? "" : ": " + message);
    if (retryable_code(code) || status == 408 || status == 429 || (status >= 500 && status < 600)) {
      return Outcome{Outcome::Retry, why};
    }
    const std::string where = "bucket '" + location_.bucket + "'" + (key.empty() ? "" : ", key '" + key + "'");
    const std::string from = access_.source.empty() ? std::string("the credentials") : access_.source;
    std::string hint;
    if (code == "NoSuchBucket") {
      hint = "the bucket does not exist at " +
             (access_.endpoint.empty() ? std::string("AWS") : store::without_userinfo(access_.endpoint));
    } else if (code == "InvalidAccessKeyId") {
      hint = "the server does not know the access key id from " + from;
    } else if (code == "SignatureDoesNotMatch") {
      hint = "the secret access key from " + from + " does not belong to its key id";
    } else if (code == "ExpiredToken" || code == "TokenRefreshRequired") {
      hint = "the session token from " + from + " has expired; renew the credentials";
    } else if (code == "InvalidToken") {
      hint = "the session token from " + from + " is not valid";
    } else if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" || status == 301 || status == 307) {
      hint = "the bucket is not in region '" + access_.region + "'; set its region (storage option 'region' or AWS_REGION)";
    } else if (code == "AccessDenied" || code == "AllAccessDisabled" || status == 403) {
      hint = access_.anonymous ? access_.anonymous_why : "the credentials from " + from + " may not read it";
    }
    return Outcome{Outcome::Fail, why + " (" + where + (hint.empty() ? "" : "; " + hint) + ")"};
  }

  S3Location location_;
  Config::Aws environment_;
  store::S3Access access_;
  std::shared_ptr<store::CredentialsProvider> credentials_;  // null: requests are not signed
  std::string display_;
  std::string base_;
  store::CurlTransport transport_;
};

S3Store::S3Store(const std::string& url, const StoreOptions& options) : impl_(std::make_unique<Impl>(url, options)) {}

S3Store::~S3Store() = default;

bool S3Store::fetch(std::string_view key, const store::Request& request, store::Response& response) const {
  return impl_->fetch(key, request, response);
}

std::vector<std::string> S3Store::list_dir(std::string_view prefix) const { return impl_->list_dir(prefix); }

std::string S3Store::describe() const { return impl_->display(); }

std::size_t S3Store::preferred_concurrency() const { return impl_->concurrency(); }

}  // namespace cuzarr
