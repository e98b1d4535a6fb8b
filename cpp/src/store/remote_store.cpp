// RemoteStore: the Store reads over one checked request (store::Request / store::Response), for
// every store that answers HTTP (HttpStore, S3Store).
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/http_response.hpp"

namespace cuzarr {

using store::Want;

std::optional<Buffer> RemoteStore::get_whole(std::string_view key, std::optional<std::uint64_t> metadata_cap) const {
  Buffer out;
  std::vector<std::byte> grow;
  store::Request request{Want::Whole};
  request.out = &out;
  request.grow = &grow;
  request.metadata_cap = metadata_cap;
  store::Response response(request);
  if (!fetch(key, request, response)) return std::nullopt;
  return response.result();
}

std::optional<Buffer> RemoteStore::get(std::string_view key) const { return get_whole(key, std::nullopt); }

std::optional<Buffer> RemoteStore::get_metadata(std::string_view key, std::uint64_t max_bytes) const {
  // One request: its Content-Length is checked before the buffer exists, and a body without one
  // stops once it passes the cap (store::Response).
  return get_whole(key, max_bytes);
}

bool RemoteStore::read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const {
  if (length == 0) {
    const std::optional<std::uint64_t> total = size(key);
    if (!total) return false;
    if (offset > *total) {
      throw StoreError("key '" + std::string(key) + "' is " + std::to_string(*total) + " bytes long; cannot read bytes [" +
                       std::to_string(offset) + ", " + std::to_string(offset) + ")");
    }
    return true;
  }
  store::Request request{Want::Range, offset, length, static_cast<std::byte*>(dst)};
  store::Response response(request);
  return fetch(key, request, response);
}

std::optional<Buffer> RemoteStore::get_range(std::string_view key, std::uint64_t offset, std::uint64_t length) const {
  Buffer buf(length);
  if (!read_into(key, offset, length, buf.data())) return std::nullopt;
  return buf;
}

std::optional<EdgeRead> RemoteStore::get_edge(std::string_view key, Edge edge, std::uint64_t length) const {
  if (length == 0) {
    const std::optional<std::uint64_t> total = size(key);
    if (!total) return std::nullopt;
    return EdgeRead{Buffer(), *total};
  }
  Buffer out;
  std::vector<std::byte> grow;
  store::Request request{edge == Edge::Front ? Want::Front : Want::Back, 0, length};
  request.out = &out;
  request.grow = &grow;
  store::Response response(request);
  if (!fetch(key, request, response)) return std::nullopt;
  return EdgeRead{response.result(), response.total_size()};
}

std::optional<std::uint64_t> RemoteStore::read_front_into(std::string_view key, std::uint64_t length,
                                                         void* dst) const {
  if (length == 0) return size(key);
  store::Request request{Want::Front, 0, length, static_cast<std::byte*>(dst)};
  store::Response response(request);
  if (!fetch(key, request, response)) return std::nullopt;
  return response.total_size();
}

std::optional<Buffer> RemoteStore::get_suffix(std::string_view key, std::uint64_t length) const {
  std::optional<EdgeRead> r = get_edge(key, Edge::Back, length);
  if (!r) return std::nullopt;
  if (r->total_size < length) {
    throw StoreError("key '" + std::string(key) + "' is " + std::to_string(r->total_size) +
                     " bytes long; cannot read its last " + std::to_string(length) + " bytes");
  }
  return std::move(r->bytes);
}

std::optional<std::uint64_t> RemoteStore::size(std::string_view key) const {
  store::Request request{Want::Head};
  store::Response response(request);
  if (!fetch(key, request, response)) return std::nullopt;
  return response.total_size();
}

std::optional<Store::Version> RemoteStore::version(std::string_view key) const {
  store::Request request{Want::Head};
  request.size_optional = true;
  store::Response response(request);
  if (!fetch(key, request, response)) return std::nullopt;
  return Version{response.etag(), response.last_modified()};
}

bool RemoteStore::exists(std::string_view key) const { return version(key).has_value(); }

}  // namespace cuzarr
