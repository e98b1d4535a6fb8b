#include "store/azure_auth.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "cuzarr/error.hpp"
#include "store/gcs_credentials.hpp"
#include "store/object_store.hpp"
#include "store/option_text.hpp"
#include "store/signing.hpp"
#include "store/url.hpp"

namespace cuzarr::store {
namespace {

constexpr std::string_view kBlobSuffix = ".blob.core.windows.net";
constexpr std::string_view kDfsSuffix = ".dfs.core.windows.net";

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

void check_account(const std::string& account, const std::string& shown) {
  if (account.size() < 3 || account.size() > 24 ||
      account.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos) {
    throw StoreError(shown + ": '" + sanitized(account) +
                     "' is not a storage account name (3 to 24 lower-case letters and digits)");
  }
}

}  // namespace

AzureLocation parse_azure_url(const std::string& url) {
  const std::string shown = without_userinfo(url);
  if (url.find_first_of("?#") != std::string::npos) {
    throw UnsupportedError("Azure URL '" + shown +
                           "': a query string or fragment cannot be combined with keys (give a SAS token as storage "
                           "option 'sas_token')");
  }
  AzureLocation loc;
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) throw StoreError("not an Azure URL: '" + shown + "'");
  std::string_view rest = std::string_view(url).substr(scheme + 3);
  if (starts_with_nocase(url, "https://")) {
    // https://<account>.blob.core.windows.net/<container>/<prefix>
    const std::string host = lower(rest.substr(0, rest.find('/')));
    loc.account = host.substr(0, host.size() - kBlobSuffix.size());
    rest = rest.find('/') == std::string_view::npos ? std::string_view() : rest.substr(rest.find('/') + 1);
  } else if (const std::size_t at = rest.substr(0, rest.find('/')).find('@'); at != std::string_view::npos) {
    // abfs://<container>@<account>.dfs.core.windows.net/<prefix>
    const std::size_t slash = rest.find('/');
    const std::string host = lower(rest.substr(at + 1, slash == std::string_view::npos ? slash : slash - at - 1));
    if (!host.ends_with(kDfsSuffix) && !host.ends_with(kBlobSuffix)) {
      throw StoreError("Azure URL '" + shown + "': the host after '@' is not <account>.dfs.core.windows.net");
    }
    loc.account = host.substr(0, host.find('.'));
    std::string joined(rest.substr(0, at));
    if (slash != std::string_view::npos) joined += std::string(rest.substr(slash));
    const BucketPath path = split_bucket_path(joined, [](const std::string&) {});
    loc.container = path.bucket;
    loc.prefix = path.prefix;
    rest = {};
  }
  if (!rest.empty() || loc.container.empty()) {
    const BucketPath path = split_bucket_path(rest, [](const std::string&) {});
    loc.container = path.bucket;
    loc.prefix = path.prefix;
  }
  if (!loc.account.empty()) check_account(loc.account, shown);
  // Container names: 3 to 63 lower-case letters, digits and '-', starting with a letter or digit,
  // no "--"; "$root" and "$web" are the special ones.
  const std::string& c = loc.container;
  const bool special = c == "$root" || c == "$web";
  if (!special && (c.size() < 3 || c.size() > 63 || c.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos ||
                   c.front() == '-' || c.back() == '-' || c.find("--") != std::string::npos)) {
    throw StoreError("Azure URL '" + shown + "': '" + sanitized(c) +
                     "' is not a container name (3 to 63 lower-case letters, digits and '-')");
  }
  return loc;
}

std::map<std::string, std::string> parse_connection_string(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    const std::size_t end = text.find(';');
    std::string_view part = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.front()))) part.remove_prefix(1);
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.back()))) part.remove_suffix(1);
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      throw StoreError("the Azure connection string has a part that is not Name=value");
    }
    out[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));  // values may hold '=' (base64)
  }
  return out;
}

