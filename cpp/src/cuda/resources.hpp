// RAII owners of CUDA resources: device memory, pinned host memory, streams and events, and a
// guard that makes a device current for a scope.
#pragma once

#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "cuda/check.hpp"

namespace cuzarr::cuda {

// The driver's current-context calls, reached through the runtime (no link to libcuda): the
// device guard saves and restores the calling thread's context exactly, even "none".
struct ContextCalls {
  CUresult (*get)(CUcontext*) = nullptr;
  CUresult (*set)(CUcontext) = nullptr;
};

inline const ContextCalls& context_calls() {
  static const ContextCalls calls = [] {
    ContextCalls c;
    cudaDriverEntryPointQueryResult found{};
    void* fn = nullptr;
    if (cudaGetDriverEntryPointByVersion("cuCtxGetCurrent", &fn, 12000, cudaEnableDefault, &found) == cudaSuccess &&
        found == cudaDriverEntryPointSuccess) {
      c.get = reinterpret_cast<CUresult (*)(CUcontext*)>(fn);
    }
    if (cudaGetDriverEntryPointByVersion("cuCtxSetCurrent", &fn, 12000, cudaEnableDefault, &found) == cudaSuccess &&
        found == cudaDriverEntryPointSuccess) {
      c.set = reinterpret_cast<CUresult (*)(CUcontext)>(fn);
    }
    if (c.get == nullptr || c.set == nullptr) c = ContextCalls{};
    cudaGetLastError();
    return c;
  }();
  return calls;
}

// Makes `device` current for a scope, then puts back what the thread had: its context (or no
// context at all), so that working on GPU N from a thread that had none never creates a context
// on GPU 0 when the scope ends (cudaSetDevice would).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    const ContextCalls& calls = context_calls();
    if (calls.get != nullptr && calls.get(&saved_) == CUDA_SUCCESS) restore_context_ = true;
    CUZARR_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device || (restore_context_ && saved_ == nullptr)) CUZARR_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceGuard() {
    if (restore_context_) {
      context_calls().set(saved_);
    } else {
      cudaSetDevice(previous_);
    }
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  CUcontext saved_ = nullptr;
  bool restore_context_ = false;
};

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t size) : size_(size) {
    if (size == 0) return;
    const cudaError_t status = cudaMalloc(&ptr_, size);
    if (status != cudaSuccess) {
      cudaGetLastError();  // clear the sticky-free error so later calls work
      size_t free_bytes = 0, total = 0;
      cudaMemGetInfo(&free_bytes, &total);
      throw CudaError("cudaMalloc of " + std::to_string(size) + " bytes failed: " + cudaGetErrorString(status) +
                      " (" + std::to_string(free_bytes) + " of " + std::to_string(total) + " bytes free)");
    }
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~DeviceBuffer() { reset(); }
  std::byte* data() const { return static_cast<std::byte*>(ptr_); }
  std::size_t size() const { return size_; }

 private:
  void reset() {
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = nullptr;
  }
  void* ptr_ = nullptr;
  std::size_t size_ = 0;
};

class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(std::size_t size) : size_(size) {
    if (size > 0) CUZARR_CUDA_CHECK(cudaHostAlloc(&ptr_, size, cudaHostAllocPortable));
  }
  PinnedBuffer(PinnedBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept {
    if (this != &o) {
      if (ptr_ != nullptr) cudaFreeHost(ptr_);
      ptr_ = std::exchange(o.ptr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~PinnedBuffer() {
    if (ptr_ != nullptr) cudaFreeHost(ptr_);
  }
  std::byte* data() const { return static_cast<std::byte*>(ptr_); }
  std::size_t size() const { return size_; }

 private:
  void* ptr_ = nullptr;
  std::size_t size_ = 0;
};

class Stream {
 public:
  Stream() { CUZARR_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() {
    if (s_ != nullptr) cudaStreamDestroy(s_);
  }
  Stream(Stream&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Stream& operator=(Stream&&) = delete;
  Stream(const Stream&) = delete;
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

class Event {
 public:
  // `timing`: the event can measure elapsed time (cudaEventElapsedTime); cheaper without.
  explicit Event(bool timing = false) {
    CUZARR_CUDA_CHECK(cudaEventCreateWithFlags(&e_, timing ? cudaEventDefault : cudaEventDisableTiming));
  }
  ~Event() {
    if (e_ != nullptr) cudaEventDestroy(e_);
  }
  Event(Event&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  Event& operator=(Event&&) = delete;
  Event(const Event&) = delete;
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

}  // namespace cuzarr::cuda
