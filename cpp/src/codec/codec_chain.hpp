// A codec list resolved once per array against its chunk shape and data type (sizes, view
// layouts), then used for every chunk.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "codec/codec.hpp"
#include "metadata/array_meta.hpp"

namespace cuzarr::codec {

class ShardingCodec;

class CodecChain {
 public:
  // Throws UnsupportedError for a codec cuzarr lacks and MetadataError for a bad configuration or
  // order; messages name `array` and the codec.
  // `fill_value` (one element) is what missing inner chunks of a shard read as.
  static CodecChain prepare(const std::vector<metadata::CodecSpec>& specs, const ChunkSpec& chunk,
                            const std::vector<std::byte>& fill_value, const std::string& array);

  struct Decoded {
    Buffer storage;               // the encoded bytes, possibly decoded in place
    std::vector<Buffer> scratch;  // one per array→array stage that needed a copy
    ChunkView view;               // the chunk, shape = the array's chunk shape, native order
  };
  Decoded decode(Buffer encoded, const DecodeContext& ctx) const;

  // Whether decode_into works: the chain ends in the bytes codec with no array→array codec, so
  // a decoded chunk is C-ordered and can be written straight into the caller's memory.
  bool can_decode_into() const { return direct_; }
  // Whether a stored chunk is exactly the chunk's elements (bytes codec only).
  bool stored_raw() const { return direct_ && bytes_to_bytes_.empty(); }
  // Decodes a whole chunk into `out` (C order, native byte order, exactly one chunk's bytes):
  // the last decompressor writes there directly. Requires can_decode_into().
  void decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const;
  // Reverses the byte order of a chunk in `out` when the stored order is not native (for raw
  // chunks read straight into place).
  void swap_in_place(std::span<std::byte> out) const;

  // An upper bound on a valid stored chunk's size (compressors' worst expansion included).
  std::int64_t encoded_limit() const { return encoded_limit_; }

  // Encoded size of a stored chunk when every codec keeps sizes fixed (no compression).
  std::optional<std::int64_t> fixed_encoded_size() const;
  // Names in storage order, e.g. "transpose, bytes".
  std::string describe() const;
  // The sharding codec, when the chain is exactly one sharding_indexed codec, so that a read can
  // fetch only the inner chunks it needs instead of whole shards.
  const ShardingCodec* shard_reader() const;
  // When a stored chunk is the raw elements (bytes codec, no bytes→bytes codecs, only
  // transposes): the view decode would give of a chunk at `data`, without touching the data, and
  // with byte swapping left to the consumer. nullopt otherwise.
  std::optional<ChunkView> raw_view(const std::byte* data) const;
  // For GPU decompression: when a stored chunk is one compressor's output over the raw elements
  // (bytes codec, only transposes above it, nothing after the compressor), that compressor's name
  // and the view its decompressed bytes at `data` have (byte swapping left to the consumer).
  struct CompressedLayout {
    std::string compressor;
    ChunkView view;
    std::int64_t decoded_size = 0;
  };
  std::optional<CompressedLayout> compressed_layout(const std::byte* data) const;

 private:
  std::vector<std::unique_ptr<const ArrayToArrayCodec>> array_to_array_;
  std::vector<ChunkSpec> decoded_specs_;  // the decoded spec of each array→array stage
  std::unique_ptr<const ArrayToBytesCodec> array_to_bytes_;
  ChunkSpec bytes_spec_;  // what the array→bytes codec decodes to
  std::vector<std::unique_ptr<const BytesToBytesCodec>> bytes_to_bytes_;
  std::vector<std::optional<std::int64_t>> decoded_sizes_;  // per bytes→bytes stage
  std::vector<std::int64_t> decoded_limits_;                // bound where the size is unknown
  std::optional<ChunkView> bytes_view(const std::byte* data) const;  // the elements' view, before compression
  DecodeContext stage_context(const DecodeContext& ctx, std::size_t stage) const;
  std::optional<std::int64_t> encoded_size_;                // of a whole stored chunk
  std::int64_t encoded_limit_ = 0;
  bool views_only_ = true;  // every array→array codec only permutes the view (transpose)
  bool direct_ = false;     // see can_decode_into()
};

}  // namespace cuzarr::codec
