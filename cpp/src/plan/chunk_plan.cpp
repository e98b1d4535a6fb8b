#include "plan/chunk_plan.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

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

DimPart full_part(std::int64_t n) {
  DimPart p;
  for (std::int64_t i = 0; i < n; ++i) {
    p.local.push_back(i);
    p.out.push_back(i);
  }
  p.contiguous = true;
  return p;
}

DimChunks::DimChunks(DimIndex index, std::int64_t chunk_length)
    : index_(std::move(index)), chunk_length_(chunk_length), runs_allowed_(!index_.dropped) {
  split();
}

namespace {

// The positions of a part as a selection: a run as a range (nothing held), else the list.
DimIndex positions_of(const DimPart& part) {
  DimIndex index;
  const std::size_t n = part.local.size();
  bool run = true;
  for (std::size_t k = 1; run && k < n; ++k) run = part.local[k] == part.local[k - 1] + 1 && part.out[k] == part.out[k - 1] + 1;
  if (run) {
    index.start = n == 0 ? 0 : part.local.front();
    index.n = static_cast<std::int64_t>(n);
  } else {
    index.is_range = false;
    index.indices = part.local;
  }
  return index;
}

}  // namespace

DimChunks::DimChunks(const DimPart& part, std::int64_t sub) : index_(positions_of(part)), chunk_length_(sub) {
  // Contiguity only licenses a memcpy where the strides are dense too, which place() checks.
  if (index_.is_range) {
    out_base_ = part.out.empty() ? 0 : part.out.front();
  } else {
    out_ = part.out;
  }
  split();
}

void DimChunks::split() {
  const std::int64_t c = chunk_length_;
  if (index_.is_range) {
    if (index_.n == 0) return;
    first_chunk_ = index_.start / c;
    // A step of at least a chunk puts every position in a chunk of its own; a shorter one skips
    // no chunk between the first and the last.
    one_per_chunk_ = index_.step >= c;
    const std::int64_t last = index_.start + (index_.n - 1) * index_.step;
    count_ = one_per_chunk_ ? index_.n : last / c - first_chunk_ + 1;
    return;
  }
  const std::vector<std::int64_t>& at = index_.indices;
  order_.resize(at.size());
  for (std::size_t j = 0; j < at.size(); ++j) order_[j] = static_cast<std::int64_t>(j);
  // Stable: inside a chunk, positions keep the order of the output.
  std::stable_sort(order_.begin(), order_.end(),
                   [&](std::int64_t a, std::int64_t b) { return at[a] / c < at[b] / c; });
  for (std::size_t e = 0; e < order_.size(); ++e) {
    if (e == 0 || at[order_[e]] / c != at[order_[e - 1]] / c) starts_.push_back(static_cast<std::int64_t>(e));
  }
  count_ = static_cast<std::int64_t>(starts_.size());
  starts_.push_back(static_cast<std::int64_t>(order_.size()));
  starts_.shrink_to_fit();
}

void DimChunks::part(std::int64_t k, DimPart& p) const {
  const std::int64_t c = chunk_length_;
  p.local.clear();
  p.out.clear();
  if (!index_.is_range) {
    const std::vector<std::int64_t>& at = index_.indices;
    p.chunk = at[order_[starts_[k]]] / c;
    for (std::int64_t e = starts_[k]; e < starts_[k + 1]; ++e) {
      const std::int64_t j = order_[e];
      p.local.push_back(at[j] - p.chunk * c);
      p.out.push_back(out_.empty() ? j : out_[j]);
    }
  } else if (one_per_chunk_) {
    const std::int64_t pos = index_.start + k * index_.step;
    p.chunk = pos / c;
    p.local.push_back(pos - p.chunk * c);
    p.out.push_back(index_.dropped ? 0 : out_base_ + k);
  } else {
    p.chunk = first_chunk_ + k;
    const std::int64_t lo = p.chunk * c;
    const std::int64_t step = index_.step;
    // The outputs j whose position start + j*step lies in [lo, lo + c).
    auto first_at_or_after = [&](std::int64_t bound) {
      const std::int64_t a = bound - index_.start;
      if (a <= 0) return std::int64_t{0};
      return std::min(index_.n, a / step + (a % step != 0 ? 1 : 0));
    };
    const std::int64_t j_end = first_at_or_after(lo + c);
    for (std::int64_t j = first_at_or_after(lo); j < j_end; ++j) {
      p.local.push_back(index_.start + j * step - lo);
      p.out.push_back(index_.dropped ? 0 : out_base_ + j);
    }
  }
  set_contiguous(p, runs_allowed_);
}

