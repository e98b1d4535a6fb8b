#include "cuda/gpu_executor.hpp"

#include <cstdio>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "exec/host_executor.hpp"
#include "exec/raw_ranges.hpp"

namespace cuzarr::cuda {
namespace {
constexpr std::size_t kDecodeBatches = 3;  // batches in flight per device for GPU decompression
}  // namespace

Resources& process_resources() {
  static Resources* const resources = new Resources();  // never freed: see the header
  return *resources;
}

StagingRing& Resources::ring(int device) {
  std::lock_guard lock(mutex_);
  std::unique_ptr<StagingRing>& r = rings_[device];
  if (!r) r = std::make_unique<StagingRing>(device, config().staging_bytes, config().staging_buffers);
  return *r;
}

const Nvcomp* Resources::nvcomp(std::string& why) {
  std::lock_guard lock(mutex_);
  if (!nvcomp_tried_) {
    nvcomp_tried_ = true;
    nvcomp_ = Nvcomp::open(nvcomp_why_);
  }
  why = nvcomp_why_;
  return nvcomp_.get();
}

DecodeRing& Resources::decode_ring(int device) {
  std::string unused;
  const Nvcomp* nv = nvcomp(unused);
  std::lock_guard lock(mutex_);
  std::unique_ptr<DecodeRing>& r = decode_rings_[device];
  // Batches take twice a staging buffer of compressed bytes (and four times that decoded).
  if (!r) r = std::make_unique<DecodeRing>(device, nv, 2 * config().staging_bytes, kDecodeBatches);
  return *r;
}

const io::CuFile* Resources::cufile(std::string& why) {
  std::lock_guard lock(mutex_);
  if (config().gds == Config::Gds::Off) {
    why = "CUZARR_GDS=off";
    return nullptr;
  }
  if (!cufile_tried_) {
    cufile_tried_ = true;
    cufile_ = io::CuFile::open(cufile_why_);
  }
  why = cufile_why_;
  return cufile_.get();
}

namespace {

bool debug_log() {
  const char* v = std::getenv("CUZARR_LOG");
  return v != nullptr && std::string_view(v) == "debug";
}

// Checks that the output is GPU memory and returns its device (output.device, or the pointer's
// own device when output.device is -1).
int check_output(const Output& output, const std::string& array) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    throw CudaError("array '" + array + "': no CUDA device is available for a GPU read");
  }
  if (output.device < -1 || output.device >= count) {
    throw CudaError("array '" + array + "': GPU " + std::to_string(output.device) + " does not exist (" +
                    std::to_string(count) + " visible)");
  }
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, output.data) != cudaSuccess) {
    cudaGetLastError();
    attr.type = cudaMemoryTypeUnregistered;
  }
  if (attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged) {
    throw CudaError("array '" + array + "': the output buffer is not GPU memory");
  }
  if (output.device >= 0 && attr.type == cudaMemoryTypeDevice && attr.device != output.device) {
    throw CudaError("array '" + array + "': the output buffer lives on GPU " + std::to_string(attr.device) +
                    ", not GPU " + std::to_string(output.device));
  }
  return output.device >= 0 ? output.device : attr.device;
}

// Decompresses on the GPU when the chain and CUZARR_DECODE allow; false when the read is left to
// the CPU-decode path.
bool read_compressed(const metadata::ArrayMeta& meta, const codec::CodecChain& chain, const Store& store,
                     exec::ThreadPool& pool, const plan::ChunkPlan& plan, const Output& output,
                     std::span<const std::int64_t> dst_strides, Resources& resources, DeviceSink& sink, int device) {
  const std::optional<codec::CodecChain::CompressedLayout> layout = chain.compressed_layout(nullptr);
  if (!layout) {
    if (config().decode == Config::Decode::Gpu && !chain.raw_view(nullptr) && debug_log()) {
      std::fprintf(stderr, "cuzarr: '%s' decodes on the CPU: no GPU decoder for the chain (%s)\n", meta.display.c_str(),
                   chain.describe().c_str());
    }
    return false;
  }
  const std::optional<codec::GpuFormat> format = codec::gpu_format(layout->compressor);
  std::string nvcomp_why;
  const Nvcomp* nvcomp = config().decode == Config::Decode::Cpu ? nullptr : resources.nvcomp(nvcomp_why);
  const codec::DecodeChoice choice = codec::choose_decode(config().decode, format, nvcomp != nullptr, layout->decoded_size);
  if (!choice.gpu) {
    if (debug_log()) {
      std::fprintf(stderr, "cuzarr: '%s' (%s) decodes on the CPU: %s%s%s\n", meta.display.c_str(), chain.describe().c_str(),
                   choice.why.c_str(), nvcomp_why.empty() ? "" : "; ", nvcomp_why.c_str());
    }
    return false;
  }
  GpuDecodeReader reader(resources.decode_ring(device), chain, *format, meta.display,
                         static_cast<std::byte*>(output.data), dst_strides, meta.dtype.size, sink,
                         static_cast<cudaStream_t>(output.stream));
  const auto limit = static_cast<std::uint64_t>(chain.encoded_limit());
  pool.parallel_for(plan.num_chunks(), [&](std::size_t i) {
    std::vector<const plan::DimPart*> parts;
    std::vector<std::int64_t> coords;
    plan.chunk(i, parts, coords);
    const std::string key = join_key(meta.path, meta.chunk_key(coords));
    const std::optional<std::uint64_t> size = store.size(key);
    if (!size || *size > limit) {
      exec::read_chunk(meta, chain, store, coords, parts, sink);  // the fill value, or the size error
      return;
    }
    reader.add(key, *size,
               [&](std::byte* dst, std::size_t n) {
                 if (!store.read_into(key, 0, n, dst)) {
                   throw StoreError("chunk '" + key + "' of array '" + meta.display + "' disappeared while it was read");
                 }
               },
               parts);
  });
  reader.finish();
  sink.finish();
  if (debug_log()) {
    std::fprintf(stderr, "cuzarr: GPU read of '%s' (%s): %zu chunks decompressed on the GPU, %zu on the CPU%s%s\n",
                 meta.display.c_str(), chain.describe().c_str(), reader.gpu_chunks(), reader.cpu_chunks(),
                 reader.cpu_chunks() ? " because " : "", reader.cpu_reason().c_str());
  }
  return true;
}

}  // namespace

