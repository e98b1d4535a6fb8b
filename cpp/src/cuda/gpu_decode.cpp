#include "cuda/gpu_decode.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>

#include "cuda/scatter.hpp"
#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"

namespace cuzarr::cuda {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr std::uint64_t kRegionAlign = 256;
std::uint64_t align_up(std::uint64_t n, std::uint64_t a = kRegionAlign) { return (n + a - 1) / a * a; }

// Decompressed bytes a batch may hold, as a multiple of its compressed capacity.
constexpr std::uint64_t kDecodedPerInput = 2;

// A batch is launched before it is full once its loaded chunks hold this many streams: enough
// for one launch to keep the device busy. Such batches are small (8 blosc-lz4 chunks of 16 MiB),
// several run at once on their streams, and the read's last batch, which nothing overlaps, is
// short. (Launching only when the device was idle let batches grow to 50 chunks: the H200 read
// blosc-lz4 at 45-52 GB/s instead of 63.) Codecs of few large frames (zstd chunks of 16 MiB)
// fill their batches: nvCOMP decodes those frames in parallel, each slowly.
constexpr std::size_t kEarlyItems = 2048;

// Grows with headroom: freeing device memory waits for the whole device.
void ensure(DeviceBuffer& buffer, std::size_t bytes) {
  if (buffer.size() >= bytes) return;
  const std::size_t grown = std::max(bytes, buffer.size() / 2 * 3);
  buffer = DeviceBuffer();
  buffer = DeviceBuffer(grown);
}

}  // namespace

DecodeRing::DecodeRing(int device, const Nvcomp* nvcomp, std::size_t batch_bytes, std::size_t batches,
                       std::size_t upload_bytes, std::size_t uploads)
    : device_(device), nvcomp_(nvcomp), batch_bytes_(batch_bytes), upload_bytes_(upload_bytes),
      max_batches_(std::max<std::size_t>(batches, 1)), max_uploads_(std::max<std::size_t>(uploads, 1)) {}

DecodeBatch* DecodeRing::take_free() {
  if (free_.empty() && batches_.size() < max_batches_) {
    // Device memory is allocated as the reads' batches ask for it, up to the bound. Where the
    // device has no room for another batch, the reads make do with those there are.
    DeviceGuard guard(device_);
    try {
      batches_.push_back(
          std::make_unique<DecodeBatch>(batch_bytes_, nvcomp_, config().gpu_lz4, config().gpu_zstd, &choice_));
      free_.push_back(batches_.back().get());
    } catch (const CudaError&) {
      if (batches_.empty()) throw;
      max_batches_ = batches_.size();
    }
  }
  if (free_.empty()) return nullptr;
  DecodeBatch* b = free_.front();
  free_.pop_front();
  return b;
}

DecodeBatch* DecodeRing::acquire_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  DecodeBatch* b = take_free();
  if (b == nullptr && cv_.wait_for(lock, timeout, [&] { return !free_.empty(); })) b = take_free();
  return b;
}

DecodeBatch* DecodeRing::try_acquire() {
  std::lock_guard lock(mutex_);
  return take_free();
}

void DecodeRing::release(DecodeBatch* batch) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(batch);
  }
  cv_.notify_all();
}

UploadSlot* DecodeRing::acquire_upload() {
  UploadSlot* slot = nullptr;
  {
    std::unique_lock lock(mutex_);
    if (free_uploads_.empty() && uploads_.size() < max_uploads_) {
      // Pinned memory is allocated as the read's concurrency asks for it, up to the bound.
      DeviceGuard guard(device_);
      uploads_.push_back(std::make_unique<UploadSlot>(upload_bytes_));
      free_uploads_.push_back(uploads_.back().get());
    }
    cv_.wait(lock, [&] { return !free_uploads_.empty(); });
    slot = free_uploads_.front();
    free_uploads_.pop_front();
  }
  if (slot->pending) {
    DeviceGuard guard(device_);
    CUZARR_CUDA_CHECK(cudaEventSynchronize(slot->copied.get()));
    slot->pending = false;
  }
  return slot;
}

