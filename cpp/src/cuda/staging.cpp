#include "cuda/staging.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "exec/place.hpp"

namespace cuzarr::cuda {
namespace {

constexpr std::size_t kAlign = 16;
std::size_t align_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

}  // namespace

StagingRing::StagingRing(int device, std::size_t slot_bytes, std::size_t slots)
    : device_(device), slot_bytes_(slot_bytes), max_slots_(std::max<std::size_t>(slots, 1)) {}

Slot* StagingRing::take_free() {
  if (free_.empty() && slots_.size() < max_slots_) {
    DeviceGuard guard(device_);
    slots_.push_back(std::make_unique<Slot>(slot_bytes_, device_));
    free_.push_back(slots_.back().get());
  }
  if (free_.empty()) return nullptr;
  Slot* s = free_.front();
  free_.pop_front();
  s->reset();
  return s;
}

Slot* StagingRing::try_acquire() {
  std::lock_guard lock(mutex_);
  return take_free();
}

Slot* StagingRing::acquire_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  Slot* s = take_free();
  if (s == nullptr && cv_.wait_for(lock, timeout, [&] { return !free_.empty(); })) s = take_free();
  return s;
}

void StagingRing::release(Slot* slot) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(slot);
  }
  cv_.notify_one();
}

DeviceSink::DeviceSink(StagingRing& ring, std::byte* dst, std::span<const std::int64_t> dst_strides,
                       int itemsize, cudaStream_t stream)
    : ring_(ring), dst_(dst), dst_strides_(dst_strides.begin(), dst_strides.end()), itemsize_(itemsize) {
  DeviceGuard guard(ring_.device());
  CUZARR_CUDA_CHECK(cudaEventRecord(start_.get(), stream));
}

DeviceSink::~DeviceSink() {
  if (finished_) return;
  // An exception is unwinding the read: let launched work end before the output and the slots
  // go away, then give the slots back. Errors are already being reported.
  std::lock_guard lock(mutex_);
  if (current_ != nullptr) {
    ring_.release(current_);
    current_ = nullptr;
  }
  for (Slot* s : in_flight_) {
    cudaEventSynchronize(s->done.get());
    ring_.release(s);
  }
  in_flight_.clear();
}

Slot* DeviceSink::next_slot(std::unique_lock<std::mutex>& lock) {
  while (true) {
    if (Slot* s = ring_.try_acquire()) return s;
    if (!in_flight_.empty()) {
      // Reuse this read's oldest transfer once it is done: the ring stays bounded.
      Slot* s = in_flight_.front();
      in_flight_.pop_front();
      DeviceGuard guard(ring_.device());
      CUZARR_CUDA_CHECK(cudaEventSynchronize(s->done.get()));
      s->reset();
      return s;
    }
    // Every slot is busy elsewhere (other reads, or this read's slot still being filled): wait
    // without the lock, so that the writers of a sealed slot can finish and submit it.
    lock.unlock();
    Slot* s = ring_.acquire_for(std::chrono::milliseconds(5));
    lock.lock();
    if (s != nullptr) return s;
  }
}

std::int64_t dense_block_offset(const codec::ChunkView& view, std::span<const plan::DimPart* const> parts,
                                std::span<const std::int64_t> dst_strides, int itemsize) {
  if (view.swap_unit != 0 || view.byte_strides != codec::c_order_strides(view.shape, itemsize)) return -1;
  return exec::dense_output_offset(parts, view.shape, dst_strides, itemsize);
}

ScatterLayout scatter_layout(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts, int itemsize) {
  ScatterLayout l;
  for (std::size_t d = 0; d < parts.size(); ++d) {
    const std::vector<std::int64_t>& local = parts[d]->local;
    l.elements *= static_cast<std::int64_t>(local.size());
    l.table_bytes += 2 * local.size() * sizeof(std::int64_t);
    if (local.empty()) continue;
    const auto [lo, hi] = std::minmax_element(local.begin(), local.end());
    const std::int64_t stride = src.byte_strides[d];
    l.src_lo += (stride >= 0 ? *lo : *hi) * stride;
    l.src_hi += (stride >= 0 ? *hi : *lo) * stride;
  }
  l.src_hi += itemsize;
  l.data_bytes = static_cast<std::size_t>(l.src_hi - l.src_lo);
  return l;
}

void fill_scatter_job(std::byte* host_base, std::size_t data_offset, std::size_t table_offset, const ScatterLayout& l,
                      const codec::ChunkView& src, std::span<const plan::DimPart* const> parts,
                      std::span<const std::int64_t> dst_strides, ScatterJob& job) {
  job = ScatterJob{};
  job.src = static_cast<std::int64_t>(data_offset) - l.src_lo;
  job.elements = l.elements;
  job.rank = static_cast<std::int32_t>(parts.size());
  job.swap_unit = src.swap_unit;
  std::size_t table = table_offset;
  for (std::size_t d = 0; d < parts.size(); ++d) {
    const plan::DimPart& p = *parts[d];
    const std::size_t n = p.local.size();
    auto* s = reinterpret_cast<std::int64_t*>(host_base + table);
    auto* t = s + n;
    for (std::size_t k = 0; k < n; ++k) {
      s[k] = p.local[k] * src.byte_strides[d];
      t[k] = p.out[k] * dst_strides[d];
    }
    job.counts[d] = static_cast<std::int64_t>(n);
    job.src_table[d] = static_cast<std::int64_t>(table);
    job.dst_table[d] = static_cast<std::int64_t>(table + n * sizeof(std::int64_t));
    table += 2 * n * sizeof(std::int64_t);
  }
}

