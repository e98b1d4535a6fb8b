// v3 "sharding_indexed": a stored chunk (shard) holds a grid of inner chunks, each encoded with
// an inner codec chain, plus an index of (offset, nbytes) per inner chunk at its start or end.
// The codec knows the format only: where the index lies, how to parse and check it, and how to
// decode a whole shard that is already in memory. Reads that fetch the index and then only the
// inner chunks a selection needs are the read engine's (exec/shard_source.hpp): inner chunks
// become ordinary chunks of the read, so they are fetched, batched and decoded like any other.
#pragma once

#include <cstdint>
#include <vector>

#include "codec/codec_chain.hpp"
#include "cuzarr/store.hpp"

namespace cuzarr::codec {

class ShardingCodec final : public ArrayToBytesCodec {
 public:
  ShardingCodec(const ChunkSpec& shard, std::vector<std::int64_t> inner_shape, CodecChain inner,
                CodecChain index, bool index_at_end, std::vector<std::byte> fill_value);

  std::string name() const override { return "sharding_indexed"; }
  std::optional<std::int64_t> encoded_size(const ChunkSpec&) const override { return std::nullopt; }
  // The index plus every inner chunk at its largest.
  std::optional<std::int64_t> max_encoded_size(const ChunkSpec&) const override;
  // Decodes a whole shard held in `bytes`; `bytes` is replaced by the decoded shard (C order).
  ChunkView decode(Buffer& bytes, const ChunkSpec& spec, const DecodeContext& ctx) const override;
  // Assembles a whole shard: each inner chunk encoded by the inner chain, those holding only the
  // fill value left out (marked absent in the index), the index at its end.
  bool can_encode() const override { return inner_.can_encode() && index_.can_encode(); }
  Buffer encode(const ChunkView& shard, const ChunkSpec& spec, const EncodeContext& ctx) const override;
  const CodecChain& index_chain() const { return index_; }

  // Where one inner chunk's bytes lie in the shard.
  struct Entry {
    std::uint64_t offset = 0, nbytes = 0;
    bool missing() const { return offset == ~std::uint64_t{0} && nbytes == ~std::uint64_t{0}; }
  };
  // The end of the shard that holds the index, and the index's size in bytes.
  Edge index_edge() const { return index_at_end_ ? Edge::Back : Edge::Front; }
  std::uint64_t index_bytes() const { return static_cast<std::uint64_t>(index_bytes_); }
  // Decodes and checks the index (its checksum, every entry inside a shard of `shard_size`
  // bytes): one entry per inner chunk, in C order of the grid. CodecError naming ctx's chunk.
  std::vector<Entry> parse_index(Buffer index, std::uint64_t shard_size, const DecodeContext& ctx) const;

  const CodecChain& inner() const { return inner_; }
  const std::vector<std::int64_t>& inner_shape() const { return inner_shape_; }
  const std::vector<std::int64_t>& grid() const { return grid_; }  // inner chunks per dimension
  const std::vector<std::byte>& fill_value() const { return fill_; }
  std::string describe() const;

 private:
  ChunkSpec shard_;
  std::vector<std::int64_t> inner_shape_;
  std::vector<std::int64_t> grid_;
  CodecChain inner_;
  CodecChain index_;
  std::int64_t index_bytes_ = 0;
  bool index_at_end_ = true;
  std::vector<std::byte> fill_;
};

// "2,0,1": an inner chunk's grid coordinates, for messages.
std::string coords_text(const std::vector<std::int64_t>& coords);

}  // namespace cuzarr::codec
