// CUDA and fork(): the CUDA driver cannot be used in a child forked after the parent initialised
// it (every call fails, or hangs on the parent's driver threads). Host reads in such a child work
// (their state is remade per process, see process_local.hpp); a GPU read fails at once with a
// CudaError that names the cause and the remedy. Plain C++: compiled and tested without CUDA.
#pragma once

namespace cuzarr::cuda {

// Called before the first CUDA call of each path that initialises CUDA (device count, GPU
// resources); throws CudaError in a process forked after an ancestor called it, otherwise records
// that this process has CUDA state.
void claim_cuda_for_this_process();

}  // namespace cuzarr::cuda
