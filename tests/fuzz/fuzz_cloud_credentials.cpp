// libFuzzer target for what the gs:// and az:// stores parse from users and servers: a Google
// credentials document (service account, authorized user) and an OAuth2 token answer, an Azure
// connection string and the whole Azure access resolution from it, a managed identity's or the
// Azure CLI's token answer, and the locations az://,
// abfs:// and https://<account>.blob.core.windows.net name. Input: a selector byte, then the
// text. No message may repeat a secret (private_key, client_secret, refresh_token, access_token,
// AccountKey, SharedAccessSignature).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cuzarr/error.hpp"
#include "secret_check.hpp"
#include "store/azure_auth.hpp"
#include "store/azure_identity.hpp"
#include "store/gcs_credentials.hpp"
#include "store/url.hpp"

namespace {

using namespace cuzarr::store;

std::string google_error(std::string_view text) {
  try {
    const GoogleCredentials c = parse_google_credentials(text, "the fuzzed credentials");
    if (c.token_uri.empty()) __builtin_trap();
    if (c.type == GoogleCredentials::AuthorizedUser) (void)token_request_body(c, 0, "fuzz");
    return {};
  } catch (const cuzarr::Error& e) {
    return e.what();
  }
}

std::string token_error(std::string_view text) {
  try {
    const AwsCredentials t = parse_token_answer(text, 1000, "the fuzzed endpoint");
    if (t.token.empty() || !t.expiration || *t.expiration <= 1000) __builtin_trap();
    return {};
  } catch (const cuzarr::Error& e) {
    return e.what();
  }
}

std::string azure_token_error(std::string_view text) {
  try {
    const AwsCredentials t = parse_azure_token(text, 1000, "the fuzzed identity endpoint");
    if (t.token.empty() || !t.expiration || *t.expiration > 1000 + 366 * 86400) __builtin_trap();
    return {};
  } catch (const cuzarr::Error& e) {
    return e.what();
  }
}

std::string azure_error(std::string_view text) {
  try {
    cuzarr::AzureOptions options;
    options.connection_string = std::string(text);
    const AzureAccess a = resolve_azure_access(options, {}, parse_azure_url("az://container/x"));
    const Authority authority = find_authority(a.endpoint);
    if (!authority.valid || authority.host != authority.begin) __builtin_trap();  // user information passed
    return {};
  } catch (const cuzarr::Error& e) {
    return e.what();
  }
}

std::string url_error(std::string_view text) {
  try {
    const AzureLocation loc = parse_azure_url(std::string(text));
    if (loc.container.empty()) __builtin_trap();
    return {};
  } catch (const cuzarr::Error& e) {
    return e.what();
  }
}

std::vector<std::string> json_secrets(std::string_view text) {
  std::vector<std::string> out;
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) return out;
  for (const char* name : {"private_key", "client_secret", "refresh_token", "access_token", "accessToken"}) {
    auto it = doc.find(name);
    if (it != doc.end() && it->is_string() && cuzarr::fuzz::checkable_secret(text, it->get<std::string>())) {
      out.push_back(it->get<std::string>());
    }
  }
  return out;
}

std::vector<std::string> connection_secrets(std::string_view text) {
  std::vector<std::string> out;
  try {
    for (const auto& [name, value] : parse_connection_string(text)) {
      if ((name == "AccountKey" || name == "SharedAccessSignature") && cuzarr::fuzz::checkable_secret(text, value)) {
        out.push_back(value);
      }
    }
  } catch (const cuzarr::Error&) {
  }
  return out;
}

template <typename ErrorOf, typename Secrets>
void check(std::string_view text, ErrorOf error_of, Secrets secrets_of) {
  const std::string message = error_of(text);
  if (message.empty()) return;
  for (const std::string& secret : secrets_of(text)) {
    if (cuzarr::fuzz::repeats_secret(text, secret, message, error_of)) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      check(text, google_error, json_secrets);
      break;
    case 1:
      check(text, token_error, json_secrets);
      break;
    case 2:
      check(text, azure_error, connection_secrets);
      break;
    case 4:
      check(text, azure_token_error, json_secrets);
      break;
    default:
      (void)url_error(text);
      break;
  }
  return 0;
}
