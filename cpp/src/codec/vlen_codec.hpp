// numcodecs' variable-length object codecs as array→bytes codecs: "vlen-utf8", "vlen-bytes" (v2
// object arrays, v3 "string" / "variable_length_bytes") and "vlen-array" (v2 only). A chunk is a
// little-endian uint32 item count, then per item a little-endian uint32 byte length and the
// bytes. Decoding gives one record per item (see kVlenRecordSize in cuzarr/dtype.hpp) followed by
// the items' bytes, in one buffer.
#pragma once

#include "codec/codec.hpp"

namespace cuzarr::codec {

class VlenCodec final : public ArrayToBytesCodec {
 public:
  // `item_size`: the element size of vlen-array items (their byte length must be a multiple of
  // it), 1 otherwise. `utf8`: items must be well-formed UTF-8.
  VlenCodec(std::string name, int item_size, bool utf8) : name_(std::move(name)), item_size_(item_size), utf8_(utf8) {}
  std::string name() const override { return name_; }
  std::optional<std::int64_t> encoded_size(const ChunkSpec&) const override { return std::nullopt; }
  ChunkView decode(Buffer& bytes, const ChunkSpec& spec, const DecodeContext& ctx) const override;

 private:
  std::string name_;
  int item_size_;
  bool utf8_;
};

}  // namespace cuzarr::codec
