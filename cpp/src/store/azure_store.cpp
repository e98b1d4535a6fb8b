// AzureStore: az://container/prefix (abfs://, https://<account>.blob.core.windows.net) over the
// Blob service's REST API through the shared libcurl transport. Each attempt is signed with the
// account key (SharedKey: x-ms-date, x-ms-version and the Range are part of what is signed), or
// carries the SAS token in its query, or a Microsoft Entra ID bearer token (a service principal's
// client secret exchanged at the token authority, renewed before it expires), or goes anonymous
// (public containers). Error documents
// decide what a failed answer means (BlobNotFound is a missing key). Listing is List Blobs.
#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/aws_credentials.hpp"
#include "store/azure_auth.hpp"
#include "store/azure_identity.hpp"
#include "store/curl_transport.hpp"
#include "store/gcs_credentials.hpp"
#include "store/object_store.hpp"
#include "store/option_text.hpp"

namespace cuzarr {
namespace {

using store::Outcome;

// The REST API version asked for (and signed): every feature used here has long been in it.
constexpr const char* kApiVersion = "2021-08-06";

// A service principal's access token for the Blob service (the OAuth2 client-credentials grant).
store::AwsCredentials fetch_entra_token(const store::EntraCredential& c) {
  const std::string url = c.authority + "/" + c.tenant_id + "/oauth2/v2.0/token";
  const std::string form = "grant_type=client_credentials&client_id=" + store::percent_encode(c.client_id, false) +
                           "&client_secret=" + store::percent_encode(c.client_secret, false) +
                           "&scope=" + store::percent_encode("https://storage.azure.com/.default", false);
  return store::post_for_token(url, form, "the Microsoft Entra ID token endpoint " + url, store::unix_now());
}

class AzureBackend final : public store::ObjectBackend {
 public:
  AzureBackend(const std::string& url, const StoreOptions& options) : AzureBackend(store::parse_azure_url(url), options) {}

 protected:
  const std::string& bucket_url() const override { return base_; }
  std::string object_url(const std::string& full) const override { return with_sas(ObjectBackend::object_url(full), false); }

  std::optional<store::ListPage> list_page(const std::string& dir, const std::string& marker, const std::string& shown,
                                           const store::AnswerJudge& judge) const override {
    std::string query = "?restype=container&comp=list&delimiter=%2F&prefix=" + store::percent_encode(dir, false);
    if (!marker.empty()) query += "&marker=" + store::percent_encode(marker, false);
    const std::optional<store::xml::Element> doc =
        store::fetch_xml(transport_, with_sas(base_ + query, true), shown, "List Blobs", "EnumerationResults", judge);
    if (!doc) return std::nullopt;
    store::ListPage page;
    if (const store::xml::Element* blobs = doc->child("Blobs")) {
      for (const store::xml::Element& item : blobs->children) {
        if (item.name != "Blob" && item.name != "BlobPrefix") continue;
        std::string name = item.child_text("Name");
        while (!name.empty() && name.back() == '/') name.pop_back();
        page.names.push_back(std::move(name));
      }
    }
    page.next = doc->child_text("NextMarker");
    return page;
  }

  const store::CurlTransport& transport() const override { return transport_; }

 private:
  AzureBackend(const store::AzureLocation& location, const StoreOptions& options)
      : ObjectBackend("az://", store::BucketPath{location.container, location.prefix}),
        access_(store::naming_location(display_, [&] {
          return store::resolve_azure_access(options.azure, azure_environment(), location);
        })),
        base_(access_.endpoint + "/" + location_.bucket),
        tokens_(store::naming_location(display_, [&]() -> std::shared_ptr<store::CredentialsProvider> {
          if (access_.entra) {
            return std::make_shared<store::CredentialsProvider>([c = *access_.entra] { return fetch_entra_token(c); },
                                                                access_.source);
          }
          if (access_.default_credentials) {
            return store::first_azure_token(store::default_azure_sources(azure_environment(), access_.authority));
          }
          return nullptr;
        })),
        transport_(settings(options)) {}

