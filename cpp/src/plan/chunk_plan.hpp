// A selection resolved against the chunk grid: for every touched chunk, which positions inside it
// go where in the output. Chunks are visited once each, whatever the selection order.
//
// A plan holds per dimension only the selection (a slice as arithmetic, an index array once, sorted
// by chunk), never one record per touched chunk: a read of millions of chunks plans in the memory
// of its index arrays. The positions of a chunk are made when a cursor reaches it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cuzarr/selection.hpp"

namespace cuzarr::plan {

// One dimension's selection normalised against its length.
struct DimIndex {
  bool dropped = false;  // an integer: the dimension does not appear in the output
  bool is_range = true;
  std::int64_t start = 0, step = 1, n = 0;  // range: start + j*step for j < n
  std::vector<std::int64_t> indices;         // otherwise: explicit, in output order

  std::int64_t count() const { return is_range ? n : static_cast<std::int64_t>(indices.size()); }
  std::int64_t at(std::int64_t j) const { return is_range ? start + j * step : indices[j]; }
};

// Throws SelectionError for a wrong rank, an out-of-range index or a non-positive step.
std::vector<DimIndex> normalize(const Selection& selection, const std::vector<std::int64_t>& shape);

// The selected positions of one dimension that fall into one chunk.
struct DimPart {
  std::int64_t chunk = 0;            // chunk coordinate along this dimension
  std::vector<std::int64_t> local;   // positions inside the chunk
  std::vector<std::int64_t> out;     // matching positions in the output (0 when dropped)
  bool contiguous = false;           // local and out both advance by one
};

// Whole-extent parts: positions 0..n-1 placed at 0..n-1.
DimPart full_part(std::int64_t n);

// The chunks one dimension's selection touches, in increasing chunk order.
class DimChunks {
 public:
  DimChunks(DimIndex index, std::int64_t chunk_length);
  // The positions of `part` (inside one chunk) split by sub-chunks of length `sub` (the inner
  // chunks of a shard): positions relative to the sub-chunk, outputs those of `part`.
  DimChunks(const DimPart& part, std::int64_t sub);

  std::int64_t count() const { return count_; }
  // The k-th touched chunk's positions, written into `part` (its vectors' storage is reused).
  void part(std::int64_t k, DimPart& part) const;
  // Bytes this dimension holds: nothing for a slice; an index array, its order and chunk starts.
  std::size_t held_bytes() const {
    return (index_.indices.capacity() + out_.capacity() + order_.capacity() + starts_.capacity()) * sizeof(std::int64_t);
  }

 private:
  void split();  // finds the touched chunks

  DimIndex index_;
  std::int64_t chunk_length_ = 1;
  std::int64_t count_ = 0;
  std::int64_t first_chunk_ = 0;   // range: chunk of the first position
  std::int64_t out_base_ = 0;      // range: output of position j is out_base_ + j
  std::vector<std::int64_t> out_;  // index array: output of position j is out_[j] (empty: j)
  bool runs_allowed_ = true;       // false for a dropped dimension: never a run
  bool one_per_chunk_ = false;     // range with step >= chunk length: chunk k holds position k only
  std::vector<std::int64_t> order_;   // index array: output positions j, stably sorted by chunk
  std::vector<std::int64_t> starts_;  // index array: where each touched chunk begins in order_, + end
};

class ChunkPlan {
 public:
  ChunkPlan(const Selection& selection, const std::vector<std::int64_t>& shape,
            const std::vector<std::int64_t>& chunk_shape);

  // Touched chunks, the product of the dimensions' counts (SelectionError past 2^64).
  std::size_t num_chunks() const { return num_chunks_; }
  std::size_t rank() const { return dims_.size(); }
  const DimChunks& dim(std::size_t d) const { return dims_[d]; }
  const std::vector<DimChunks>& dims() const { return dims_; }
  // Shape of the output (dropped dimensions removed).
  const std::vector<std::int64_t>& out_shape() const { return out_shape_; }
  // Whether dimension d of the array appears in the output.
  bool dropped(std::size_t d) const { return dropped_[d]; }
  // Bytes the plan holds, whatever the number of chunks it touches.
  std::size_t held_bytes() const;

 private:
  std::vector<DimChunks> dims_;
  std::vector<bool> dropped_;
  std::vector<std::int64_t> out_shape_;
  std::size_t num_chunks_ = 0;
};

// The parts of chunks [first, first + count) of a grid of `dims` (last dimension fastest), made at
// once and kept while the batch is read: at most count + 1 parts per dimension, however many
// chunks the grid has. Shards read their inner chunks batch after batch through it.
class ChunkBatch {
 public:
  ChunkBatch(const std::vector<DimChunks>& dims, std::size_t first, std::size_t count);
  std::size_t size() const { return count_; }
  // The i-th chunk of the batch: its parts, one per dimension, and its chunk coordinates.
  void chunk(std::size_t i, std::vector<const DimPart*>& parts, std::vector<std::int64_t>& coords) const;
  // Parts held, all dimensions together.
  std::size_t held_parts() const;

 private:
  struct Window {
    std::size_t stride = 1;   // chunks of the grid per step of this dimension
    std::size_t count = 1;    // touched chunks of this dimension
    std::size_t base = 0;     // the step (first / stride) held at parts[0]; unused when wrapping
    bool wraps = false;       // every chunk of the dimension is held, parts[k] for chunk k
    std::vector<DimPart> parts;
  };
  std::size_t first_ = 0, count_ = 0;
  std::vector<Window> windows_;
};

// Chunks per ChunkBatch so that a batch's parts and per-chunk bookkeeping (about
// `bytes_per_chunk` each) stay within `bytes`; at least `minimum`.
std::size_t batch_chunks(std::size_t bytes, std::size_t bytes_per_chunk, std::size_t minimum);

// Walks the chunks of a plan (last dimension fastest): seek(i) makes the parts of the i-th chunk,
// rebuilding only the dimensions whose chunk changed since the last seek. One cursor per thread;
// what it holds is one chunk's positions.
class ChunkCursor {
 public:
  explicit ChunkCursor(const ChunkPlan& plan);
  void seek(std::size_t i);
  std::span<const DimPart* const> parts() const { return pointers_; }
  std::span<const std::int64_t> coords() const { return coords_; }

 private:
  const ChunkPlan& plan_;
  std::vector<std::int64_t> at_;  // per dimension, the touched-chunk number held in parts_ (-1: none)
  std::vector<DimPart> parts_;
  std::vector<const DimPart*> pointers_;
  std::vector<std::int64_t> coords_;
};

}  // namespace cuzarr::plan
