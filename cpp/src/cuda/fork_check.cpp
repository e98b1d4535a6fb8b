#include "cuda/fork_check.hpp"

#include "cuzarr/error.hpp"
#include "process_local.hpp"

namespace cuzarr::cuda {
namespace {
ProcessMark cuda_initialised;  // trivially destructible state: safe to read from any thread, any time
}  // namespace

void claim_cuda_for_this_process() {
  if (cuda_initialised.inherited()) {
    throw CudaError(
        "CUDA cannot be used in a process forked after CUDA was initialised (this process is a fork() of one "
        "that used the GPU): read with device='cpu' here, or start worker processes with the 'spawn' or "
        "'forkserver' start method (multiprocessing.get_context('spawn'), DataLoader(multiprocessing_context="
        "'spawn'), dask.config.set({'multiprocessing.context': 'spawn'}))");
  }
  cuda_initialised.mark();
}

}  // namespace cuzarr::cuda
