// AzureStore: az://container/prefix (abfs://, https://<account>.blob.core.windows.net) over the
// Blob service's REST API through the shared libcurl transport. Each attempt is signed with the
// account key (SharedKey: x-ms-date, x-ms-version and the Range are part of what is signed), or
// carries the SAS token in its query, or goes anonymous (public containers). Error documents
// decide what a failed answer means (BlobNotFound is a missing key). Listing is List Blobs.
#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/aws_credentials.hpp"
#include "store/azure_auth.hpp"
#include "store/curl_transport.hpp"
#include "store/object_store.hpp"

namespace cuzarr {
namespace {

using store::Outcome;

// The REST API version asked for (and signed): every feature used here has long been in it.
constexpr const char* kApiVersion = "2021-08-06";

}  // namespace

class AzureStore::Impl {
 public:
  Impl(const std::string& url, const StoreOptions& options)
      : location_(store::parse_azure_url(url)),
        display_("az://" + location_.container + (location_.prefix.empty() ? "" : "/" + location_.prefix)),
        access_(store::naming_location(display_, [&] {
          return store::resolve_azure_access(options.azure, azure_environment(), location_);
        })),
        base_(access_.endpoint + "/" + location_.container),
        transport_(settings(options)) {}

  const std::string& display() const { return display_; }
  std::size_t concurrency() const { return transport_.concurrency(); }

  bool fetch(std::string_view key, const store::Request& request, store::Response& response) const {
    validate_key(key);
    const std::string full = join_key(location_.prefix, key);
    const std::string url = base_ + "/" + store::percent_encode(full, /*keep_slash=*/true);
    return transport_.run(with_sas(url, false), "az://" + location_.container + "/" + full, request, response,
                          [&](const store::Response& r) { return judge(r, full); });
  }

  std::vector<std::string> list_dir(std::string_view prefix) const {
    if (!prefix.empty()) validate_key(prefix);
    std::string dir = join_key(location_.prefix, prefix);
    if (!dir.empty()) dir += '/';
    const std::string shown = "az://" + location_.container + "/" + dir;
    const store::AnswerJudge judge = [&](const store::Response& r) { return this->judge(r, dir); };
    return store::list_children(dir, shown, [&](const std::string& marker) -> std::optional<store::ListPage> {
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
           }).value_or(std::vector<std::string>{});
  }

 private:
  // The SAS goes in every request's query; never in a message (`shown` names go without it).
  std::string with_sas(const std::string& url, bool has_query) const {
    if (access_.sas.empty()) return url;
    return url + (has_query ? "&" : "?") + access_.sas;
  }

  store::TransportSettings settings(const StoreOptions& options) const {
    store::TransportSettings s = store::transport_settings(options, /*environment_headers=*/false);
    s.follow_redirects = false;
    if (!access_.account_key.empty() && store::sets_header(s.headers, "authorization")) {
      throw StoreError("'" + display_ + "': storage option 'headers' sets 'Authorization', which would take the place "
                       "of the SharedKey signature; drop it");
    }
    for (const auto& [name, value] : s.headers) {
      if (name.size() > 5 && (name.compare(0, 5, "x-ms-") == 0 || name.compare(0, 5, "X-Ms-") == 0 || name.compare(0, 5, "X-MS-") == 0)) {
        throw StoreError("'" + display_ + "': storage option 'headers' sets '" + name + "'; cuzarr sets the x-ms-* headers");
      }
    }
    s.attempt_headers = [account = access_.account, key = access_.account_key](const store::AttemptLine& line) {
      std::map<std::string, std::string> ms{{"x-ms-date", store::http_date(store::unix_now())}, {"x-ms-version", kApiVersion}};
      std::vector<std::string> out;
      for (const auto& [name, value] : ms) out.push_back(name + ": " + value);
      if (!key.empty()) {
        const std::string to_sign = store::shared_key_string_to_sign(line.method, line.url, line.range, ms, account);
        out.push_back("Authorization: " + store::shared_key_authorization(account, key, to_sign));
      }
      return out;
    };
    return s;
  }

  std::optional<Outcome> judge(const store::Response& r, const std::string& key) const {
    const std::string where = "account '" + access_.account + "', container '" + location_.container + "'" +
                              (key.empty() ? "" : ", blob '" + key + "'");
    return store::judge_object_answer(r, "BlobNotFound", where, [&](const store::ErrorDocument& error, int status) {
      const std::string& code = error.code;
      if (code == "ContainerNotFound") return "the container does not exist at " + access_.endpoint;
      // A private container answers an anonymous caller as if nothing were there (404 ResourceNotFound).
      if (access_.anonymous && (status == 401 || status == 403 || status == 404)) return access_.anonymous_why;
      if (code == "ResourceNotFound" || code == "AccountIsDisabled") return "the account does not exist at " + access_.endpoint;
      if (code == "AuthenticationFailed" || code == "AuthorizationFailure" || code == "AuthorizationPermissionMismatch" ||
          status == 403) {
        return access_.sas.empty() ? "the account key from " + access_.source + " does not belong to account '" +
                                         access_.account + "'"
                                   : "the SAS token from " + access_.source + " was refused (expired, not valid, or "
                                     "without read and list permission)";
      }
      return std::string();
    });
  }

  store::AzureLocation location_;
  std::string display_;
  store::AzureAccess access_;
  std::string base_;
  store::CurlTransport transport_;
};

AzureStore::AzureStore(const std::string& url, const StoreOptions& options)
    : impl_(std::make_unique<Impl>(url, options)) {}

AzureStore::~AzureStore() = default;

bool AzureStore::fetch(std::string_view key, const store::Request& request, store::Response& response) const {
  return impl_->fetch(key, request, response);
}

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

std::vector<std::string> AzureStore::list_dir(std::string_view prefix) const { return impl_->list_dir(prefix); }

std::string AzureStore::describe() const { return impl_->display(); }

std::size_t AzureStore::preferred_concurrency() const { return impl_->concurrency(); }

}  // namespace cuzarr
