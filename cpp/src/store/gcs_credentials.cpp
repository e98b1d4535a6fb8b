#include "store/gcs_credentials.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cuzarr/error.hpp"
#include "store/curl_transport.hpp"
#include "store/object_store.hpp"
#include "store/plain_request.hpp"
#include "store/signing.hpp"
#include "store/url.hpp"

namespace cuzarr::store {
namespace {

constexpr const char* kDefaultTokenUri = "https://oauth2.googleapis.com/token";
constexpr const char* kReadScope = "https://www.googleapis.com/auth/devstorage.read_only";
constexpr std::int64_t kJwtLifetime = 3600;
constexpr long kTokenTimeoutMs = 10000;

std::string field(const nlohmann::json& doc, const char* name, const std::string& where, bool required) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) {
    if (required) throw StoreError(where + ": the credentials have no \"" + std::string(name) + "\"");
    return {};
  }
  if (!it->is_string()) throw StoreError(where + ": \"" + std::string(name) + "\" in the credentials is not a string");
  return it->get<std::string>();
}

// Token endpoints are https, or http to this machine (a test's or an emulator's): a refresh
// token or a signed assertion must not cross a network in clear text.
void check_token_uri(const std::string& uri, const std::string& where) {
  if (is_token_endpoint_origin(uri)) return;
  throw StoreError(where + ": \"token_uri\" '" + without_userinfo(uri) +
                   "' is not an https URL (plain http only to this machine)");
}

std::string read_file(const std::string& path, const std::string& where) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StoreError(where + ": cannot read the credentials file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

AwsCredentials fetch_token(const GoogleCredentials& c, const std::string& where, std::int64_t now) {
  return post_for_token(c.token_uri, token_request_body(c, now, where),
                        where + ": the token endpoint " + without_userinfo(c.token_uri), now);
}

// The access token of the machine's service account, from the metadata server of a Google Cloud
// machine (what gcsfs's token='cloud' asks): never through a proxy, and never to a host with a
// path or user information.
AwsCredentials fetch_metadata_token(const std::string& host, std::int64_t now) {
  const std::string url = "http://" + host + "/computeMetadata/v1/instance/service-accounts/default/token";
  const std::string from = "the metadata server " + without_userinfo("http://" + host) + " (token='cloud')";
  const PlainAnswer a = plain_request("GET", url, {"Metadata-Flavor: Google"}, kTokenTimeoutMs, {}, /*direct=*/true);
  if (!a.connected || a.status < 0) {
    throw StoreError(from + " did not answer (" + plain_failure(a) +
                     "): token='cloud' works on Google Cloud machines; elsewhere give credentials");
  }
  if (a.status != 200) throw StoreError(from + " answered HTTP " + std::to_string(a.status));
  return parse_token_answer(a.body, now, from);
}

GcsAccess from_metadata_server(const std::string& configured) {
  const std::string host = configured.empty() ? "metadata.google.internal" : configured;
  if (host.find_first_of("/@?#") != std::string::npos) {
    throw StoreError("GCE_METADATA_HOST '" + sanitized(host) + "' is not a host[:port]");
  }
  GcsAccess access;
  access.kind = GcsAccess::Bearer;
  access.source = "the metadata server's token (token='cloud')";
  access.tokens = std::make_shared<CredentialsProvider>([host] { return fetch_metadata_token(host, unix_now()); },
                                                        access.source);
  return access;
}

// Credentials from a JSON document: a provider that fetches a token now and renews it.
GcsAccess from_document(std::string_view json, const std::string& where) {
  GoogleCredentials c = parse_google_credentials(json, where);
  GcsAccess access;
  access.kind = GcsAccess::Bearer;
  access.source = where;
  access.tokens = std::make_shared<CredentialsProvider>([c, where] { return fetch_token(c, where, unix_now()); },
                                                        where);
  return access;
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

}  // namespace

bool is_token_endpoint_origin(const std::string& url) {
  const std::string origin = origin_of(url);
  return origin.starts_with("https://") || origin.starts_with("http://127.") || origin.starts_with("http://localhost:") ||
         origin.starts_with("http://[::1]:");
}

AwsCredentials post_for_token(const std::string& url, const std::string& form, const std::string& from, std::int64_t now) {
  const PlainAnswer a = plain_request("POST", url, {"Content-Type: application/x-www-form-urlencoded"}, kTokenTimeoutMs,
                                      form, /*direct=*/false);
  if (!a.connected || a.status < 0) throw StoreError(from + " did not answer: " + plain_failure(a));
  if (a.status != 200) {
    // An OAuth2 error answer says why ({"error": "invalid_grant", ...}); anything else by status.
    try {
      parse_token_answer(a.body, now, from);
    } catch (const StoreError& e) {
      throw StoreError(std::string(e.what()) + " (HTTP " + std::to_string(a.status) + ")");
    }
    throw StoreError(from + " answered HTTP " + std::to_string(a.status));
  }
  return parse_token_answer(a.body, now, from);
}

GoogleCredentials parse_google_credentials(std::string_view json, const std::string& where) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) throw StoreError(where + ": the credentials are not a JSON object");
  const std::string type = field(doc, "type", where, true);
  GoogleCredentials c;
  if (type == "service_account") {
    c.type = GoogleCredentials::ServiceAccount;
    c.client_email = field(doc, "client_email", where, true);
    c.private_key = field(doc, "private_key", where, true);
    c.private_key_id = field(doc, "private_key_id", where, false);
  } else if (type == "authorized_user") {
    c.type = GoogleCredentials::AuthorizedUser;
    c.client_id = field(doc, "client_id", where, true);
    c.client_secret = field(doc, "client_secret", where, true);
    c.refresh_token = field(doc, "refresh_token", where, true);
  } else {
    std::string shown = sanitized(type.substr(0, 40));
    throw UnsupportedError(where + ": credentials of type '" + shown +
                           "' are not supported (cuzarr takes service_account and authorized_user; or give an "
                           "access token as storage option 'token')");
  }
  c.token_uri = field(doc, "token_uri", where, false);
  if (c.token_uri.empty()) c.token_uri = kDefaultTokenUri;
  check_token_uri(c.token_uri, where);
  return c;
}

