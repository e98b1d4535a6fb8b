// v3 "sharding_indexed": a stored chunk (shard) holds a grid of inner chunks, each encoded with
// an inner codec chain, plus an index of (offset, nbytes) per inner chunk at its start or end.
// A read of part of a shard reads the index, then only the inner chunks the selection touches,
// merging byte ranges that lie close together into one read.
#pragma once

#include <span>

#include "codec/codec_chain.hpp"
#include "cuzarr/store.hpp"
#include "exec/sink.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::codec {

// The bytes of one shard: a store value read by ranges, or a buffer already in memory.
class ShardSource {
 public:
  virtual ~ShardSource() = default;
  // The first or last min(length, size) bytes and the shard's size, nullopt when the shard does
  // not exist: the index and the size come in one request, which matters over HTTP.
  virtual std::optional<EdgeRead> edge(Edge edge, std::uint64_t length) const = 0;
  virtual Buffer read(std::uint64_t offset, std::uint64_t length) const = 0;
};

class StoreShardSource final : public ShardSource {
 public:
  StoreShardSource(const Store& store, std::string key) : store_(store), key_(std::move(key)) {}
  std::optional<EdgeRead> edge(Edge edge, std::uint64_t length) const override;
  Buffer read(std::uint64_t offset, std::uint64_t length) const override;

 private:
  const Store& store_;
  std::string key_;
};

class ShardingCodec final : public ArrayToBytesCodec {
 public:
  ShardingCodec(const ChunkSpec& shard, std::vector<std::int64_t> inner_shape, CodecChain inner,
                CodecChain index, bool index_at_end, std::vector<std::byte> fill_value);

  std::string name() const override { return "sharding_indexed"; }
  std::optional<std::int64_t> encoded_size(const ChunkSpec&) const override { return std::nullopt; }
  // The index plus every inner chunk at its largest.
  std::optional<std::int64_t> max_encoded_size(const ChunkSpec&) const override;
  // Decodes a whole shard held in `bytes`; `bytes` is replaced by the decoded shard.
  ChunkView decode(Buffer& bytes, const ChunkSpec& spec, const DecodeContext& ctx) const override;

  // Puts the selected positions of the shard (`parts` are shard-local, one per dimension) into
  // `sink`. A missing shard or inner chunk reads as the fill value; returns false when the whole
  // shard is missing.
  bool read_region(const ShardSource& source, std::span<const plan::DimPart* const> parts,
                   exec::ChunkSink& sink, const DecodeContext& ctx) const;

  std::string describe() const;

 private:
  struct Entry {
    std::uint64_t offset, nbytes;
    bool missing() const { return offset == ~std::uint64_t{0} && nbytes == ~std::uint64_t{0}; }
  };
  // The index entries, from the shard's edge read (index bytes and shard size).
  std::vector<Entry> read_index(EdgeRead edge, const DecodeContext& ctx) const;

  ChunkSpec shard_;
  std::vector<std::int64_t> inner_shape_;
  std::vector<std::int64_t> grid_;  // inner chunks per dimension
  CodecChain inner_;
  CodecChain index_;
  std::int64_t index_bytes_ = 0;
  bool index_at_end_ = true;
  std::vector<std::byte> fill_;
};

}  // namespace cuzarr::codec
