#include "codec/compressors.hpp"

#include <blosc.h>
#include <bzlib.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <array>
#include <cstring>
#include <limits>
#include <new>

#include "codec/stream_decode.hpp"
#include "cuzarr/error.hpp"
#include "metadata/fill_value.hpp"

namespace cuzarr::codec {
namespace {

using stream::check_size;
using stream::fail;
using stream::fail_if_out_of_memory;
using stream::run_stream;

// A decompressor's failure in our words, the library's own after them in brackets: "Src size is
// incorrect" alone does not tell a user that the chunk file is cut short.
std::string zstd_failure(std::size_t code) {
  std::string ours;
  switch (ZSTD_getErrorCode(code)) {
    case ZSTD_error_srcSize_wrong: ours = "chunk length does not match its frame (cut short, or bytes after the end)"; break;
    case ZSTD_error_checksum_wrong: ours = "checksum mismatch (the chunk's bytes changed after they were written)"; break;
    case ZSTD_error_prefix_unknown: ours = "not a zstd frame (bad magic number)"; break;
    case ZSTD_error_frameParameter_windowTooLarge: ours = "frame asks for a larger window than the decoder allows"; break;
    default: ours = "corrupt stream"; break;
  }
  return ours + " [zstd: " + ZSTD_getErrorName(code) + "]";
}

struct ZstdStream {
  ZSTD_DStream* s = ZSTD_createDStream();
  ~ZstdStream() { ZSTD_freeDStream(s); }
};

struct ZlibStream {
  z_stream z{};
  bool live = false;
  ~ZlibStream() {
    if (live) inflateEnd(&z);
  }
};

struct Bz2Stream {
  bz_stream s{};
  bool live = false;
  ~Bz2Stream() {
    if (live) BZ2_bzDecompressEnd(&s);
  }
};

struct ZstdCompressor {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ~ZstdCompressor() { ZSTD_freeCCtx(c); }
};

struct ZlibCompressor {
  z_stream z{};
  bool live = false;
  ~ZlibCompressor() {
    if (live) deflateEnd(&z);
  }
};

}  // namespace

Buffer ZstdCodec::decode(Buffer in, std::optional<std::int64_t> expected, const DecodeContext& ctx) const {
  if (expected) {
    Buffer out(static_cast<std::size_t>(*expected));
    decode_into(std::move(in), out.span(), ctx);
    return out;
  }
  if (ZSTD_getFrameContentSize(in.data(), in.size()) == ZSTD_CONTENTSIZE_ERROR) {
    fail(ctx, name(), "not a zstd frame (bad magic or header)");
  }
  ZstdStream stream;
  fail_if_out_of_memory(stream.s == nullptr);
  ZSTD_initDStream(stream.s);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  std::size_t last = 1;
  return run_stream(ctx, name(), expected, static_cast<std::int64_t>(in.size()),
                    [&](std::byte* out, std::size_t avail) -> std::pair<std::size_t, bool> {
                      ZSTD_outBuffer dst{out, avail, 0};
                      last = ZSTD_decompressStream(stream.s, &dst, &src);
                      if (ZSTD_isError(last)) {
                        fail_if_out_of_memory(ZSTD_getErrorCode(last) == ZSTD_error_memory_allocation);
                        fail(ctx, name(), zstd_failure(last));
                      }
                      const bool done = src.pos == src.size && (last == 0 || dst.pos < dst.size);
                      if (done && last != 0) fail(ctx, name(), "truncated stream");
                      return {dst.pos, done};
                    });
}

void ZstdCodec::decode_into(Buffer in, std::span<std::byte> out, const DecodeContext& ctx) const {
  const auto expected = static_cast<std::int64_t>(out.size());
  const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) fail(ctx, name(), "not a zstd frame (bad magic or header)");
  // A concatenation of frames declares only its first; then the decoder checks the total.
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != static_cast<unsigned long long>(expected) &&
      ZSTD_findFrameCompressedSize(in.data(), in.size()) == in.size()) {
    fail(ctx, name(), "frame declares " + std::to_string(declared) + " bytes, expected " + std::to_string(expected));
  }
  const std::size_t r = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(r)) {
    fail_if_out_of_memory(ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation);
    if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall) {
      fail(ctx, name(), "decompresses to more than the expected " + std::to_string(expected) + " bytes");
    }
    fail(ctx, name(), zstd_failure(r));
  }
  check_size(ctx, name(), static_cast<std::int64_t>(r), expected);
}