void DecodeRing::release_upload(UploadSlot* slot) {
  {
    std::lock_guard lock(mutex_);
    free_uploads_.push_back(slot);
  }
  cv_.notify_all();
}

GpuDecodeReader::GpuDecodeReader(DecodeRing& ring, const codec::CodecChain& chain, codec::GpuFormat format,
                                 std::string array, std::byte* dst, std::span<const std::int64_t> dst_strides,
                                 int itemsize, DeviceSink& fallback, cudaStream_t stream, CpuShare share)
    : ring_(ring), chain_(chain), format_(format), array_(std::move(array)), dst_(dst),
      dst_strides_(dst_strides.begin(), dst_strides.end()), itemsize_(itemsize), fallback_(fallback),
      share_with_cpu_(share.adaptive || share.share > 0), rates_(share.rates), split_(config().threads),
      profiling_(config().log_debug) {
  if (!share.adaptive) split_.pin(share.share);
  view_ = chain.traits().geometry;
  decoded_size_ = static_cast<std::uint64_t>(chain.traits().raw_bytes);
  DeviceGuard guard(ring_.device());
  CUZARR_CUDA_CHECK(cudaEventRecord(start_.get(), stream));
  CUZARR_CUDA_CHECK(cudaEventRecord(reference_.get(), stream));
}

GpuDecodeReader::~GpuDecodeReader() {
  // Unwinding: a batch still open was never submitted; its writers have all returned. Copies
  // and decodes already queued on a stream finish before its batch is handed out again.
  if (current_ && current_->batch != nullptr) {
    if (current_->upload && current_->upload->slot != nullptr) ring_.release_upload(current_->upload->slot);
    cudaStreamSynchronize(current_->batch->stream.get());
    ring_.release(current_->batch);
  }
  for (const std::shared_ptr<Open>& o : launched_) {
    if (o->batch == nullptr) continue;
    cudaStreamSynchronize(o->batch->stream.get());
    ring_.release(o->batch);
  }
}

std::string GpuDecodeReader::cpu_reason() const { return cpu_reason_; }

void GpuDecodeReader::note_cpu(const std::string& why) {
  std::lock_guard lock(log_mutex_);
  ++cpu_chunks_;
  if (cpu_reason_.empty()) cpu_reason_ = why;
}

std::int64_t GpuDecodeReader::dense_offset(std::span<const plan::DimPart* const> parts) const {
  return dense_block_offset(view_, parts, dst_strides_, itemsize_);
}

