#include "codec/bytes_codec.hpp"

#include <cstring>

#include "codec/element_ops.hpp"
#include "cuzarr/error.hpp"

namespace cuzarr::codec {
namespace {

template <typename U>
void swap_all(std::byte* data, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    U v;
    std::memcpy(&v, data + i * static_cast<std::int64_t>(sizeof(U)), sizeof(U));
    if constexpr (sizeof(U) == 2) v = __builtin_bswap16(v);
    if constexpr (sizeof(U) == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof(U) == 8) v = __builtin_bswap64(v);
    std::memcpy(data + i * static_cast<std::int64_t>(sizeof(U)), &v, sizeof(U));
  }
}

}  // namespace

void byteswap_in_place(std::byte* data, std::int64_t count, const DataType& dtype) {
  // A complex number is two floats, each swapped on its own; UCS-4 text is swapped per code unit.
  const int unit = dtype.swap_unit();
  if (unit == 0) return;
  const std::int64_t units = count * (dtype.size / unit);
  switch (unit) {
    case 2: swap_all<std::uint16_t>(data, units); break;
    case 4: swap_all<std::uint32_t>(data, units); break;
    case 8: swap_all<std::uint64_t>(data, units); break;
    default: break;
  }
}

ChunkView BytesCodec::decode(Buffer& bytes, const ChunkSpec& spec, const DecodeContext& ctx) const {
  const std::int64_t expected = spec.num_bytes();
  if (static_cast<std::int64_t>(bytes.size()) != expected) {
    throw CodecError(ctx.describe(name()) + ": chunk is " + std::to_string(bytes.size()) +
                     " bytes, expected " + std::to_string(expected));
  }
  ChunkView view{bytes.data(), spec.shape, c_order_strides(spec.shape, spec.dtype.size)};
  if (endian_ != native_endian() && spec.dtype.swap_unit() != 0) {
    if (ctx.defer_byteswap) {
      view.swap_unit = spec.dtype.swap_unit();
    } else {
      byteswap_in_place(bytes.data(), spec.num_elements(), spec.dtype);
    }
  }
  return view;
}

Buffer gather_c_order(const ChunkView& view, const DataType& dtype) {
  Buffer tmp;
  const std::byte* flat = c_order_elements(view, dtype, tmp);
  if (flat == tmp.data() && tmp.size() > 0) return tmp;
  return Buffer::copy_of({flat, static_cast<std::size_t>(element_count(view.shape) * dtype.size)});
}

Buffer BytesCodec::encode(const ChunkView& chunk, const ChunkSpec& spec, const EncodeContext&) const {
  Buffer out = gather_c_order(chunk, spec.dtype);
  if (endian_ != native_endian()) byteswap_in_place(out.data(), spec.num_elements(), spec.dtype);
  return out;
}

}  // namespace cuzarr::codec
