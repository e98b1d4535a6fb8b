// A libzip archive handle that reads its file with pread, never through a file offset.
//
// zip_open on a path gives each handle a FILE* whose offset is shared with every process forked
// after it was opened: a parent and child reading at once move each other's position (wrong
// bytes from stored members, corrupt streams from deflated ones). Over one read-only descriptor
// with positioned reads, every handle keeps its position in its own memory, so any number of
// handles, threads and processes share the descriptor safely.
#pragma once

#include <zip.h>

#include <cstdint>
#include <memory>
#include <string>

#include "store/posix_file.hpp"

namespace cuzarr::store {

class PreadArchive {
 public:
  // The archive in `file`, which must outlive the handle; `shown` names it in errors.
  PreadArchive(const PosixFile& file, const std::string& shown);
  PreadArchive(PreadArchive&&) noexcept;
  PreadArchive& operator=(PreadArchive&&) = delete;  // would free the old source before its archive
  ~PreadArchive();

  zip_t* get() const { return archive_.get(); }

 private:
  struct Source;
  struct Discard {
    void operator()(zip_t* z) const { zip_discard(z); }  // read-only: nothing to write back
  };
  std::unique_ptr<Source> source_;           // the position the callbacks read at
  std::unique_ptr<zip_t, Discard> archive_;  // after source_: discarded before it
};

}  // namespace cuzarr::store