GpuDecodeReader::Slot GpuDecodeReader::take_slot(Entry entry) {
  std::unique_lock lock(mutex_);
  const std::uint64_t decoded_cap = kDecodedPerInput * ring_.batch_bytes();
  // Decoded bytes the batch keeps on the device: none for a chunk decoded into place, unless
  // blosc's shuffle needs scratch first.
  const std::uint64_t keeps = entry.direct >= 0 && format_ != codec::GpuFormat::Blosc ? 0 : decoded_size_;
  while (true) {
    if (!current_) {
      const Clock::time_point t0 = profiling_ ? Clock::now() : Clock::time_point{};
      DecodeBatch* b = next_batch(lock);
      if (profiling_) add_time(profile_.wait_batch, t0);
      if (current_) {
        ring_.release(b);
        continue;
      }
      current_ = std::make_shared<Open>();
      current_->batch = b;
    }
    Open& c = *current_;
    const bool early = c.items >= kEarlyItems;
    const bool fits = !early && c.in_used + entry.in_size <= c.batch->in.size() && c.decoded + keeps <= decoded_cap;
    if (!fits && c.entries.empty()) {
      // A chunk larger than a batch gets a batch of its own size (its buffer grows once).
      DeviceGuard guard(ring_.device());
      ensure(c.batch->in, entry.in_size);
    }
    if (fits || c.entries.empty()) {
      const bool small = entry.in_size <= ring_.upload_bytes();
      if (small && c.upload && c.upload->used + entry.in_size > ring_.upload_bytes()) seal_upload(c);
      if (small && !c.upload) {
        lock.unlock();
        const Clock::time_point t0 = profiling_ ? Clock::now() : Clock::time_point{};
        UploadSlot* u = ring_.acquire_upload();
        if (profiling_) add_time(profile_.wait_upload, t0);
        lock.lock();
        if (current_.get() != &c || c.upload || c.sealed) {
          ring_.release_upload(u);
          continue;
        }
        c.upload = std::make_shared<Upload>();
        c.upload->slot = u;
        c.upload->base = c.in_used;
      }
      Slot slot;
      slot.open = current_;
      if (small) {
        slot.upload = c.upload;
        slot.host = c.upload->slot->host.data() + c.upload->used;
        entry.in_offset = c.upload->base + c.upload->used;
        c.upload->used = align_up(c.upload->used + entry.in_size, 16);
        c.in_used = c.upload->base + c.upload->used;
        ++c.upload->writers;
      } else {
        // Larger than an upload buffer: it travels on its own (pageable) and starts a new run of
        // uploads behind it.
        if (c.upload) seal_upload(c);
        entry.in_offset = c.in_used;
        c.in_used = align_up(c.in_used + entry.in_size, 16);
      }
      c.decoded += keeps;
      c.entries.push_back(std::move(entry));
      slot.entry = &c.entries.back();
      ++c.writers;
      return slot;
    }
    c.sealed = true;
    if (c.upload) seal_upload(c);
    std::shared_ptr<Open> full = std::move(current_);
    current_.reset();
    if (full->writers == 0) {
      lock.unlock();
      launch(full);
      lock.lock();
    }
  }
}

void GpuDecodeReader::seal_upload(Open& open) {
  std::shared_ptr<Upload> u = std::move(open.upload);
  open.upload.reset();
  u->sealed = true;
  if (u->writers == 0) submit_upload(open, *u);
}

void GpuDecodeReader::submit_upload(Open& open, Upload& u) {
  DeviceGuard guard(ring_.device());
  const cudaStream_t s = open.batch->stream.get();
  if (u.used > 0) {
    CUZARR_CUDA_CHECK(cudaMemcpyAsync(open.batch->in.data() + u.base, u.slot->host.data(), u.used,
                                      cudaMemcpyHostToDevice, s));
    CUZARR_CUDA_CHECK(cudaEventRecord(u.slot->copied.get(), s));
    u.slot->pending = true;
  }
  ring_.release_upload(u.slot);
  u.slot = nullptr;
}

void GpuDecodeReader::done_writing(const Slot& slot) {
  bool go = false;
  {
    std::lock_guard lock(mutex_);
    if (slot.upload && --slot.upload->writers == 0 && slot.upload->sealed) submit_upload(*slot.open, *slot.upload);
    go = --slot.open->writers == 0 && slot.open->sealed;
  }
  if (go) launch(slot.open);
}

