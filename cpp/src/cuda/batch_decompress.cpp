#include "cuda/batch_decompress.hpp"

#include <algorithm>
#include <cstring>

#include "cuda/nvcomp.hpp"
#include "cuda/zstd_kernels.hpp"

namespace cuzarr::cuda {
namespace {

static_assert(kUnshuffleByte == static_cast<std::uint32_t>(codec::Unshuffle::Byte) &&
              kUnshuffleBit == static_cast<std::uint32_t>(codec::Unshuffle::Bit));

using codec::StreamKind;

constexpr std::size_t kAlign = 256;
std::size_t align_up(std::size_t n, std::size_t a = kAlign) { return (n + a - 1) / a * a; }

// Host image of the device workspace: sections are reserved first (offsets), the buffer is sized,
// then filled with device addresses and copied over in one transfer.
class Image {
 public:
  std::size_t reserve(std::size_t bytes) {
    const std::size_t at = size_;
    size_ = align_up(size_ + bytes);
    return at;
  }
  std::size_t size() const { return size_; }
  void resize_host(std::size_t bytes) { host_.assign(bytes, std::byte{0}); }
  template <typename T>
  T* at(std::size_t offset) {
    return reinterpret_cast<T*>(host_.data() + offset);
  }
  const std::byte* data() const { return host_.data(); }

