#include "cuda/gpu_sink.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"

namespace cuzarr::cuda {
namespace {

// Checks that the output is GPU memory and returns its device (`device`, or the pointer's own
// device when `device` is -1).
int check_output(const DeviceTarget& t) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    throw CudaError("array '" + t.array + "': no CUDA device is available for a GPU read");
  }
  if (t.device < -1 || t.device >= count) {
    throw CudaError("array '" + t.array + "': GPU " + std::to_string(t.device) + " does not exist (" +
                    std::to_string(count) + " visible)");
  }
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, t.data) != cudaSuccess) {
    cudaGetLastError();
    attr.type = cudaMemoryTypeUnregistered;
  }
  if (attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged) {
    throw CudaError("array '" + t.array + "': the output buffer is not GPU memory");
  }
  if (t.device >= 0 && attr.type == cudaMemoryTypeDevice && attr.device != t.device) {
    throw CudaError("array '" + t.array + "': the output buffer lives on GPU " + std::to_string(attr.device) +
                    ", not GPU " + std::to_string(t.device));
  }
  return t.device >= 0 ? t.device : attr.device;
}

}  // namespace

GpuSink::GpuSink(Resources& resources, DeviceTarget target)
    : resources_(resources), target_(std::move(target)), device_(check_output(target_)) {
  DeviceGuard guard(device_);
  staging_ = std::make_unique<DeviceSink>(resources_.ring(device_), static_cast<std::byte*>(target_.data),
                                          target_.dst_strides, target_.itemsize,
                                          static_cast<cudaStream_t>(target_.stream));
}

const io::CuFile* GpuSink::cufile() {
  // Looked up on the first raw chunk of a local file only: opening cuFile's driver takes time.
  std::call_once(cufile_once_, [&] {
    std::string why;
    cufile_ = resources_.cufile(why);
    std::lock_guard lock(mutex_);
    cufile_why_ = why;
  });
  return cufile_;
}

GpuSink::~GpuSink() = default;

void GpuSink::put(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) {
  DeviceGuard guard(device_);
  staging_->put(src, parts);
}

void GpuSink::put_raw(const exec::RawChunk& chunk, std::span<const plan::DimPart* const> parts) {
  DeviceGuard guard(device_);
  const std::optional<std::filesystem::path> path =
      chunk.store != nullptr ? chunk.store->local_path(chunk.key) : std::nullopt;
  if (path && cufile() == nullptr && config().gds == Config::Gds::On) {
    throw StoreError("array '" + target_.array + "': CUZARR_GDS=on but GPUDirect Storage is unavailable: " + cufile_why_);
  }
  if (path && cufile_ != nullptr && !cufile_refused_.load()) {
    // Uncompressed bytes may come straight from storage into GPU memory.
    {
      std::string refusal;
      const bool done = staging_->put_direct(
          [&](std::byte* device, std::int64_t offset, std::size_t n) {
            return cufile_->read(path->string(), device, n, chunk.base + static_cast<std::uint64_t>(offset), refusal);
          },
          chunk.geometry, parts);
      if (done) {
        ++cufile_chunks_;
        return;
      }
      if (config().gds == Config::Gds::On) {
        throw StoreError("array '" + target_.array + "': CUZARR_GDS=on but " + refusal);
      }
      // The file system said no: the staging path serves the rest of the read.
      bool first = false;
      if (cufile_refused_.compare_exchange_strong(first, true)) {
        std::lock_guard lock(mutex_);
        cufile_why_ = refusal;
      }
    }
  }
  const std::int64_t dense = dense_block_offset(chunk.geometry, parts, target_.dst_strides, target_.itemsize);
  if (dense >= 0) {
    // The whole chunk is one block of the output: copied straight there, no scatter.
    staging_->put_dense(chunk.load, dense, static_cast<std::size_t>(codec::element_count(chunk.geometry.shape) * target_.itemsize));
    return;
  }
  staging_->put_staged(chunk.load, chunk.geometry, parts);
}