void GpuDecodeReader::add(const std::string& key, std::uint64_t size,
                          const std::function<void(std::byte*, std::size_t)>& load,
                          std::span<const plan::DimPart* const> parts) {
  Entry fresh;
  fresh.key = key;
  fresh.in_size = size;
  fresh.direct = dense_offset(parts);
  for (const plan::DimPart* p : parts) fresh.parts.push_back(*p);
  const Slot slot = take_slot(std::move(fresh));
  Entry* e = slot.entry;
  try {
    Buffer own;  // a chunk larger than an upload buffer
    std::byte* bytes = slot.host;
    if (bytes == nullptr) {
      own = Buffer(static_cast<std::size_t>(size));
      bytes = own.data();
    }
    const bool timed = share_with_cpu_ || rates_ != nullptr || profiling_;  // only for who uses it
    const Clock::time_point t0 = timed ? Clock::now() : Clock::time_point{};
    load(bytes, size);
    if (timed) measured_load(seconds_since(t0));
    if (profiling_) add_time(profile_.load, t0);
    const Clock::time_point t1 = profiling_ ? Clock::now() : Clock::time_point{};
    std::string why;
    std::optional<codec::ChunkStreams> streams = codec::split_streams(format_, {bytes, size}, decoded_size_, why);
    if (profiling_) add_time(profile_.cut, t1);
    if (streams) {
      for (const codec::StreamItem& item : streams->items) {
        if (!slot.open->batch->decompressor.supports(item.kind)) {
          why = std::string("no GPU decoder for ") + codec::stream_kind_name(item.kind) + " streams";
          streams.reset();
          break;
        }
      }
    }
    if (streams) {
      {
        std::lock_guard lock(mutex_);
        slot.open->items += streams->items.size();
      }
      e->streams = std::move(*streams);
      if (slot.host == nullptr) {
        // Pageable memory: the call returns once the bytes are staged, so `own` may go.
        DeviceGuard guard(ring_.device());
        CUZARR_CUDA_CHECK(cudaMemcpyAsync(slot.open->batch->in.data() + e->in_offset, bytes, size,
                                          cudaMemcpyHostToDevice, slot.open->batch->stream.get()));
      }
    } else {
      e->cpu = true;
      decode_on_cpu(*e, bytes, why);
    }
  } catch (...) {
    e->cpu = true;
    done_writing(slot);
    throw;
  }
  done_writing(slot);
}

void GpuDecodeReader::measured_load(double seconds) {
  if (share_with_cpu_) split_.read(decoded_size_, seconds);
  if (rates_ != nullptr) rates_->read(format_, decoded_size_, seconds);
}

void GpuDecodeReader::measured_cpu_decode(double seconds) {
  split_.cpu(decoded_size_, seconds);
  if (rates_ != nullptr) rates_->cpu(format_, decoded_size_, seconds);
}

void GpuDecodeReader::add_on_cpu(const std::string& key, std::uint64_t size,
                                 const std::function<void(std::byte*, std::size_t)>& load,
                                 std::span<const plan::DimPart* const> parts) {
  const std::int64_t direct = dense_offset(parts);
  Buffer bytes(static_cast<std::size_t>(size));
  const Clock::time_point t0 = Clock::now();
  load(bytes.data(), size);
  measured_load(seconds_since(t0));
  const Clock::time_point t1 = Clock::now();
  const codec::DecodeContext ctx{array_, key, fallback_.swaps_bytes()};
  if (direct >= 0 && chain_.can_decode_into() && decoded_size_ <= ring_.upload_bytes()) {
    // Decoded into a pinned buffer, then copied into place; the buffer is reused once the copy
    // is done (its event), and finish() waits for the copies.
    UploadSlot* u = ring_.acquire_upload();
    try {
      chain_.decode_into(std::move(bytes), {u->host.data(), static_cast<std::size_t>(decoded_size_)}, ctx);
      measured_cpu_decode(seconds_since(t1));
      DeviceGuard guard(ring_.device());
      const cudaStream_t s = cpu_stream_.get();
      CUZARR_CUDA_CHECK(cudaStreamWaitEvent(s, start_.get(), 0));
      CUZARR_CUDA_CHECK(cudaMemcpyAsync(dst_ + direct, u->host.data(), decoded_size_, cudaMemcpyHostToDevice, s));
      CUZARR_CUDA_CHECK(cudaEventRecord(u->copied.get(), s));
      u->pending = true;
    } catch (...) {
      ring_.release_upload(u);
      throw;
    }
    ring_.release_upload(u);
  } else {
    const codec::CodecChain::Decoded decoded = chain_.decode(std::move(bytes), ctx);
    measured_cpu_decode(seconds_since(t1));
    fallback_.put(decoded.view, parts);
  }
  std::lock_guard lock(log_mutex_);
  ++shared_chunks_;
}