std::string service_account_jwt(const GoogleCredentials& c, std::int64_t now, const std::string& where) {
  nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!c.private_key_id.empty()) header["kid"] = c.private_key_id;
  const nlohmann::json claims = {{"iss", c.client_email}, {"scope", kReadScope}, {"aud", c.token_uri},
                                 {"iat", now}, {"exp", now + kJwtLifetime}};
  const std::string signing_input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  return signing_input + "." + base64url_encode(rs256_sign(c.private_key, signing_input, where));
}

std::string token_request_body(const GoogleCredentials& c, std::int64_t now, const std::string& where) {
  if (c.type == GoogleCredentials::ServiceAccount) {
    return "grant_type=" + percent_encode("urn:ietf:params:oauth:grant-type:jwt-bearer", false) +
           "&assertion=" + percent_encode(service_account_jwt(c, now, where), false);
  }
  return "grant_type=refresh_token&client_id=" + percent_encode(c.client_id, false) +
         "&client_secret=" + percent_encode(c.client_secret, false) +
         "&refresh_token=" + percent_encode(c.refresh_token, false);
}

AwsCredentials parse_token_answer(std::string_view json, std::int64_t now, const std::string& where) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) throw StoreError(where + " answered something that is not a JSON token document");
  if (auto error = doc.find("error"); error != doc.end()) {
    std::string text = error->is_string() ? error->get<std::string>() : std::string("an error");
    if (auto d = doc.find("error_description"); d != doc.end() && d->is_string()) text += ": " + d->get<std::string>();
    throw StoreError(where + " refused the credentials: " + sanitized(text));
  }
  AwsCredentials out;
  out.token = field(doc, "access_token", where, true);
  if (out.token.empty() || out.token.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    throw StoreError(where + " answered an access token that cannot go in a header");
  }
  auto expires = doc.find("expires_in");
  if (expires != doc.end() && expires->is_number() && expires->get<double>() > 0) {
    // Whole seconds, rounded up so a token never counts as expired on arrival; a lifetime past a
    // year (1e400 parses as infinity) is the server's mistake and is cut to one, so no overflow.
    constexpr double year = 365.0 * 86400.0;
    out.expiration = now + static_cast<std::int64_t>(std::min(std::ceil(expires->get<double>()), year));
  } else {
    out.expiration = now + 3600;  // Google's tokens last an hour
  }
  return out;
}

