#include "codec/registry.hpp"

#include <algorithm>
#include <array>

#include "codec/checksums.hpp"
#include "codec/compressors.hpp"
#include "codec/v2_filters.hpp"
#include "codec/value_codecs.hpp"
#include "cuzarr/error.hpp"

namespace cuzarr::codec {
namespace {

using metadata::CodecSpec;
using Kind = CodecKind;

// Decoding needs none of a compressor's configuration; encoding takes its level (and blosc's
// settings). Bad values are refused when the array is opened, naming the array and codec.
template <typename C>
BytesToBytesFactory plain() {
  return [](const CodecSpec&, const ChunkSpec&, const std::string&) -> std::unique_ptr<const BytesToBytesCodec> {
    return std::make_unique<C>();
  };
}

// A compressor whose configuration decodes but cannot encode (a level out of range, a blosc
// compressor this library lacks): reads work, a write is refused with the reason.
class ReadOnlyCodec final : public BytesToBytesCodec {
 public:
  ReadOnlyCodec(std::unique_ptr<const BytesToBytesCodec> codec, std::string why)
      : codec_(std::move(codec)), why_(std::move(why)) {}
  std::string name() const override { return codec_->name(); }
  std::optional<std::int64_t> encoded_size(std::optional<std::int64_t> decoded) const override {
    return codec_->encoded_size(decoded);
  }
  Buffer decode(Buffer encoded, std::optional<std::int64_t> decoded_size, const DecodeContext& ctx) const override {
    return codec_->decode(std::move(encoded), decoded_size, ctx);
  }
  void decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const override {
    codec_->decode_into(std::move(encoded), out, ctx);
  }
  std::string encode_refusal(std::string_view) const override { return why_; }

