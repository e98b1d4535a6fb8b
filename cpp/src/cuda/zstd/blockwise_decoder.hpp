// The GPU kernels' decomposition of zstd decoding (cuda/zstd_kernels.cu), run on the host one step
// after another: a walk of every frame's block headers; each block's entropy stage on its own,
// its repeat offsets as symbols (offsets.hpp); the symbols chained per frame and the blocks laid
// out; execution into entries and resolution of references (entries.hpp) -- the blocks taken last
// first in every per-block step, so that nothing can depend on an earlier block having been done
// before. It exists to test and fuzz that decomposition against libzstd and the sequential host
// decoder (host_decoder.hpp) on machines without a GPU; it is not fast.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common.hpp"

namespace cuzarr::zstd {

// Decodes every frame of in[0, in_size) into exactly out[0, out_size), like decode()
// (host_decoder.hpp); Unsupported cases of the GPU (an output of kMaxEntryItem bytes or more) are
// TooLarge.
Status decode_blockwise(const std::uint8_t* in, std::size_t in_size, std::uint8_t* out, std::size_t out_size);

}  // namespace cuzarr::zstd