void read_device(const metadata::ArrayMeta& meta, const codec::CodecChain& chain, const Store& store,
                 exec::ThreadPool& pool, const plan::ChunkPlan& plan, const Output& output,
                 std::span<const std::int64_t> dst_strides, Resources& resources) {
  const int device = check_output(output, meta.display);
  DeviceGuard guard(device);
  DeviceSink sink(resources.ring(device), static_cast<std::byte*>(output.data), dst_strides,
                  meta.dtype.size, static_cast<cudaStream_t>(output.stream));

  if (read_compressed(meta, chain, store, pool, plan, output, dst_strides, resources, sink, device)) return;

  // Uncompressed chunks may come straight from storage into GPU memory.
  std::string why;
  const io::CuFile* cufile = nullptr;
  const std::optional<codec::ChunkView> raw = chain.raw_view(nullptr);
  if (raw && store.local_path("x")) cufile = resources.cufile(why);
  else why = "chunks are not stored raw, or the store is not local files";
  if (config().gds == Config::Gds::On && cufile == nullptr) {
    throw StoreError("array '" + meta.display + "': CUZARR_GDS=on but GPUDirect Storage is unavailable: " + why);
  }
  std::atomic<bool> gds_refused{false};
  std::atomic<std::size_t> gds_chunks{0};
  pool.parallel_for(plan.num_chunks(), [&](std::size_t i) {
    std::vector<const plan::DimPart*> parts;
    std::vector<std::int64_t> coords;
    plan.chunk(i, parts, coords);
    if (!raw) {
      exec::read_chunk(meta, chain, store, coords, parts, sink, &pool);
      return;
    }
    // Raw chunks: only the needed byte range of the file travels, straight into pinned (or,
    // with cuFile, device) memory.
    const std::string key = join_key(meta.path, meta.chunk_key(coords));
    const std::optional<std::uint64_t> size = store.size(key);
    if (!size) {
      exec::read_chunk(meta, chain, store, coords, parts, sink);  // missing: the fill value
      return;
    }
    const std::int64_t expected = *chain.fixed_encoded_size();
    if (static_cast<std::int64_t>(*size) != expected) {
      throw CodecError("array '" + meta.display + "', chunk '" + key + "', codec 'bytes': chunk is " +
                       std::to_string(*size) + " bytes, expected " + std::to_string(expected));
    }
    if (cufile != nullptr && !gds_refused.load()) {
      const std::string path = store.local_path(key)->string();
      std::string refusal;
      const bool done = sink.put_direct(
          [&](std::byte* device, std::int64_t offset, std::size_t n) {
            return cufile->read(path, device, n, static_cast<std::uint64_t>(offset), refusal);
          },
          *raw, parts);
      if (done) {
        ++gds_chunks;
        return;
      }
      if (config().gds == Config::Gds::On) {
        throw StoreError("array '" + meta.display + "': CUZARR_GDS=on but " + refusal);
      }
      // The file system said no: the staging path serves the rest of the read.
      bool first = false;
      if (gds_refused.compare_exchange_strong(first, true)) why = refusal;  // read after the join
    }
    const ChunkLoader load = [&](std::byte* dst, std::int64_t offset, std::size_t n) {
      if (!store.read_into(key, static_cast<std::uint64_t>(offset), n, dst)) {
        throw StoreError("chunk '" + key + "' of array '" + meta.display + "' disappeared while it was read");
      }
    };
    if (!store.local_path(key)) {  // a remote store: one request for the selection's span
      sink.put_staged(load, *raw, parts);
      return;
    }
    // Only the byte ranges of the selection's pieces travel (exec/raw_ranges.hpp).
    std::vector<plan::DimPart> own(parts.size());
    for (std::size_t d = 0; d < parts.size(); ++d) own[d] = *parts[d];
    exec::split_raw_selection(*raw, std::move(own), meta.dtype.size, [&](std::vector<plan::DimPart>& piece) {
      std::vector<const plan::DimPart*> pointers(piece.size());
      for (std::size_t d = 0; d < piece.size(); ++d) pointers[d] = &piece[d];
      sink.put_staged(load, *raw, pointers);
    });
  });
  sink.finish();
  if (debug_log()) {
    std::fprintf(stderr, "cuzarr: GPU read of '%s': %zu chunks via cuFile, the rest via pinned staging%s%s\n",
                 meta.display.c_str(), gds_chunks.load(), why.empty() ? "" : " (cuFile: ",
                 why.empty() ? "" : (why + ")").c_str());
  }
}

}  // namespace cuzarr::cuda
