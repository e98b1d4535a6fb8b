// HttpStore: keys are URLs below a base URL, read through the shared libcurl transport (pooled
// handles, checked ranges, retries).
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/curl_transport.hpp"

namespace cuzarr {

class HttpStore::Impl {
 public:
  Impl(std::string base_url, const StoreOptions& options)
      : base_(check_base(std::move(base_url))), display_(store::without_userinfo(base_)),
        transport_(store::transport_settings(options, /*environment_headers=*/true)) {}

  const std::string& display() const { return display_; }
  std::size_t concurrency() const { return transport_.concurrency(); }

  bool fetch(std::string_view key, const store::Request& request, store::Response& response) const {
    validate_key(key);
    const std::string url = base_ + "/" + store::percent_encode(key, /*keep_slash=*/true);
    return transport_.run(url, store::without_userinfo(url), request, response);
  }

 private:
  static std::string check_base(std::string base) {
    if (!is_http_url(base)) throw StoreError("not an http:// or https:// URL: '" + store::without_userinfo(base) + "'");
    if (base.find_first_of("?#") != std::string::npos) {
      throw UnsupportedError("store URL '" + store::without_userinfo(base) +
                             "': a query string or fragment cannot be combined with keys");
    }
    while (base.size() > 8 && base.back() == '/') base.pop_back();
    return base;
  }

  std::string base_;
  std::string display_;
  store::CurlTransport transport_;
};

HttpStore::HttpStore(std::string base_url, const StoreOptions& options)
    : impl_(std::make_unique<Impl>(std::move(base_url), options)) {}

HttpStore::~HttpStore() = default;

bool HttpStore::fetch(std::string_view key, const store::Request& request, store::Response& response) const {
  return impl_->fetch(key, request, response);
}

std::vector<std::string> HttpStore::list_dir(std::string_view prefix) const {
  throw UnsupportedError("cannot list '" + join_key(impl_->display(), prefix) +
                         "': HTTP has no directory listing, so the members of a group are known only from "
                         "consolidated metadata (zarr.consolidate_metadata writes it); an array can still be "
                         "opened by its own URL or path");
}

std::string HttpStore::describe() const { return impl_->display(); }

std::size_t HttpStore::preferred_concurrency() const { return impl_->concurrency(); }

}  // namespace cuzarr
