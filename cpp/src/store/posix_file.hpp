// RAII file descriptor opened read-only, with a pread loop that survives EINTR and short reads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace cuzarr::store {

class PosixFile {
 public:
  // nullopt when the file does not exist (or is a directory); StoreError on other failures and for
  // anything but a regular file (a FIFO, a device: never opened in a way that could block).
  static std::optional<PosixFile> open(const std::filesystem::path& path);

  // What open_beneath found.
  enum class Beneath { Opened, Missing, Refused, Unsupported };
  // Opens `relative` below the directory `dirfd` with openat2(RESOLVE_BENEATH): never through
  // "..", an absolute symbolic link or one that leads out of the directory (Refused), with the
  // checks of open(). Unsupported where the kernel (or a sandbox) lacks openat2. `path` names the
  // file in messages.
  static Beneath open_beneath(int dirfd, const std::string& relative, const std::filesystem::path& path,
                              std::optional<PosixFile>& file);

  PosixFile(PosixFile&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
    other.fd_ = -1;
  }
  PosixFile& operator=(PosixFile&& other) noexcept;
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;
  ~PosixFile();

  std::uint64_t size() const;
  // Reads exactly `length` bytes at `offset` or throws StoreError (short file, I/O error).
  void read_exact(void* dst, std::uint64_t offset, std::uint64_t length,
                  const std::string& key) const;
  int fd() const { return fd_; }

 private:
  PosixFile(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  // Takes `fd` and checks it is a regular file (nullopt for a directory).
  static std::optional<PosixFile> adopt(int fd, const std::filesystem::path& path);
  int fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace cuzarr::store
