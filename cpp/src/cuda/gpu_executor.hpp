// Reads into GPU memory: chunks are fetched and decoded (decompression on CPU threads for now)
// by the pool, staged through pinned buffers and scattered into the output on the device.
// Uncompressed chunks can instead come straight from storage through cuFile (GPUDirect).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "codec/codec_chain.hpp"
#include "cuda/staging.hpp"
#include "cuzarr/array.hpp"
#include "cuzarr/store.hpp"
#include "exec/thread_pool.hpp"
#include "io/cufile.hpp"
#include "metadata/array_meta.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::cuda {

// GPU state of one open hierarchy: a staging ring per device, and cuFile once tried.
class Resources {
 public:
  StagingRing& ring(int device);
  // cuFile when CUZARR_GDS allows it and the driver opened; `why` says why not otherwise.
  const io::CuFile* cufile(std::string& why);

 private:
  std::mutex mutex_;
  std::map<int, std::unique_ptr<StagingRing>> rings_;
  bool cufile_tried_ = false;
  std::unique_ptr<io::CuFile> cufile_;
  std::string cufile_why_;
};

// `dst_strides` has one entry per array dimension (0 where the selection drops it).
void read_device(const metadata::ArrayMeta& meta, const codec::CodecChain& chain, const Store& store,
                 exec::ThreadPool& pool, const plan::ChunkPlan& plan, const Output& output,
                 std::span<const std::int64_t> dst_strides, Resources& resources);

}  // namespace cuzarr::cuda
