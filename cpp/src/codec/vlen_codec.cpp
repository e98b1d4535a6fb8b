#include "codec/vlen_codec.hpp"

#include <cstring>
#include <string_view>

#include "cuzarr/error.hpp"
#include "metadata/utf8.hpp"

namespace cuzarr::codec {
namespace {

std::uint32_t load_u32le(const std::byte* p) {
  const auto b = [&](int k) { return static_cast<std::uint32_t>(static_cast<std::uint8_t>(p[k])); };
  return b(0) | (b(1) << 8) | (b(2) << 16) | (b(3) << 24);
}

}  // namespace

ChunkView VlenCodec::decode(Buffer& bytes, const ChunkSpec& spec, const DecodeContext& ctx) const {
  const auto fail = [&](const std::string& why) { throw CodecError(ctx.describe(name_) + ": " + why); };
  const std::int64_t size = static_cast<std::int64_t>(bytes.size());
  const std::byte* in = bytes.data();
  if (size < 4) fail("chunk is " + std::to_string(size) + " bytes, too short for the item count");
  const std::int64_t count = load_u32le(in);
  const std::int64_t expected = spec.num_elements();
  if (count != expected) {
    fail("chunk holds " + std::to_string(count) + " items, expected " + std::to_string(expected));
  }
  // First pass: check every length against what is left, so that the second pass cannot overrun.
  std::int64_t pos = 4, payload = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    if (size - pos < 4) fail("item " + std::to_string(i) + " of " + std::to_string(count) + ": chunk ends inside its length");
    const std::int64_t length = load_u32le(in + pos);
    pos += 4;
    if (length > size - pos) {
      fail("item " + std::to_string(i) + " has length " + std::to_string(length) + " but only " +
           std::to_string(size - pos) + " bytes follow");
    }
    if (length % item_size_ != 0) {
      fail("item " + std::to_string(i) + " has length " + std::to_string(length) + ", not a multiple of its element size " +
           std::to_string(item_size_));
    }
    if (utf8_ && !metadata::valid_utf8(std::string_view(reinterpret_cast<const char*>(in + pos), static_cast<std::size_t>(length)))) {
      fail("item " + std::to_string(i) + " is not valid UTF-8");
    }
    pos += length;
    payload += length;
  }
  if (pos != size) fail(std::to_string(size - pos) + " bytes follow the last item");

  Buffer out(static_cast<std::size_t>(count * kVlenRecordSize + payload));
  std::byte* records = out.data();
  std::int64_t at = count * kVlenRecordSize;  // where the next item's bytes go
  pos = 4;
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t length = load_u32le(in + pos);
    pos += 4;
    const std::int64_t record[2] = {at - i * kVlenRecordSize, length};
    std::memcpy(records + i * kVlenRecordSize, record, sizeof(record));
    if (length != 0) std::memcpy(records + at, in + pos, static_cast<std::size_t>(length));
    pos += length;
    at += length;
  }
  bytes = std::move(out);
  return ChunkView{bytes.data(), spec.shape, c_order_strides(spec.shape, kVlenRecordSize)};
}

}  // namespace cuzarr::codec
