#include "codec/sharding_codec.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>

#include "cuzarr/config.hpp"
#include "exec/thread_pool.hpp"
#include "cuzarr/error.hpp"

namespace cuzarr::codec {
namespace {

class BufferShardSource final : public ShardSource {
 public:
  explicit BufferShardSource(std::span<const std::byte> bytes) : bytes_(bytes) {}
  std::optional<EdgeRead> edge(Edge edge, std::uint64_t length) const override {
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(length), bytes_.size());
    return EdgeRead{Buffer::copy_of(edge == Edge::Front ? bytes_.first(n) : bytes_.last(n)), bytes_.size()};
  }
  Buffer read(std::uint64_t offset, std::uint64_t length) const override {
    return Buffer::copy_of(bytes_.subspan(offset, length));
  }

 private:
  std::span<const std::byte> bytes_;
};

std::string coords_text(const std::vector<std::int64_t>& c) {
  std::string s;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(c[i]);
  }
  return s;
}

}  // namespace

std::optional<EdgeRead> StoreShardSource::edge(Edge edge, std::uint64_t length) const {
  return store_.get_edge(key_, edge, length);
}

Buffer StoreShardSource::read(std::uint64_t offset, std::uint64_t length) const {
  std::optional<Buffer> b = store_.get_range(key_, offset, length);
  if (!b) throw StoreError("shard '" + key_ + "' disappeared while it was being read");
  return std::move(*b);
}

ShardingCodec::ShardingCodec(const ChunkSpec& shard, std::vector<std::int64_t> inner_shape,
                             CodecChain inner, CodecChain index, bool index_at_end,
                             std::vector<std::byte> fill_value)
    : shard_(shard),
      inner_shape_(std::move(inner_shape)),
      inner_(std::move(inner)),
      index_(std::move(index)),
      index_at_end_(index_at_end),
      fill_(std::move(fill_value)) {
  for (std::size_t d = 0; d < shard_.shape.size(); ++d) grid_.push_back(shard_.shape[d] / inner_shape_[d]);
  index_bytes_ = *index_.fixed_encoded_size();
}

std::vector<ShardingCodec::Entry> ShardingCodec::read_index(EdgeRead edge, const DecodeContext& ctx) const {
  const auto index_bytes = static_cast<std::uint64_t>(index_bytes_);
  const std::uint64_t shard_size = edge.total_size;
  if (shard_size < index_bytes || edge.bytes.size() != index_bytes) {
    throw CodecError(ctx.describe(name()) + ": shard is " + std::to_string(shard_size) +
                     " bytes, smaller than its index (" + std::to_string(index_bytes) + " bytes)");
  }
  CodecChain::Decoded index = index_.decode(std::move(edge.bytes), ctx);
  const std::size_t rank = grid_.size();
  std::int64_t count = 1;
  for (std::int64_t g : grid_) count *= g;
  std::vector<Entry> entries(static_cast<std::size_t>(count));
  std::vector<std::int64_t> coord(rank, 0);
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < rank; ++d) off += coord[d] * index.view.byte_strides[d];
    Entry& e = entries[static_cast<std::size_t>(i)];
    std::memcpy(&e.offset, index.view.data + off, 8);
    std::memcpy(&e.nbytes, index.view.data + off + index.view.byte_strides[rank], 8);
    if (!e.missing() && (e.offset > shard_size || e.nbytes > shard_size - e.offset)) {
      throw CodecError(ctx.describe(name()) + ": index entry of inner chunk (" + coords_text(coord) +
                       ") points to bytes [" + std::to_string(e.offset) + ", +" + std::to_string(e.nbytes) +
                       ") outside the shard of " + std::to_string(shard_size) + " bytes");
    }
    for (std::size_t d = rank; d-- > 0;) {
      if (++coord[d] < grid_[d]) break;
      coord[d] = 0;
    }
  }
  return entries;
}

