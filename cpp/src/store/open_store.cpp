#include <cctype>
#include <system_error>

#include "cuzarr/error.hpp"
#include "cuzarr/manifest.hpp"
#include "cuzarr/store.hpp"

namespace cuzarr {

bool is_http_url(std::string_view location) {
  auto starts = [&](std::string_view scheme) {
    if (location.size() < scheme.size()) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(location[i])) != scheme[i]) return false;
    }
    return true;
  };
  return starts("http://") || starts("https://");
}

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
  if (is_s3_url(location)) {
#if CUZARR_WITH_HTTP
    return std::make_shared<const S3Store>(location, options);
#else
    throw UnsupportedError("cannot open 's3://...': this build of cuzarr has no S3 store (built without libcurl; "
                           "CUZARR_HTTP=OFF)");
#endif
  }
  if (!options.s3.empty()) {
    const std::size_t scheme = location.find("://");
    throw StoreError("S3 storage options (key, secret, token, anon, endpoint_url, region, profile, addressing_style) "
                     "apply to s3:// URLs only, not to '" +
                     (scheme == std::string::npos ? location : location.substr(0, scheme + 3) + "...") + "'");
  }
  if (is_http_url(location)) {
#if CUZARR_WITH_HTTP
    return std::make_shared<const HttpStore>(location, options);
#else
    (void)options;
    throw UnsupportedError("cannot open '" + location.substr(0, location.find("://") + 3) +
                           "...': this build of cuzarr has no HTTP store (built without libcurl; CUZARR_HTTP=OFF)");
#endif
  }
  std::string local = location;
  if (local.starts_with("file://")) {
    local.erase(0, 7);
  } else if (const std::size_t scheme = local.find("://"); scheme != std::string::npos && scheme > 0 &&
                                                           local.find('/') > scheme) {
    throw UnsupportedError("cannot open '" + location.substr(0, scheme + 3) +
                           "...': cuzarr reads local paths, .zip files, http:// or https:// URLs and s3:// URLs");
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
