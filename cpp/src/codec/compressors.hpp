// bytes→bytes codecs backed by the standard libraries: zstd, zlib/gzip, bz2, lz4 (numcodecs
// framing), blosc 1.x, lzma. Every decompressor is told the expected output
// size when the chain knows it, and the result must match exactly. zstd, zlib/gzip, lz4 and blosc
// also encode, with the same libraries and the settings of their configuration (level, blosc
// cname/shuffle/typesize/blocksize); the decoders need none of those.
#pragma once

#include "codec/codec.hpp"
#include "metadata/json_util.hpp"

namespace cuzarr::codec {

class ZstdCodec final : public BytesToBytesCodec {
 public:
  // `level` 0 is libzstd's default (3), as numcodecs and zarr-python mean it.
  explicit ZstdCodec(int level = 0, bool checksum = false) : level_(level), checksum_(checksum) {}
  std::string name() const override { return "zstd"; }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;
  void decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const override;
  bool can_encode() const override { return true; }
  Buffer encode(Buffer decoded, const EncodeContext& ctx) const override;

 private:
  int level_;
  bool checksum_;
};

// zlib streams (v2 "zlib") and gzip members (v2 and v3 "gzip").
class DeflateCodec final : public BytesToBytesCodec {
 public:
  explicit DeflateCodec(bool gzip, int level = 1) : gzip_(gzip), level_(level) {}
  std::string name() const override { return gzip_ ? "gzip" : "zlib"; }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;
  bool can_encode() const override { return true; }
  Buffer encode(Buffer decoded, const EncodeContext& ctx) const override;

 private:
  bool gzip_;
  int level_;
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
  explicit Lz4Codec(int acceleration = 1) : acceleration_(acceleration) {}
  std::string name() const override { return "lz4"; }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;
  void decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const override;
  bool can_encode() const override { return true; }
  Buffer encode(Buffer decoded, const EncodeContext& ctx) const override;

 private:
  int acceleration_;
};

// How blosc compresses: numcodecs' (v2 and numcodecs.blosc) or zarr v3's configuration.
struct BloscSettings {
  std::string cname = "lz4";
  int clevel = 5;
  int shuffle = 1;  // 0 none, 1 byte, 2 bit (numcodecs' AUTOSHUFFLE -1 resolved from typesize)
  int typesize = 1;
  std::int64_t blocksize = 0;  // 0: blosc chooses
};

class BloscCodec final : public BytesToBytesCodec {
 public:
  BloscCodec() = default;
  explicit BloscCodec(BloscSettings settings) : settings_(std::move(settings)) {}
  std::string name() const override { return "blosc"; }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;
  void decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const override;
  bool can_encode() const override { return true; }
  Buffer encode(Buffer decoded, const EncodeContext& ctx) const override;

 private:
  BloscSettings settings_;
};

// The settings of a blosc configuration (v3 "shuffle" names or numcodecs integers, -1 meaning
// bit shuffle for 1-byte items and byte shuffle otherwise); `typesize` when it names none.
// MetadataError naming `where` for values blosc does not know.
BloscSettings blosc_settings(const metadata::Json& configuration, int typesize, const std::string& where);

// numcodecs Base64 (v2 only): the bytes as standard base64 text.
class Base64Codec final : public BytesToBytesCodec {
 public:
  std::string name() const override { return "base64"; }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;
};

// numcodecs LZMA (Python's lzma module): .xz (format 1, the default), legacy .lzma (2), raw
// streams (3) described by `filters`, or either container (0). Built with liblzma; without it
// the registry refuses the codec and names the library.
class LzmaCodec final : public BytesToBytesCodec {
 public:
  // Throws MetadataError naming `array` for a configuration that cannot be decoded.
  LzmaCodec(std::string name, const metadata::Json& configuration, const std::string& array);
  std::string name() const override { return name_; }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size,
                const DecodeContext& ctx) const override;

 private:
  std::string name_;
  int format_ = 1;
  metadata::Json filters_;  // for raw streams: [{"id": ..., options}, ...]
};

// CRC-32C (Castagnoli), hardware-accelerated where the CPU has it.
std::uint32_t crc32c(const std::byte* data, std::size_t size);

}  // namespace cuzarr::codec
