// A selection resolved against the chunk grid: for every touched chunk, which positions inside it
// go where in the output. Chunks are visited once each, whatever the selection order.
#pragma once

#include <cstddef>
#include <cstdint>
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

// Splits the positions of `part` (inside one chunk) by sub-chunks of length `sub`: one DimPart
// per touched sub-chunk, in sub-chunk order, positions relative to the sub-chunk.
std::vector<DimPart> subdivide(const DimPart& part, std::int64_t sub);

// Whole-extent parts: positions 0..n-1 placed at 0..n-1.
DimPart full_part(std::int64_t n);

class ChunkPlan {
 public:
  ChunkPlan(const Selection& selection, const std::vector<std::int64_t>& shape,
            const std::vector<std::int64_t>& chunk_shape);

  std::size_t num_chunks() const { return num_chunks_; }
  std::size_t rank() const { return dims_.size(); }
  // Parts of the i-th touched chunk, one per dimension; fills `coords` with its chunk coordinates.
  void chunk(std::size_t i, std::vector<const DimPart*>& parts, std::vector<std::int64_t>& coords) const;
  // Shape of the output (dropped dimensions removed).
  const std::vector<std::int64_t>& out_shape() const { return out_shape_; }
  // Whether dimension d of the array appears in the output.
  bool dropped(std::size_t d) const { return dropped_[d]; }

 private:
  std::vector<std::vector<DimPart>> dims_;
  std::vector<bool> dropped_;
  std::vector<std::int64_t> out_shape_;
  std::size_t num_chunks_ = 0;
};

}  // namespace cuzarr::plan
