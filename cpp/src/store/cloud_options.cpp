// GcsOptions and AzureOptions from text, the gs:// and az:// tests, and the option checks all
// setters share; compiled with or without libcurl so that a build without the stores still says why.
#include <string>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/option_text.hpp"

namespace cuzarr {
namespace store {

void check_option_text(std::string_view name, std::string_view value, bool may_be_empty) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    throw StoreError("storage option '" + std::string(name) + "' holds a line break or NUL");
  }
  if (value.empty() && !may_be_empty) throw StoreError("storage option '" + std::string(name) + "' is empty");
}

bool parse_bool_option(std::string_view name, std::string_view text) {
  if (text == "true" || text == "True" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "False" || text == "0" || text == "no") return false;
  throw StoreError("storage option '" + std::string(name) + "' must be true or false, got '" + std::string(text) + "'");
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace store

bool is_gcs_url(std::string_view location) {
  return store::starts_with_nocase(location, "gs://") || store::starts_with_nocase(location, "gcs://");
}

bool is_azure_url(std::string_view location) {
  if (store::starts_with_nocase(location, "az://") || store::starts_with_nocase(location, "abfs://") ||
      store::starts_with_nocase(location, "abfss://")) {
    return true;
  }
  if (!store::starts_with_nocase(location, "https://")) return false;
  const std::string_view rest = location.substr(8);
  std::string host(rest.substr(0, rest.find_first_of("/?#")));
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  constexpr std::string_view suffix = ".blob.core.windows.net";
  return host.find('@') == std::string::npos && host.size() > suffix.size() && host.ends_with(suffix);
}

void set_gcs_option(GcsOptions& options, std::string_view name, std::string_view value) {
  const bool secret = name == "token" || name == "secret";
  store::check_option_text(name, value, secret);
  std::string text(value);
  if (name == "token") {
    options.token = std::move(text);
  } else if (name == "key") {
    options.key = std::move(text);
  } else if (name == "secret") {
    options.secret = std::move(text);
  } else if (name == "anon") {
    options.anon = store::parse_bool_option(name, text);
  } else if (name == "project") {
    options.project = std::move(text);
  } else if (name == "endpoint_url") {
    options.endpoint_url = std::move(text);
  } else {
    throw StoreError("unknown GCS storage option '" + std::string(name) +
                     "'; the gs:// options are token, key, secret, anon, project and endpoint_url");
  }
}

void set_azure_option(AzureOptions& options, std::string_view name, std::string_view value) {
  const bool secret = name == "account_key" || name == "sas_token" || name == "connection_string" || name == "client_secret";
  store::check_option_text(name, value, secret);
  std::string text(value);
  if (name == "account_name") {
    options.account_name = std::move(text);
  } else if (name == "account_key") {
    options.account_key = std::move(text);
  } else if (name == "sas_token") {
    options.sas_token = std::move(text);
  } else if (name == "connection_string") {
    options.connection_string = std::move(text);
  } else if (name == "tenant_id") {
    options.tenant_id = std::move(text);
  } else if (name == "client_id") {
    options.client_id = std::move(text);
  } else if (name == "client_secret") {
    options.client_secret = std::move(text);
  } else if (name == "anon") {
    options.anon = store::parse_bool_option(name, text);
  } else if (name == "endpoint_url" || name == "account_host") {
    // adlfs's account_host is a host name ("myaccount.blob.core.windows.net"): https is meant.
    if (name == "account_host" && text.find("://") == std::string::npos) text = "https://" + text;
    options.endpoint_url = std::move(text);
  } else {
    throw StoreError("unknown Azure storage option '" + std::string(name) +
                     "'; the az:// options are account_name, account_key, sas_token, connection_string, tenant_id, "
                     "client_id, client_secret, anon, account_host and endpoint_url");
  }
}

}  // namespace cuzarr
