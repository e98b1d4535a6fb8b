// Decodes every chunk of an array (every inner chunk of every shard), collecting failures instead
// of stopping at the first: what `cuzarr verify` and Array::verify report.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "exec/engine.hpp"

namespace cuzarr::exec {

struct VerifyResult {
  std::size_t chunks = 0;         // chunks of the grid (shards, for a sharded array)
  std::size_t missing = 0;        // of those, absent: they read as the fill value
  std::size_t inner = 0;          // inner chunks of the shards read (0 for an unsharded array)
  std::size_t inner_missing = 0;  // of those, absent from their shard's index
  std::vector<std::string> errors;  // one message per chunk or inner chunk that failed, sorted
};

// `progress(done, total)` is called after each chunk of the grid.
VerifyResult verify_chunks(const ReadContext& ctx, const std::function<void(std::size_t, std::size_t)>& progress);

}  // namespace cuzarr::exec
