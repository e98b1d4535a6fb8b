#include "codec/codec.hpp"

#include <cstring>

#include "cuzarr/error.hpp"

namespace cuzarr::codec {

std::int64_t element_count(std::span<const std::int64_t> shape) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  return n;
}

std::int64_t ChunkSpec::num_elements() const { return element_count(shape); }

std::vector<std::int64_t> c_order_strides(const std::vector<std::int64_t>& shape, std::int64_t itemsize) {
  std::vector<std::int64_t> strides(shape.size());
  std::int64_t s = itemsize;
  for (std::size_t d = shape.size(); d-- > 0;) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

bool all_equal(const ChunkView& view, std::span<const std::byte> element) {
  const std::size_t rank = view.shape.size();
  const std::size_t size = element.size();
  if (element_count(view.shape) == 0) return true;
  std::vector<std::int64_t> index(rank, 0);
  const std::byte* p = view.data;
  while (true) {
    if (std::memcmp(p, element.data(), size) != 0) return false;
    std::size_t d = rank;
    while (d-- > 0) {
      p += view.byte_strides[d];
      if (++index[d] < view.shape[d]) break;
      p -= view.byte_strides[d] * view.shape[d];
      index[d] = 0;
    }
    if (d == static_cast<std::size_t>(-1)) return true;
  }
}

void BytesToBytesCodec::decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const {
  const Buffer decoded = decode(std::move(encoded), static_cast<std::int64_t>(out.size()), ctx);
  if (!out.empty()) std::memcpy(out.data(), decoded.data(), out.size());
}

std::string no_encoder_message(std::string_view array, std::string_view codec) {
  return "array '" + std::string(array) + "': codec '" + std::string(codec) +
         "' has no encoder in cuzarr: arrays using it can be read, not written";
}

void no_encoder(std::string_view array, std::string_view codec) {
  throw UnsupportedError(no_encoder_message(array, codec));
}

std::string BytesToBytesCodec::encode_refusal(std::string_view array) const { return no_encoder_message(array, name()); }

Buffer BytesToBytesCodec::encode(Buffer, const EncodeContext& ctx) const { no_encoder(ctx.array, name()); }

Buffer ArrayToBytesCodec::encode(const ChunkView&, const ChunkSpec&, const EncodeContext& ctx) const {
  no_encoder(ctx.array, name());
}

ChunkView ArrayToArrayCodec::encode(ChunkView, const ChunkSpec&, Buffer&, const EncodeContext& ctx) const {
  no_encoder(ctx.array, name());
}

std::string DecodeContext::describe(std::string_view codec) const {
  return "array '" + std::string(array) + "', chunk '" + std::string(key) + "', codec '" +
         std::string(codec) + "'";
}

}  // namespace cuzarr::codec
