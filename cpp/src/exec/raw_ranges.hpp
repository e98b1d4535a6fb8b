// Partial reads of raw chunks: which byte ranges of a stored-raw chunk a selection needs.
// Reading the span from a selection's first to its last byte can cost many times the selected
// bytes (a band of rows in every plane of a 3-d chunk spans nearly the whole file), so the
// selection is cut into pieces whose spans are each at most twice their selected bytes, or small
// enough that one read costs less than several.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "codec/codec.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::exec {

// Below this span, one read beats several smaller ones.
inline constexpr std::int64_t kOneReadSpan = std::int64_t{256} << 10;

struct RawSpan {
  std::int64_t lo = 0;      // offset of the first selected byte, from the view's origin
  std::int64_t hi = 0;      // one past the last selected byte
  std::int64_t needed = 0;  // selected bytes
};

// The span of `parts` (one per dimension, non-empty) in a chunk laid out as `geometry`
// (non-negative byte strides).
RawSpan raw_span(const codec::ChunkView& geometry, const std::vector<plan::DimPart>& parts, std::int64_t itemsize);

// Calls `piece` for each piece of the selection `parts`, halving it along the dimension whose
// positions lie furthest apart until each piece's span is at most max(2 x its selected bytes,
// kOneReadSpan). The pieces cover the selection exactly once.
void split_raw_selection(const codec::ChunkView& geometry, std::vector<plan::DimPart> parts, std::int64_t itemsize,
                         const std::function<void(std::vector<plan::DimPart>&)>& piece);

}  // namespace cuzarr::exec
