// Azure Blob Storage's account side without the network: the locations az://, abfs:// and
// https://<account>.blob.core.windows.net name, connection strings, and the SharedKey signature
// (the string-to-sign of the Blob service, version 2015-02-21 and later). Secrets never reach a
// message.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/config.hpp"
#include "cuzarr/store.hpp"

namespace cuzarr::store {

// What a location says: the container, the prefix inside it, and the account where the URL
// names one (abfs://container@account.dfs.core.windows.net, https://account.blob.core.windows.net).
struct AzureLocation {
  std::string container;
  std::string prefix;
  std::string account;  // "" when the URL does not name it
};
AzureLocation parse_azure_url(const std::string& url);

// "AccountName=...;AccountKey=...;BlobEndpoint=..." as a map of its fields (names as written).
// Throws StoreError for a part without '=' (never showing it: it may be a key).
std::map<std::string, std::string> parse_connection_string(std::string_view text);

// A Microsoft Entra ID service principal: its client secret is exchanged for access tokens at
// `authority`/`tenant_id`/oauth2/v2.0/token (scope https://storage.azure.com/.default); the store
// fetches them (azure_store.cpp), this side only resolves who.
struct EntraCredential {
  std::string tenant_id, client_id, client_secret;
  std::string authority;  // "https://login.microsoftonline.com" or AZURE_AUTHORITY_HOST
};

struct AzureAccess {
  std::optional<EntraCredential> entra;  // bearer tokens instead of a key or SAS
  // anon=False and nothing else: bearer tokens of the default Azure credentials
  // (store/azure_identity.hpp), from `authority` where they come from Entra ID.
  bool default_credentials = false;
  std::string authority;
  std::string account;
  std::string endpoint;     // the blob endpoint without a trailing '/'
  std::string account_key;  // decoded from base64; "" unless SharedKey
  std::string sas;          // the SAS query without a leading '?'; "" unless SAS
  bool anonymous = true;
  std::string anonymous_why;
  std::string source;  // where the credentials came from, for messages
};

// The options first (connection_string, account_key, sas_token, the service principal's
// tenant_id/client_id/client_secret, anon), then the AZURE_STORAGE_* variables, then
// AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET; the account from the options, the URL, the
// connection string or the environment.
AzureAccess resolve_azure_access(const AzureOptions& options, const Config::Azure& environment,
                                 const AzureLocation& location);

// The string a SharedKey signature signs for a GET or HEAD without a body: the verb, eleven
// standard headers of which only Range is set, the x-ms-* headers (lower case, sorted), and the
// canonicalized resource ("/account/url-path", then each query parameter as "\nname:value",
// names lower case and sorted, values decoded).
std::string shared_key_string_to_sign(std::string_view method, std::string_view url, std::string_view range,
                                      const std::map<std::string, std::string>& ms_headers, const std::string& account);

// "SharedKey account:<base64 HMAC-SHA256 of the string-to-sign with the decoded key>".
std::string shared_key_authorization(const std::string& account, const std::string& key, std::string_view string_to_sign);

// The date as x-ms-date wants it (RFC 1123, GMT) for seconds since the epoch.
std::string http_date(std::int64_t unix_seconds);

}  // namespace cuzarr::store