Buffer ZstdCodec::encode(Buffer in, const EncodeContext& ctx) const {
  ZstdCompressor cctx;
  fail_if_out_of_memory(cctx.c == nullptr);
  ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_compressionLevel, level_);
  ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_checksumFlag, checksum_ ? 1 : 0);
  Buffer out(ZSTD_compressBound(in.size()));
  const std::size_t r = ZSTD_compress2(cctx.c, out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(r)) {
    fail_if_out_of_memory(ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation);
    fail(ctx, name(), std::string("cannot compress [zstd: ") + ZSTD_getErrorName(r) + "]");
  }
  out.truncate(r);
  return out;
}

Buffer DeflateCodec::decode(Buffer in, std::optional<std::int64_t> expected, const DecodeContext& ctx) const {
  ZlibStream stream;
  const int init = inflateInit2(&stream.z, gzip_ ? 16 + MAX_WBITS : MAX_WBITS);
  fail_if_out_of_memory(init == Z_MEM_ERROR);
  if (init != Z_OK) {
    fail(ctx, name(), "cannot initialise zlib");
  }
  stream.live = true;
  stream.z.next_in = reinterpret_cast<Bytef*>(in.data());
  std::size_t remaining = in.size();
  return run_stream(ctx, name(), expected, static_cast<std::int64_t>(in.size()),
                    [&](std::byte* out, std::size_t avail) -> std::pair<std::size_t, bool> {
                      std::size_t written = 0;
                      while (true) {
                        const uInt in_chunk = static_cast<uInt>(std::min<std::size_t>(remaining, UINT32_MAX));
                        const uInt out_chunk = static_cast<uInt>(std::min<std::size_t>(avail - written, UINT32_MAX));
                        stream.z.avail_in = in_chunk;
                        stream.z.next_out = reinterpret_cast<Bytef*>(out + written);
                        stream.z.avail_out = out_chunk;
                        const int r = inflate(&stream.z, Z_NO_FLUSH);
                        remaining -= in_chunk - stream.z.avail_in;
                        written += out_chunk - stream.z.avail_out;
                        if (r == Z_STREAM_END) {
                          if (remaining != 0) {
                            fail(ctx, name(), std::to_string(remaining) + " bytes of trailing data after the stream");
                          }
                          return {written, true};
                        }
                        if (r == Z_BUF_ERROR && remaining == 0 && written < avail) fail(ctx, name(), "truncated stream");
                        fail_if_out_of_memory(r == Z_MEM_ERROR);
                        if (r != Z_OK && r != Z_BUF_ERROR) {
                          fail(ctx, name(), std::string("corrupt stream [zlib: ") +
                                                   (stream.z.msg ? stream.z.msg : "error " + std::to_string(r)) + "]");
                        }
                        if (written == avail) return {written, false};
                      }
                    });
}

