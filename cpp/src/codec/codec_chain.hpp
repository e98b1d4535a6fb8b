// A codec list resolved once per array against its chunk shape and data type (sizes, view
// layouts), then used for every chunk.
#pragma once

#include <cstdint>
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

  // Encodes one chunk (a view of the chain's chunk shape, native byte order, any strides): the
  // array→array codecs, the array→bytes codec, then the bytes→bytes codecs, in order.
  Buffer encode(const ChunkView& chunk, const EncodeContext& ctx) const;
  // Whether every codec has an encoder; check_encodable throws the UnsupportedError (naming
  // `array` and the first codec without one) that a write must give before it touches the store.
  bool can_encode() const;
  void check_encodable(const std::string& array) const;

  // Whether decode_into works: the chain ends in the bytes codec with no array→array codec, so
  // a decoded chunk is C-ordered and can be written straight into the caller's memory.
  bool can_decode_into() const { return traits_.decode_into; }
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

  // What a read needs to know of every stored chunk, decided here once (read/exec never asks the
  // codecs again).
  enum class Form : std::uint8_t {
    // The stored bytes are the elements (bytes codec, transposes only): a read may take only the
    // byte ranges it needs, or read a chunk straight into place.
    Raw,
    // One bytes→bytes codec over raw elements: a GPU may decompress it (`compressor`).
    Compressed,
    // sharding_indexed and nothing else: the read fetches the shard's index and then only the
    // inner chunks it needs, each an ordinary chunk of the inner chain (`shard`).
    Sharded,
    // Anything else: decoded on the host, whole.
    Encoded,
  };
  struct Traits {
    Form form = Form::Encoded;
    bool decode_into = false;  // see can_decode_into()
    // Raw and Compressed: the view the raw (decompressed) bytes of a chunk at address 0 have,
    // transposes applied, byte swapping left to the consumer (swap_unit).
    ChunkView geometry;
    std::int64_t raw_bytes = 0;  // size of those bytes
    std::string compressor;      // Compressed: the codec's name
    const ShardingCodec* shard = nullptr;  // Sharded
  };
  const Traits& traits() const { return traits_; }

 private:
  std::vector<std::unique_ptr<const ArrayToArrayCodec>> array_to_array_;
  std::vector<ChunkSpec> decoded_specs_;  // the decoded spec of each array→array stage
  std::unique_ptr<const ArrayToBytesCodec> array_to_bytes_;
  ChunkSpec bytes_spec_;  // what the array→bytes codec decodes to
  std::vector<std::unique_ptr<const BytesToBytesCodec>> bytes_to_bytes_;
  std::vector<std::optional<std::int64_t>> decoded_sizes_;  // per bytes→bytes stage
  std::vector<std::int64_t> decoded_limits_;                // bound where the size is unknown
  std::optional<ChunkView> bytes_view() const;  // the elements' view, before compression
  Traits make_traits() const;
  DecodeContext stage_context(const DecodeContext& ctx, std::size_t stage) const;
  std::optional<std::int64_t> encoded_size_;                // of a whole stored chunk
  std::int64_t encoded_limit_ = 0;
  bool views_only_ = true;  // every array→array codec only permutes the view (transpose)
  Traits traits_;
};

}  // namespace cuzarr::codec
