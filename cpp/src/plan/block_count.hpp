// How many blocks of a regular grid a selection touches: the chunks (or a shard's inner chunks)
// a read will decode, known before any is read, for the GPU decode policy (cuda/decode_rates.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "plan/chunk_plan.hpp"

namespace cuzarr::plan {

// The product over dimensions of the distinct blocks of `block_shape` that the selected positions
// of `dims` fall into (saturating at UINT64_MAX). A range of step s touches every block between its
// first and last position when s is less than the block, else one block per position (DimChunks).
std::uint64_t blocks_touched(const std::vector<DimIndex>& dims, const std::vector<std::int64_t>& block_shape);

}  // namespace cuzarr::plan
