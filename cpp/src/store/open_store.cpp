#include <system_error>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"

namespace cuzarr {

std::shared_ptr<const Store> open_store(const std::string& location, const StoreOptions& options) {
  if (is_http_url(location)) return std::make_shared<const HttpStore>(location, options);
  std::string local = location;
  if (local.starts_with("file://")) {
    local.erase(0, 7);
  } else if (const std::size_t scheme = local.find("://"); scheme != std::string::npos && scheme > 0 &&
                                                           local.find('/') > scheme) {
    throw UnsupportedError("cannot open '" + location.substr(0, scheme + 3) +
                           "...': cuzarr reads local paths, .zip files and http:// or https:// URLs");
  }
  // "a/b/" and "a/b" name the same node; keep messages free of doubled or trailing slashes.
  std::filesystem::path root = std::filesystem::path(local).lexically_normal();
  if (!root.has_filename() && root.has_parent_path()) root = root.parent_path();
  std::error_code ec;
  if (root.extension() == ".zip" && std::filesystem::is_regular_file(root, ec)) {
    return std::make_shared<const ZipStore>(root);
  }
  return std::make_shared<const FileStore>(root);
}

}  // namespace cuzarr
