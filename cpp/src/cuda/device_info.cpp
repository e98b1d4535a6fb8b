#include <cuda_runtime_api.h>

#include "cuzarr/config.hpp"

namespace cuzarr {

bool cuda_built() { return true; }

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no GPU: not an error for this question
    return 0;
  }
  return count;
}

}  // namespace cuzarr
