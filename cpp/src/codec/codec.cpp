#include "codec/codec.hpp"

#include <cstring>

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

void BytesToBytesCodec::decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const {
  const Buffer decoded = decode(std::move(encoded), static_cast<std::int64_t>(out.size()), ctx);
  if (!out.empty()) std::memcpy(out.data(), decoded.data(), out.size());
}

std::string DecodeContext::describe(std::string_view codec) const {
  return "array '" + std::string(array) + "', chunk '" + std::string(key) + "', codec '" +
         std::string(codec) + "'";
}

}  // namespace cuzarr::codec
