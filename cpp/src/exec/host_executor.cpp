#include "exec/host_executor.hpp"

#include <vector>

#include "codec/sharding_codec.hpp"
#include "exec/place.hpp"

namespace cuzarr::exec {

void read_host(const metadata::ArrayMeta& meta, const codec::CodecChain& chain, const Store& store,
               ThreadPool& pool, const plan::ChunkPlan& plan, std::byte* dst,
               std::span<const std::int64_t> dst_strides) {
  const int itemsize = meta.dtype.size;
  pool.parallel_for(plan.num_chunks(), [&](std::size_t i) {
    std::vector<const plan::DimPart*> parts;
    std::vector<std::int64_t> coords;
    plan.chunk(i, parts, coords);
    const std::string key = join_key(meta.path, meta.chunk_key(coords));
    if (const codec::ShardingCodec* shard = chain.shard_reader()) {
      // Partial shard read: the index, then only the inner chunks the selection touches.
      shard->read_region(codec::StoreShardSource(store, key), parts, dst, dst_strides,
                         codec::DecodeContext{meta.display, key});
      return;
    }
    std::optional<Buffer> bytes = store.get(key);
    if (!bytes) {
      const codec::ChunkView fill{meta.fill_value.data(), meta.chunk_shape,
                                  std::vector<std::int64_t>(meta.rank(), 0)};
      place(fill, parts, dst, dst_strides, itemsize);
      return;
    }
    const codec::DecodeContext ctx{meta.display, key};
    codec::CodecChain::Decoded decoded = chain.decode(std::move(*bytes), ctx);
    place(decoded.view, parts, dst, dst_strides, itemsize);
  });
}

}  // namespace cuzarr::exec
