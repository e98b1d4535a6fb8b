// The write loop: the read pipe backwards, sharing its plan, engine and budget. For every chunk a
// selection touches: the chunk's values are gathered from the caller's buffer (place() with the
// plan's positions swapped), merged over the stored chunk when the selection covers only part of
// it (read through the read engine, fill value where absent), then either encoded by the chain
// and written to the store, or -- a chunk holding only the fill value -- erased from it. Shards
// are chunks of the grid like any other: the sharding codec assembles them whole. The chunks in
// hand at once (decoded and encoded) are bounded by Config::memory_budget, as a read's bytes are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "exec/engine.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::exec {

// What a write met.
struct WriteStats {
  std::size_t written = 0;  // chunks (or shards) encoded and stored
  std::size_t erased = 0;   // chunks holding only the fill value: not stored (deleted if present)
  std::size_t merged = 0;   // chunks covered in part: read, merged and rewritten
};

// Writes the values at `src` (element (i0, ...) of the selection's result at
// src + sum(i_k * src_strides[k]); one stride per array dimension, 0 for dropped ones) into
// every chunk of `plan` (a plan over the array's storage chunks).
WriteStats write_plan(const ReadContext& ctx, const plan::ChunkPlan& plan, const std::byte* src,
                      std::span<const std::int64_t> src_strides);

}  // namespace cuzarr::exec
