#include <algorithm>
#include <system_error>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/posix_file.hpp"

namespace cuzarr {

FileStore::FileStore(std::filesystem::path root) : root_(std::move(root)) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root_, ec)) {
    throw KeyNotFound("no Zarr store at '" + root_.string() + "': not a directory");
  }
}

std::filesystem::path FileStore::path_of(std::string_view key) const {
  validate_key(key);
  return root_ / std::filesystem::path(std::string(key));
}

std::optional<Buffer> FileStore::get(std::string_view key) const {
  auto file = store::PosixFile::open(path_of(key));
  if (!file) return std::nullopt;
  // Read to the size seen at open; a file that shrinks under us is reported as truncated.
  Buffer buf(file->size());
  file->read_exact(buf.data(), 0, buf.size(), std::string(key));
  return buf;
}

namespace {

void check_range(std::string_view key, std::uint64_t total, std::uint64_t offset, std::uint64_t length) {
  if (offset > total || length > total - offset) {
    throw StoreError("key '" + std::string(key) + "' is " + std::to_string(total) +
                     " bytes long; cannot read bytes [" + std::to_string(offset) + ", " +
                     std::to_string(offset + length) + ")");
  }
}

}  // namespace

std::optional<Buffer> FileStore::get_range(std::string_view key, std::uint64_t offset,
                                           std::uint64_t length) const {
  auto file = store::PosixFile::open(path_of(key));
  if (!file) return std::nullopt;
  check_range(key, file->size(), offset, length);
  Buffer buf(length);
  file->read_exact(buf.data(), offset, length, std::string(key));
  return buf;
}

bool FileStore::read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const {
  auto file = store::PosixFile::open(path_of(key));
  if (!file) return false;
  check_range(key, file->size(), offset, length);
  file->read_exact(dst, offset, length, std::string(key));
  return true;
}

std::optional<Buffer> FileStore::get_suffix(std::string_view key, std::uint64_t length) const {
  auto file = store::PosixFile::open(path_of(key));
  if (!file) return std::nullopt;
  const std::uint64_t total = file->size();
  if (length > total) {
    throw StoreError("key '" + std::string(key) + "' is " + std::to_string(total) +
                     " bytes long; cannot read its last " + std::to_string(length) + " bytes");
  }
  Buffer buf(length);
  file->read_exact(buf.data(), total - length, length, std::string(key));
  return buf;
}

std::optional<std::uint64_t> FileStore::size(std::string_view key) const {
  auto file = store::PosixFile::open(path_of(key));
  if (!file) return std::nullopt;
  return file->size();
}

bool FileStore::exists(std::string_view key) const {
  std::error_code ec;
  return std::filesystem::is_regular_file(path_of(key), ec);
}

std::vector<std::string> FileStore::list_dir(std::string_view prefix) const {
  const std::filesystem::path dir = prefix.empty() ? root_ : path_of(prefix);
  std::vector<std::string> names;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return names;
  for (const auto& entry : it) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string FileStore::describe() const { return root_.string(); }

}  // namespace cuzarr
