#include "cuda/nvcomp.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"

namespace cuzarr::cuda {
namespace {

// Every 6.x decompression options struct is 64 bytes: the backend enum first (0 lets nvCOMP
// choose), then fields that are zero by default, then zeroed reserved bytes. One zeroed layout
// serves all four codecs; they are passed by value, so the size must match exactly.
struct DecompressOpts {
  std::int32_t backend = 0;
  std::int32_t fields[3] = {};
  char reserved[48] = {};
};
static_assert(sizeof(DecompressOpts) == 64);

struct Properties {
  std::uint32_t version;
  std::uint32_t cudart_version;
};

struct Alignments {
  std::size_t input, output, temp;
};

using AlignFn = int (*)(DecompressOpts, Alignments*);
using TempSizeFn = int (*)(std::size_t, std::size_t, DecompressOpts, std::size_t*, std::size_t, cudaStream_t);
using DecompressFn = int (*)(const void* const*, const std::size_t*, const std::size_t*, std::size_t*, std::size_t,
                             void*, std::size_t, void* const*, DecompressOpts, int*, cudaStream_t);

constexpr int kSuccess = 0;

int slot(codec::StreamKind kind) {
  switch (kind) {
    case codec::StreamKind::Lz4: return 0;
    case codec::StreamKind::Zstd: return 1;
    case codec::StreamKind::Deflate: return 2;
    case codec::StreamKind::Snappy: return 3;
    default: return -1;
  }
}

}  // namespace

struct Nvcomp::Api {
  TempSizeFn temp_size[4] = {};
  DecompressFn decompress[4] = {};
  Alignments align[4] = {};
};

std::unique_ptr<Nvcomp> Nvcomp::open(std::string& why) {
  const std::string& configured = config().nvcomp_library;
  void* handle = nullptr;
  std::string tried;
  const std::vector<std::string> names =
      configured.empty() ? std::vector<std::string>{"libnvcomp.so.6", "libnvcomp.so"} : std::vector<std::string>{configured};
  for (const std::string& name : names) {
    handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) break;
    const char* e = dlerror();
    tried += (tried.empty() ? "" : "; ") + std::string(e ? e : name + ": not found");
  }
  if (handle == nullptr) {
    why = "cannot load nvCOMP (" + tried + ")";
    return nullptr;
  }
  std::unique_ptr<Nvcomp> n(new Nvcomp());
  n->handle_ = handle;
  n->api_ = std::make_unique<Api>();
  auto props = reinterpret_cast<int (*)(Properties*)>(dlsym(handle, "nvcompGetProperties"));
  Properties p{};
  if (props == nullptr || props(&p) != kSuccess) {
    why = "nvCOMP lacks nvcompGetProperties";
    return nullptr;
  }
  // The version is major * 1000 + minor * 100 + patch; the signatures declared here are 6.x's.
  const std::uint32_t major = p.version / 1000;
  n->version_ = std::to_string(major) + "." + std::to_string(p.version / 100 % 10) + "." + std::to_string(p.version % 100);
  if (major != 6) {
    why = "nvCOMP " + n->version_ + " is not the major version cuzarr was written for (6.x)";
    return nullptr;
  }
  const char* codecs[4] = {"LZ4", "Zstd", "Deflate", "Snappy"};
  for (int i = 0; i < 4; ++i) {
    const std::string base = std::string("nvcompBatched") + codecs[i];
    n->api_->temp_size[i] = reinterpret_cast<TempSizeFn>(dlsym(handle, (base + "DecompressGetTempSize").c_str()));
    n->api_->decompress[i] = reinterpret_cast<DecompressFn>(dlsym(handle, (base + "DecompressAsync").c_str()));
    auto align = reinterpret_cast<AlignFn>(dlsym(handle, (base + "DecompressGetRequiredAlignments").c_str()));
    if (n->api_->temp_size[i] == nullptr || align == nullptr || align(DecompressOpts{}, &n->api_->align[i]) != kSuccess) {
      n->api_->decompress[i] = nullptr;
    }
  }
  return n;
}

Nvcomp::~Nvcomp() {
  if (handle_ != nullptr) dlclose(handle_);
}

bool Nvcomp::supports(codec::StreamKind kind) const {
  const int s = slot(kind);
  return s >= 0 && api_->decompress[s] != nullptr;
}

std::size_t Nvcomp::in_alignment(codec::StreamKind kind) const { return std::max<std::size_t>(1, api_->align[slot(kind)].input); }
std::size_t Nvcomp::out_alignment(codec::StreamKind kind) const { return std::max<std::size_t>(1, api_->align[slot(kind)].output); }

std::size_t Nvcomp::temp_bytes(codec::StreamKind kind, std::size_t n, std::size_t max_out, std::size_t total_out) const {
  std::size_t bytes = 0;
  const int r = api_->temp_size[slot(kind)](n, max_out, DecompressOpts{}, &bytes, total_out, nullptr);
  if (r != kSuccess) {
    throw CudaError(std::string("nvCOMP ") + codec::stream_kind_name(kind) + " temp size query failed (status " +
                    std::to_string(r) + ")");
  }
  return bytes;
}

void Nvcomp::decompress(codec::StreamKind kind, const void* const* in, const std::size_t* in_bytes,
                        const std::size_t* out_bytes, std::size_t* actual, std::size_t n, void* temp,
                        std::size_t temp_size, void* const* out, int* statuses, cudaStream_t stream) const {
  const int r = api_->decompress[slot(kind)](in, in_bytes, out_bytes, actual, n, temp, temp_size, out, DecompressOpts{},
                                             statuses, stream);
  if (r != kSuccess) {
    throw CudaError(std::string("nvCOMP ") + codec::stream_kind_name(kind) + " decompression launch failed (status " +
                    std::to_string(r) + ")");
  }
}

}  // namespace cuzarr::cuda
