// Reads into GPU memory: chunks are fetched by the pool, staged through pinned buffers and
// scattered into the output on the device. Compressed chunks are decompressed on the GPU where
// the codec allows it and CUZARR_DECODE agrees (gpu_decode.hpp), else on CPU threads before
// staging. Uncompressed chunks can instead come straight from storage through cuFile (GPUDirect).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "codec/codec_chain.hpp"
#include "cuda/gpu_decode.hpp"
#include "cuda/nvcomp.hpp"
#include "cuda/staging.hpp"
#include "cuzarr/array.hpp"
#include "cuzarr/store.hpp"
#include "exec/thread_pool.hpp"
#include "io/cufile.hpp"
#include "metadata/array_meta.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::cuda {

// GPU state of one open hierarchy: a staging ring and a decode ring per device, and cuFile and
// nvCOMP once tried.
class Resources {
 public:
  StagingRing& ring(int device);
  DecodeRing& decode_ring(int device);
  // nvCOMP when it loaded; `why` says why not otherwise.
  const Nvcomp* nvcomp(std::string& why);
  // cuFile when CUZARR_GDS allows it and the driver opened; `why` says why not otherwise.
  const io::CuFile* cufile(std::string& why);

 private:
  std::mutex mutex_;
  std::map<int, std::unique_ptr<StagingRing>> rings_;
  std::map<int, std::unique_ptr<DecodeRing>> decode_rings_;
  bool nvcomp_tried_ = false;
  std::unique_ptr<Nvcomp> nvcomp_;
  std::string nvcomp_why_;
  bool cufile_tried_ = false;
  std::unique_ptr<io::CuFile> cufile_;
  std::string cufile_why_;
};

// The GPU resources of this process, shared by every open store: per GPU one staging ring and
// one decode ring, and nvCOMP and cuFile loaded (and cuFile's driver opened) once. Created on
// the first GPU read and kept until the process exits: opening a dataset again costs no pinned
// allocation and no driver start (both take tenths of a second). Deliberately never destroyed,
// because the CUDA runtime may be torn down before static destructors run.
Resources& process_resources();

// `dst_strides` has one entry per array dimension (0 where the selection drops it).
void read_device(const metadata::ArrayMeta& meta, const codec::CodecChain& chain, const Store& store,
                 exec::ThreadPool& pool, const plan::ChunkPlan& plan, const Output& output,
                 std::span<const std::int64_t> dst_strides, Resources& resources);

}  // namespace cuzarr::cuda