 private:
  std::unique_ptr<const BytesToBytesCodec> codec_;
  std::string why_;
};

// Builds a compressor from its configuration, or, when that is unfit for encoding, the default
// one wrapped so that only a write fails.
template <typename Make>
std::unique_ptr<const BytesToBytesCodec> configured(Make&& make, std::unique_ptr<const BytesToBytesCodec> fallback) {
  try {
    return make();
  } catch (const MetadataError& e) {
    return std::make_unique<ReadOnlyCodec>(std::move(fallback), e.what());
  }
}

int int_field(const CodecSpec& spec, const char* key, int fallback, int lo, int hi, const std::string& array) {
  const metadata::Json& c = spec.configuration;
  if (!c.contains(key) || c[key].is_null()) return fallback;
  if (!c[key].is_number_integer() || c[key].get<std::int64_t>() < lo || c[key].get<std::int64_t>() > hi) {
    throw MetadataError("array '" + array + "': codec '" + spec.name + "' configuration " + c.dump() + ": '" + key +
                        "' must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return c[key].get<int>();
}

std::unique_ptr<const BytesToBytesCodec> make_zstd(const CodecSpec& spec, const ChunkSpec&, const std::string& array) {
  const metadata::Json& c = spec.configuration;
  const bool checksum = c.contains("checksum") && c["checksum"].is_boolean() && c["checksum"].get<bool>();
  return configured([&] { return std::make_unique<ZstdCodec>(int_field(spec, "level", 0, -131072, 22, array), checksum); },
                    std::make_unique<ZstdCodec>());
}
std::unique_ptr<const BytesToBytesCodec> make_gzip(const CodecSpec& spec, const ChunkSpec&, const std::string& array) {
  return configured([&] { return std::make_unique<DeflateCodec>(true, int_field(spec, "level", 1, -1, 9, array)); },
                    std::make_unique<DeflateCodec>(true));
}
std::unique_ptr<const BytesToBytesCodec> make_zlib(const CodecSpec& spec, const ChunkSpec&, const std::string& array) {
  return configured([&] { return std::make_unique<DeflateCodec>(false, int_field(spec, "level", 1, -1, 9, array)); },
                    std::make_unique<DeflateCodec>(false));
}
std::unique_ptr<const BytesToBytesCodec> make_lz4(const CodecSpec& spec, const ChunkSpec&, const std::string& array) {
  return configured([&] { return std::make_unique<Lz4Codec>(int_field(spec, "acceleration", 1, -65537, 65537, array)); },
                    std::make_unique<Lz4Codec>());
}
std::unique_ptr<const BytesToBytesCodec> make_blosc(const CodecSpec& spec, const ChunkSpec& bytes, const std::string& array) {
  return configured(
      [&] { return std::make_unique<BloscCodec>(blosc_settings(spec.configuration, bytes.dtype.size, "array '" + array + "'")); },
      std::make_unique<BloscCodec>());
}

#if CUZARR_WITH_LZMA
std::unique_ptr<const BytesToBytesCodec> make_lzma(const CodecSpec& spec, const ChunkSpec&, const std::string& array) {
  return std::make_unique<LzmaCodec>(spec.name, spec.configuration, array);
}
constexpr BytesToBytesFactory kLzma = &make_lzma;
constexpr std::string_view kLzmaNeeds = "";
#else
constexpr BytesToBytesFactory kLzma = nullptr;
constexpr std::string_view kLzmaNeeds = "liblzma (Debian liblzma-dev), which this build of cuzarr was made without";
#endif

constexpr std::string_view kPcodecNeeds = "the pcodec library (pco, Rust), for which Debian has no package";
constexpr std::string_view kZfpNeeds = "the zfp library (zfpy's stream format; Debian libzfp-dev), which cuzarr does not use";

// v2 ids come first, then the v3 names, so a name's row says which writer uses it.
const std::array kCodecs = {
    // v3 core codecs.
    CodecInfo{"transpose", Kind::ArrayToArray, nullptr, nullptr, true, ""},
    CodecInfo{"bytes", Kind::ArrayToBytes, nullptr, nullptr, true, ""},
    CodecInfo{"sharding_indexed", Kind::ArrayToBytes, nullptr, nullptr, true, ""},
    CodecInfo{"vlen-utf8", Kind::ArrayToBytes, nullptr, nullptr, false, ""},
    CodecInfo{"vlen-bytes", Kind::ArrayToBytes, nullptr, nullptr, false, ""},
    CodecInfo{"vlen-array", Kind::ArrayToBytes, nullptr, nullptr, false, ""},
    CodecInfo{"crc32c", Kind::BytesToBytes, nullptr, &make_crc32c, false, ""},
    // zarr-extensions codecs zarr-python >= 3.2 writes.
    CodecInfo{"scale_offset", Kind::ArrayToArray, &make_scale_offset, nullptr, false, ""},
    CodecInfo{"cast_value", Kind::ArrayToArray, &make_cast_value, nullptr, false, ""},
    // Compressors: v2 ids (also the v3 core names of zstd, gzip and blosc) and numcodecs.* names.
    CodecInfo{"zstd", Kind::BytesToBytes, nullptr, &make_zstd, true, ""},
    CodecInfo{"numcodecs.zstd", Kind::BytesToBytes, nullptr, &make_zstd, true, ""},
    CodecInfo{"gzip", Kind::BytesToBytes, nullptr, &make_gzip, true, ""},
    CodecInfo{"numcodecs.gzip", Kind::BytesToBytes, nullptr, &make_gzip, true, ""},
    CodecInfo{"zlib", Kind::BytesToBytes, nullptr, &make_zlib, true, ""},
    CodecInfo{"numcodecs.zlib", Kind::BytesToBytes, nullptr, &make_zlib, true, ""},
    CodecInfo{"blosc", Kind::BytesToBytes, nullptr, &make_blosc, true, ""},
    CodecInfo{"numcodecs.blosc", Kind::BytesToBytes, nullptr, &make_blosc, true, ""},
    CodecInfo{"lz4", Kind::BytesToBytes, nullptr, &make_lz4, true, ""},
    CodecInfo{"numcodecs.lz4", Kind::BytesToBytes, nullptr, &make_lz4, true, ""},
    CodecInfo{"bz2", Kind::BytesToBytes, nullptr, plain<Bz2Codec>(), false, ""},
    CodecInfo{"numcodecs.bz2", Kind::BytesToBytes, nullptr, plain<Bz2Codec>(), false, ""},
    CodecInfo{"lzma", Kind::BytesToBytes, nullptr, kLzma, false, kLzmaNeeds},
    CodecInfo{"numcodecs.lzma", Kind::BytesToBytes, nullptr, kLzma, false, kLzmaNeeds},
    CodecInfo{"base64", Kind::BytesToBytes, nullptr, plain<Base64Codec>(), false, ""},
    // Checksums.
    CodecInfo{"numcodecs.crc32c", Kind::BytesToBytes, nullptr, &make_crc32c, false, ""},
    CodecInfo{"crc32", Kind::BytesToBytes, nullptr, &make_crc32, false, ""},
    CodecInfo{"numcodecs.crc32", Kind::BytesToBytes, nullptr, &make_crc32, false, ""},
    CodecInfo{"adler32", Kind::BytesToBytes, nullptr, &make_adler32, false, ""},
    CodecInfo{"numcodecs.adler32", Kind::BytesToBytes, nullptr, &make_adler32, false, ""},
    CodecInfo{"fletcher32", Kind::BytesToBytes, nullptr, &make_fletcher32, false, ""},
    CodecInfo{"numcodecs.fletcher32", Kind::BytesToBytes, nullptr, &make_fletcher32, false, ""},
    CodecInfo{"jenkins_lookup3", Kind::BytesToBytes, nullptr, &make_jenkins_lookup3, false, ""},
    CodecInfo{"numcodecs.jenkins_lookup3", Kind::BytesToBytes, nullptr, &make_jenkins_lookup3, false, ""},
    // Filters. v2's shuffle is a filter; v3's numcodecs.shuffle a bytes→bytes codec.
    CodecInfo{"delta", Kind::ArrayToArray, &make_delta, nullptr, false, ""},
    CodecInfo{"numcodecs.delta", Kind::ArrayToArray, &make_delta, nullptr, false, ""},
    CodecInfo{"fixedscaleoffset", Kind::ArrayToArray, &make_fixedscaleoffset, nullptr, false, ""},
    CodecInfo{"numcodecs.fixedscaleoffset", Kind::ArrayToArray, &make_fixedscaleoffset, nullptr, false, ""},
    CodecInfo{"astype", Kind::ArrayToArray, &make_astype, nullptr, false, ""},
    CodecInfo{"numcodecs.astype", Kind::ArrayToArray, &make_astype, nullptr, false, ""},
    CodecInfo{"quantize", Kind::ArrayToArray, &make_quantize, nullptr, false, ""},
    CodecInfo{"numcodecs.quantize", Kind::ArrayToArray, &make_quantize, nullptr, false, ""},
    CodecInfo{"bitround", Kind::ArrayToArray, &make_bitround, nullptr, false, ""},
    CodecInfo{"numcodecs.bitround", Kind::ArrayToArray, &make_bitround, nullptr, false, ""},
    CodecInfo{"packbits", Kind::ArrayToArray, &make_packbits, nullptr, false, ""},
    CodecInfo{"numcodecs.packbits", Kind::ArrayToArray, &make_packbits, nullptr, false, ""},
    CodecInfo{"shuffle", Kind::ArrayToArray, &make_shuffle_filter, &make_shuffle_bytes, false, ""},
    CodecInfo{"numcodecs.shuffle", Kind::BytesToBytes, nullptr, &make_shuffle_bytes, false, ""},
    // Recognised, not decodable here.
    CodecInfo{"pcodec", Kind::ArrayToBytes, nullptr, nullptr, false, kPcodecNeeds},
    CodecInfo{"numcodecs.pcodec", Kind::ArrayToBytes, nullptr, nullptr, false, kPcodecNeeds},
    CodecInfo{"zfpy", Kind::ArrayToBytes, nullptr, nullptr, false, kZfpNeeds},
    CodecInfo{"numcodecs.zfpy", Kind::ArrayToBytes, nullptr, nullptr, false, kZfpNeeds},
};

}  // namespace

std::vector<CodecSpec> order_v2_codecs(std::vector<CodecSpec> specs) {
  auto bytes = std::find_if(specs.begin(), specs.end(), [](const CodecSpec& s) { return s.name == "bytes"; });
  auto bytes_only = [](const CodecSpec& s) {
    const CodecInfo* c = find_codec(s.name);
    return c != nullptr && c->kind == Kind::BytesToBytes;
  };
  auto first = std::find_if(specs.begin(), bytes, bytes_only);
  if (bytes == specs.end() || first == bytes) return specs;
  // Everything from there to `bytes` must work on bytes too; else the chain reports the order.
  const bool byte_level = std::all_of(first, bytes, [&](const CodecSpec& s) {
    const CodecInfo* c = find_codec(s.name);
    return bytes_only(s) || (c != nullptr && c->make_bytes_to_bytes != nullptr);
  });
  if (byte_level) std::rotate(first, bytes, bytes + 1);
  return specs;
}

const CodecInfo* find_codec(std::string_view name) {
  for (const CodecInfo& c : kCodecs) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const CodecInfo& require_codec(const std::string& name, const std::string& array) {
  const CodecInfo* c = find_codec(name);
  if (c == nullptr) throw UnsupportedError("array '" + array + "': codec '" + name + "' is not supported");
  if (!c->needs.empty()) {
    throw UnsupportedError("array '" + array + "': codec '" + name + "' is not supported: decoding it needs " +
                           std::string(c->needs));
  }
  return *c;
}

std::span<const CodecInfo> registered_codecs() { return kCodecs; }

}  // namespace cuzarr::codec