Buffer DeflateCodec::encode(Buffer in, const EncodeContext& ctx) const {
  ZlibCompressor stream;
  const int init = deflateInit2(&stream.z, level_, Z_DEFLATED, gzip_ ? 16 + MAX_WBITS : MAX_WBITS, 8,
                                Z_DEFAULT_STRATEGY);
  fail_if_out_of_memory(init == Z_MEM_ERROR);
  if (init != Z_OK) fail(ctx, name(), "cannot initialise zlib at level " + std::to_string(level_));
  stream.live = true;
  Buffer out(deflateBound(&stream.z, static_cast<uLong>(in.size())) + 64);
  stream.z.next_in = reinterpret_cast<Bytef*>(in.data());
  stream.z.next_out = reinterpret_cast<Bytef*>(out.data());
  std::size_t in_left = in.size(), out_left = out.size();
  int r = Z_OK;
  while (r != Z_STREAM_END) {
    // zlib counts in uInt: hand it the buffers in pieces.
    const auto in_chunk = static_cast<uInt>(std::min<std::size_t>(in_left, UINT32_MAX));
    const auto out_chunk = static_cast<uInt>(std::min<std::size_t>(out_left, UINT32_MAX));
    stream.z.avail_in = in_chunk;
    stream.z.avail_out = out_chunk;
    r = deflate(&stream.z, in_chunk == in_left ? Z_FINISH : Z_NO_FLUSH);
    in_left -= in_chunk - stream.z.avail_in;
    out_left -= out_chunk - stream.z.avail_out;
    fail_if_out_of_memory(r == Z_MEM_ERROR);
    if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) fail(ctx, name(), "cannot compress (zlib error " + std::to_string(r) + ")");
    if (r != Z_STREAM_END && out_left == 0) fail(ctx, name(), "compressed data outgrew deflateBound");
  }
  out.truncate(out.size() - out_left);
  return out;
}

Buffer Bz2Codec::decode(Buffer in, std::optional<std::int64_t> expected, const DecodeContext& ctx) const {
  Bz2Stream stream;
  const int init = BZ2_bzDecompressInit(&stream.s, 0, 0);
  fail_if_out_of_memory(init == BZ_MEM_ERROR);
  if (init != BZ_OK) fail(ctx, name(), "cannot initialise bzip2");
  stream.live = true;
  stream.s.next_in = reinterpret_cast<char*>(in.data());
  std::size_t remaining = in.size();
  return run_stream(ctx, name(), expected, static_cast<std::int64_t>(in.size()),
                    [&](std::byte* out, std::size_t avail) -> std::pair<std::size_t, bool> {
                      std::size_t written = 0;
                      while (true) {
                        const unsigned in_chunk = static_cast<unsigned>(std::min<std::size_t>(remaining, UINT32_MAX));
                        const unsigned out_chunk = static_cast<unsigned>(std::min<std::size_t>(avail - written, UINT32_MAX));
                        stream.s.avail_in = in_chunk;
                        stream.s.next_out = reinterpret_cast<char*>(out + written);
                        stream.s.avail_out = out_chunk;
                        const int r = BZ2_bzDecompress(&stream.s);
                        remaining -= in_chunk - stream.s.avail_in;
                        written += out_chunk - stream.s.avail_out;
                        if (r == BZ_STREAM_END) {
                          if (remaining != 0) fail(ctx, name(), std::to_string(remaining) + " bytes of trailing data after the stream");
                          return {written, true};
                        }
                        fail_if_out_of_memory(r == BZ_MEM_ERROR);
                        if (r != BZ_OK) fail(ctx, name(), "corrupt stream (bzip2 error " + std::to_string(r) + ")");
                        if (written == avail) return {written, false};
                        if (remaining == 0) fail(ctx, name(), "truncated stream");
                      }
                    });
}

namespace {

std::uint32_t lz4_declared_size(const Buffer& in, const DecodeContext& ctx, const std::string& codec) {
  if (in.size() < 4) fail(ctx, codec, "chunk of " + std::to_string(in.size()) + " bytes has no size header");
  std::uint32_t declared = 0;
  for (int i = 3; i >= 0; --i) declared = (declared << 8) | std::to_integer<std::uint32_t>(in.data()[i]);
  if (declared > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) {
    fail(ctx, codec, "header declares " + std::to_string(declared) + " bytes, more than LZ4 can hold");
  }
  if (in.size() - 4 > static_cast<std::size_t>(std::numeric_limits<int>::max())) fail(ctx, codec, "chunk too large");
  return declared;
}

}  // namespace

