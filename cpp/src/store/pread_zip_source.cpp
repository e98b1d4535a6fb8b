#include "store/pread_zip_source.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "cuzarr/error.hpp"

namespace cuzarr::store {

struct PreadArchive::Source {
  Source(int fd_, std::uint64_t size_) : fd(fd_), size(size_) { zip_error_init(&error); }
  ~Source() { zip_error_fini(&error); }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  int fd;
  std::uint64_t size;
  std::uint64_t position = 0;
  zip_error_t error;

  // libzip's source protocol for a seekable, read-only source. No exception may leave: this is
  // called from libzip's C frames.
  static zip_int64_t callback(void* user, void* data, zip_uint64_t length, zip_source_cmd_t cmd) noexcept {
    auto* self = static_cast<Source*>(user);
    switch (cmd) {
      case ZIP_SOURCE_OPEN:
        self->position = 0;
        return 0;
      case ZIP_SOURCE_READ:
        return self->read(static_cast<char*>(data), length);
      case ZIP_SOURCE_CLOSE:
        return 0;
      case ZIP_SOURCE_SEEK: {
        const zip_int64_t to = zip_source_seek_compute_offset(self->position, self->size, data, length, &self->error);
        if (to < 0) return -1;
        self->position = static_cast<std::uint64_t>(to);
        return 0;
      }
      case ZIP_SOURCE_TELL:
        return static_cast<zip_int64_t>(self->position);
      case ZIP_SOURCE_STAT: {
        zip_stat_t* st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, length, &self->error);
        if (st == nullptr) return -1;
        zip_stat_init(st);
        st->size = self->size;
        st->valid = ZIP_STAT_SIZE;
        return sizeof(zip_stat_t);
      }
      case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&self->error, data, length);
      case ZIP_SOURCE_FREE:
        return 0;  // the Source belongs to its PreadArchive
      case ZIP_SOURCE_SUPPORTS:
        return ZIP_SOURCE_SUPPORTS_SEEKABLE;
      default:
        zip_error_set(&self->error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
  }

  zip_int64_t read(char* out, zip_uint64_t length) {
    if (position >= size) return 0;
    const std::uint64_t want = std::min<std::uint64_t>(length, size - position);
    std::uint64_t done = 0;
    while (done < want) {
      const ssize_t n = ::pread(fd, out + done, want - done, static_cast<off_t>(position + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        zip_error_set(&error, ZIP_ER_READ, errno);
        return -1;
      }
      if (n == 0) break;  // the file shrank since it was opened: libzip reports the short read
      done += static_cast<std::uint64_t>(n);
    }
    position += done;
    return static_cast<zip_int64_t>(done);
  }
};

PreadArchive::PreadArchive(const PosixFile& file, const std::string& shown)
    : source_(std::make_unique<Source>(file.fd(), file.size())) {
  zip_error_t error;
  zip_error_init(&error);
  auto fail = [&]() -> void {
    const std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw StoreError("cannot read '" + shown + "' as a zip archive: " + why);
  };
  zip_source_t* source = zip_source_function_create(&Source::callback, source_.get(), &error);
  if (source == nullptr) fail();
  archive_.reset(zip_open_from_source(source, ZIP_RDONLY, &error));
  if (!archive_) {
    zip_source_free(source);  // still ours when the open failed
    fail();
  }
  zip_error_fini(&error);
}

PreadArchive::PreadArchive(PreadArchive&&) noexcept = default;
PreadArchive::~PreadArchive() = default;

}  // namespace cuzarr::store