void DeviceSink::fill_job(std::byte* host_base, std::size_t offset, const Layout& l, const codec::ChunkView& src,
                          std::span<const plan::DimPart* const> parts, ScatterJob& job) const {
  fill_scatter_job(host_base, offset, offset + align_up(l.data_bytes), l, src, parts, dst_strides_, job);
}

void DeviceSink::put(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) {
  put_staged([&](std::byte* dst, std::int64_t offset, std::size_t size) { std::memcpy(dst, src.data + offset, size); },
             src, parts);
}

void DeviceSink::put_staged(const ChunkLoader& load, const codec::ChunkView& geometry,
                            std::span<const plan::DimPart* const> parts) {
  if (parts.size() > static_cast<std::size_t>(kMaxRank)) {
    throw UnsupportedError("reads into GPU memory support at most " + std::to_string(kMaxRank) + " dimensions");
  }
  const Layout l = measure(geometry, parts);
  if (l.elements == 0) return;
  const std::size_t need = align_up(l.data_bytes) + align_up(l.table_bytes);
  if (need + sizeof(ScatterJob) > ring_.slot_bytes()) {
    put_split(load, geometry, parts);
    return;
  }
  Slot* slot = nullptr;
  std::size_t offset = 0;
  int index = 0;
  {
    std::unique_lock lock(mutex_);
    while (slot == nullptr) {
      if (current_ == nullptr) {
        Slot* s = next_slot(lock);
        if (current_ != nullptr) {
          ring_.release(s);  // another writer opened a slot while this one waited
          continue;
        }
        current_ = s;
      }
      Slot* c = current_;
      const std::size_t descriptors = (static_cast<std::size_t>(c->jobs) + 1) * sizeof(ScatterJob);
      if (c->jobs < kMaxJobsPerLaunch && c->front + need + descriptors <= c->capacity()) {
        slot = c;
        offset = c->front;
        c->front += need;
        index = c->jobs++;
        ++c->writers;
      } else {
        c->sealed = true;
        current_ = nullptr;
        if (c->writers == 0) submit(c);
      }
    }
  }
  // Load and describe outside the lock: several readers fill one slot at once. A failed load
  // leaves a job that copies nothing, so the slot stays consistent.
  ScatterJob& job = *slot->job_at(index);
  std::int64_t blocks = 0;
  try {
    load(slot->host.data() + offset, l.src_lo, l.data_bytes);
    fill_job(slot->host.data(), offset, l, geometry, parts, job);
    blocks = scatter_blocks(job);
  } catch (...) {
    job = ScatterJob{};
    std::lock_guard lock(mutex_);
    if (--slot->writers == 0 && slot->sealed) submit(slot);
    throw;
  }
  std::lock_guard lock(mutex_);
  slot->max_blocks = std::max(slot->max_blocks, blocks);
  if (--slot->writers == 0 && slot->sealed) submit(slot);
}

void DeviceSink::put_split(const ChunkLoader& load, const codec::ChunkView& geometry,
                           std::span<const plan::DimPart* const> parts) {
  std::size_t best = parts.size();
  std::int64_t best_span = -1;
  for (std::size_t d = 0; d < parts.size(); ++d) {
    const std::vector<std::int64_t>& local = parts[d]->local;
    if (local.size() < 2) continue;
    const auto [lo, hi] = std::minmax_element(local.begin(), local.end());
    const std::int64_t span = (*hi - *lo) * std::abs(geometry.byte_strides[d]) +
                              static_cast<std::int64_t>(local.size());  // tables count too
    if (span > best_span) {
      best_span = span;
      best = d;
    }
  }
  if (best == parts.size()) {
    throw CudaError("a single element does not fit a staging buffer of " + std::to_string(ring_.slot_bytes()) +
                    " bytes (CUZARR_STAGING_BYTES)");
  }
  const plan::DimPart& whole = *parts[best];
  const std::size_t half = whole.local.size() / 2;
  for (int h = 0; h < 2; ++h) {
    plan::DimPart piece;
    const std::size_t from = h == 0 ? 0 : half, to = h == 0 ? half : whole.local.size();
    piece.chunk = whole.chunk;
    piece.local.assign(whole.local.begin() + from, whole.local.begin() + to);
    piece.out.assign(whole.out.begin() + from, whole.out.begin() + to);
    std::vector<const plan::DimPart*> sub(parts.begin(), parts.end());
    sub[best] = &piece;
    put_staged(load, geometry, sub);
  }
}