void GpuDecodeReader::decode_on_cpu(const Entry& e, const std::byte* bytes, const std::string& why) {
  codec::DecodeContext ctx{array_, e.key, fallback_.swaps_bytes()};
  codec::CodecChain::Decoded decoded = chain_.decode(Buffer::copy_of({bytes, e.in_size}), ctx);
  std::vector<const plan::DimPart*> parts;
  for (const plan::DimPart& p : e.parts) parts.push_back(&p);
  fallback_.put(decoded.view, parts);
  note_cpu(why);
}

DecodeBatch* GpuDecodeReader::next_batch(std::unique_lock<std::mutex>& lock) {
  while (true) {
    if (DecodeBatch* b = ring_.try_acquire()) return b;
    // None is free: complete this read's oldest launched batch, or wait a moment for another
    // read's (or for this read's sealed batches to launch). Never with the lock: the writers of
    // a sealed batch need it to finish.
    lock.unlock();
    DecodeBatch* b = nullptr;
    try {
      if (!reap(true)) b = ring_.acquire_for(std::chrono::milliseconds(1));
    } catch (...) {
      lock.lock();
      throw;
    }
    lock.lock();
    if (b != nullptr) return b;
  }
}

bool GpuDecodeReader::reap(bool wait) {
  std::vector<std::shared_ptr<Open>> done;
  {
    std::lock_guard lock(mutex_);
    DeviceGuard guard(ring_.device());
    while (!launched_.empty()) {
      const cudaError_t q = cudaEventQuery(launched_.front()->batch->done.get());
      if (q == cudaErrorNotReady && !(wait && done.empty())) break;
      if (q != cudaSuccess && q != cudaErrorNotReady) cudaGetLastError();  // complete() reports it
      done.push_back(std::move(launched_.front()));
      launched_.pop_front();
    }
  }
  std::exception_ptr error;
  for (const std::shared_ptr<Open>& o : done) {
    try {
      complete(*o);
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return !done.empty();
}

void GpuDecodeReader::launch(const std::shared_ptr<Open>& open) {
  try {
    const Clock::time_point t0 = profiling_ ? Clock::now() : Clock::time_point{};
    launch_on_gpu(*open);
    if (profiling_) add_time(profile_.launch, t0);
  } catch (...) {
    cudaStreamSynchronize(open->batch->stream.get());
    ring_.release(open->batch);
    open->batch = nullptr;
    throw;
  }
  std::lock_guard lock(mutex_);
  launched_.push_back(open);
}

void GpuDecodeReader::complete(Open& open) {
  const Clock::time_point t0 = profiling_ ? Clock::now() : Clock::time_point{};
  DecodeBatch& b = *open.batch;
  const std::size_t n = open.entries.size();
  std::vector<bool> failed(n, false);
  std::exception_ptr error;
  // Chunks whose streams failed on the device are decoded again on the CPU, from a copy of
  // their bytes: the batch goes back first.
  std::vector<std::pair<const Entry*, Buffer>> again;
  float begun_ms = 0, done_ms = 0;
  try {
    DeviceGuard guard(ring_.device());
    CUZARR_CUDA_CHECK(cudaEventSynchronize(b.done.get()));
    if ((share_with_cpu_ || rates_ != nullptr || profiling_) && open.status_items > 0) {
      CUZARR_CUDA_CHECK(cudaEventElapsedTime(&begun_ms, reference_.get(), b.begun.get()));
      CUZARR_CUDA_CHECK(cudaEventElapsedTime(&done_ms, reference_.get(), b.done.get()));
    }
    const auto* statuses = reinterpret_cast<const std::int32_t*>(b.host_statuses.data());
    for (std::size_t k = 0; k < open.status_items; ++k) {
      const std::size_t i = open.owner[k];
      if (statuses[k] == static_cast<std::int32_t>(ItemStatus::Ok) || failed[i]) continue;
      failed[i] = true;
      open.entries[i].failure = item_status_name(static_cast<ItemStatus>(statuses[k]));
      open.entries[i].failure += std::string(" ") + codec::stream_kind_name(open.kinds[k]) + " stream";
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!failed[i]) continue;
      const Entry& e = open.entries[i];
      Buffer bytes(static_cast<std::size_t>(e.in_size));
      CUZARR_CUDA_CHECK(cudaMemcpy(bytes.data(), b.in.data() + e.in_offset, e.in_size, cudaMemcpyDeviceToHost));
      again.emplace_back(&e, std::move(bytes));
    }
  } catch (...) {
    error = std::current_exception();
    cudaStreamSynchronize(b.stream.get());
  }
  open.batch = nullptr;
  ring_.release(&b);
  if (error) std::rethrow_exception(error);
  {
    std::size_t ok = 0;
    for (std::size_t i = 0; i < n; ++i) ok += !open.entries[i].cpu && !failed[i];
    if ((share_with_cpu_ || rates_ != nullptr) && open.status_items > 0) {
      split_.gpu(ok * decoded_size_, begun_ms / 1e3, done_ms / 1e3);
    }
    if (rates_ != nullptr && ok > 0) rates_->gpu(format_, decoded_size_, ok, (done_ms - begun_ms) / 1e3);
    std::lock_guard lock(log_mutex_);
    gpu_chunks_ += ok;
    if (profiling_ && open.status_items > 0) {
      profile_.batches.push_back({n, open.status_items, begun_ms / 1e3, done_ms / 1e3});
      add_time(profile_.complete, t0);
    }
  }
  for (auto& [e, bytes] : again) decode_on_cpu(*e, bytes.data(), "its GPU decode failed (" + e->failure + ")");
}

void GpuDecodeReader::launch_on_gpu(Open& open) {
  DecodeBatch& b = *open.batch;
  DeviceGuard guard(ring_.device());
  const cudaStream_t s = b.stream.get();
  CUZARR_CUDA_CHECK(cudaStreamWaitEvent(s, start_.get(), 0));
  CUZARR_CUDA_CHECK(cudaEventRecord(b.begun.get(), s));
  const std::size_t n = open.entries.size();

  // Layout of b.out: the decoded bytes of each chunk not decoded into place, then scatter
  // tables, unshuffle jobs and scatter jobs. b.scratch mirrors the chunk regions for blosc blocks
  // awaiting unshuffle (into place or into b.out).
  std::vector<std::uint64_t> region(n, 0);
  std::vector<ScatterLayout> layouts(n);
  std::vector<std::vector<const plan::DimPart*>> parts(n);
  std::uint64_t at = 0;
  bool shuffled = false;
  std::size_t items = 0, blocks = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Entry& e = open.entries[i];
    if (e.cpu) continue;
    const bool unshuffle = e.streams.unshuffle != codec::Unshuffle::None && e.streams.block_size > 0;
    if (e.direct < 0 || unshuffle) {
      region[i] = at;
      at = align_up(at + decoded_size_);
    }
    items += e.streams.items.size();
    if (unshuffle) {
      shuffled = true;
      blocks += (decoded_size_ + e.streams.block_size - 1) / e.streams.block_size;
    }
  }
  if (items == 0) {
    // Nothing for the device (every chunk went to the CPU); the batch completes with its copies.
    CUZARR_CUDA_CHECK(cudaEventRecord(b.done.get(), s));
    return;
  }
  const std::uint64_t tables = at;
  std::vector<std::uint64_t> table_at(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (open.entries[i].cpu || open.entries[i].direct >= 0) continue;
    for (const plan::DimPart& p : open.entries[i].parts) parts[i].push_back(&p);
    layouts[i] = scatter_layout(view_, parts[i], itemsize_);
    table_at[i] = at;
    at = align_up(at + layouts[i].table_bytes);
  }
  const std::uint64_t unshuffle_jobs = at;
  at = align_up(at + blocks * sizeof(UnshuffleJob));
  const std::uint64_t scatter_jobs = at;
  at = align_up(at + n * sizeof(ScatterJob));
  ensure(b.out, at);
  if (shuffled) ensure(b.scratch, tables);
  ensure(b.statuses, items * sizeof(std::int32_t));
  std::byte* out = b.out.data();

  // Tables, unshuffle and scatter jobs are known before decoding and travel in one copy ahead
  // of it (a copy from pageable memory waits for the stream's earlier work: one after the
  // decode would make this call wait for the decode). `image` is b.out from `tables` on.
  std::vector<std::byte> image(at - tables);
  std::vector<ScatterJob> scatter(n);
  std::vector<codec::StreamKind>& kinds = open.kinds;
  kinds.clear();
  std::vector<DeviceItem> device_items;
  std::vector<std::size_t>& owner = open.owner;
  owner.clear();
  kinds.reserve(items);
  device_items.reserve(items);
  owner.reserve(items);
  auto* jobs = reinterpret_cast<UnshuffleJob*>(image.data() + (unshuffle_jobs - tables));
  std::size_t job = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Entry& e = open.entries[i];
    if (e.cpu) continue;
    if (e.direct < 0) {
      // The chunk's decoded bytes start at region[i]: bytes [src_lo, src_hi) of its view lie
      // there shifted by src_lo.
      fill_scatter_job(image.data() - tables, region[i] + static_cast<std::uint64_t>(layouts[i].src_lo), table_at[i],
                       layouts[i], view_, parts[i], dst_strides_, scatter[i]);
    }
    // Where the chunk's decoded (and unshuffled) bytes end up: its block of the output, or b.out.
    std::byte* decoded = e.direct >= 0 ? dst_ + e.direct : out + region[i];
    const bool unshuffle = e.streams.unshuffle != codec::Unshuffle::None && e.streams.block_size > 0;
    std::byte* target = unshuffle ? b.scratch.data() + region[i] : decoded;
    for (const codec::StreamItem& it : e.streams.items) {
      kinds.push_back(it.kind);
      device_items.push_back({b.in.data() + e.in_offset + it.in_offset, it.in_size, target + it.out_offset, it.out_size});
      owner.push_back(i);
    }
    if (!unshuffle) continue;
    for (std::uint64_t start = 0; start < decoded_size_; start += e.streams.block_size) {
      jobs[job++] = UnshuffleJob{b.scratch.data() + region[i] + start, decoded + start,
                                 std::min<std::uint64_t>(e.streams.block_size, decoded_size_ - start), e.streams.typesize,
                                 static_cast<std::uint32_t>(e.streams.unshuffle)};
    }
  }
  // Scatter what is not decoded into place. Statuses are checked when the batch completes: a
  // chunk that failed is scattered as garbage here and overwritten by its CPU decode then, which
  // is ordered after this batch.
  auto* ready = reinterpret_cast<ScatterJob*>(image.data() + (scatter_jobs - tables));
  std::size_t scatters = 0;
  std::int64_t max_blocks = 1;
  for (std::size_t i = 0; i < n; ++i) {
    if (open.entries[i].cpu || open.entries[i].direct >= 0 || layouts[i].elements == 0) continue;
    max_blocks = std::max(max_blocks, scatter_blocks(scatter[i]));
    ready[scatters++] = scatter[i];
  }
  CUZARR_CUDA_CHECK(cudaMemcpyAsync(out + tables, image.data(), image.size(), cudaMemcpyHostToDevice, s));
  auto* statuses = reinterpret_cast<std::int32_t*>(b.statuses.data());
  b.decompressor.launch(kinds, device_items, statuses, s);
  if (b.host_statuses.size() < items * sizeof(std::int32_t)) {
    b.host_statuses = PinnedBuffer();
    b.host_statuses = PinnedBuffer(std::max<std::size_t>(items * sizeof(std::int32_t) * 2, 64 << 10));
  }
  CUZARR_CUDA_CHECK(cudaMemcpyAsync(b.host_statuses.data(), statuses, items * sizeof(std::int32_t),
                                    cudaMemcpyDeviceToHost, s));
  open.status_items = items;
  launch_unshuffle(reinterpret_cast<const UnshuffleJob*>(out + unshuffle_jobs), static_cast<int>(job), s);
  for (std::size_t first = 0; first < scatters; first += kMaxJobsPerLaunch) {
    const int count = static_cast<int>(std::min<std::size_t>(kMaxJobsPerLaunch, scatters - first));
    launch_scatter(out, reinterpret_cast<const ScatterJob*>(out + scatter_jobs) + first, count, max_blocks, dst_,
                   itemsize_, s);
  }
  CUZARR_CUDA_CHECK(cudaEventRecord(b.done.get(), s));
}