bool ShardingCodec::read_region(const ShardSource& source, std::span<const plan::DimPart* const> parts,
                                exec::ChunkSink& sink, const DecodeContext& ctx) const {
  const std::size_t rank = grid_.size();
  const ChunkView fill{fill_.data(), inner_shape_, std::vector<std::int64_t>(rank, 0)};
  std::optional<EdgeRead> edge =
      source.edge(index_at_end_ ? Edge::Back : Edge::Front, static_cast<std::uint64_t>(index_bytes_));
  if (!edge) {
    sink.put(fill, parts);
    return false;
  }
  const std::vector<Entry> entries = read_index(std::move(*edge), ctx);

  // The inner chunks the selection touches, with their share of each dimension's positions.
  std::vector<std::vector<plan::DimPart>> sub(rank);
  std::size_t total = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    sub[d] = plan::subdivide(*parts[d], inner_shape_[d]);
    total *= sub[d].size();
  }
  struct Item {
    const Entry* entry;
    std::vector<const plan::DimPart*> parts;
    std::vector<std::int64_t> coords;
  };
  std::vector<Item> present;
  for (std::size_t i = 0; i < total; ++i) {
    Item item{nullptr, std::vector<const plan::DimPart*>(rank), std::vector<std::int64_t>(rank)};
    std::size_t rest = i;
    std::int64_t linear = 0;
    for (std::size_t d = rank; d-- > 0;) {
      const plan::DimPart& p = sub[d][rest % sub[d].size()];
      rest /= sub[d].size();
      item.parts[d] = &p;
      item.coords[d] = p.chunk;
    }
    for (std::size_t d = 0; d < rank; ++d) linear = linear * grid_[d] + item.coords[d];
    item.entry = &entries[static_cast<std::size_t>(linear)];
    if (item.entry->missing()) {
      sink.put(fill, item.parts);
    } else {
      present.push_back(std::move(item));
    }
  }
  std::sort(present.begin(), present.end(),
            [](const Item& a, const Item& b) { return a.entry->offset < b.entry->offset; });

  // Merge ranges closer than the coalescing gap into single reads.
  struct Range {
    std::size_t first, last;  // items [first, last) of `present`
    std::uint64_t start, end;
  };
  std::vector<Range> ranges;
  const std::uint64_t gap = config().coalesce_bytes;
  for (std::size_t first = 0; first < present.size();) {
    Range r{first, first + 1, present[first].entry->offset, present[first].entry->offset + present[first].entry->nbytes};
    while (r.last < present.size() && present[r.last].entry->offset <= r.end + gap) {
      r.end = std::max(r.end, present[r.last].entry->offset + present[r.last].entry->nbytes);
      ++r.last;
    }
    ranges.push_back(r);
    first = r.last;
  }
  // Read the ranges, then decode the inner chunks, both spread over the pool when there is one:
  // a read of one big shard is as parallel as a read of many chunks.
  auto run = [&](std::size_t n, const std::function<void(std::size_t)>& fn) {
    if (ctx.pool != nullptr && n > 1) {
      ctx.pool->parallel_for(n, fn);
    } else {
      for (std::size_t i = 0; i < n; ++i) fn(i);
    }
  };
  std::vector<Buffer> data(ranges.size());
  std::vector<std::size_t> range_of(present.size());
  for (std::size_t r = 0; r < ranges.size(); ++r) {
    for (std::size_t k = ranges[r].first; k < ranges[r].last; ++k) range_of[k] = r;
  }
  run(ranges.size(), [&](std::size_t r) { data[r] = source.read(ranges[r].start, ranges[r].end - ranges[r].start); });
  run(present.size(), [&](std::size_t k) {
    const Item& item = present[k];
    const Range& range = ranges[range_of[k]];
    const std::string key = std::string(ctx.key) + " (inner chunk " + coords_text(item.coords) + ")";
    DecodeContext inner_ctx = ctx;
    inner_ctx.key = key;
    inner_ctx.defer_byteswap = sink.swaps_bytes();
    Buffer chunk =
        Buffer::copy_of(data[range_of[k]].span().subspan(item.entry->offset - range.start, item.entry->nbytes));
    if (inner_.can_decode_into()) {
      // A whole inner chunk whose place in the output is a dense block: decode straight into it.
      if (std::byte* target = sink.direct_target(item.parts, inner_shape_)) {
        std::int64_t n = shard_.dtype.size;
        for (std::int64_t c : inner_shape_) n *= c;
        inner_.decode_into(std::move(chunk), {target, static_cast<std::size_t>(n)}, inner_ctx);
        return;
      }
    }
    CodecChain::Decoded decoded = inner_.decode(std::move(chunk), inner_ctx);
    sink.put(decoded.view, item.parts);
  });
  return true;
}

ChunkView ShardingCodec::decode(Buffer& bytes, const ChunkSpec& spec, const DecodeContext& ctx) const {
  Buffer out(static_cast<std::size_t>(spec.num_bytes()));
  std::vector<plan::DimPart> full;
  std::vector<const plan::DimPart*> parts;
  full.reserve(spec.shape.size());
  for (std::int64_t n : spec.shape) full.push_back(plan::full_part(n));
  for (const auto& p : full) parts.push_back(&p);
  const std::vector<std::int64_t> strides = c_order_strides(spec.shape, spec.dtype.size);
  exec::HostSink sink(out.data(), strides, spec.dtype.size);
  read_region(BufferShardSource(bytes.span()), parts, sink, ctx);
  bytes = std::move(out);
  return ChunkView{bytes.data(), spec.shape, strides};
}

std::optional<std::int64_t> ShardingCodec::max_encoded_size(const ChunkSpec&) const {
  std::int64_t count = 1;
  for (std::int64_t g : grid_) count *= g;
  const std::int64_t inner = inner_.encoded_limit();
  if (count > 0 && inner > (std::numeric_limits<std::int64_t>::max() / 2 - index_bytes_) / count) return std::nullopt;
  return index_bytes_ + count * inner;
}

std::string ShardingCodec::describe() const {
  return "sharding_indexed[" + inner_.describe() + "]";
}

}  // namespace cuzarr::codec
