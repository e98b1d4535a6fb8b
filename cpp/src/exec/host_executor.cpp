#include "exec/host_executor.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "codec/sharding_codec.hpp"
#include "exec/raw_ranges.hpp"
#include "cuzarr/error.hpp"

namespace cuzarr::exec {
namespace {

// The stored chunk, or nullopt when it is missing. A file larger than any encoding of the chunk
// can be (a sparse 64 GiB file where a 1 MiB chunk belongs) is refused before it is read.
std::optional<Buffer> get_chunk(const Store& store, const std::string& key, const codec::CodecChain& chain,
                                const codec::DecodeContext& ctx) {
  // One request for the bytes and the size (over HTTP a HEAD would be a second round trip); no
  // more than the limit is read, should the value be larger or grow.
  const auto limit = static_cast<std::uint64_t>(chain.encoded_limit());
  std::optional<EdgeRead> read = store.get_edge(key, Edge::Front, limit);
  if (!read) return std::nullopt;
  if (read->total_size > limit) {
    throw CodecError(ctx.describe(chain.describe()) + ": chunk is " + std::to_string(read->total_size) + " bytes, " +
                     (chain.fixed_encoded_size() ? "expected " + std::to_string(limit)
                                                 : "more than any encoding of it can take (" + std::to_string(limit) + ")"));
  }
  return std::move(read->bytes);
}

// A raw chunk partly selected: only the byte ranges of its pieces (raw_ranges.hpp) are read.
void read_raw_ranges(const Store& store, const std::string& key, const std::string& array,
                     const codec::CodecChain& chain, const codec::ChunkView& geometry,
                     std::vector<plan::DimPart> parts, std::int64_t itemsize, ChunkSink& sink) {
  split_raw_selection(geometry, std::move(parts), itemsize, [&](std::vector<plan::DimPart>& piece) {
    const RawSpan span = raw_span(geometry, piece, itemsize);
    const auto n = static_cast<std::size_t>(span.hi - span.lo);
    Buffer bytes(n);
    if (!store.read_into(key, static_cast<std::uint64_t>(span.lo), n, bytes.data())) {
      throw StoreError("chunk '" + key + "' of array '" + array + "' disappeared while it was read");
    }
    if (geometry.swap_unit != 0 && !sink.swaps_bytes()) chain.swap_in_place({bytes.data(), n});
    // The buffer starts at the piece's first position in every dimension: rebase to it.
    codec::ChunkView view = geometry;
    view.data = bytes.data();
    if (!sink.swaps_bytes()) view.swap_unit = 0;
    std::vector<const plan::DimPart*> pointers(piece.size());
    for (std::size_t d = 0; d < piece.size(); ++d) {
      const auto [mn, mx] = std::minmax_element(piece[d].local.begin(), piece[d].local.end());
      const std::int64_t first = *mn;
      view.shape[d] = *mx - first + 1;
      for (std::int64_t& position : piece[d].local) position -= first;
      pointers[d] = &piece[d];
    }
    sink.put(view, pointers);
  });
}

}  // namespace

bool read_chunk(const metadata::ArrayMeta& meta, const codec::CodecChain& chain, const Store& store,
                std::span<const std::int64_t> coords, std::span<const plan::DimPart* const> parts,
                ChunkSink& sink, ThreadPool* pool) {
  const std::string key = join_key(meta.path, meta.chunk_key(coords));
  codec::DecodeContext ctx{meta.display, key, sink.swaps_bytes()};
  ctx.pool = pool;
  if (const codec::ShardingCodec* shard = chain.shard_reader()) {
    // Partial shard read: the index, then only the inner chunks the selection touches.
    return shard->read_region(codec::StoreShardSource(store, key), parts, sink, ctx);
  }
  if (chain.can_decode_into()) {
    // A whole chunk whose place in the output is a dense block: decode straight into it.
    if (std::byte* target = sink.direct_target(parts, meta.chunk_shape)) {
      std::int64_t n = meta.dtype.size;
      for (std::int64_t c : meta.chunk_shape) n *= c;
      const std::span<std::byte> out(target, static_cast<std::size_t>(n));
      if (chain.stored_raw()) {
        // Stored raw: the file's bytes are the chunk; read them into place (one request gives
        // the bytes and the size to check).
        const std::optional<std::uint64_t> size = store.read_front_into(key, static_cast<std::uint64_t>(n), target);
        if (size && static_cast<std::int64_t>(*size) != n) {
          throw CodecError(ctx.describe("bytes") + ": chunk is " + std::to_string(*size) + " bytes, expected " +
                           std::to_string(n));
        }
        if (size) {
          chain.swap_in_place(out);
          return true;
        }
      } else if (std::optional<Buffer> bytes = get_chunk(store, key, chain, ctx)) {
        chain.decode_into(std::move(*bytes), out, ctx);
        return true;
      }
      const codec::ChunkView fill{meta.fill_value.data(), meta.chunk_shape, std::vector<std::int64_t>(meta.rank(), 0)};
      sink.put(fill, parts);
      return false;
    }
  }
  const std::optional<codec::ChunkView> geometry = chain.raw_view(nullptr);
  if (geometry && store.local_path(key)) {
    // Stored raw in a local file, not one dense block of the output: read only the byte ranges
    // selected (a size check and a few reads cost little there; a remote store gets the chunk in
    // one request below instead).
    const std::optional<std::uint64_t> size = store.size(key);
    const std::int64_t expected = *chain.fixed_encoded_size();
    if (size && static_cast<std::int64_t>(*size) != expected) {
      throw CodecError(ctx.describe("bytes") + ": chunk is " + std::to_string(*size) + " bytes, expected " +
                       std::to_string(expected));
    }
    if (size) {
      std::vector<plan::DimPart> own(parts.size());
      for (std::size_t d = 0; d < parts.size(); ++d) own[d] = *parts[d];
      read_raw_ranges(store, key, meta.display, chain, *geometry, std::move(own), meta.dtype.size, sink);
      return true;
    }
  }
  std::optional<Buffer> bytes = get_chunk(store, key, chain, ctx);
  if (!bytes) {
    const codec::ChunkView fill{meta.fill_value.data(), meta.chunk_shape,
                                std::vector<std::int64_t>(meta.rank(), 0)};
    sink.put(fill, parts);
    return false;
  }
  codec::CodecChain::Decoded decoded = chain.decode(std::move(*bytes), ctx);
  sink.put(decoded.view, parts);
  return true;
}

void read_plan(const metadata::ArrayMeta& meta, const codec::CodecChain& chain, const Store& store,
               ThreadPool& pool, const plan::ChunkPlan& plan, ChunkSink& sink) {
  pool.parallel_for(plan.num_chunks(), [&](std::size_t i) {
    std::vector<const plan::DimPart*> parts;
    std::vector<std::int64_t> coords;
    plan.chunk(i, parts, coords);
    read_chunk(meta, chain, store, coords, parts, sink, &pool);
  });
}

VerifyResult verify_chunks(const metadata::ArrayMeta& meta, const codec::CodecChain& chain,
                           const Store& store, ThreadPool& pool,
                           const std::function<void(std::size_t, std::size_t)>& progress) {
  const std::size_t rank = meta.rank();
  std::vector<std::int64_t> grid(rank);
  std::size_t total = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    grid[d] = (meta.shape[d] + meta.chunk_shape[d] - 1) / meta.chunk_shape[d];
    total *= static_cast<std::size_t>(grid[d]);
  }
  VerifyResult result;
  result.chunks = total;
  std::mutex mutex;
  std::atomic<std::size_t> done{0}, missing{0};
  pool.parallel_for(total, [&](std::size_t i) {
    std::vector<std::int64_t> coords(rank);
    std::vector<plan::DimPart> full(rank);
    std::vector<const plan::DimPart*> parts(rank);
    std::int64_t elements = 1;
    for (std::size_t d = rank, rest = i; d-- > 0;) {
      coords[d] = static_cast<std::int64_t>(rest % static_cast<std::size_t>(grid[d]));
      rest /= static_cast<std::size_t>(grid[d]);
      // Only the part of an edge chunk inside the array is decoded into the output.
      full[d] = plan::full_part(std::min(meta.chunk_shape[d], meta.shape[d] - coords[d] * meta.chunk_shape[d]));
      parts[d] = &full[d];
      elements *= static_cast<std::int64_t>(full[d].local.size());
    }
    std::vector<std::int64_t> extent(rank);
    for (std::size_t d = 0; d < rank; ++d) extent[d] = static_cast<std::int64_t>(full[d].local.size());
    Buffer scratch(static_cast<std::size_t>(elements * meta.dtype.size));
    HostSink sink(scratch.data(), codec::c_order_strides(extent, meta.dtype.size), meta.dtype.size);
    try {
      if (!read_chunk(meta, chain, store, coords, parts, sink)) {
        ++missing;
      }
    } catch (const Error& e) {
      std::lock_guard lock(mutex);
      result.errors.emplace_back(e.what());
    }
    const std::size_t n = ++done;
    if (progress) {
      std::lock_guard lock(mutex);
      progress(n, total);
    }
  });
  result.missing = missing;
  std::sort(result.errors.begin(), result.errors.end());
  return result;
}

}  // namespace cuzarr::exec