ChunkPlan::ChunkPlan(const Selection& selection, const std::vector<std::int64_t>& shape,
                     const std::vector<std::int64_t>& chunk_shape) {
  std::vector<DimIndex> index = normalize(selection, shape);
  dims_.reserve(shape.size());
  dropped_.resize(shape.size());
  num_chunks_ = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    dropped_[d] = index[d].dropped;
    if (!index[d].dropped) out_shape_.push_back(index[d].count());
    dims_.emplace_back(std::move(index[d]), chunk_shape[d]);
    const auto n = static_cast<std::size_t>(dims_.back().count());
    if (n != 0 && num_chunks_ > std::numeric_limits<std::size_t>::max() / n) {
      throw SelectionError("the selection touches more than 2^64 chunks");
    }
    num_chunks_ *= n;
  }
}

std::size_t ChunkPlan::held_bytes() const {
  std::size_t bytes = 0;
  for (const DimChunks& d : dims_) bytes += d.held_bytes();
  return bytes;
}

ChunkBatch::ChunkBatch(const std::vector<DimChunks>& dims, std::size_t first, std::size_t count)
    : first_(first), count_(count), windows_(dims.size()) {
  if (count == 0) return;
  std::size_t stride = 1;
  for (std::size_t d = dims.size(); d-- > 0;) {
    Window& w = windows_[d];
    w.stride = stride;
    w.count = static_cast<std::size_t>(dims[d].count());
    stride *= w.count;
    // The steps of this dimension the batch crosses, counted without wrapping round.
    const std::size_t lo = first / w.stride, hi = (first + count - 1) / w.stride;
    w.wraps = hi - lo + 1 >= w.count;
    w.base = w.wraps ? 0 : lo;
    const std::size_t held = w.wraps ? w.count : hi - lo + 1;
    w.parts.resize(held);
    for (std::size_t k = 0; k < held; ++k) {
      dims[d].part(static_cast<std::int64_t>(w.wraps ? k : (lo + k) % w.count), w.parts[k]);
    }
  }
}

void ChunkBatch::chunk(std::size_t i, std::vector<const DimPart*>& parts, std::vector<std::int64_t>& coords) const {
  parts.resize(windows_.size());
  coords.resize(windows_.size());
  const std::size_t linear = first_ + i;
  for (std::size_t d = 0; d < windows_.size(); ++d) {
    const Window& w = windows_[d];
    const std::size_t step = linear / w.stride;
    const DimPart& p = w.parts[w.wraps ? step % w.count : step - w.base];
    parts[d] = &p;
    coords[d] = p.chunk;
  }
}

std::size_t ChunkBatch::held_parts() const {
  std::size_t n = 0;
  for (const Window& w : windows_) n += w.parts.size();
  return n;
}

std::size_t batch_chunks(std::size_t bytes, std::size_t bytes_per_chunk, std::size_t minimum) {
  return std::max(minimum, bytes / std::max<std::size_t>(1, bytes_per_chunk));
}

ChunkCursor::ChunkCursor(const ChunkPlan& plan)
    : plan_(plan), at_(plan.rank(), -1), parts_(plan.rank()), pointers_(plan.rank()), coords_(plan.rank()) {
  for (std::size_t d = 0; d < parts_.size(); ++d) pointers_[d] = &parts_[d];
}

void ChunkCursor::seek(std::size_t i) {
  for (std::size_t d = parts_.size(); d-- > 0;) {
    const auto n = static_cast<std::size_t>(plan_.dim(d).count());
    const auto k = static_cast<std::int64_t>(i % n);
    i /= n;
    if (at_[d] != k) {
      plan_.dim(d).part(k, parts_[d]);
      at_[d] = k;
      coords_[d] = parts_[d].chunk;
    }
  }
}

}  // namespace cuzarr::plan