namespace {

// Where Entra ID tokens come from: AZURE_AUTHORITY_HOST or Microsoft's, an https URL (plain http
// only to this machine, as for Google's token endpoints).
std::string entra_authority(const std::string& authority_host) {
  std::string authority = authority_host.empty() ? "https://login.microsoftonline.com" : authority_host;
  if (authority.find("://") == std::string::npos) authority = "https://" + authority;
  while (!authority.empty() && authority.back() == '/') authority.pop_back();
  if (!is_token_endpoint_origin(authority) || find_authority(authority).host != find_authority(authority).begin) {
    throw StoreError("AZURE_AUTHORITY_HOST '" + without_userinfo(authority) +
                     "' is not an https URL (plain http only to this machine) without user information");
  }
  return authority;
}

// A service principal's three parts, all given (`where` names them), and the token authority: an
// https URL (plain http only to this machine, as for Google's token endpoints).
EntraCredential entra_credential(const std::string& tenant, const std::string& client, const std::string& secret,
                                 const std::string& authority_host, const std::string& where) {
  if (tenant.empty() || client.empty() || secret.empty()) {
    throw StoreError(where + ": a service principal needs tenant_id, client_id and client_secret; " +
                     (tenant.empty() ? "tenant_id" : client.empty() ? "client_id" : "client_secret") + " is missing");
  }
  for (char c : tenant) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
      throw StoreError(where + ": tenant_id '" + sanitized(tenant) + "' is not a tenant id or domain");
    }
  }
  return EntraCredential{tenant, client, secret, entra_authority(authority_host)};
}

}  // namespace

