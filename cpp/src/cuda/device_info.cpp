#include <cuda_runtime_api.h>

#include "cuda/fork_check.hpp"
#include "cuzarr/config.hpp"

namespace cuzarr {

bool cuda_built() { return true; }

int cuda_device_count() {
  cuda::claim_cuda_for_this_process();  // cudaGetDeviceCount initialises the driver
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no GPU: not an error for this question
    return 0;
  }
  return count;
}

}  // namespace cuzarr
