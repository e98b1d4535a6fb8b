// How a gs:// store authenticates, resolved from the storage options and the environment as gcsfs
// and Google's libraries do: "anon", HMAC keys, an access token, "cloud" (the metadata server of a
// Google Cloud machine), a JSON credentials file (a
// service account's key: an RS256-signed JWT is exchanged for tokens; gcloud's authorized-user
// credentials: a refresh token is), GOOGLE_APPLICATION_CREDENTIALS, then gcloud's Application
// Default Credentials file. Tokens are fetched from the file's token_uri and renewed before they
// expire (CredentialsProvider, the token in its `token` field). Secrets never reach a message.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cuzarr/config.hpp"
#include "cuzarr/store.hpp"
#include "store/aws_credentials.hpp"

namespace cuzarr::store {

// A Google credentials JSON document ("type": "service_account" or "authorized_user").
struct GoogleCredentials {
  enum Type { ServiceAccount, AuthorizedUser } type = ServiceAccount;
  std::string client_email, private_key, private_key_id;  // service_account
  std::string client_id, client_secret, refresh_token;    // authorized_user
  std::string token_uri;  // where tokens come from (default https://oauth2.googleapis.com/token)
};

// Throws StoreError naming `where` for a document that is neither kind or lacks a field (never
// showing a value); UnsupportedError for a kind cuzarr does not do (external_account, ...).
GoogleCredentials parse_google_credentials(std::string_view json, const std::string& where);

// The JWT a service account sends for a token: header {"alg":"RS256","typ":"JWT","kid"}, claims
// {"iss", "scope" (read-only storage), "aud" (token_uri), "iat" (now), "exp" (now + 3600)},
// signed with its private key.
std::string service_account_jwt(const GoogleCredentials& credentials, std::int64_t now, const std::string& where);

// The form a token endpoint is POSTed (application/x-www-form-urlencoded): the JWT bearer grant
// for a service account, the refresh-token grant for a user. Holds secrets.
std::string token_request_body(const GoogleCredentials& credentials, std::int64_t now, const std::string& where);

// An OAuth2 token answer ({"access_token", "expires_in", "token_type"}) as credentials whose
// `token` is the access token and `expiration` now + expires_in. An {"error", "error_description"}
// answer is a StoreError saying them (the endpoint's words, sanitized; never a secret of ours).
AwsCredentials parse_token_answer(std::string_view json, std::int64_t now, const std::string& where);

// OAuth2 token endpoints (Google's, Microsoft Entra ID's) take secrets: an https URL, or plain
// http to this machine only (a test's or an emulator's).
bool is_token_endpoint_origin(const std::string& url);

// POSTs the form `form` (application/x-www-form-urlencoded, holding secrets) to the token endpoint
// `url` and reads the answer with parse_token_answer; `from` names the endpoint in messages. An
// error answer is a StoreError with its words and the HTTP status.
AwsCredentials post_for_token(const std::string& url, const std::string& form, const std::string& from, std::int64_t now);

struct GcsAccess {
  enum Kind { Anonymous, Hmac, Bearer } kind = Anonymous;
  std::string anonymous_why;  // for messages: "token='anon'" or that no credentials were found
  std::string hmac_key, hmac_secret;
  std::shared_ptr<CredentialsProvider> tokens;  // Bearer: the access token, renewed as due
  std::string source;                           // where the credentials came from, for messages
  std::string endpoint;                         // "https://storage.googleapis.com" or the override
};

// Throws StoreError for half an HMAC pair, a credentials file that cannot be read or parsed, a
// token endpoint that does not give a token; UnsupportedError where a kind needs what the build
// lacks (a service account without OpenSSL). token='cloud' asks the metadata server of a Google
// Cloud machine (Config::Gcs::metadata_host) for the machine's service account's tokens.
GcsAccess resolve_gcs_access(const GcsOptions& options, const Config::Gcs& environment);

}  // namespace cuzarr::store
