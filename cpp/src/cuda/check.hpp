// CUDA runtime calls that fail become cuzarr::CudaError naming the call.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "cuzarr/error.hpp"

namespace cuzarr::cuda {

inline void check(cudaError_t status, const char* call) {
  if (status != cudaSuccess) {
    throw CudaError(std::string(call) + " failed: " + cudaGetErrorName(status) + " (" +
                    cudaGetErrorString(status) + ")");
  }
}

}  // namespace cuzarr::cuda

#define CUZARR_CUDA_CHECK(expr) ::cuzarr::cuda::check((expr), #expr)
