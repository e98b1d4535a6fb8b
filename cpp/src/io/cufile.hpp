// GPUDirect Storage through cuFile, loaded at run time: libcufile.so.0 is dlopened (no link-time
// dependency, no cufile.h needed to build) and used only where the driver and the file system
// accept it. CUZARR_GDS=auto tries it and falls back silently; on makes a refusal an error; off
// never loads it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace cuzarr::io {

class CuFile {
 public:
  // Loads the library and opens the driver. Returns nullptr (and sets `why`) when either fails.
  static std::unique_ptr<CuFile> open(std::string& why);
  ~CuFile();
  CuFile(const CuFile&) = delete;
  CuFile& operator=(const CuFile&) = delete;

  // Reads `length` bytes at `offset` of the file at `path` into device memory `dst`. Returns
  // false (and sets `why`) when cuFile refuses the file (cuFileHandleRegister fails); throws
  // StoreError on a read error or short read.
  bool read(const std::string& path, void* dst, std::size_t length, std::uint64_t offset, std::string& why) const;

  struct Api;

 private:
  explicit CuFile(std::unique_ptr<Api> api);
  std::unique_ptr<Api> api_;
};

}  // namespace cuzarr::io
