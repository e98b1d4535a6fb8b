// Key/value access to the bytes of a Zarr hierarchy. Keys are '/'-separated relative paths
// ("group/array/c/0/1"); every key is validated before it reaches the file system.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/buffer.hpp"

namespace cuzarr {

// Throws StoreError unless `key` is a safe relative key: not empty, not absolute, no empty,
// "." or ".." parts, no NUL or backslash.
void validate_key(std::string_view key);

// Joins two key prefixes with '/', ignoring empty parts ("" + "a" = "a").
std::string join_key(std::string_view prefix, std::string_view name);

class Store {
 public:
  virtual ~Store() = default;

  // The whole value, or nullopt when the key does not exist.
  virtual std::optional<Buffer> get(std::string_view key) const = 0;
  // `length` bytes from `offset`; nullopt when the key does not exist. A value shorter than
  // offset + length is a StoreError naming the key and both sizes.
  virtual std::optional<Buffer> get_range(std::string_view key, std::uint64_t offset,
                                          std::uint64_t length) const = 0;
  // Reads `length` bytes from `offset` into `dst` (caller's memory, e.g. a pinned staging
  // buffer); false when the key does not exist. The default goes through get_range.
  virtual bool read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const;
  // The last `length` bytes; nullopt when the key does not exist.
  virtual std::optional<Buffer> get_suffix(std::string_view key, std::uint64_t length) const = 0;
  // Size in bytes of the value, nullopt when absent.
  virtual std::optional<std::uint64_t> size(std::string_view key) const = 0;
  virtual bool exists(std::string_view key) const = 0;
  // Names directly under `prefix` ("" is the root), sorted; empty when the prefix does not exist.
  virtual std::vector<std::string> list_dir(std::string_view prefix) const = 0;
  // A human-readable location ("/data/x.zarr") for messages.
  virtual std::string describe() const = 0;
  // The local file holding `key`, for readers that open files themselves (cuFile); nullopt for
  // stores that are not local files.
  virtual std::optional<std::filesystem::path> local_path(std::string_view key) const {
    (void)key;
    return std::nullopt;
  }
};

// A store over a directory of the local file system. Reads only; never creates or changes a file.
// Only regular files are read (a FIFO or a device is a StoreError). A symbolic link is followed
// only when its target lies inside `root` (checked on the opened file, so a link swapped later
// cannot escape), unless CUZARR_SYMLINKS=follow; a dangling link reads as a missing key.
class FileStore final : public Store {
 public:
  // Throws KeyNotFound when `root` is not an existing directory.
  explicit FileStore(std::filesystem::path root);

  std::optional<Buffer> get(std::string_view key) const override;
  std::optional<Buffer> get_range(std::string_view key, std::uint64_t offset,
                                  std::uint64_t length) const override;
  std::optional<Buffer> get_suffix(std::string_view key, std::uint64_t length) const override;
  bool read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const override;
  std::optional<std::uint64_t> size(std::string_view key) const override;
  bool exists(std::string_view key) const override;
  std::vector<std::string> list_dir(std::string_view prefix) const override;
  std::string describe() const override;
  std::optional<std::filesystem::path> local_path(std::string_view key) const override { return path_of(key); }

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path path_of(std::string_view key) const;
  std::filesystem::path root_;
  std::filesystem::path real_root_;  // root_ with every symbolic link resolved
};

}  // namespace cuzarr
