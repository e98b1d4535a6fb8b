#include "store/posix_file.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cuzarr/error.hpp"

namespace cuzarr::store {

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

}  // namespace

std::optional<PosixFile> PosixFile::open(const std::filesystem::path& path) {
  int fd = -1;
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. It changes
  // nothing for regular files, the only kind read below.
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw StoreError("cannot open '" + path.string() + "': " + std::strerror(errno));
  }
  return adopt(fd, path);
}

PosixFile::Beneath PosixFile::open_beneath(int dirfd, const std::string& relative, const std::filesystem::path& path,
                                           std::optional<PosixFile>& file) {
#ifdef SYS_openat2
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd = -1;
  do {
    fd = ::syscall(SYS_openat2, dirfd, relative.c_str(), &how, sizeof how);
  } while (fd < 0 && errno == EINTR);
  if (fd >= 0) {
    file = adopt(static_cast<int>(fd), path);
    return file ? Beneath::Opened : Beneath::Missing;
  }
  if (errno == ENOENT || errno == ENOTDIR) return Beneath::Missing;
  if (errno == EXDEV || errno == ELOOP) return Beneath::Refused;
  if (errno == ENOSYS || errno == EPERM || errno == EINVAL || errno == E2BIG) return Beneath::Unsupported;
  throw StoreError("cannot open '" + path.string() + "': " + std::strerror(errno));
#else
  (void)dirfd, (void)relative, (void)path, (void)file;
  return Beneath::Unsupported;
#endif
}

std::optional<PosixFile> PosixFile::adopt(int fd, const std::filesystem::path& path) {
  PosixFile file(fd, path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw StoreError("cannot stat '" + path.string() + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return std::nullopt;
  if (!S_ISREG(st.st_mode)) {
    throw StoreError("cannot read '" + path.string() + "': it is " + kind_of(st.st_mode) + ", not a regular file");
  }
  return file;
}

PosixFile& PosixFile::operator=(PosixFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

PosixFile::~PosixFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t PosixFile::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    throw StoreError("cannot stat '" + path_.string() + "': " + std::strerror(errno));
  }
  return static_cast<std::uint64_t>(st.st_size);
}

void PosixFile::read_exact(void* dst, std::uint64_t offset, std::uint64_t length,
                           const std::string& key) const {
  auto* out = static_cast<char*>(dst);
  std::uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd_, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw StoreError("read of key '" + key + "' failed: " + std::strerror(errno));
    }
    if (n == 0) {
      throw StoreError("key '" + key + "' is truncated: wanted bytes [" + std::to_string(offset) +
                       ", " + std::to_string(offset + length) + ") but the file ends at " +
                       std::to_string(offset + done));
    }
    done += static_cast<std::uint64_t>(n);
  }
}

}  // namespace cuzarr::store