AzureAccess resolve_azure_access(const AzureOptions& options, const Config::Azure& env, const AzureLocation& location) {
  AzureAccess access;
  std::map<std::string, std::string> conn;
  std::string conn_source;
  if (options.connection_string) {
    conn = parse_connection_string(*options.connection_string);
    conn_source = "the connection string in the storage options";
  } else if (!options.account_key && !options.sas_token && !env.connection_string.empty()) {
    conn = parse_connection_string(env.connection_string);
    conn_source = "AZURE_STORAGE_CONNECTION_STRING";
  }
  const auto conn_field = [&](const char* name) {
    auto it = conn.find(name);
    return it == conn.end() ? std::string() : it->second;
  };
  access.account = options.account_name.value_or("");
  if (access.account.empty()) access.account = location.account;
  if (access.account.empty()) access.account = conn_field("AccountName");
  if (access.account.empty()) access.account = env.account_name;
  std::string endpoint = options.endpoint_url.value_or(conn_field("BlobEndpoint"));
  if (access.account.empty() && endpoint.empty()) {
    throw StoreError("no storage account named (storage option 'account_name', a "
                     "connection string, AZURE_STORAGE_ACCOUNT_NAME, or abfs://container@account.dfs.core.windows.net)");
  }
  if (endpoint.empty()) {
    std::string protocol = conn_field("DefaultEndpointsProtocol");
    std::string suffix = conn_field("EndpointSuffix");
    endpoint = (protocol.empty() ? std::string("https") : lower(protocol)) + "://" + access.account + ".blob." +
               (suffix.empty() ? std::string("core.windows.net") : suffix);
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (!is_http_url(endpoint) || endpoint.find_first_of("?#") != std::string::npos) {
    throw StoreError("Azure endpoint '" + without_userinfo(endpoint) + "' is not an http:// or https:// URL without a query");
  }
  if (find_authority(endpoint).host != find_authority(endpoint).begin) {
    throw StoreError("Azure endpoint '" + without_userinfo(endpoint) + "' holds a user name or password");
  }
  access.endpoint = endpoint;
  if (access.account.empty()) {
    throw StoreError("no storage account named (storage option 'account_name')");
  }
  check_account(access.account, "account_name");
  if (options.anon.value_or(false)) {
    access.anonymous_why = "anon=True: requests are not signed";
    return access;
  }
  const bool default_credentials = options.anon.has_value();  // anon=False, given
  std::string key, sas;
  if (options.account_key) {
    key = *options.account_key;
    access.source = "storage option 'account_key'";
  } else if (options.sas_token) {
    sas = *options.sas_token;
    access.source = "storage option 'sas_token'";
  } else if (!conn.empty() && (!conn_field("AccountKey").empty() || !conn_field("SharedAccessSignature").empty())) {
    key = conn_field("AccountKey");
    sas = key.empty() ? conn_field("SharedAccessSignature") : "";
    access.source = conn_source;
  } else if (options.tenant_id || options.client_id || options.client_secret) {
    access.entra = entra_credential(options.tenant_id.value_or(""), options.client_id.value_or(""),
                                    options.client_secret.value_or(""), env.authority_host, "the storage options");
    access.source = "the service principal in the storage options (client_id '" + sanitized(access.entra->client_id) + "')";
  } else if (!env.account_key.empty()) {
    key = env.account_key;
    access.source = "AZURE_STORAGE_ACCOUNT_KEY";
  } else if (!env.sas_token.empty()) {
    sas = env.sas_token;
    access.source = "AZURE_STORAGE_SAS_TOKEN";
  } else if (!env.client_secret.empty() ||
             (!default_credentials && (!env.tenant_id.empty() || !env.client_id.empty()))) {
    // With anon=False, AZURE_TENANT_ID / AZURE_CLIENT_ID without a secret belong to workload or
    // managed identity instead.
    access.entra = entra_credential(env.tenant_id, env.client_id, env.client_secret, env.authority_host,
                                    "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET");
    access.source = "the service principal of AZURE_CLIENT_ID ('" + sanitized(access.entra->client_id) + "')";
  }
  if (access.entra) {
    access.anonymous = false;
    return access;
  }
  if (key.empty() && sas.empty() && default_credentials) {
    access.default_credentials = true;
    access.authority = entra_authority(env.authority_host);
    access.anonymous = false;
    access.source = "the default Azure credentials (anon=False)";
    return access;
  }
  if (!key.empty()) {
    std::optional<std::string> decoded = base64_decode(key);
    if (!decoded || decoded->empty()) throw StoreError("the account key from " + access.source + " is not base64 text");
    access.account_key = std::move(*decoded);
    access.anonymous = false;
  } else if (!sas.empty()) {
    while (!sas.empty() && sas.front() == '?') sas.erase(0, 1);
    if (sas.find_first_of(" \r\n#") != std::string::npos) {
      throw StoreError("the SAS token from " + access.source + " is not a URL query (it holds a space, line break or '#')");
    }
    access.sas = std::move(sas);
    access.anonymous = false;
  } else {
    access.anonymous_why =
        "no credentials were found (storage options account_key, sas_token, connection_string, or a service "
        "principal's tenant_id/client_id/client_secret; AZURE_STORAGE_* or AZURE_TENANT_ID/AZURE_CLIENT_* variables), so "
        "the request was not signed";
  }
  return access;
}

std::string shared_key_string_to_sign(std::string_view method, std::string_view url, std::string_view range,
                                      const std::map<std::string, std::string>& ms_headers, const std::string& account) {
  std::string out(method);
  out += '\n';
  // Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since, If-Match,
  // If-None-Match, If-Unmodified-Since: none is sent.
  for (int i = 0; i < 10; ++i) out += '\n';
  out += range;
  out += '\n';
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : ms_headers) headers[lower(name)] = value;
  for (const auto& [name, value] : headers) out += name + ":" + value + "\n";
  const Authority a = find_authority(url);
  std::string_view rest = url.substr(a.valid ? a.end : 0);
  const std::size_t q = rest.find('?');
  std::string_view path = rest.substr(0, q);
  out += "/" + account + (path.empty() ? std::string("/") : std::string(path));
  if (q != std::string_view::npos) {
    std::map<std::string, std::vector<std::string>> params;
    std::string_view query = rest.substr(q + 1);
    while (!query.empty()) {
      const std::size_t amp = query.find('&');
      const std::string_view item = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (item.empty()) continue;
      const std::size_t eq = item.find('=');
      params[lower(percent_decode(item.substr(0, eq)))].push_back(
          eq == std::string_view::npos ? std::string() : percent_decode(item.substr(eq + 1)));
    }
    for (auto& [name, values] : params) {
      std::sort(values.begin(), values.end());
      out += "\n" + name + ":";
      for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
    }
  }
  return out;
}

std::string shared_key_authorization(const std::string& account, const std::string& key, std::string_view string_to_sign) {
  const Digest mac = hmac_sha256(key, string_to_sign);
  return "SharedKey " + account + ":" +
         base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

std::string http_date(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace cuzarr::store
