// v3 "bytes" (and the raw layout of v2 chunks): elements in C order with a fixed byte order.
#pragma once

#include "codec/codec.hpp"

namespace cuzarr::codec {

class BytesCodec final : public ArrayToBytesCodec {
 public:
  explicit BytesCodec(Endian endian) : endian_(endian) {}
  std::string name() const override { return "bytes"; }
  std::optional<std::int64_t> encoded_size(const ChunkSpec& spec) const override {
    return spec.num_bytes();
  }
  ChunkView decode(Buffer& bytes, const ChunkSpec& spec, const DecodeContext& ctx) const override;
  bool can_encode() const override { return true; }
  Buffer encode(const ChunkView& chunk, const ChunkSpec& spec, const EncodeContext& ctx) const override;
  Endian endian() const { return endian_; }

 private:
  Endian endian_;
};

// Reverses the byte order of `count` elements of `size` bytes in place; complex values swap
// their two halves separately.
void byteswap_in_place(std::byte* data, std::int64_t count, const DataType& dtype);

// The elements of `view` (native byte order, any strides) as a new C-ordered buffer.
Buffer gather_c_order(const ChunkView& view, const DataType& dtype);

}  // namespace cuzarr::codec