GcsAccess resolve_gcs_access(const GcsOptions& options, const Config::Gcs& env) {
  GcsAccess access;
  const auto finish = [&](GcsAccess a) {
    std::string endpoint = options.endpoint_url.value_or(env.emulator_host);
    if (!endpoint.empty() && endpoint.find("://") == std::string::npos) endpoint = "http://" + endpoint;
    if (endpoint.empty()) endpoint = "https://storage.googleapis.com";
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    if (!is_http_url(endpoint) || endpoint.find_first_of("?#") != std::string::npos) {
      throw StoreError("GCS endpoint '" + without_userinfo(endpoint) + "' is not an http:// or https:// URL without a query");
    }
    if (find_authority(endpoint).host != find_authority(endpoint).begin) {
      throw StoreError("GCS endpoint '" + without_userinfo(endpoint) + "' holds a user name or password; give credentials "
                       "as storage options");
    }
    a.endpoint = endpoint;
    return a;
  };
  const std::string token = options.token.value_or("");
  if (options.anon || token == "anon") {
    access.anonymous_why = options.anon ? "anon=True: requests are not signed" : "token='anon': requests are not signed";
    return finish(access);
  }
  if (options.key || options.secret) {
    if (!options.key || !options.secret || options.key->empty() || options.secret->empty()) {
      throw StoreError("GCS storage options 'key' and 'secret' (an HMAC key) go together; one of them is missing");
    }
    access.kind = GcsAccess::Hmac;
    access.hmac_key = *options.key;
    access.hmac_secret = *options.secret;
    access.source = "the storage options (HMAC key '" + sanitized(*options.key) + "')";
    return finish(access);
  }
  if (options.token && token != "google_default") {
    if (token == "cloud") return finish(from_metadata_server(env.metadata_host));
    if (token.starts_with("{")) return finish(from_document(token, "the credentials in storage option 'token'"));
    if (is_file(token)) return finish(from_document(read_file(token, "storage option 'token'"), "the credentials file '" + token + "'"));
    if (token.find('/') != std::string::npos || token.ends_with(".json")) {
      throw StoreError("GCS storage option 'token' names a credentials file that does not exist: '" + token + "'");
    }
    access.kind = GcsAccess::Bearer;
    access.source = "the access token in storage option 'token'";
    access.tokens = std::make_shared<CredentialsProvider>(AwsCredentials{{}, {}, token, {}});
    return finish(access);
  }
  if (!env.application_credentials.empty()) {
    const std::string where = "GOOGLE_APPLICATION_CREDENTIALS '" + env.application_credentials + "'";
    return finish(from_document(read_file(env.application_credentials, where), where));
  }
  if (!env.default_credentials_file.empty() && is_file(env.default_credentials_file)) {
    const std::string where = "the Application Default Credentials '" + env.default_credentials_file + "'";
    return finish(from_document(read_file(env.default_credentials_file, where), where));
  }
  access.anonymous_why =
      "no credentials were found (storage option 'token', GOOGLE_APPLICATION_CREDENTIALS, gcloud's application "
      "default credentials), so the request was not signed";
  return finish(access);
}

}  // namespace cuzarr::store