void DeviceSink::submit(Slot* slot) {
  if (slot->jobs == 0) {
    ring_.release(slot);
    return;
  }
  try {
    DeviceGuard guard(ring_.device());
    cudaStream_t s = slot->stream.get();
    const std::size_t cap = slot->capacity();
    const std::size_t desc = static_cast<std::size_t>(slot->jobs) * sizeof(ScatterJob);
    CUZARR_CUDA_CHECK(cudaStreamWaitEvent(s, start_.get(), 0));
    CUZARR_CUDA_CHECK(cudaMemcpyAsync(slot->device.data(), slot->host.data(), slot->front, cudaMemcpyHostToDevice, s));
    CUZARR_CUDA_CHECK(cudaMemcpyAsync(slot->device.data() + cap - desc, slot->host.data() + cap - desc, desc,
                                      cudaMemcpyHostToDevice, s));
    launch_scatter(slot->device.data(), reinterpret_cast<const ScatterJob*>(slot->device.data() + cap - desc),
                   slot->jobs, slot->max_blocks, dst_, itemsize_, s);
    CUZARR_CUDA_CHECK(cudaEventRecord(slot->done.get(), s));
  } catch (...) {
    cudaStreamSynchronize(slot->stream.get());
    ring_.release(slot);
    throw;
  }
  in_flight_.push_back(slot);
}

void DeviceSink::put_dense(const ChunkLoader& load, std::int64_t dst_offset, std::size_t bytes) {
  // Each slot is this call's alone: filled, then copied into place on its stream and handed to
  // the in-flight list, which recycles it once the copy is done.
  for (std::size_t done = 0; done < bytes;) {
    const std::size_t n = std::min(bytes - done, ring_.slot_bytes());
    Slot* slot = nullptr;
    {
      std::unique_lock lock(mutex_);
      slot = next_slot(lock);
    }
    try {
      load(slot->host.data(), static_cast<std::int64_t>(done), n);
      DeviceGuard guard(ring_.device());
      const cudaStream_t s = slot->stream.get();
      CUZARR_CUDA_CHECK(cudaStreamWaitEvent(s, start_.get(), 0));
      CUZARR_CUDA_CHECK(cudaMemcpyAsync(dst_ + dst_offset + static_cast<std::int64_t>(done), slot->host.data(), n,
                                        cudaMemcpyHostToDevice, s));
      CUZARR_CUDA_CHECK(cudaEventRecord(slot->done.get(), s));
    } catch (...) {
      cudaStreamSynchronize(slot->stream.get());
      ring_.release(slot);
      throw;
    }
    std::lock_guard lock(mutex_);
    in_flight_.push_back(slot);
    done += n;
  }
}

bool DeviceSink::put_direct(const std::function<bool(std::byte*, std::int64_t, std::size_t)>& load,
                            const codec::ChunkView& geometry, std::span<const plan::DimPart* const> parts) {
  if (parts.size() > static_cast<std::size_t>(kMaxRank)) {
    throw UnsupportedError("reads into GPU memory support at most " + std::to_string(kMaxRank) + " dimensions");
  }
  const Layout l = measure(geometry, parts);
  if (l.elements == 0) return true;
  // The chunk's bytes land in a device buffer of their own, the tables and job behind them.
  const std::size_t data = align_up(l.data_bytes);
  const std::size_t body = data + align_up(l.table_bytes);
  Buffer host(body + sizeof(ScatterJob));
  ScatterJob job;
  fill_job(host.data(), 0, l, geometry, parts, job);
  std::memcpy(host.data() + body, &job, sizeof job);
  DeviceGuard guard(ring_.device());
  DeviceBuffer device(host.size());
  if (!load(device.data(), l.src_lo, l.data_bytes)) return false;
  Stream stream;
  CUZARR_CUDA_CHECK(cudaStreamWaitEvent(stream.get(), start_.get(), 0));
  CUZARR_CUDA_CHECK(cudaMemcpyAsync(device.data() + data, host.data() + data, host.size() - data,
                                    cudaMemcpyHostToDevice, stream.get()));
  launch_scatter(device.data(), reinterpret_cast<const ScatterJob*>(device.data() + body), 1, scatter_blocks(job),
                 dst_, itemsize_, stream.get());
  CUZARR_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
  return true;
}

void DeviceSink::finish() {
  std::lock_guard lock(mutex_);
  if (current_ != nullptr) {
    Slot* c = current_;
    current_ = nullptr;
    c->sealed = true;
    submit(c);  // every put has returned, so no writer is left
  }
  DeviceGuard guard(ring_.device());
  cudaError_t first = cudaSuccess;
  while (!in_flight_.empty()) {
    Slot* s = in_flight_.front();
    in_flight_.pop_front();
    const cudaError_t status = cudaEventSynchronize(s->done.get());
    if (first == cudaSuccess) first = status;
    ring_.release(s);
  }
  finished_ = true;
  CUZARR_CUDA_CHECK(first);
}

}  // namespace cuzarr::cuda