Buffer Lz4Codec::decode(Buffer in, std::optional<std::int64_t> expected, const DecodeContext& ctx) const {
  const std::uint32_t declared = lz4_declared_size(in, ctx, name());
  check_size(ctx, name(), declared, expected);
  if (!expected && declared > ctx.size_limit) {
    fail(ctx, name(), "header declares " + std::to_string(declared) + " bytes, more than the chunk can hold (" +
                          std::to_string(ctx.size_limit) + ")");
  }
  Buffer out(declared);
  decode_into(std::move(in), out.span(), ctx);
  return out;
}

void Lz4Codec::decode_into(Buffer in, std::span<std::byte> out, const DecodeContext& ctx) const {
  const std::uint32_t declared = lz4_declared_size(in, ctx, name());
  check_size(ctx, name(), declared, static_cast<std::int64_t>(out.size()));
  const int r = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data() + 4), reinterpret_cast<char*>(out.data()),
                                    static_cast<int>(in.size() - 4), static_cast<int>(declared));
  if (r < 0) fail(ctx, name(), "corrupt LZ4 block");
  check_size(ctx, name(), r, static_cast<std::int64_t>(declared));
}

Buffer Lz4Codec::encode(Buffer in, const EncodeContext& ctx) const {
  if (in.size() > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE)) {
    fail(ctx, name(), "chunk of " + std::to_string(in.size()) + " bytes is larger than one LZ4 block can hold");
  }
  const int n = static_cast<int>(in.size());
  Buffer out(4 + static_cast<std::size_t>(LZ4_compressBound(n)));
  for (int i = 0; i < 4; ++i) out.data()[i] = static_cast<std::byte>((static_cast<std::uint32_t>(n) >> (8 * i)) & 0xffu);
  const int r = LZ4_compress_fast(reinterpret_cast<const char*>(in.data()), reinterpret_cast<char*>(out.data() + 4), n,
                                  LZ4_compressBound(n), acceleration_);
  if (r <= 0 && n > 0) fail(ctx, name(), "cannot compress");
  out.truncate(4 + static_cast<std::size_t>(std::max(r, 0)));
  return out;
}

namespace {

std::size_t blosc_declared_size(const Buffer& in, const DecodeContext& ctx, const std::string& codec) {
  std::size_t nbytes = 0;
  if (in.size() < BLOSC_MIN_HEADER_LENGTH || blosc_cbuffer_validate(in.data(), in.size(), &nbytes) < 0) {
    fail(ctx, codec, "invalid blosc header (" + std::to_string(in.size()) + " bytes)");
  }
  return nbytes;
}

}  // namespace

Buffer BloscCodec::decode(Buffer in, std::optional<std::int64_t> expected, const DecodeContext& ctx) const {
  const std::size_t nbytes = blosc_declared_size(in, ctx, name());
  if (!expected && static_cast<std::int64_t>(nbytes) > ctx.size_limit) {
    fail(ctx, name(), "header declares " + std::to_string(nbytes) + " bytes, more than the chunk can hold (" +
                          std::to_string(ctx.size_limit) + ")");
  }
  check_size(ctx, name(), static_cast<std::int64_t>(nbytes), expected);
  Buffer out(nbytes);
  decode_into(std::move(in), out.span(), ctx);
  return out;
}

void BloscCodec::decode_into(Buffer in, std::span<std::byte> out, const DecodeContext& ctx) const {
  const std::size_t nbytes = blosc_declared_size(in, ctx, name());
  check_size(ctx, name(), static_cast<std::int64_t>(nbytes), static_cast<std::int64_t>(out.size()));
  if (nbytes == 0) return;
  const int r = blosc_decompress_ctx(in.data(), out.data(), out.size(), 1);
  if (r <= 0) fail(ctx, name(), "corrupt blosc buffer (error " + std::to_string(r) + ")");
  check_size(ctx, name(), r, static_cast<std::int64_t>(nbytes));
}

