// cuzarr's own zstd decoder on the GPU over a batch of items (zstd_kernels.cu), built from the
// format functions of cuda/zstd/ that the host decoder and the fuzzer also run. Parallel inside a
// frame, with no block ever waiting for another: after a walk of each item's block headers (one
// thread an item), the entropy stages of all blocks of all items run at once (a warp a block),
// each block resolving its repeat offsets as symbols of the offsets it starts with; a pass per
// item chains those (three symbols a block) and lays out the output; the blocks then execute
// their sequences at once into entries -- a byte's value, or a reference to an earlier block's
// byte (zstd/entries.hpp) -- and every output byte follows its references back to a value.
// Items are taken in groups of at most 256 MiB of output (the entries take four times that).
// C++17, like every CUDA source here.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/decompress_kernels.hpp"

namespace cuzarr::cuda {

// Decodes items[0, n) (a host array of descriptors of device buffers; each item's input is a
// chunk of zstd and skippable frames, its output exactly out_size bytes) and writes an
// ItemStatus per item to `statuses` (device memory, n entries). A failed item's output is
// undefined: the caller decodes it again on the CPU. Unsupported marks what this decoder leaves
// to the CPU by design (a dictionary, more blocks than its per-item budget). The stream is
// synchronized once, after the walk, to size the scratch space; the rest is queued on `stream`.
//
// With `phases`, the time of each step on the device is added to it (milliseconds, summed over
// the groups), for the benchmark; the stream is then synchronized at the end of each group.
struct ZstdPhases {
  double walk = 0, entropy = 0, layout = 0, execute = 0, resolve = 0, checksum = 0;
};
cudaError_t zstd_decode_batch(const DeviceItem* items, int n, std::int32_t* statuses, cudaStream_t stream,
                              ZstdPhases* phases = nullptr);

}  // namespace cuzarr::cuda
