/// @file
/// An owning, uninitialised byte buffer on the host. Unlike std::vector<std::byte> it does not
/// zero its memory, which matters for multi-megabyte chunk reads.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

namespace cuzarr {

/// Owning host bytes, left uninitialised (see above). Movable, not copyable.
class Buffer {
 public:
  Buffer() = default;
  /// `size` bytes, uninitialised.
  explicit Buffer(std::size_t size)
      : data_(size == 0 ? nullptr : std::make_unique_for_overwrite<std::byte[]>(size)), size_(size) {}

  std::byte* data() { return data_.get(); }
  const std::byte* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<std::byte> span() { return {data_.get(), size_}; }
  std::span<const std::byte> span() const { return {data_.get(), size_}; }

  /// Shrink the logical size (never grows; the allocation is kept).
  void truncate(std::size_t size) {
    if (size < size_) size_ = size;
  }

  /// A new buffer holding a copy of `bytes`.
  static Buffer copy_of(std::span<const std::byte> bytes) {
    Buffer b(bytes.size());
    if (!bytes.empty()) std::memcpy(b.data(), bytes.data(), bytes.size());
    return b;
  }

 private:
  std::unique_ptr<std::byte[]> data_;
  std::size_t size_ = 0;
};

}  // namespace cuzarr
