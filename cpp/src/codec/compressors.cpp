#include "codec/compressors.hpp"

#include <blosc.h>
#include <bzlib.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>
#if CUZARR_WITH_LZMA
#include <lzma.h>
#endif

#include <array>
#include <cstring>
#include <limits>
#include <new>

#include "cuzarr/error.hpp"
#include "metadata/fill_value.hpp"

namespace cuzarr::codec {
namespace {

[[noreturn]] void fail(const DecodeContext& ctx, const std::string& codec, const std::string& why) {
  throw CodecError(ctx.describe(codec) + ": " + why);
}

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

void check_size(const DecodeContext& ctx, const std::string& codec, std::int64_t got,
                std::optional<std::int64_t> expected) {
  if (expected && got != *expected) {
    fail(ctx, codec, "decompressed to " + std::to_string(got) + " bytes, expected " +
                         std::to_string(*expected));
  }
}

// A decompressor that could not allocate its state says so in its own error code; that is not a
// corrupt chunk (cuzarr verify would list a healthy one), so it travels as std::bad_alloc, which
// Python sees as MemoryError.
void fail_if_out_of_memory(bool out_of_memory) {
  if (out_of_memory) throw std::bad_alloc();
}

// Runs a streaming decoder into a buffer of the expected size (plus one byte, to notice a stream
// that is longer than announced), or a growing one when the size is unknown. `step(out, avail)`
// decodes into [out, out+avail) and returns {bytes written, finished}.
template <typename Step>
Buffer run_stream(const DecodeContext& ctx, const std::string& codec, std::optional<std::int64_t> expected,
                  std::int64_t input_size, Step&& step) {
  std::int64_t capacity =
      expected ? *expected + 1 : std::min(std::max<std::int64_t>(4 * input_size, 1 << 16), ctx.size_limit + 1);
  Buffer out(static_cast<std::size_t>(capacity));
  std::int64_t used = 0;
  while (true) {
    auto [written, finished] = step(out.data() + used, static_cast<std::size_t>(capacity - used));
    used += static_cast<std::int64_t>(written);
    if (finished) break;
    if (used < capacity) continue;
    if (expected) {
      fail(ctx, codec, "decompresses to more than the expected " + std::to_string(*expected) + " bytes");
    }
    if (capacity > ctx.size_limit) {
      fail(ctx, codec, "decompresses to more than " + std::to_string(ctx.size_limit) +
                           " bytes, more than the chunk can hold");
    }
    const std::int64_t grown = std::min(capacity * 2, ctx.size_limit + 1);
    Buffer bigger(static_cast<std::size_t>(grown));
    std::memcpy(bigger.data(), out.data(), static_cast<std::size_t>(used));
    out = std::move(bigger);
    capacity = grown;
  }
  check_size(ctx, codec, used, expected);
  out.truncate(static_cast<std::size_t>(used));
  return out;
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

#if CUZARR_WITH_LZMA
namespace {

// A raw stream's filter chain, as Python's lzma module spells it in numcodecs' configuration;
// the option structs live in `storage` (the chain points into it).
struct RawFilters {
  std::vector<lzma_options_lzma> lzma;
  std::vector<lzma_options_delta> delta;
  std::vector<lzma_options_bcj> bcj;
  std::vector<lzma_filter> chain;
};

RawFilters raw_filters(const metadata::Json& filters, const std::string& where) {
  auto bad = [&](const std::string& why) -> RawFilters {
    throw MetadataError(where + ": 'filters' " + filters.dump() + ": " + why);
  };
  if (!filters.is_array() || filters.empty() || filters.size() > LZMA_FILTERS_MAX) {
    return bad("a raw stream needs a list of 1 to 4 filters");
  }
  RawFilters r;
  // Reserved up front: the chain keeps pointers into these vectors.
  r.lzma.reserve(filters.size());
  r.delta.reserve(filters.size());
  r.bcj.reserve(filters.size());
  auto number = [&](const metadata::Json& f, const char* key, std::uint64_t fallback) -> std::uint64_t {
    if (!f.contains(key) || f[key].is_null()) return fallback;
    if (!f[key].is_number_unsigned()) bad(std::string("'") + key + "' must be a non-negative integer");
    return f[key].get<std::uint64_t>();
  };
  for (const metadata::Json& f : filters) {
    if (!f.is_object() || !f.contains("id") || !f["id"].is_number_unsigned()) bad("each filter needs an integer 'id'");
    const auto id = f["id"].get<std::uint64_t>();
    void* options = nullptr;
    if (id == LZMA_FILTER_LZMA1 || id == LZMA_FILTER_LZMA2) {
      lzma_options_lzma o{};
      const std::uint64_t preset = number(f, "preset", LZMA_PRESET_DEFAULT);
      if (preset > std::numeric_limits<std::uint32_t>::max() || lzma_lzma_preset(&o, static_cast<std::uint32_t>(preset))) {
        bad("unknown preset " + std::to_string(preset));
      }
      o.dict_size = static_cast<std::uint32_t>(std::min<std::uint64_t>(number(f, "dict_size", o.dict_size), UINT32_MAX));
      o.lc = static_cast<std::uint32_t>(std::min<std::uint64_t>(number(f, "lc", o.lc), 8));
      o.lp = static_cast<std::uint32_t>(std::min<std::uint64_t>(number(f, "lp", o.lp), 8));
      o.pb = static_cast<std::uint32_t>(std::min<std::uint64_t>(number(f, "pb", o.pb), 8));
      r.lzma.push_back(o);
      options = &r.lzma.back();
    } else if (id == LZMA_FILTER_DELTA) {
      lzma_options_delta o{};
      o.type = LZMA_DELTA_TYPE_BYTE;
      o.dist = static_cast<std::uint32_t>(number(f, "dist", 1));
      if (o.dist < LZMA_DELTA_DIST_MIN || o.dist > LZMA_DELTA_DIST_MAX) bad("'dist' must be in [1, 256]");
      r.delta.push_back(o);
      options = &r.delta.back();
    } else if (id == LZMA_FILTER_X86 || id == LZMA_FILTER_POWERPC || id == LZMA_FILTER_IA64 ||
               id == LZMA_FILTER_ARM || id == LZMA_FILTER_ARMTHUMB || id == LZMA_FILTER_SPARC) {
      lzma_options_bcj o{};
      o.start_offset = static_cast<std::uint32_t>(std::min<std::uint64_t>(number(f, "start_offset", 0), UINT32_MAX));
      r.bcj.push_back(o);
      options = &r.bcj.back();
    } else {
      bad("filter id " + std::to_string(id) + " is not one liblzma decodes");
    }
    r.chain.push_back(lzma_filter{static_cast<lzma_vli>(id), options});
  }
  r.chain.push_back(lzma_filter{LZMA_VLI_UNKNOWN, nullptr});
  return r;
}

struct LzmaStream {
  lzma_stream s = LZMA_STREAM_INIT;
  ~LzmaStream() { lzma_end(&s); }
};

// Enough for any preset (9e needs 65 MiB); a corrupt header asking for more is refused.
constexpr std::uint64_t kLzmaMemoryLimit = std::uint64_t{1} << 30;

}  // namespace

LzmaCodec::LzmaCodec(std::string name, const metadata::Json& conf, const std::string& array) : name_(std::move(name)) {
  const std::string where = "array '" + array + "': codec '" + name_ + "'";
  if (conf.contains("format") && !conf["format"].is_null()) {
    if (!conf["format"].is_number_integer() || conf["format"].get<std::int64_t>() < 0 ||
        conf["format"].get<std::int64_t>() > 3) {
      throw MetadataError(where + ": 'format' must be 0 (auto), 1 (xz), 2 (alone) or 3 (raw)");
    }
    format_ = conf["format"].get<int>();
  }
  filters_ = conf.contains("filters") ? conf["filters"] : metadata::Json(nullptr);
  if (format_ == 3) {
    raw_filters(filters_, where);  // validates
  } else if (!filters_.is_null()) {
    throw MetadataError(where + ": 'filters' are only for raw streams (format 3)");
  }
}

Buffer LzmaCodec::decode(Buffer in, std::optional<std::int64_t> expected, const DecodeContext& ctx) const {
  LzmaStream stream;
  lzma_ret init = LZMA_OK;
  RawFilters raw;
  switch (format_) {
    case 0: init = lzma_auto_decoder(&stream.s, kLzmaMemoryLimit, LZMA_CONCATENATED); break;
    case 1: init = lzma_stream_decoder(&stream.s, kLzmaMemoryLimit, LZMA_CONCATENATED); break;
    case 2: init = lzma_alone_decoder(&stream.s, kLzmaMemoryLimit); break;
    default:
      raw = raw_filters(filters_, ctx.describe(name()));
      init = lzma_raw_decoder(&stream.s, raw.chain.data());
      break;
  }
  fail_if_out_of_memory(init == LZMA_MEM_ERROR);
  if (init != LZMA_OK) fail(ctx, name(), "cannot initialise liblzma (error " + std::to_string(init) + ")");
  stream.s.next_in = reinterpret_cast<const std::uint8_t*>(in.data());
  stream.s.avail_in = in.size();
  return run_stream(ctx, name(), expected, static_cast<std::int64_t>(in.size()),
                    [&](std::byte* out, std::size_t avail) -> std::pair<std::size_t, bool> {
                      stream.s.next_out = reinterpret_cast<std::uint8_t*>(out);
                      stream.s.avail_out = avail;
                      const lzma_ret r = lzma_code(&stream.s, LZMA_FINISH);
                      const std::size_t written = avail - stream.s.avail_out;
                      if (r == LZMA_STREAM_END) {
                        if (stream.s.avail_in != 0) {
                          fail(ctx, name(), std::to_string(stream.s.avail_in) + " bytes of trailing data after the stream");
                        }
                        return {written, true};
                      }
                      fail_if_out_of_memory(r == LZMA_MEM_ERROR);
                      if (r == LZMA_MEMLIMIT_ERROR) fail(ctx, name(), "stream needs more than 1 GiB to decode");
                      if (r == LZMA_BUF_ERROR && stream.s.avail_out != 0) fail(ctx, name(), "truncated stream");
                      if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
                        fail(ctx, name(), "corrupt stream (liblzma error " + std::to_string(r) + ")");
                      }
                      return {written, false};
                    });
}
#endif

}  // namespace cuzarr::codec
