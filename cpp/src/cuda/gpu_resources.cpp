#include "cuda/gpu_resources.hpp"

#include <algorithm>

#include "cuda/fork_check.hpp"
#include "cuzarr/config.hpp"

namespace cuzarr::cuda {
namespace {
// The most batches per device for GPU decompression: one filling, one or two whose last chunks
// are still loading, and the rest queued or decoding on the device (a read's last batches are
// small, see gpu_decode.cpp, and several of them run at once). Each is made when first needed.
constexpr std::size_t kDecodeBatches = 6;

// Compressed bytes one batch holds on the device: enough frames per launch to fill the GPU
// (hundreds), a small share of its free memory (a batch also keeps up to twice that decoded).
std::size_t batch_bytes(int device) {
  DeviceGuard guard(device);
  std::size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
    cudaGetLastError();
    free = std::size_t{4} << 30;
  }
  return std::clamp(free / 64, std::size_t{64} << 20, std::size_t{1} << 30);
}
}  // namespace

Resources& process_resources() {
  // Every GPU read comes here first: in a child forked after CUDA was initialised it fails here,
  // before touching the rings (whose mutexes and streams belong to the parent).
  claim_cuda_for_this_process();
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
  if (!r) {
    r = std::make_unique<DecodeRing>(device, nv, batch_bytes(device), kDecodeBatches,
                                     std::max(config().staging_bytes, std::size_t{16} << 20), config().staging_buffers);
  }
  return *r;
}

DecodeRates& Resources::decode_rates(int device) {
  std::lock_guard lock(mutex_);
  std::unique_ptr<DecodeRates>& r = decode_rates_[device];
  if (!r) r = std::make_unique<DecodeRates>();
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

}  // namespace cuzarr::cuda
