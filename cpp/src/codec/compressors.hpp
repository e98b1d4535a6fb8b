// bytes→bytes codecs backed by the standard libraries: zstd, zlib/gzip, bz2, lz4 (numcodecs
// framing), blosc 1.x, and the crc32c checksum. Every decompressor is told the expected output
// size when the chain knows it, and the result must match exactly.
#pragma once

#include "codec/codec.hpp"

namespace cuzarr::codec {

class ZstdCodec final : public BytesToBytesCodec {
 public:
  std::string name() const override { return "zstd"; }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;
  void decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const override;
};

// zlib streams (v2 "zlib") and gzip members (v2 and v3 "gzip").
class DeflateCodec final : public BytesToBytesCodec {
 public:
  explicit DeflateCodec(bool gzip) : gzip_(gzip) {}
  std::string name() const override { return gzip_ ? "gzip" : "zlib"; }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;

 private:
  bool gzip_;
};

class Bz2Codec final : public BytesToBytesCodec {
 public:
  std::string name() const override { return "bz2"; }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;
};

// numcodecs LZ4: a 4-byte little-endian decoded size, then one LZ4 block.
class Lz4Codec final : public BytesToBytesCodec {
 public:
  std::string name() const override { return "lz4"; }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;
  void decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const override;
};

class BloscCodec final : public BytesToBytesCodec {
 public:
  std::string name() const override { return "blosc"; }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;
  void decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const override;
};

// v3 "crc32c": a little-endian CRC-32C of the data appended as 4 bytes.
class Crc32cCodec final : public BytesToBytesCodec {
 public:
  std::string name() const override { return "crc32c"; }
  std::optional<std::int64_t> encoded_size(std::optional<std::int64_t> decoded) const override {
    if (!decoded) return std::nullopt;
    return *decoded + 4;
  }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;
};

std::uint32_t crc32c(const std::byte* data, std::size_t size);

}  // namespace cuzarr::codec
