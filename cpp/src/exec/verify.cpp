#include "exec/verify.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

namespace cuzarr::exec {

VerifyResult verify_chunks(const ReadContext& ctx, const std::function<void(std::size_t, std::size_t)>& progress) {
  const metadata::ArrayMeta& meta = ctx.meta;
  const std::size_t rank = meta.rank();
  std::vector<std::int64_t> grid(rank);
  std::size_t total = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    grid[d] = (meta.shape[d] + meta.chunk_shape[d] - 1) / meta.chunk_shape[d];
    total *= static_cast<std::size_t>(grid[d]);
  }
  VerifyResult result;
  result.chunks = total;
  ErrorLog errors;
  std::mutex mutex;
  std::atomic<std::size_t> done{0}, missing{0}, inner{0}, inner_missing{0};
  ctx.pool.parallel_for(total, [&](std::size_t i) {
    std::vector<std::int64_t> coords(rank);
    std::vector<plan::DimPart> full(rank);
    std::vector<const plan::DimPart*> parts(rank);
    std::vector<std::int64_t> extent(rank);
    std::int64_t elements = 1;
    for (std::size_t d = rank, rest = i; d-- > 0;) {
      coords[d] = static_cast<std::int64_t>(rest % static_cast<std::size_t>(grid[d]));
      rest /= static_cast<std::size_t>(grid[d]);
      // Only the part of an edge chunk inside the array is decoded into the output.
      extent[d] = std::min(meta.chunk_shape[d], meta.shape[d] - coords[d] * meta.chunk_shape[d]);
      full[d] = plan::full_part(extent[d]);
      parts[d] = &full[d];
      elements *= extent[d];
    }
    Buffer scratch(static_cast<std::size_t>(elements * meta.dtype.size));
    HostSink sink(scratch.data(), codec::c_order_strides(extent, meta.dtype.size), meta.dtype.size);
    const ReadStats s = read_chunk(ctx, coords, parts, sink, &errors);
    missing += s.missing;
    inner += s.inner;
    inner_missing += s.inner_missing;
    const std::size_t n = ++done;
    if (progress) {
      std::lock_guard lock(mutex);
      progress(n, total);
    }
  });
  result.missing = missing;
  result.inner = inner;
  result.inner_missing = inner_missing;
  result.errors = errors.take();
  std::sort(result.errors.begin(), result.errors.end());
  return result;
}

}  // namespace cuzarr::exec
