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

}  // namespace cuzarr::exec
