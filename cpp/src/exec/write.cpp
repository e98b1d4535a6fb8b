#include "exec/write.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "codec/codec.hpp"
#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "exec/fetch.hpp"
#include "exec/place.hpp"
#include "exec/sink.hpp"

namespace cuzarr::exec {
namespace {

// Whether `part` holds every position of its chunk that lies inside the array (`extent` of them).
bool covers(const plan::DimPart& part, std::int64_t extent) {
  if (static_cast<std::int64_t>(part.local.size()) < extent) return false;
  if (part.contiguous) return part.local.front() == 0 && static_cast<std::int64_t>(part.local.size()) == extent;
  std::vector<std::int64_t> seen = part.local;  // an index array may repeat positions
  std::sort(seen.begin(), seen.end());
  return std::unique(seen.begin(), seen.end()) - seen.begin() == extent;
}

void fill_with(std::byte* dst, std::int64_t count, const std::vector<std::byte>& element) {
  const std::size_t size = element.size();
  for (std::int64_t i = 0; i < count; ++i) std::memcpy(dst + i * static_cast<std::int64_t>(size), element.data(), size);
}

class Writer {
 public:
  Writer(const ReadContext& ctx, const std::byte* src, std::span<const std::int64_t> src_strides)
      : ctx_(ctx), src_(src), src_strides_(src_strides.begin(), src_strides.end()), budget_(config().memory_budget) {}

  void chunk(std::span<const std::int64_t> coords, std::span<const plan::DimPart* const> parts) {
    const metadata::ArrayMeta& meta = ctx_.meta;
    const std::size_t rank = parts.size();
    const std::vector<std::int64_t>& shape = meta.chunk_shape;
    const std::string label = meta.chunk_key(coords);
    const std::string key = join_key(meta.path, label);
    const int itemsize = meta.dtype.size;
    const auto chunk_bytes = static_cast<std::size_t>(codec::element_count(shape) * itemsize);
    // The decoded chunk and its encoded form (about as large, at worst) are what a task holds.
    const ByteBudget::Hold hold(budget_, 2 * chunk_bytes);
    Buffer values(chunk_bytes);
    const std::vector<std::int64_t> strides = codec::c_order_strides(shape, itemsize);

    bool whole = true;
    bool edge = false;
    for (std::size_t d = 0; d < rank; ++d) {
      const std::int64_t extent = std::min(shape[d], meta.shape[d] - coords[d] * shape[d]);
      edge = edge || extent < shape[d];
      whole = whole && covers(*parts[d], extent);
    }
    if (!whole) {
      // The stored chunk (or the fill value) under the new values.
      std::vector<plan::DimPart> full(rank);
      std::vector<const plan::DimPart*> full_parts(rank);
      for (std::size_t d = 0; d < rank; ++d) {
        full[d] = plan::full_part(shape[d]);
        full_parts[d] = &full[d];
      }
      HostSink sink(values.data(), strides, itemsize);
      read_chunk(ctx_, coords, full_parts, sink);
      ++merged_;
    } else if (edge) {
      // Beyond the array's end a chunk holds the fill value, as every writer stores it.
      fill_with(values.data(), codec::element_count(shape), meta.fill_value);
    }

    // The caller's values into the chunk: the plan's positions with source and destination swapped.
    std::vector<plan::DimPart> swapped(rank);
    std::vector<const plan::DimPart*> pointers(rank);
    for (std::size_t d = 0; d < rank; ++d) {
      swapped[d].chunk = parts[d]->chunk;
      swapped[d].local = parts[d]->out;
      swapped[d].out = parts[d]->local;
      swapped[d].contiguous = parts[d]->contiguous;
      pointers[d] = &swapped[d];
    }
    const codec::ChunkView source{src_, {}, src_strides_};
    place(source, pointers, values.data(), strides, itemsize);

    const codec::ChunkView view{values.data(), shape, strides};
    if (codec::all_equal(view, meta.fill_value)) {
      ctx_.store.erase(key);
      ++erased_;
      return;
    }
    const codec::EncodeContext ectx{meta.display, label};
    const Buffer encoded = ctx_.chain.encode(view, ectx);
    try {
      ctx_.store.write(key, encoded.span());
    } catch (const StoreError& e) {
      throw StoreError("array '" + meta.display + "', chunk '" + label + "': " + e.what());
    }
    ++written_;
  }

  WriteStats stats() const { return WriteStats{written_.load(), erased_.load(), merged_.load()}; }

 private:
  const ReadContext& ctx_;
  const std::byte* src_;
  std::vector<std::int64_t> src_strides_;
  ByteBudget budget_;  // Config::memory_budget, as for reads
  std::atomic<std::size_t> written_{0}, erased_{0}, merged_{0};
};

}  // namespace

WriteStats write_plan(const ReadContext& ctx, const plan::ChunkPlan& plan, const std::byte* src,
                      std::span<const std::int64_t> src_strides) {
  Writer writer(ctx, src, src_strides);
  const std::size_t n = plan.num_chunks();
  // One chunk per task: each holds a decoded chunk and its encoded form, within the budget.
  auto run = [&](std::size_t i) {
    plan::ChunkCursor cursor(plan);
    cursor.seek(i);
    writer.chunk(cursor.coords(), cursor.parts());
  };
  if (n == 1) {
    run(0);
  } else if (n > 1) {
    ctx.pool.parallel_for(n, run);
  }
  return writer.stats();
}

}  // namespace cuzarr::exec
