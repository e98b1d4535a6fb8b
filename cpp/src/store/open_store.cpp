#include <cctype>
#include <system_error>

#include "cuzarr/error.hpp"
#include "cuzarr/manifest.hpp"
#include "cuzarr/store.hpp"
#include "store/option_text.hpp"

namespace cuzarr {

bool is_http_url(std::string_view location) {
  return store::starts_with_nocase(location, "http://") || store::starts_with_nocase(location, "https://");
}

namespace {

// "scheme://..." of a location, for messages that must not repeat the rest (it may hold a secret).
std::string scheme_of(const std::string& location) {
  const std::size_t scheme = location.find("://");
  return scheme == std::string::npos ? location : location.substr(0, scheme + 3) + "...";
}

// Options of one cloud given with a location of another kind are a mistake worth naming.
void check_options_fit(const std::string& location, const StoreOptions& options) {
  const bool s3 = is_s3_url(location), gcs = is_gcs_url(location), azure = is_azure_url(location);
  if (!s3 && !options.s3.empty()) {
    throw StoreError("S3 storage options (key, secret, token, anon, endpoint_url, region, profile, addressing_style) "
                     "apply to s3:// URLs only, not to '" + scheme_of(location) + "'");
  }
  if (!gcs && !options.gcs.empty()) {
    throw StoreError("GCS storage options (token, key, secret, anon, project, endpoint_url) apply to gs:// URLs only, "
                     "not to '" + scheme_of(location) + "'");
  }
  if (!azure && !options.azure.empty()) {
    throw StoreError("Azure storage options (account_name, account_key, sas_token, connection_string, anon, "
                     "account_host, endpoint_url) apply to az:// and abfs:// URLs only, not to '" + scheme_of(location) + "'");
  }
}

[[noreturn, maybe_unused]] void no_http(const std::string& location, const char* what) {
  throw UnsupportedError("cannot open '" + scheme_of(location) + "': this build of cuzarr has no " + what +
                         " store (built without libcurl; CUZARR_HTTP=OFF)");
}

}  // namespace

std::shared_ptr<const Store> open_store(const std::string& location, const StoreOptions& options) {
  if (is_references_location(location)) {
    // kerchunk references: the options are the targets' (and, for a remote file, the file's own).
    std::error_code ec;
    const bool local_file = location.find("://") == std::string::npos || location.starts_with("file://");
    const std::string path = location.starts_with("file://") ? location.substr(7) : location;
    if (!local_file || std::filesystem::is_regular_file(path, ec)) {
      ManifestOptions o;
      o.target_options = options;
      return open_kerchunk(location, std::move(o), options);
    }
  }
  check_options_fit(location, options);
#if CUZARR_WITH_HTTP
  if (is_s3_url(location)) return std::make_shared<const S3Store>(location, options);
  if (is_gcs_url(location)) return std::make_shared<const GcsStore>(location, options);
  if (is_azure_url(location)) return std::make_shared<const AzureStore>(location, options);
#else
  if (is_s3_url(location)) no_http(location, "S3");
  if (is_gcs_url(location)) no_http(location, "GCS");
  if (is_azure_url(location)) no_http(location, "Azure");
#endif
  if (is_http_url(location)) {
#if CUZARR_WITH_HTTP
    return std::make_shared<const HttpStore>(location, options);
#else
    (void)options;
    no_http(location, "HTTP");
#endif
  }
  std::string local = location;
  if (local.starts_with("file://")) {
    local.erase(0, 7);
  } else if (const std::size_t scheme = local.find("://"); scheme != std::string::npos && scheme > 0 &&
                                                           local.find('/') > scheme) {
    throw UnsupportedError("cannot open '" + location.substr(0, scheme + 3) +
                           "...': cuzarr reads local paths, .zip files, http:// or https:// URLs, s3://, gs:// and "
                           "az:// (abfs://) URLs");
  }
  // "a/b/" and "a/b" name the same node; keep messages free of doubled or trailing slashes.
  std::filesystem::path root = std::filesystem::path(local).lexically_normal();
  if (!root.has_filename() && root.has_parent_path()) root = root.parent_path();
  std::error_code ec;
  if (root.extension() == ".zip" && std::filesystem::is_regular_file(root, ec)) {
#if CUZARR_WITH_ZIP
    return std::make_shared<const ZipStore>(root);
#else
    throw UnsupportedError("cannot open '" + root.string() +
                           "': this build of cuzarr has no zip store (built without libzip; CUZARR_ZIP=OFF)");
#endif
  }
  return std::make_shared<const FileStore>(root);
}

}  // namespace cuzarr
