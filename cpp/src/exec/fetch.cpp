#include "exec/fetch.hpp"

#include <algorithm>
#include <string>

#include "cuzarr/error.hpp"

namespace cuzarr::exec {

void ByteBudget::take(std::size_t bytes) {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return used_ + bytes <= total_ || used_ == 0; });
  used_ += bytes;
}

void ByteBudget::give(std::size_t bytes) {
  {
    std::lock_guard lock(mutex_);
    used_ -= bytes;
  }
  cv_.notify_all();
}

std::vector<RangeGroup> coalesce(const std::vector<ByteRange>& sorted, std::uint64_t gap, std::uint64_t max_bytes) {
  std::vector<RangeGroup> groups;
  for (std::size_t first = 0; first < sorted.size();) {
    RangeGroup g{first, first + 1, sorted[first].offset, sorted[first].size};
    std::uint64_t end = g.offset + g.size;
    while (g.last < sorted.size() && sorted[g.last].offset <= end + gap) {
      const std::uint64_t next_end = std::max(end, sorted[g.last].offset + sorted[g.last].size);
      if (next_end - g.offset > max_bytes) break;
      end = next_end;
      ++g.last;
    }
    g.size = end - g.offset;
    groups.push_back(g);
    first = g.last;
  }
  return groups;
}

void check_stored_size(const codec::CodecChain& chain, std::uint64_t size, std::string_view array,
                       std::string_view key) {
  const std::optional<std::int64_t> fixed = chain.fixed_encoded_size();
  const auto limit = static_cast<std::uint64_t>(chain.encoded_limit());
  if (fixed ? size == static_cast<std::uint64_t>(*fixed) : size <= limit) return;
  const codec::DecodeContext ctx{array, key};
  throw CodecError(ctx.describe(chain.describe()) + ": chunk is " + std::to_string(size) + " bytes, " +
                   (fixed ? "expected " + std::to_string(*fixed)
                          : "more than any encoding of it can take (" + std::to_string(limit) + ")"));
}

}  // namespace cuzarr::exec
