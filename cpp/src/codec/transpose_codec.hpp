// v3 "transpose" (and v2 order "F"): encoded dimension i is decoded dimension order[i]. Decoding
// permutes the view's strides; no bytes move.
#pragma once

#include "codec/codec.hpp"

namespace cuzarr::codec {

class TransposeCodec final : public ArrayToArrayCodec {
 public:
  // `order` must be a permutation of 0..rank-1 (checked by the chain builder).
  explicit TransposeCodec(std::vector<std::int64_t> order) : order_(std::move(order)) {}
  std::string name() const override { return "transpose"; }
  ChunkSpec encoded_spec(const ChunkSpec& decoded) const override;
  ChunkView decode(ChunkView encoded, const ChunkSpec& decoded, Buffer& scratch,
                   const DecodeContext& ctx) const override;
  bool can_encode() const override { return true; }
  // Permutes the view's strides back; no bytes move.
  ChunkView encode(ChunkView decoded, const ChunkSpec& decoded_spec, Buffer& scratch,
                   const EncodeContext& ctx) const override;

 private:
  std::vector<std::int64_t> order_;
};

}  // namespace cuzarr::codec