const GpuSink::Choice& GpuSink::choice_for(const codec::CodecChain& chain) const {
  std::lock_guard lock(mutex_);
  auto found = choices_.find(&chain);
  if (found != choices_.end()) return found->second;
  Choice c;
  const codec::CodecChain::Traits& t = chain.traits();
  const std::optional<GpuFormat> format =
      t.form == codec::CodecChain::Form::Compressed ? codec::gpu_format(t.compressor) : std::nullopt;
  std::string nvcomp_why;
  const Nvcomp* nvcomp = config().decode == Config::Decode::Cpu ? nullptr : resources_.nvcomp(nvcomp_why);
  const DecodeChoice d = choose_decode(config().decode, format, nvcomp != nullptr, t.raw_bytes,
                                       config().gpu_zstd != Config::GpuZstd::Nvcomp);
  c.why = d.why + (d.gpu || nvcomp_why.empty() ? "" : "; " + nvcomp_why);
  bool gpu = d.gpu;
  CpuShare share;
  if (d.gpu && config().decode == Config::Decode::Auto) {
    // The read's chunks shared between the threads and the device by this process's measured
    // rates (decode_rates.hpp), or by this read's own rates (CUZARR_DECODE_SHARE=auto).
    share.rates = &resources_.decode_rates(device_);
    share.adaptive = config().decode_share;
    if (!share.adaptive) {
      const std::uint64_t bytes = static_cast<std::uint64_t>(t.raw_bytes);
      const std::size_t chunks = static_cast<std::size_t>(std::min<std::uint64_t>(
          target_.chunks == 0 ? std::uint64_t{1} << 20 : target_.chunks, std::uint64_t{1} << 40));
      const SplitPlan plan = plan_split(chunks, config().threads, bytes, share.rates->estimate(*format, bytes));
      c.why += "; " + plan.why;
      if (!plan.probing && plan.cpu == plan.chunks) {
        gpu = false;
        c.rates = share.rates;
        c.format = *format;
      } else {
        share.share = static_cast<double>(plan.cpu) / static_cast<double>(plan.chunks);
      }
    }
  }
  if (gpu) {
    c.reader = std::make_unique<GpuDecodeReader>(resources_.decode_ring(device_), chain, *format, target_.array,
                                                 static_cast<std::byte*>(target_.data), target_.dst_strides,
                                                 target_.itemsize, *staging_, static_cast<cudaStream_t>(target_.stream),
                                                 share);
  }
  if (config().log_debug) {
    std::fprintf(stderr, "cuzarr: '%s' (%s): chunks decode on the %s: %s\n", target_.array.c_str(),
                 chain.describe().c_str(), gpu ? "GPU" : "CPU", c.why.c_str());
  }
  return choices_.emplace(&chain, std::move(c)).first->second;
}

bool GpuSink::decodes_off_host(const codec::CodecChain& chain) const { return choice_for(chain).reader != nullptr; }

void GpuSink::put_encoded(const exec::EncodedChunk& chunk, std::span<const plan::DimPart* const> parts) {
  DeviceGuard guard(device_);
  const Choice& c = choice_for(chunk.chain);
  if (GpuDecodeReader* reader = c.reader.get()) {
    const auto load = [&](std::byte* dst, std::size_t) { chunk.load(dst); };
    if (reader->cpu_turn()) {
      reader->add_on_cpu(std::string(chunk.key), chunk.size, load, parts);
    } else {
      reader->add(std::string(chunk.key), chunk.size, load, parts);
    }
    return;
  }
  if (c.rates == nullptr) {
    exec::decode_on_host(chunk, nullptr, true, [&](const codec::ChunkView& view) { staging_->put(view, parts); });
    ++cpu_chunks_;
    return;
  }
  // The plan gave this read's chunks to the threads: their load and decode times keep the rates
  // that decided it current.
  using Clock = std::chrono::steady_clock;
  const auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  double load_s = 0, put_s = 0;
  const std::function<void(std::byte*)> timed_load = [&](std::byte* dst) {
    const Clock::time_point t = Clock::now();
    chunk.load(dst);
    load_s = since(t);
  };
  const exec::EncodedChunk timed{chunk.chain, chunk.array, chunk.key, chunk.size, timed_load, chunk.shape};
  const Clock::time_point t0 = Clock::now();
  exec::decode_on_host(timed, nullptr, true, [&](const codec::ChunkView& view) {
    const Clock::time_point t = Clock::now();
    staging_->put(view, parts);
    put_s += since(t);
  });
  const std::uint64_t bytes = static_cast<std::uint64_t>(chunk.chain.traits().raw_bytes);
  c.rates->read(c.format, bytes, load_s);
  c.rates->cpu(c.format, bytes, std::max(0.0, since(t0) - load_s - put_s));
  ++cpu_chunks_;
}

void GpuSink::finish() {
  DeviceGuard guard(device_);
  std::size_t gpu = 0, fallback = 0, shared = 0, readers = 0;
  std::string fallback_why, split;
  {
    std::lock_guard lock(mutex_);
    for (auto& [chain, c] : choices_) {
      if (!c.reader) continue;
      ++readers;
      c.reader->finish();
      gpu += c.reader->gpu_chunks();
      fallback += c.reader->cpu_chunks();
      shared += c.reader->shared_chunks();
      if (fallback_why.empty()) fallback_why = c.reader->cpu_reason();
      if (split.empty()) split = c.reader->split_state();
      if (config().log_debug) {
        std::fprintf(stderr, "cuzarr: GPU decode of '%s' (%s): %s\n", target_.array.c_str(), chain->describe().c_str(),
                     c.reader->profile().c_str());
      }
    }
  }
  staging_->finish();
  if (!config().log_debug) return;
  const std::string cufile_note = cufile_why_.empty() ? "" : " (cuFile: " + cufile_why_ + ")";
  if (readers > 0) {
    const std::string split_note =
        split.empty() ? "" : "; " + std::to_string(shared) + " of them shared out by measured rates, " + split;
    std::fprintf(stderr, "cuzarr: GPU read of '%s' (%s): %zu chunks decompressed on the GPU, %zu on the CPU%s%s%s\n",
                 target_.array.c_str(), target_.chain.c_str(), gpu, cpu_chunks_.load() + fallback + shared,
                 fallback ? " (GPU failures: " : "", fallback ? (fallback_why + ")").c_str() : "", split_note.c_str());
  } else {
    std::fprintf(stderr, "cuzarr: GPU read of '%s': %zu chunks via cuFile, the rest via pinned staging%s\n",
                 target_.array.c_str(), cufile_chunks_.load(), cufile_note.c_str());
  }
}

}  // namespace cuzarr::cuda