  // The SAS goes in every request's query; never in a message (`shown` names go without it).
  std::string with_sas(const std::string& url, bool has_query) const {
    if (access_.sas.empty()) return url;
    return url + (has_query ? "&" : "?") + access_.sas;
  }

  store::TransportSettings settings(const StoreOptions& options) const {
    store::TransportSettings s = store::transport_settings(options, /*environment_headers=*/false);
    s.follow_redirects = false;
    if ((!access_.account_key.empty() || tokens_) && store::sets_header(s.headers, "authorization")) {
      throw StoreError("'" + display_ + "': storage option 'headers' sets 'Authorization', which would take the place "
                       "of the " + (tokens_ ? "service principal's token" : "SharedKey signature") + "; drop it");
    }
    for (const auto& [name, value] : s.headers) {
      if (store::starts_with_nocase(name, "x-ms-")) {
        throw StoreError("'" + display_ + "': storage option 'headers' sets '" + name + "'; cuzarr sets the x-ms-* headers");
      }
    }
    s.attempt_headers = [account = access_.account, key = access_.account_key, tokens = tokens_](const store::AttemptLine& line) {
      std::map<std::string, std::string> ms{{"x-ms-date", store::http_date(store::unix_now())}, {"x-ms-version", kApiVersion}};
      std::vector<std::string> out;
      for (const auto& [name, value] : ms) out.push_back(name + ": " + value);
      if (!key.empty()) {
        const std::string to_sign = store::shared_key_string_to_sign(line.method, line.url, line.range, ms, account);
        out.push_back("Authorization: " + store::shared_key_authorization(account, key, to_sign));
      } else if (tokens) {
        out.push_back("Authorization: Bearer " + tokens->current().token);  // the token current at this attempt
      }
      return out;
    };
    return s;
  }

  std::optional<Outcome> judge(const store::Response& r, const std::string& key) const override {
    const std::string where = "account '" + access_.account + "', container '" + location_.bucket + "'" +
                              (key.empty() ? "" : ", blob '" + key + "'");
    return store::judge_object_answer(r, "BlobNotFound", where, [&](const store::ErrorDocument& error, int status) {
      const std::string& code = error.code;
      if (code == "ContainerNotFound") return "the container does not exist at " + access_.endpoint;
      // A private container answers an anonymous caller as if nothing were there (404 ResourceNotFound).
      if (access_.anonymous && (status == 401 || status == 403 || status == 404)) return access_.anonymous_why;
      if (code == "ResourceNotFound" || code == "AccountIsDisabled") return "the account does not exist at " + access_.endpoint;
      if (code == "AuthenticationFailed" || code == "AuthorizationFailure" || code == "AuthorizationPermissionMismatch" ||
          status == 403) {
        if (tokens_) {
          return "the token of " + tokens_->source() + " was refused (does the identity have a role with read "
                 "access to account '" + access_.account + "', such as Storage Blob Data Reader?)";
        }
        return access_.sas.empty() ? "the account key from " + access_.source + " does not belong to account '" +
                                         access_.account + "'"
                                   : "the SAS token from " + access_.source + " was refused (expired, not valid, or "
                                     "without read and list permission)";
      }
      return std::string();
    });
  }

  store::AzureAccess access_;
  std::string base_;
  std::shared_ptr<store::CredentialsProvider> tokens_;  // Entra ID: bearer tokens, renewed as due
  store::CurlTransport transport_;
};

}  // namespace

AzureStore::AzureStore(const std::string& url, const StoreOptions& options)
    : ObjectStore(std::make_unique<AzureBackend>(url, options)) {}

std::optional<EdgeRead> AzureStore::get_edge(std::string_view key, Edge edge, std::uint64_t length) const {
  // The Blob service takes no suffix range ("bytes=-N" reads the whole blob): the size first.
  if (edge == Edge::Front) return RemoteStore::get_edge(key, edge, length);
  const std::optional<std::uint64_t> total = size(key);
  if (!total) return std::nullopt;
  const std::uint64_t n = std::min(length, *total);
  EdgeRead out{Buffer(n), *total};
  if (n > 0 && !read_into(key, *total - n, n, out.bytes.data())) return std::nullopt;
  return out;
}

}  // namespace cuzarr
