#include "codec/sharding_codec.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "cuzarr/error.hpp"

namespace cuzarr::codec {
namespace {

// Copies every element of `src` to dst + sum(i_k * dst_strides[k]) (a block of the decoded
// shard); a zero source stride repeats one element (the fill value).
void copy_block(const ChunkView& src, std::byte* dst, const std::vector<std::int64_t>& dst_strides, int itemsize,
                std::size_t dim = 0, std::int64_t src_off = 0, std::int64_t dst_off = 0) {
  const std::int64_t n = src.shape[dim];
  if (dim + 1 == src.shape.size()) {
    if (src.byte_strides[dim] == itemsize && dst_strides[dim] == itemsize) {
      std::memcpy(dst + dst_off, src.data + src_off, static_cast<std::size_t>(n * itemsize));
      return;
    }
    for (std::int64_t i = 0; i < n; ++i) {
      std::memcpy(dst + dst_off + i * dst_strides[dim], src.data + src_off + i * src.byte_strides[dim],
                  static_cast<std::size_t>(itemsize));
    }
    return;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    copy_block(src, dst, dst_strides, itemsize, dim + 1, src_off + i * src.byte_strides[dim],
               dst_off + i * dst_strides[dim]);
  }
}

}  // namespace

std::string coords_text(const std::vector<std::int64_t>& c) {
  std::string s;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(c[i]);
  }
  return s;
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

std::vector<ShardingCodec::Entry> ShardingCodec::parse_index(Buffer bytes, std::uint64_t shard_size,
                                                            const DecodeContext& ctx) const {
  const auto index_bytes = static_cast<std::uint64_t>(index_bytes_);
  if (shard_size < index_bytes || bytes.size() != index_bytes) {
    throw CodecError(ctx.describe(name()) + ": shard is " + std::to_string(shard_size) +
                     " bytes, smaller than its index (" + std::to_string(index_bytes) + " bytes)");
  }
  CodecChain::Decoded index = index_.decode(std::move(bytes), ctx);
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

ChunkView ShardingCodec::decode(Buffer& bytes, const ChunkSpec& spec, const DecodeContext& ctx) const {
  // A shard under another codec (a compressor over the whole shard) is decoded in memory.
  const std::uint64_t size = bytes.size();
  const std::uint64_t at = index_at_end_ ? size - std::min(size, index_bytes()) : 0;
  std::vector<Entry> entries =
      parse_index(Buffer::copy_of(bytes.span().subspan(at, std::min(size, index_bytes()))), size, ctx);
  Buffer out(static_cast<std::size_t>(spec.num_bytes()));
  const std::vector<std::int64_t> strides = c_order_strides(spec.shape, spec.dtype.size);
  const std::size_t rank = grid_.size();
  const ChunkView fill{fill_.data(), inner_shape_, std::vector<std::int64_t>(rank, 0)};
  std::vector<std::int64_t> coord(rank, 0);
  for (const Entry& e : entries) {
    std::int64_t origin = 0;
    for (std::size_t d = 0; d < rank; ++d) origin += coord[d] * inner_shape_[d] * strides[d];
    if (e.missing()) {
      copy_block(fill, out.data() + origin, strides, spec.dtype.size);
    } else {
      const std::string key = std::string(ctx.key) + " (inner chunk " + coords_text(coord) + ")";
      DecodeContext inner_ctx = ctx;
      inner_ctx.key = key;
      inner_ctx.defer_byteswap = false;
      const CodecChain::Decoded d = inner_.decode(Buffer::copy_of(bytes.span().subspan(e.offset, e.nbytes)), inner_ctx);
      copy_block(d.view, out.data() + origin, strides, spec.dtype.size);
    }
    for (std::size_t d = rank; d-- > 0;) {
      if (++coord[d] < grid_[d]) break;
      coord[d] = 0;
    }
  }
  bytes = std::move(out);
  return ChunkView{bytes.data(), spec.shape, strides};
}

Buffer ShardingCodec::encode(const ChunkView& shard, const ChunkSpec& spec, const EncodeContext& ctx) const {
  const std::size_t rank = grid_.size();
  std::int64_t count = 1;
  for (std::int64_t g : grid_) count *= g;
  std::vector<std::uint64_t> index(static_cast<std::size_t>(2 * count), ~std::uint64_t{0});
  std::vector<Buffer> pieces;
  std::uint64_t body = 0;
  std::vector<std::int64_t> coord(rank, 0);
  for (std::int64_t i = 0; i < count; ++i) {
    ChunkView inner{shard.data, inner_shape_, shard.byte_strides};
    for (std::size_t d = 0; d < rank; ++d) inner.data += coord[d] * inner_shape_[d] * shard.byte_strides[d];
    if (!all_equal(inner, fill_)) {
      const std::string key = std::string(ctx.key) + " (inner chunk " + coords_text(coord) + ")";
      EncodeContext inner_ctx = ctx;
      inner_ctx.key = key;
      pieces.push_back(inner_.encode(inner, inner_ctx));
      index[static_cast<std::size_t>(2 * i)] = body;
      index[static_cast<std::size_t>(2 * i + 1)] = pieces.back().size();
      body += pieces.back().size();
    }
    for (std::size_t d = rank; d-- > 0;) {
      if (++coord[d] < grid_[d]) break;
      coord[d] = 0;
    }
  }
  const std::uint64_t head = index_at_end_ ? 0 : static_cast<std::uint64_t>(index_bytes_);
  if (head != 0) {
    for (std::size_t i = 0; i < index.size(); i += 2) {
      if (index[i + 1] != ~std::uint64_t{0}) index[i] += head;
    }
  }
  std::vector<std::int64_t> index_shape = grid_;
  index_shape.push_back(2);
  const ChunkView index_view{reinterpret_cast<const std::byte*>(index.data()), index_shape, c_order_strides(index_shape, 8)};
  const Buffer encoded_index = index_.encode(index_view, ctx);
  Buffer out(static_cast<std::size_t>(body) + encoded_index.size());
  std::byte* at = out.data();
  auto append = [&](const Buffer& b) {
    if (b.size() > 0) std::memcpy(at, b.data(), b.size());
    at += b.size();
  };
  if (!index_at_end_) append(encoded_index);
  for (const Buffer& p : pieces) append(p);
  if (index_at_end_) append(encoded_index);
  (void)spec;
  return out;
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
