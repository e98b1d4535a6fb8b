// The GPU resources of this process, shared by every open store: per GPU one staging ring and
// one decode ring, and nvCOMP and cuFile loaded (and cuFile's driver opened) once.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cuda/gpu_decode.hpp"
#include "cuda/nvcomp.hpp"
#include "cuda/staging.hpp"
#include "io/cufile.hpp"

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
  // The decode rates measured by this process's reads on `device` (decode_rates.hpp).
  DecodeRates& decode_rates(int device);

 private:
  std::mutex mutex_;
  std::map<int, std::unique_ptr<StagingRing>> rings_;
  std::map<int, std::unique_ptr<DecodeRing>> decode_rings_;
  std::map<int, std::unique_ptr<DecodeRates>> decode_rates_;
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

}  // namespace cuzarr::cuda
