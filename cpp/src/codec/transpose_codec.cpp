#include "codec/transpose_codec.hpp"

namespace cuzarr::codec {

ChunkSpec TransposeCodec::encoded_spec(const ChunkSpec& decoded) const {
  ChunkSpec enc{std::vector<std::int64_t>(order_.size()), decoded.dtype};
  for (std::size_t i = 0; i < order_.size(); ++i) enc.shape[i] = decoded.shape[order_[i]];
  return enc;
}

ChunkView TransposeCodec::decode(ChunkView encoded, const ChunkSpec& decoded, Buffer&,
                                 const DecodeContext&) const {
  ChunkView out{encoded.data, decoded.shape, std::vector<std::int64_t>(order_.size()), encoded.swap_unit};
  for (std::size_t i = 0; i < order_.size(); ++i) out.byte_strides[order_[i]] = encoded.byte_strides[i];
  return out;
}

ChunkView TransposeCodec::encode(ChunkView decoded, const ChunkSpec&, Buffer&, const EncodeContext&) const {
  ChunkView out{decoded.data, std::vector<std::int64_t>(order_.size()), std::vector<std::int64_t>(order_.size()),
                decoded.swap_unit};
  for (std::size_t i = 0; i < order_.size(); ++i) {
    out.shape[i] = decoded.shape[order_[i]];
    out.byte_strides[i] = decoded.byte_strides[order_[i]];
  }
  return out;
}

}  // namespace cuzarr::codec