 private:
  std::size_t size_ = 0;
  std::vector<std::byte> host_;
};

}  // namespace

const char* item_status_name(ItemStatus status) {
  switch (status) {
    case ItemStatus::Ok: return "ok";
    case ItemStatus::Corrupt: return "corrupt";
    case ItemStatus::SizeMismatch: return "size mismatch";
    case ItemStatus::Unsupported: return "unsupported";
  }
  return "?";
}

BatchDecompressor::BatchDecompressor(const Nvcomp* nvcomp, Config::GpuLz4 lz4, Config::GpuZstd zstd,
                                     BackendChoice* choice)
    : nvcomp_(nvcomp), lz4_(lz4), zstd_(zstd), choice_(choice) {}

bool BatchDecompressor::both(StreamKind kind) const {
  const bool nv = nvcomp_ != nullptr && nvcomp_->supports(kind);
  if (choice_ == nullptr || !nv) return false;
  return (kind == StreamKind::Lz4 && lz4_ == Config::GpuLz4::Auto) ||
         (kind == StreamKind::Zstd && zstd_ == Config::GpuZstd::Auto);
}

const char* BatchDecompressor::backend(StreamKind kind) const {
  if (kind == StreamKind::Copy) return "cuzarr";
  const bool nv = nvcomp_ != nullptr && nvcomp_->supports(kind);
  if (both(kind)) return "measured";
  if (kind == StreamKind::Lz4) return nv && lz4_ != Config::GpuLz4::Own ? "nvCOMP" : "cuzarr";
  if (kind == StreamKind::Zstd) {
    if (zstd_ == Config::GpuZstd::Own) return "cuzarr";
    if (zstd_ == Config::GpuZstd::Nvcomp) return nv ? "nvCOMP" : "none";
    return nv ? "nvCOMP" : "cuzarr";
  }
  return nv ? "nvCOMP" : "none";
}

void BatchDecompressor::collect_timings() {
  for (const std::unique_ptr<Timing>& t : timings_) {
    if (!t->pending || cudaEventQuery(t->done.get()) != cudaSuccess) continue;
    float ms = 0;
    if (cudaEventElapsedTime(&ms, t->begun.get(), t->done.get()) == cudaSuccess) {
      choice_->measured(t->kind, t->backend, t->item_bytes, t->items, t->total_bytes, ms / 1000.0);
    }
    t->pending = false;
  }
}

BatchDecompressor::Timing* BatchDecompressor::free_timing() {
  for (const std::unique_ptr<Timing>& t : timings_) {
    if (!t->pending) return t.get();
  }
  if (timings_.size() >= 8) return nullptr;
  timings_.push_back(std::make_unique<Timing>());
  return timings_.back().get();
}

bool BatchDecompressor::supports(StreamKind kind) const { return std::strcmp(backend(kind), "none") != 0; }

std::byte* BatchDecompressor::workspace(std::size_t bytes) {
  if (work_.size() < bytes) {
    const std::size_t grown = std::max(bytes, work_.size() * 3 / 2);
    work_ = DeviceBuffer();  // freed first: the old and new workspace need not fit together
    work_ = DeviceBuffer(grown);
  }
  return work_.data();
}

std::byte* BatchDecompressor::temp_space(std::size_t bytes) {
  if (temp_.size() < bytes) {
    temp_ = DeviceBuffer();
    temp_ = DeviceBuffer(std::max(bytes, temp_.size() * 3 / 2));
  }
  return temp_.data();
}

void BatchDecompressor::launch(std::span<const StreamKind> kinds, std::span<const DeviceItem> items,
                               std::int32_t* statuses, cudaStream_t stream) {
  // Items by kind, each group with its backend's layout in the workspace.
  std::vector<std::int32_t> groups[codec::kStreamKinds];
  for (std::size_t i = 0; i < items.size(); ++i) groups[static_cast<int>(kinds[i])].push_back(static_cast<std::int32_t>(i));

  struct Plan {
    StreamKind kind;
    bool nvcomp = false, supported = false;
    std::size_t n = 0, index = 0, items = 0;
    // nvCOMP arrays, plus realigned copies of inputs/outputs nvCOMP could not take in place.
    std::size_t in_ptrs = 0, in_bytes = 0, out_bytes = 0, actual = 0, out_ptrs = 0, nv_status = 0, temp_bytes = 0;
    std::vector<std::size_t> moved_in, moved_out;  // workspace offset per item, or npos
    std::size_t fix_in = 0, fix_out = 0, fix_index = 0, fix_status = 0;
    std::size_t own_status = 0;  // cuzarr's zstd kernels: their statuses in item order
    int n_fix_in = 0, n_fix_out = 0;
    bool timed = false;  // the backend was chosen by measurement: time it
    std::uint64_t total_bytes = 0;
  };
  if (choice_ != nullptr) collect_timings();
  std::vector<Plan> plans;
  Image image;
  for (int k = 0; k < codec::kStreamKinds; ++k) {
    const std::vector<std::int32_t>& g = groups[k];
    if (g.empty()) continue;
    Plan p;
    p.kind = static_cast<StreamKind>(k);
    p.n = g.size();
    p.supported = supports(p.kind);
    if (both(p.kind)) {
      std::uint64_t total = 0;
      for (const std::int32_t i : g) total += items[static_cast<std::size_t>(i)].out_size;
      p.total_bytes = total;
      p.nvcomp = choice_->choose(p.kind, total / p.n, p.n) == Backend::Nvcomp;
      p.timed = true;
    } else {
      p.nvcomp = p.supported && std::strcmp(backend(p.kind), "nvCOMP") == 0;
    }
    p.index = image.reserve(p.n * sizeof(std::int32_t));
    if (!p.supported) {
      plans.push_back(std::move(p));
      continue;
    }
    if (!p.nvcomp) {
      p.items = image.reserve(p.n * sizeof(DeviceItem));
      if (p.kind == StreamKind::Zstd) p.own_status = image.reserve(p.n * sizeof(std::int32_t));
      plans.push_back(std::move(p));
      continue;
    }
    p.in_ptrs = image.reserve(p.n * sizeof(void*));
    p.in_bytes = image.reserve(p.n * sizeof(std::size_t));
    p.out_bytes = image.reserve(p.n * sizeof(std::size_t));
    p.actual = image.reserve(p.n * sizeof(std::size_t));
    p.out_ptrs = image.reserve(p.n * sizeof(void*));
    p.nv_status = image.reserve(p.n * sizeof(int));
    const std::size_t ia = nvcomp_->in_alignment(p.kind), oa = nvcomp_->out_alignment(p.kind);
    std::size_t max_out = 0, total_out = 0;
    p.moved_in.assign(p.n, std::string::npos);
    p.moved_out.assign(p.n, std::string::npos);
    for (std::size_t j = 0; j < p.n; ++j) {
      const DeviceItem& it = items[static_cast<std::size_t>(g[j])];
      max_out = std::max<std::size_t>(max_out, it.out_size);
      total_out += it.out_size;
      if (reinterpret_cast<std::uintptr_t>(it.in) % ia != 0) {
        p.moved_in[j] = image.reserve(it.in_size);
        ++p.n_fix_in;
      }
      if (reinterpret_cast<std::uintptr_t>(it.out) % oa != 0) {
        p.moved_out[j] = image.reserve(it.out_size);
        ++p.n_fix_out;
      }
    }
    p.fix_in = image.reserve(static_cast<std::size_t>(p.n_fix_in) * sizeof(DeviceItem));
    p.fix_out = image.reserve(static_cast<std::size_t>(p.n_fix_out) * sizeof(DeviceItem));
    p.fix_index = image.reserve(static_cast<std::size_t>(std::max(p.n_fix_in, p.n_fix_out)) * sizeof(std::int32_t));
    p.fix_status = image.reserve(static_cast<std::size_t>(std::max(p.n_fix_in, p.n_fix_out)) * sizeof(std::int32_t));
    p.temp_bytes = nvcomp_->temp_bytes(p.kind, p.n, max_out, total_out);
    plans.push_back(std::move(p));
  }
  // Only the descriptor part of the image is copied; the realigned data and nvCOMP's temp space
  // are filled on the device.
  std::byte* base = workspace(image.size());
  image.resize_host(image.size());
  for (Plan& p : plans) {
    const std::vector<std::int32_t>& g = groups[static_cast<int>(p.kind)];
    std::memcpy(image.at<std::int32_t>(p.index), g.data(), p.n * sizeof(std::int32_t));
    if (!p.supported) continue;
    if (!p.nvcomp) {
      for (std::size_t j = 0; j < p.n; ++j) image.at<DeviceItem>(p.items)[j] = items[static_cast<std::size_t>(g[j])];
      continue;
    }
    int fi = 0, fo = 0;
    for (std::size_t j = 0; j < p.n; ++j) {
      const DeviceItem& it = items[static_cast<std::size_t>(g[j])];
      const void* in = it.in;
      void* out = it.out;
      if (p.moved_in[j] != std::string::npos) {
        in = base + p.moved_in[j];
        image.at<DeviceItem>(p.fix_in)[fi++] = DeviceItem{it.in, it.in_size, base + p.moved_in[j], it.in_size};
      }
      if (p.moved_out[j] != std::string::npos) {
        out = base + p.moved_out[j];
        image.at<DeviceItem>(p.fix_out)[fo++] = DeviceItem{base + p.moved_out[j], it.out_size, it.out, it.out_size};
      }
      image.at<const void*>(p.in_ptrs)[j] = in;
      image.at<std::size_t>(p.in_bytes)[j] = it.in_size;
      image.at<std::size_t>(p.out_bytes)[j] = it.out_size;
      image.at<void*>(p.out_ptrs)[j] = out;
    }
    for (int j = 0; j < std::max(p.n_fix_in, p.n_fix_out); ++j) image.at<std::int32_t>(p.fix_index)[j] = j;
  }
  CUZARR_CUDA_CHECK(cudaMemcpyAsync(base, image.data(), image.size(), cudaMemcpyHostToDevice, stream));
  // nvCOMP's temp space, shared by the groups (they run one after another on the stream).
  std::size_t temp_bytes = 0;
  for (const Plan& p : plans) temp_bytes = std::max(temp_bytes, p.temp_bytes);
  std::byte* temp = temp_bytes > 0 ? temp_space(temp_bytes) : nullptr;
  for (const Plan& p : plans) {
    const auto n = static_cast<int>(p.n);
    const auto* index = reinterpret_cast<const std::int32_t*>(base + p.index);
    Timing* timing = p.timed ? free_timing() : nullptr;
    if (timing != nullptr) {
      timing->kind = p.kind;
      timing->backend = p.nvcomp ? Backend::Nvcomp : Backend::Own;
      timing->items = p.n;
      timing->total_bytes = p.total_bytes;
      timing->item_bytes = p.total_bytes / p.n;
      CUZARR_CUDA_CHECK(cudaEventRecord(timing->begun.get(), stream));
    }
    if (!p.supported) {
      launch_mark(index, n, ItemStatus::Unsupported, statuses, stream);
    } else if (!p.nvcomp && p.kind == StreamKind::Copy) {
      launch_copy(reinterpret_cast<const DeviceItem*>(base + p.items), index, n, statuses, stream);
    } else if (!p.nvcomp && p.kind == StreamKind::Zstd) {
      // The kernels take their descriptors from host memory (they size their scratch from them)
      // and write statuses in item order; those go to the items' places in the batch.
      const std::vector<std::int32_t>& g = groups[static_cast<int>(p.kind)];
      std::vector<DeviceItem> zstd_items(p.n);
      for (std::size_t j = 0; j < p.n; ++j) zstd_items[j] = items[static_cast<std::size_t>(g[j])];
      auto* own = reinterpret_cast<std::int32_t*>(base + p.own_status);
      const cudaError_t rc = zstd_decode_batch(zstd_items.data(), n, own, stream);
      if (rc != cudaSuccess) {
        throw CudaError(std::string("cuzarr's zstd kernels: ") + cudaGetErrorString(rc));
      }
      launch_scatter_status(own, index, n, statuses, stream);
    } else if (!p.nvcomp) {
      const int lanes = lz4_lanes_ != 0 ? lz4_lanes_ : lz4_lanes_for(n);
      launch_lz4(reinterpret_cast<const DeviceItem*>(base + p.items), index, n, statuses, lanes, stream);
    } else {
      auto* fix_index = reinterpret_cast<const std::int32_t*>(base + p.fix_index);
      auto* fix_status = reinterpret_cast<std::int32_t*>(base + p.fix_status);
      launch_copy(reinterpret_cast<const DeviceItem*>(base + p.fix_in), fix_index, p.n_fix_in, fix_status, stream);
      nvcomp_->decompress(p.kind, reinterpret_cast<const void* const*>(base + p.in_ptrs),
                          reinterpret_cast<const std::size_t*>(base + p.in_bytes),
                          reinterpret_cast<const std::size_t*>(base + p.out_bytes),
                          reinterpret_cast<std::size_t*>(base + p.actual), p.n, temp, p.temp_bytes,
                          reinterpret_cast<void* const*>(base + p.out_ptrs), reinterpret_cast<int*>(base + p.nv_status),
                          stream);
      launch_copy(reinterpret_cast<const DeviceItem*>(base + p.fix_out), fix_index, p.n_fix_out, fix_status, stream);
      launch_nvcomp_status(reinterpret_cast<const int*>(base + p.nv_status),
                           reinterpret_cast<const std::size_t*>(base + p.actual),
                           reinterpret_cast<const std::size_t*>(base + p.out_bytes), index, n, statuses, stream);
    }
    if (timing != nullptr) {
      CUZARR_CUDA_CHECK(cudaEventRecord(timing->done.get(), stream));
      timing->pending = true;
    }
  }
}

std::vector<ItemStatus> BatchDecompressor::run(std::span<const StreamKind> kinds, std::span<const DeviceItem> items,
                                               cudaStream_t stream) {
  std::vector<ItemStatus> out(items.size(), ItemStatus::Ok);
  if (items.empty()) return out;
  if (statuses_.size() < items.size() * sizeof(std::int32_t)) statuses_ = DeviceBuffer(items.size() * sizeof(std::int32_t));
  auto* d = reinterpret_cast<std::int32_t*>(statuses_.data());
  launch(kinds, items, d, stream);
  CUZARR_CUDA_CHECK(cudaMemcpyAsync(out.data(), d, items.size() * sizeof(std::int32_t), cudaMemcpyDeviceToHost, stream));
  CUZARR_CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

}  // namespace cuzarr::cuda
