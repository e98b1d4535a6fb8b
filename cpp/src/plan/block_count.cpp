#include "plan/block_count.hpp"

#include <algorithm>
#include <limits>
#include <unordered_set>

namespace cuzarr::plan {
namespace {

std::uint64_t blocks_of(const DimIndex& d, std::int64_t block) {
  if (d.count() == 0) return 0;
  if (block <= 0) return static_cast<std::uint64_t>(d.count());
  if (d.is_range) {
    if (d.step >= block) return static_cast<std::uint64_t>(d.n);
    const std::int64_t first = d.start, last = d.start + (d.n - 1) * d.step;
    return static_cast<std::uint64_t>(std::max(first, last) / block - std::min(first, last) / block + 1);
  }
  std::unordered_set<std::int64_t> seen;
  for (std::int64_t i : d.indices) seen.insert(i / block);
  return seen.size();
}

}  // namespace

std::uint64_t blocks_touched(const std::vector<DimIndex>& dims, const std::vector<std::int64_t>& block_shape) {
  std::uint64_t total = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const std::uint64_t n = blocks_of(dims[i], i < block_shape.size() ? block_shape[i] : 0);
    if (n == 0) return 0;
    if (total > std::numeric_limits<std::uint64_t>::max() / n) return std::numeric_limits<std::uint64_t>::max();
    total *= n;
  }
  return total;
}

}  // namespace cuzarr::plan
