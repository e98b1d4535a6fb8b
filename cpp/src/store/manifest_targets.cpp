#include "store/manifest_targets.hpp"

#include <cctype>
#include <filesystem>

#include "cuzarr/error.hpp"

namespace cuzarr::store {
namespace {

// The scheme of `text` in lower case ("https" for "HTTPS://x"); "" when it has none.
std::string scheme_of(std::string_view text) {
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return {};
  std::string s;
  for (char c : text.substr(0, sep)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return {};
    s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// %XX escapes undone, since the HTTP store encodes the key it is given.
std::string percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Object stores (bucket or container, then a key taken as written); HTTP(S) paths are percent-decoded.
bool is_object_scheme(std::string_view s) {
  return s == "s3" || s == "gs" || s == "gcs" || s == "az" || s == "abfs" || s == "abfss";
}

bool is_url_scheme(std::string_view s) { return s == "http" || s == "https" || is_object_scheme(s); }

ResolvedTarget split_url(const std::string& url, std::string_view scheme) {
  ResolvedTarget r;
  r.remote = true;
  const std::size_t host = url.find("://") + 3;
  const std::size_t cut = url.find_last_of('/');
  if (cut == std::string::npos || cut < host || cut + 1 == url.size()) {
    r.error = "'" + url + "' names no object inside its " + std::string(is_object_scheme(scheme) ? "bucket" : "server");
    return r;
  }
  if (url.find_first_of("?#", host) != std::string::npos) {
    r.error = "a target URL with a query string or fragment is not supported";
    return r;
  }
  r.base = url.substr(0, cut);
  r.key = is_object_scheme(scheme) ? url.substr(cut + 1) : percent_decode(std::string_view(url).substr(cut + 1));
  return r;
}

ResolvedTarget split_path(std::filesystem::path path) {
  path = path.lexically_normal();
  ResolvedTarget r;
  if (!path.has_filename()) {
    r.error = "'" + path.string() + "' names a folder, not a file";
    return r;
  }
  r.base = path.parent_path().string();
  r.key = path.filename().string();
  return r;
}

}  // namespace

ResolvedTarget resolve_target(std::string_view target, std::string_view base, std::string_view remote_protocol) {
  std::string scheme = scheme_of(target);
  std::string text(target);
  if (scheme.empty() && !remote_protocol.empty() && remote_protocol != "file" && remote_protocol != "local") {
    scheme = remote_protocol;
    text = std::string(remote_protocol) + "://" + text;
  }
  if (scheme == "file" || scheme == "local") {
    text.erase(0, scheme.size() + 3);
    scheme.clear();
  }
  if (is_url_scheme(scheme)) return split_url(text, scheme);
  if (!scheme.empty()) {
    ResolvedTarget r;
    r.error = "targets on '" + scheme + "://' are not supported (cuzarr reads paths, file://, http(s)://, s3://, gs:// and az:// (abfs://))";
    return r;
  }
  std::filesystem::path path(text);
  if (path.is_absolute()) return split_path(path);
  const std::string base_scheme = scheme_of(base);
  if (is_url_scheme(base_scheme)) {
    std::string url(base);
    while (!url.empty() && url.back() == '/') url.pop_back();
    return split_url(url + "/" + text, base_scheme);
  }
  const std::filesystem::path folder = base.empty() ? std::filesystem::current_path() : std::filesystem::path(base);
  return split_path(std::filesystem::absolute(folder / path));
}

std::shared_ptr<const Store> open_target_store(const ResolvedTarget& target, const StoreOptions& options) {
  if (target.remote) {
    StoreOptions own = options;
    // Each cloud's options go to its own targets only.
    if (!is_s3_url(target.base)) own.s3 = S3Options{};
    if (!is_gcs_url(target.base)) own.gcs = GcsOptions{};
    if (!is_azure_url(target.base)) own.azure = AzureOptions{};
    return open_store(target.base, own);
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(target.base, ec)) {
    throw StoreError("the folder '" + target.base + "' of the target does not exist");
  }
  return std::make_shared<const FileStore>(target.base);
}

}  // namespace cuzarr::store
