#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <system_error>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/metadata_read.hpp"
#include "store/posix_file.hpp"

namespace cuzarr {

FileStore::FileStore(std::filesystem::path root) : root_(std::move(root)) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(root_, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    throw KeyNotFound("no Zarr store at '" + root_.string() + "': the path does not exist");
  }
  if (status.type() != std::filesystem::file_type::directory) {
    // A typo'd path and a file where a store was meant call for different fixes: say which.
    throw KeyNotFound("no Zarr store at '" + root_.string() + "': " +
                      (ec ? ec.message() : "not a directory (a store is a directory or a .zip file)"));
  }
  real_root_ = std::filesystem::canonical(root_, ec);
  if (ec) throw StoreError("cannot resolve the store path '" + root_.string() + "': " + ec.message());
  root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
}

namespace {

// Where an opened file really is: the kernel's name for the descriptor, which no later change to
// the links on its path can alter; where /proc is not mounted, the path resolved now.
std::filesystem::path resolved_path(const store::PosixFile& file, const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(file.fd()), ec);
  if (!ec && p.is_absolute()) return p;
  p = std::filesystem::canonical(path, ec);
  return ec ? std::filesystem::path() : p;
}

bool is_within(const std::filesystem::path& root, const std::filesystem::path& p) {
  auto it = p.begin();
  for (const auto& part : root) {
    if (it == p.end() || *it != part) return false;
    ++it;
  }
  return true;
}

// Opens the file of `path` (nullopt when missing) and, unless CUZARR_SYMLINKS=follow, refuses
// one that symbolic links have led outside the store.
std::optional<store::PosixFile> open_inside(const std::filesystem::path& path, const std::filesystem::path& root,
                                            const std::filesystem::path& real_root) {
  std::optional<store::PosixFile> file = store::PosixFile::open(path);
  if (!file || config().symlinks == Config::Symlinks::Follow) return file;
  const std::filesystem::path real = resolved_path(*file, path);
  if (!is_within(real_root, real)) {
    throw StoreError("'" + path.string() + "' leads outside the store '" + root.string() + "' (to '" +
                     real.string() + "'): symbolic links may only point inside the store " +
                     "(CUZARR_SYMLINKS=follow allows any target)");
  }
  return file;
}

}  // namespace

FileStore::~FileStore() {
  if (root_fd_ >= 0) ::close(root_fd_);
}

std::optional<store::PosixFile> FileStore::open_file(std::string_view key) const {
  const std::filesystem::path path = path_of(key);
  if (config().symlinks == Config::Symlinks::Inside && root_fd_ >= 0 && beneath_.load(std::memory_order_relaxed)) {
    // One system call resolves the key beneath the root, refusing any way out: no check of the
    // opened file's real path is needed (it costs as much as the read of a small chunk).
    std::optional<store::PosixFile> file;
    switch (store::PosixFile::open_beneath(root_fd_, std::string(key), path, file)) {
      case store::PosixFile::Beneath::Opened: return file;
      case store::PosixFile::Beneath::Missing: return std::nullopt;
      case store::PosixFile::Beneath::Unsupported: beneath_.store(false, std::memory_order_relaxed); break;
      case store::PosixFile::Beneath::Refused: break;  // an absolute link may still land inside: decided below
    }
  }
  return open_inside(path, root_, real_root_);
}

std::filesystem::path FileStore::path_of(std::string_view key) const {
  validate_key(key);
  return root_ / std::filesystem::path(std::string(key));
}

std::optional<Buffer> FileStore::get(std::string_view key) const {
  return get_metadata(key, std::numeric_limits<std::uint64_t>::max());  // the same read, with no cap
}

std::optional<Buffer> FileStore::get_metadata(std::string_view key, std::uint64_t max_bytes) const {
  auto file = open_file(key);
  if (!file) return std::nullopt;
  // A regular file's size is what a read gets, so checking it is enough (a sparse file of 64 GiB
  // is refused before any byte is read). Read to the size seen at open; a file that shrinks under
  // us is reported as truncated.
  if (file->size() > max_bytes) {
    throw StoreError("'" + join_key(describe(), key) + "': " + store::metadata_too_large(max_bytes, file->size()));
  }
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
  auto file = open_file(key);
  if (!file) return std::nullopt;
  check_range(key, file->size(), offset, length);
  Buffer buf(length);
  file->read_exact(buf.data(), offset, length, std::string(key));
  return buf;
}

