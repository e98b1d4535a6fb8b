// The place step on the host: copy the selected elements of one decoded chunk into the output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "codec/codec.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::exec {

// Copies element (local[0][k0], local[1][k1], ...) of `src` to output position
// (out[0][k0], ...) for every combination, one DimPart per array dimension. `dst_strides` has one
// entry per array dimension: 0 for dimensions the selection drops. A source stride of 0 repeats
// one element (used to write fill values).
void place(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts,
           std::byte* dst, std::span<const std::int64_t> dst_strides, int itemsize);

// The byte offset in the output of a block of `block_shape` elements when `parts` select it
// whole, in order, and its place in the output (strides `dst_strides`) is one dense C-ordered
// block; -1 otherwise. Such a block is written (read, decoded or copied) straight there.
std::int64_t dense_output_offset(std::span<const plan::DimPart* const> parts,
                                 std::span<const std::int64_t> block_shape,
                                 std::span<const std::int64_t> dst_strides, std::int64_t itemsize);

}  // namespace cuzarr::exec