void GpuDecodeReader::finish() {
  if (profiling_) profile_.finish_begun = Clock::now();
  std::shared_ptr<Open> last;
  {
    std::lock_guard lock(mutex_);
    last = std::move(current_);
    current_.reset();
    if (last) {
      last->sealed = true;
      if (last->upload) seal_upload(*last);  // every add() has returned: no writers are left
    }
  }
  if (last) launch(last);
  // Every launched batch, oldest first; the first error is rethrown once all are given back.
  std::exception_ptr error;
  while (true) {
    try {
      if (!reap(true)) break;
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  {
    DeviceGuard guard(ring_.device());
    const cudaError_t copies = cudaStreamSynchronize(cpu_stream_.get());
    if (!error && copies != cudaSuccess) error = std::make_exception_ptr(CudaError(
        std::string("copying CPU-decoded chunks into place: ") + cudaGetErrorString(copies)));
  }
  if (profiling_) profile_.finish_done = Clock::now();
  if (error) std::rethrow_exception(error);
  // The device's rate over the whole read: its batches overlap, so one batch's own rate is less.
  if (rates_ != nullptr && gpu_chunks_ > 1) {
    const double busy = split_.gpu_seconds();
    if (busy > 0) rates_->gpu(format_, decoded_size_, gpu_chunks_, busy);
  }
}

void GpuDecodeReader::add_time(std::atomic<std::int64_t>& to, Clock::time_point since) {
  to += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - since).count();
}

std::string GpuDecodeReader::profile() const {
  if (!profiling_ || profile_.finish_done == Clock::time_point{}) return {};
  const auto ms = [](double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", seconds * 1e3);
    return std::string(text);
  };
  const auto ns_ms = [&](const std::atomic<std::int64_t>& ns) { return ms(static_cast<double>(ns.load()) / 1e9); };
  const auto span = [&](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  std::vector<Profile::Batch> batches = profile_.batches;
  std::size_t lo = 0, hi = 0, chunks = 0, streams = 0;
  double busy = 0, until = 0, first = 0, last = 0;
  std::sort(batches.begin(), batches.end(), [](const auto& a, const auto& b) { return a.begun < b.begun; });
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const Profile::Batch& b = batches[i];
    lo = i == 0 ? b.chunks : std::min(lo, b.chunks);
    hi = std::max(hi, b.chunks);
    chunks += b.chunks;
    streams += b.streams;
    busy += std::max(0.0, b.done - std::max(b.begun, until));  // overlapping batches count once
    until = std::max(until, b.done);
    if (i == 0) first = b.begun;
    last = std::max(last, b.done);
  }
  std::string s = std::to_string(batches.size()) + " batches";
  if (!batches.empty()) {
    s += " (chunks each " + std::to_string(lo) + "-" + std::to_string(hi) + ", mean " +
         std::to_string(chunks / batches.size()) + "; " + std::to_string(streams) + " streams), device busy " +
         ms(busy) + " ms from " + ms(first) + " to " + ms(last) + " ms";
  }
  s += "; until finish " + ms(span(profile_.created, profile_.finish_begun)) + " ms, finish " +
       ms(span(profile_.finish_begun, profile_.finish_done)) + " ms; threads' time: load " + ns_ms(profile_.load) +
       " ms, cut " + ns_ms(profile_.cut) + " ms, waiting for uploads " + ns_ms(profile_.wait_upload) +
       " ms, for batches " + ns_ms(profile_.wait_batch) + " ms, launch " + ns_ms(profile_.launch) + " ms, complete " +
       ns_ms(profile_.complete) + " ms";
  return s;
}

}  // namespace cuzarr::cuda
