// Store::get_metadata for stores with nothing better (a Python store, whose get() has read the
// value before C++ sees it): what get() returned is checked. Asking size() first would cost a
// Python store a second round trip per document and bound nothing that get() has not already
// read.
#include "store/metadata_read.hpp"

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"

namespace cuzarr {

namespace store {

std::string metadata_too_large(std::uint64_t max_bytes, std::optional<std::uint64_t> size) {
  return std::string("the metadata document ") +
         (size ? "is " + std::to_string(*size) + " bytes, over" : std::string("passed")) +
         " the metadata size cap of " + std::to_string(max_bytes) +
         " bytes (set CUZARR_MAX_METADATA_BYTES to raise it)";
}

}  // namespace store

std::optional<Buffer> Store::get_metadata(std::string_view key, std::uint64_t max_bytes) const {
  auto fail = [&](std::uint64_t n) {
    throw StoreError("'" + join_key(describe(), key) + "': " + store::metadata_too_large(max_bytes, n));
  };
  std::optional<Buffer> bytes = get(key);
  if (bytes && bytes->size() > max_bytes) fail(bytes->size());
  return bytes;
}

}  // namespace cuzarr