Buffer BloscCodec::encode(Buffer in, const EncodeContext& ctx) const {
  const BloscSettings& b = settings_;
  Buffer out(in.size() + BLOSC_MAX_OVERHEAD);
  const int r = blosc_compress_ctx(b.clevel, b.shuffle, static_cast<std::size_t>(b.typesize), in.size(), in.data(),
                                   out.data(), out.size(), b.cname.c_str(), static_cast<std::size_t>(b.blocksize), 1);
  if (r <= 0) fail(ctx, name(), "cannot compress with '" + b.cname + "' (blosc error " + std::to_string(r) + ")");
  out.truncate(static_cast<std::size_t>(r));
  return out;
}

BloscSettings blosc_settings(const metadata::Json& c, int typesize, const std::string& where) {
  auto bad = [&](const std::string& why) -> BloscSettings {
    throw MetadataError(where + ": codec 'blosc' configuration " + c.dump() + ": " + why);
  };
  auto integer = [&](const char* key, std::int64_t fallback, std::int64_t lo, std::int64_t hi) -> std::int64_t {
    if (!c.contains(key) || c[key].is_null()) return fallback;
    if (!c[key].is_number_integer() || c[key].get<std::int64_t>() < lo || c[key].get<std::int64_t>() > hi) {
      bad(std::string("'") + key + "' must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return c[key].get<std::int64_t>();
  };
  BloscSettings s;
  s.typesize = static_cast<int>(integer("typesize", typesize, 1, 255));
  s.clevel = static_cast<int>(integer("clevel", 5, 0, 9));
  s.blocksize = integer("blocksize", 0, 0, std::int64_t{1} << 31);
  if (c.contains("cname") && !c["cname"].is_null()) {
    if (!c["cname"].is_string()) bad("'cname' must be a string");
    s.cname = c["cname"].get<std::string>();
    if (blosc_compname_to_compcode(s.cname.c_str()) < 0) {
      bad("'cname' \"" + s.cname + "\" is not a compressor this blosc library has");
    }
  }
  const metadata::Json shuffle = c.contains("shuffle") ? c["shuffle"] : metadata::Json(nullptr);
  if (shuffle.is_null()) {
    s.shuffle = s.typesize == 1 ? 2 : 1;
  } else if (shuffle == "noshuffle") {
    s.shuffle = 0;
  } else if (shuffle == "shuffle") {
    s.shuffle = 1;
  } else if (shuffle == "bitshuffle") {
    s.shuffle = 2;
  } else if (shuffle.is_number_integer() && shuffle.get<int>() >= -1 && shuffle.get<int>() <= 2) {
    s.shuffle = shuffle.get<int>() == -1 ? (s.typesize == 1 ? 2 : 1) : shuffle.get<int>();
  } else {
    bad("'shuffle' must be \"noshuffle\", \"shuffle\", \"bitshuffle\" or -1, 0, 1, 2");
  }
  return s;
}

namespace {

std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_hw(const std::byte* p, std::size_t n) {
  std::uint64_t c = 0xFFFFFFFFu;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
  }
  std::uint32_t c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = __builtin_ia32_crc32qi(c32, std::to_integer<unsigned char>(*p));
  return ~c32;
}
#endif

}  // namespace

std::uint32_t crc32c(const std::byte* data, std::size_t size) {
#if defined(__x86_64__)
  static const bool hw = __builtin_cpu_supports("sse4.2");
  if (hw) return crc32c_hw(data, size);
#endif
  static const std::array<std::uint32_t, 256> table = make_crc32c_table();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) c = table[(c ^ std::to_integer<std::uint32_t>(data[i])) & 0xff] ^ (c >> 8);
  return ~c;
}

Buffer Base64Codec::decode(Buffer in, std::optional<std::int64_t> expected, const DecodeContext& ctx) const {
  const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  std::optional<std::vector<std::byte>> bytes = metadata::try_decode_base64(text);
  if (!bytes) fail(ctx, name(), "not standard base64 text (" + std::to_string(in.size()) + " bytes)");
  check_size(ctx, name(), static_cast<std::int64_t>(bytes->size()), expected);
  Buffer out(bytes->size());
  if (!bytes->empty()) std::memcpy(out.data(), bytes->data(), bytes->size());
  return out;
}


}  // namespace cuzarr::codec
