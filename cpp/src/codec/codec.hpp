// The three kinds of codec of the Zarr v3 model. A chunk is decoded by running the bytes→bytes
// codecs in reverse, then the array→bytes codec, then the array→array codecs in reverse.
// Decoded chunks are strided views, so codecs that only reorder (transpose, v2 order "F") cost
// nothing: they permute the view's strides and the place step does the single copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/buffer.hpp"
#include "cuzarr/dtype.hpp"

namespace cuzarr::exec {
class ThreadPool;
}

namespace cuzarr::codec {

// The array a codec produces on decode: shape and element type.
struct ChunkSpec {
  std::vector<std::int64_t> shape;
  DataType dtype;

  std::int64_t num_elements() const;
  std::int64_t num_bytes() const { return num_elements() * dtype.size; }
};

// A decoded array in host memory: element (i0, i1, ...) is at data + sum(i_k * byte_strides[k]).
struct ChunkView {
  const std::byte* data = nullptr;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> byte_strides;
  // 0 when elements are in native byte order; otherwise the size of the units whose bytes are
  // still to be reversed (the element size, or half of it for complex numbers).
  int swap_unit = 0;
};

std::vector<std::int64_t> c_order_strides(const std::vector<std::int64_t>& shape, std::int64_t itemsize);
// Whether every element of `view` has the bytes of `element` (one element, native order): a
// chunk that holds only the fill value is not stored. Bytes, not values: -0.0 is not 0.0 here,
// and a NaN matches only a NaN of the same bits.
bool all_equal(const ChunkView& view, std::span<const std::byte> element);
// The number of elements of an array of `shape` (1 for no dimensions).
std::int64_t element_count(std::span<const std::int64_t> shape);

// Where a decode runs, for messages: "array 'x.zarr/t', chunk 'c/0/1', codec 'bytes'".
struct DecodeContext {
  std::string_view array;
  std::string_view key;
  // The consumer swaps bytes itself (GPU path): the bytes codec may leave them unswapped.
  bool defer_byteswap = false;
  // Upper bound on what a decompressor may produce when the exact size is unknown (a compressor
  // stacked on another); the chain derives it from the chunk size, so a bomb cannot allocate more.
  std::int64_t size_limit = std::int64_t{1} << 34;
  // Threads a codec may use for independent work inside one chunk (a shard's inner chunks);
  // null runs it on the calling thread.
  exec::ThreadPool* pool = nullptr;

  std::string describe(std::string_view codec) const;
};

// Where an encode runs, for messages: the same fields (array, chunk key, pool).
using EncodeContext = DecodeContext;

// The UnsupportedError of a codec that has no encoder, naming the array and the codec.
std::string no_encoder_message(std::string_view array, std::string_view codec);
[[noreturn]] void no_encoder(std::string_view array, std::string_view codec);

class BytesToBytesCodec {
 public:
  virtual ~BytesToBytesCodec() = default;
  virtual std::string name() const = 0;
  // Size of the encoded form, when it follows from the decoded size (checksums); nullopt for
  // compressors.
  virtual std::optional<std::int64_t> encoded_size(std::optional<std::int64_t> decoded) const {
    (void)decoded;
    return std::nullopt;
  }
  // `decoded_size`, when known, is the exact size the result must have.
  virtual Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                        const DecodeContext& ctx) const = 0;
  // Decodes into `out` (the caller's memory, e.g. the output array), whose size is the exact
  // decoded size. The default decodes into a buffer and copies; decompressors write in place.
  virtual void decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const;
  // Whether encode works (a write checks every codec before it touches the store), and if not,
  // why: the message of the UnsupportedError a write of `array` gives.
  virtual bool can_encode() const { return false; }
  virtual std::string encode_refusal(std::string_view array) const;
  // The reverse of decode. Default: UnsupportedError naming the codec.
  virtual Buffer encode(Buffer decoded, const EncodeContext& ctx) const;
};

class ArrayToBytesCodec {
 public:
  virtual ~ArrayToBytesCodec() = default;
  virtual std::string name() const = 0;
  // Encoded size of a chunk of `spec`, when fixed.
  virtual std::optional<std::int64_t> encoded_size(const ChunkSpec& spec) const = 0;
  // An upper bound on the encoded size, when there is one (bounds decompressors stacked on top).
  virtual std::optional<std::int64_t> max_encoded_size(const ChunkSpec& spec) const { return encoded_size(spec); }
  // Decodes `bytes` (which it may modify in place and keep pointing into) into a view of `spec`.
  virtual ChunkView decode(Buffer& bytes, const ChunkSpec& spec, const DecodeContext& ctx) const = 0;
  virtual bool can_encode() const { return false; }
  // Encodes `chunk` (a view of `spec`, native byte order, any strides). Default: UnsupportedError.
  virtual Buffer encode(const ChunkView& chunk, const ChunkSpec& spec, const EncodeContext& ctx) const;
};

class ArrayToArrayCodec {
 public:
  virtual ~ArrayToArrayCodec() = default;
  virtual std::string name() const = 0;
  // The spec of the array this codec's encoded form has, given the decoded spec.
  virtual ChunkSpec encoded_spec(const ChunkSpec& decoded) const = 0;
  // Turns a view of the encoded array into a view of the decoded one; may write into `scratch`.
  virtual ChunkView decode(ChunkView encoded, const ChunkSpec& decoded, Buffer& scratch,
                           const DecodeContext& ctx) const = 0;
  // The fill value (one element of `decoded`, native byte order) as it reads in the encoded
  // array: what a missing inner chunk of a shard nested below this codec holds. Unchanged by
  // default (codecs that keep the data type).
  virtual std::vector<std::byte> encode_fill(std::vector<std::byte> fill, const ChunkSpec& decoded) const {
    (void)decoded;
    return fill;
  }
  virtual bool can_encode() const { return false; }
  // The reverse of decode: a view of the encoded array (native byte order), which may point into
  // `decoded`'s memory or into `scratch`. Default: UnsupportedError naming the codec.
  virtual ChunkView encode(ChunkView decoded, const ChunkSpec& decoded_spec, Buffer& scratch,
                           const EncodeContext& ctx) const;
};

}  // namespace cuzarr::codec
