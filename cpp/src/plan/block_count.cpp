#include "plan/block_count.hpp"

#include <limits>

namespace cuzarr::plan {

std::uint64_t blocks_touched(const std::vector<DimIndex>& dims, const std::vector<std::int64_t>& block_shape) {
  std::uint64_t total = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const std::int64_t block = i < block_shape.size() ? block_shape[i] : 0;
    // The planner's own count of the chunks a dimension's positions fall into.
    const auto n = static_cast<std::uint64_t>(block > 0 ? DimChunks(dims[i], block).count() : dims[i].count());
    if (n == 0) return 0;
    if (total > std::numeric_limits<std::uint64_t>::max() / n) return std::numeric_limits<std::uint64_t>::max();
    total *= n;
  }
  return total;
}

}  // namespace cuzarr::plan