bool FileStore::read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const {
  auto file = open_file(key);
  if (!file) return false;
  check_range(key, file->size(), offset, length);
  file->read_exact(dst, offset, length, std::string(key));
  return true;
}

std::optional<Buffer> FileStore::get_suffix(std::string_view key, std::uint64_t length) const {
  auto file = open_file(key);
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

std::optional<EdgeRead> FileStore::get_edge(std::string_view key, Edge edge, std::uint64_t length) const {
  auto file = open_file(key);
  if (!file) return std::nullopt;
  const std::uint64_t total = file->size();
  const std::uint64_t n = std::min(length, total);
  Buffer buf(n);
  file->read_exact(buf.data(), edge == Edge::Front ? 0 : total - n, n, std::string(key));
  return EdgeRead{std::move(buf), total};
}

std::optional<std::uint64_t> FileStore::read_front_into(std::string_view key, std::uint64_t length,
                                                       void* dst) const {
  auto file = open_file(key);
  if (!file) return std::nullopt;
  const std::uint64_t total = file->size();
  file->read_exact(dst, 0, std::min(length, total), std::string(key));
  return total;
}

std::optional<std::uint64_t> FileStore::size(std::string_view key) const {
  auto file = open_file(key);
  if (!file) return std::nullopt;
  return file->size();
}

std::optional<Store::Version> FileStore::version(std::string_view key) const {
  auto file = open_file(key);
  if (!file) return std::nullopt;
  struct stat st {};
  if (::fstat(file->fd(), &st) != 0) throw StoreError("cannot stat '" + std::string(key) + "' in " + describe());
  return Version{"", static_cast<std::int64_t>(st.st_mtime)};
}

bool FileStore::exists(std::string_view key) const {
  // Through the same checks as a read: a key that exists but cannot be read is an error here too.
  return open_file(key).has_value();
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

// Writes: each value goes to a temporary file in its key's directory, which is then renamed over
// the key (rename is atomic within a directory), so readers and killed writers never see part of
// a value.
namespace {

[[noreturn]] void fail(const FileStore& store, std::string_view key, const std::string& what, int err) {
  throw StoreError("cannot write '" + std::string(key) + "' in " + store.describe() + ": " + what + ": " +
                   std::strerror(err));
}

// Removes the temporary file unless the value reached its key.
struct TempFile {
  std::filesystem::path path;
  int fd = -1;
  bool renamed = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!renamed && !path.empty()) ::unlink(path.c_str());
  }
};

std::atomic<std::uint64_t> temp_counter{0};

}  // namespace

void FileStore::write(std::string_view key, std::span<const std::byte> value) const {
  const std::filesystem::path path = path_of(key);
  const std::filesystem::path dir = path.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(*this, key, "cannot create the directory '" + dir.string() + "'", ec.value());
  if (config().symlinks != Config::Symlinks::Follow) {
    // A directory reached through a link out of the store is refused, as it is for reads.
    const std::filesystem::path real = std::filesystem::canonical(dir, ec);
    if (ec || !is_within(real_root_, real)) {
      throw StoreError("cannot write '" + std::string(key) + "' in " + describe() + ": its directory leads outside the store" +
                       (ec ? "" : " (to '" + real.string() + "')"));
    }
  }
  TempFile tmp;
  tmp.path = dir / ("." + path.filename().string() + ".cuzarr-tmp-" + std::to_string(::getpid()) + "-" +
                    std::to_string(temp_counter.fetch_add(1)));
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (tmp.fd < 0) {
    tmp.path.clear();  // not ours to remove
    fail(*this, key, "cannot create a temporary file in '" + dir.string() + "'", errno);
  }
  std::size_t done = 0;
  while (done < value.size()) {
    const ssize_t n = ::write(tmp.fd, value.data() + done, value.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(*this, key, "writing " + std::to_string(value.size()) + " bytes failed", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  // close() reports delayed write errors (a full disk on some file systems).
  const int fd = tmp.fd;
  tmp.fd = -1;
  if (::close(fd) != 0) fail(*this, key, "writing " + std::to_string(value.size()) + " bytes failed", errno);
  if (::rename(tmp.path.c_str(), path.c_str()) != 0) fail(*this, key, "cannot rename the temporary file over it", errno);
  tmp.renamed = true;
}

void FileStore::erase(std::string_view key) const {
  const std::filesystem::path path = path_of(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw StoreError("cannot delete '" + std::string(key) + "' in " + describe() + ": " + std::strerror(errno));
  }
}


}  // namespace cuzarr
