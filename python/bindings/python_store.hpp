// A cuzarr::Store whose bytes come from a Python object (cuzarr._zarr_store adapts zarr-python
// stores and mappings to it). The read engine calls stores from its own threads with the GIL
// released; every call here takes the GIL for the length of the Python call and nothing more, so
// many reads wait on the Python side at once (the adapter's waits release the GIL again).
#pragma once

#include <nanobind/nanobind.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/store.hpp"

namespace cuzarr::python {

// The Python object must have these methods (bytes are any buffer-protocol object, e.g. bytes or
// a 1-d uint8 NumPy array; None means the key does not exist):
//   get(key) -> bytes | None
//   get_range(key, offset, length) -> bytes | None      (may be shorter only when the value is)
//   get_suffix(key, length) -> bytes | None
//   get_edge(key, front: bool, length) -> (bytes, total_size) | None
//   size(key) -> int | None,  exists(key) -> bool,  list_dir(prefix) -> list[str]
// and the attributes `description` (str, for messages), `concurrency` (int, reads it serves
// best at once; 0 when the reader's own thread count is right) and `random_ranges` (bool: small
// byte ranges are as cheap as in memory, see ReadPattern). A Python exception raised by a method
// becomes a StoreError naming the store and the key.
class PythonStore final : public Store {
 public:
  // Call with the GIL held.
  explicit PythonStore(nanobind::object source);
  ~PythonStore() override;
  PythonStore(const PythonStore&) = delete;
  PythonStore& operator=(const PythonStore&) = delete;

  std::optional<Buffer> get(std::string_view key) const override;
  std::optional<Buffer> get_range(std::string_view key, std::uint64_t offset, std::uint64_t length) const override;
  std::optional<Buffer> get_suffix(std::string_view key, std::uint64_t length) const override;
  bool read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const override;
  std::optional<EdgeRead> get_edge(std::string_view key, Edge edge, std::uint64_t length) const override;
  std::optional<std::uint64_t> read_front_into(std::string_view key, std::uint64_t length, void* dst) const override;
  std::optional<std::uint64_t> size(std::string_view key) const override;
  bool exists(std::string_view key) const override;
  std::vector<std::string> list_dir(std::string_view prefix) const override;
  std::string describe() const override { return description_; }
  std::size_t preferred_concurrency() const override { return concurrency_; }
  ReadPattern read_pattern() const override {
    return random_ranges_ ? ReadPattern::RandomRanges : ReadPattern::FewLargeRequests;
  }

 private:
  // Calls source_.<method>(args...) with the GIL held; Python errors become StoreError.
  template <typename F>
  auto call(const char* what, std::string_view key, F&& body) const;

  nanobind::object source_;
  std::string description_;
  std::size_t concurrency_ = 0;
  bool random_ranges_ = false;
};

}  // namespace cuzarr::python
