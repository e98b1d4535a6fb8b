#include "plan/chunk_plan.hpp"

#include <map>
#include <string>
#include <type_traits>

#include "cuzarr/error.hpp"

namespace cuzarr::plan {
namespace {

std::int64_t normalize_index(std::int64_t i, std::int64_t n, std::size_t dim) {
  const std::int64_t orig = i;
  if (i < 0) i += n;
  if (i < 0 || i >= n) {
    throw SelectionError("index " + std::to_string(orig) + " is out of range for dimension " +
                         std::to_string(dim) + " of length " + std::to_string(n));
  }
  return i;
}

std::int64_t clamp_bound(std::int64_t v, std::int64_t n) {
  if (v < 0) v += n;
  if (v < 0) return 0;
  return v > n ? n : v;
}

}  // namespace

std::vector<DimIndex> normalize(const Selection& selection, const std::vector<std::int64_t>& shape) {
  if (selection.dims.size() > shape.size()) {
    throw SelectionError("selection has " + std::to_string(selection.dims.size()) +
                         " dimensions but the array has " + std::to_string(shape.size()));
  }
  std::vector<DimIndex> out(shape.size());
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const std::int64_t n = shape[d];
    DimIndex& di = out[d];
    if (d >= selection.dims.size()) {
      di.n = n;
      continue;
    }
    std::visit(
        [&](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, std::int64_t>) {
            di.dropped = true;
            di.start = normalize_index(s, n, d);
            di.n = 1;
          } else if constexpr (std::is_same_v<T, Slice>) {
            if (s.step <= 0) {
              throw SelectionError("slice step must be positive, got " + std::to_string(s.step) +
                                   " for dimension " + std::to_string(d));
            }
            const std::int64_t start = s.start ? clamp_bound(*s.start, n) : 0;
            const std::int64_t stop = s.stop ? clamp_bound(*s.stop, n) : n;
            di.start = start;
            di.step = s.step;
            di.n = stop > start ? 1 + (stop - start - 1) / s.step : 0;  // no overflow for huge steps
          } else {
            di.is_range = false;
            di.indices.reserve(s.size());
            for (std::int64_t i : s) di.indices.push_back(normalize_index(i, n, d));
          }
        },
        selection.dims[d]);
  }
  return out;
}

namespace {

void set_contiguous(DimPart& p, bool allowed) {
  bool contiguous = allowed;
  for (std::size_t k = 1; contiguous && k < p.local.size(); ++k) {
    contiguous = p.local[k] == p.local[k - 1] + 1 && p.out[k] == p.out[k - 1] + 1;
  }
  p.contiguous = contiguous;
}

}  // namespace

std::vector<DimPart> subdivide(const DimPart& part, std::int64_t sub) {
  std::map<std::int64_t, DimPart> by_sub;
  for (std::size_t k = 0; k < part.local.size(); ++k) {
    const std::int64_t s = part.local[k] / sub;
    DimPart& p = by_sub[s];
    p.chunk = s;
    p.local.push_back(part.local[k] - s * sub);
    p.out.push_back(part.out[k]);
  }
  std::vector<DimPart> out;
  out.reserve(by_sub.size());
  for (auto& [s, p] : by_sub) {
    // Contiguity only licenses a memcpy where the strides are dense too, which place() checks.
    set_contiguous(p, true);
    out.push_back(std::move(p));
  }
  return out;
}

DimPart full_part(std::int64_t n) {
  DimPart p;
  for (std::int64_t i = 0; i < n; ++i) {
    p.local.push_back(i);
    p.out.push_back(i);
  }
  p.contiguous = true;
  return p;
}

ChunkPlan::ChunkPlan(const Selection& selection, const std::vector<std::int64_t>& shape,
                     const std::vector<std::int64_t>& chunk_shape) {
  const std::vector<DimIndex> index = normalize(selection, shape);
  dims_.resize(shape.size());
  dropped_.resize(shape.size());
  num_chunks_ = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const DimIndex& di = index[d];
    const std::int64_t c = chunk_shape[d];
    dropped_[d] = di.dropped;
    if (!di.dropped) out_shape_.push_back(di.count());
    std::vector<DimPart>& parts = dims_[d];
    if (di.is_range) {
      // Positions arrive in increasing order, so chunks are appended in order.
      for (std::int64_t j = 0; j < di.n; ++j) {
        const std::int64_t pos = di.start + j * di.step;
        const std::int64_t chunk = pos / c;
        if (parts.empty() || parts.back().chunk != chunk) parts.push_back(DimPart{chunk, {}, {}, false});
        parts.back().local.push_back(pos - chunk * c);
        parts.back().out.push_back(di.dropped ? 0 : j);
      }
    } else {
      std::map<std::int64_t, DimPart> by_chunk;
      for (std::size_t j = 0; j < di.indices.size(); ++j) {
        const std::int64_t pos = di.indices[j];
        DimPart& p = by_chunk[pos / c];
        p.chunk = pos / c;
        p.local.push_back(pos - p.chunk * c);
        p.out.push_back(static_cast<std::int64_t>(j));
      }
      for (auto& [chunk, part] : by_chunk) parts.push_back(std::move(part));
    }
    for (DimPart& p : parts) set_contiguous(p, !di.dropped);
    num_chunks_ *= parts.size();
  }
}

void ChunkPlan::chunk(std::size_t i, std::vector<const DimPart*>& parts,
                      std::vector<std::int64_t>& coords) const {
  parts.resize(dims_.size());
  coords.resize(dims_.size());
  for (std::size_t d = dims_.size(); d-- > 0;) {
    const std::size_t n = dims_[d].size();
    const DimPart& p = dims_[d][i % n];
    i /= n;
    parts[d] = &p;
    coords[d] = p.chunk;
  }
}

}  // namespace cuzarr::plan
