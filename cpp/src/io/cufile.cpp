#include "io/cufile.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cuzarr/error.hpp"

namespace cuzarr::io {
namespace {

// The few cuFile types used, declared by their documented layout so no header is needed.
struct CUfileError {
  int err;     // CUfileOpError; 0 is CU_FILE_SUCCESS
  int cu_err;  // CUresult
};
struct CUfileDescr {
  int type;  // CU_FILE_HANDLE_TYPE_OPAQUE_FD = 1
  union {
    int fd;
    void* handle;
  } handle;
  const void* fs_ops;
};
using CUfileHandle = void*;

constexpr int kHandleTypeOpaqueFd = 1;

}  // namespace

struct CuFile::Api {
  void* lib = nullptr;
  CUfileError (*driver_open)() = nullptr;
  CUfileError (*driver_close)() = nullptr;
  CUfileError (*handle_register)(CUfileHandle*, CUfileDescr*) = nullptr;
  void (*handle_deregister)(CUfileHandle) = nullptr;
  ssize_t (*read)(CUfileHandle, void*, std::size_t, off_t, off_t) = nullptr;
  bool driver_open_ok = false;

  ~Api() {
    if (driver_open_ok && driver_close != nullptr) driver_close();
    if (lib != nullptr) dlclose(lib);
  }
};

std::unique_ptr<CuFile> CuFile::open(std::string& why) {
  auto api = std::make_unique<Api>();
  for (const char* name : {"libcufile.so.0", "libcufile.so"}) {
    api->lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (api->lib != nullptr) break;
  }
  if (api->lib == nullptr) {
    const char* e = dlerror();
    why = std::string("cannot load libcufile.so.0: ") + (e ? e : "not found");
    return nullptr;
  }
  auto sym = [&](const char* name) { return dlsym(api->lib, name); };
  api->driver_open = reinterpret_cast<CUfileError (*)()>(sym("cuFileDriverOpen"));
  api->driver_close = reinterpret_cast<CUfileError (*)()>(sym("cuFileDriverClose"));
  api->handle_register = reinterpret_cast<CUfileError (*)(CUfileHandle*, CUfileDescr*)>(sym("cuFileHandleRegister"));
  api->handle_deregister = reinterpret_cast<void (*)(CUfileHandle)>(sym("cuFileHandleDeregister"));
  api->read = reinterpret_cast<ssize_t (*)(CUfileHandle, void*, std::size_t, off_t, off_t)>(sym("cuFileRead"));
  if (!api->driver_open || !api->handle_register || !api->handle_deregister || !api->read) {
    why = "libcufile.so.0 lacks the cuFile functions cuzarr uses";
    return nullptr;
  }
  const CUfileError status = api->driver_open();
  if (status.err != 0) {
    why = "cuFileDriverOpen failed (cuFile error " + std::to_string(status.err) + ")";
    return nullptr;
  }
  api->driver_open_ok = true;
  return std::unique_ptr<CuFile>(new CuFile(std::move(api)));
}

CuFile::CuFile(std::unique_ptr<Api> api) : api_(std::move(api)) {}
CuFile::~CuFile() = default;

bool CuFile::read(const std::string& path, void* dst, std::size_t length, std::uint64_t offset,
                  std::string& why) const {
  // GPUDirect wants O_DIRECT; where the file system refuses it, registration decides.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw StoreError("cannot open '" + path + "': " + std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  CUfileDescr descr{};
  descr.type = kHandleTypeOpaqueFd;
  descr.handle.fd = fd;
  CUfileHandle handle = nullptr;
  const CUfileError status = api_->handle_register(&handle, &descr);
  if (status.err != 0) {
    why = "cuFileHandleRegister refused '" + path + "' (cuFile error " + std::to_string(status.err) + ")";
    return false;
  }
  struct HandleCloser {
    const Api& api;
    CUfileHandle h;
    ~HandleCloser() { api.handle_deregister(h); }
  } handle_closer{*api_, handle};
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = api_->read(handle, dst, length - done, static_cast<off_t>(offset + done),
                                 static_cast<off_t>(done));
    if (n < 0) throw StoreError("cuFileRead of '" + path + "' failed (" + std::to_string(n) + ")");
    if (n == 0) throw StoreError("cuFileRead of '" + path + "': file ends before " + std::to_string(offset + length));
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace cuzarr::io
