#include "codec/gpu_streams.hpp"

#include <zstd.h>

#include <cstring>

namespace cuzarr::codec {
namespace {

std::uint32_t le32(const std::byte* p) {
  return std::to_integer<std::uint32_t>(p[0]) | std::to_integer<std::uint32_t>(p[1]) << 8 |
         std::to_integer<std::uint32_t>(p[2]) << 16 | std::to_integer<std::uint32_t>(p[3]) << 24;
}

std::uint8_t byte_at(std::span<const std::byte> s, std::size_t i) { return std::to_integer<std::uint8_t>(s[i]); }

// A chunk that is a single stream of `kind` at [offset, offset + size) of the stored bytes.
ChunkStreams one_stream(StreamKind kind, std::uint64_t offset, std::uint64_t size, std::uint64_t decoded_size) {
  ChunkStreams out;
  out.decoded_size = out.block_size = decoded_size;
  out.items.push_back({kind, offset, size, 0, decoded_size});
  return out;
}

// Blosc 1.x header (16 bytes): version, compressor version, flags, typesize, then little-endian
// uncompressed size, block size and compressed size. Flags: bit 0 byte shuffle, bit 1 stored
// as-is (memcpyed), bit 2 bit shuffle, bit 4 blocks not split into per-byte streams, bits 5-7
// the compressor.
constexpr std::size_t kBloscHeader = 16;
constexpr std::uint8_t kDoShuffle = 0x1, kMemcpyed = 0x2, kDoBitshuffle = 0x4, kDontSplit = 0x10;
constexpr std::uint32_t kMaxSplits = 16, kMinSplitBytes = 128;

std::optional<ChunkStreams> split_blosc(std::span<const std::byte> in, std::uint64_t decoded_size, std::string& why) {
  if (in.size() < kBloscHeader) {
    why = "blosc frame shorter than its header";
    return std::nullopt;
  }
  const std::uint8_t version = byte_at(in, 0), flags = byte_at(in, 2);
  const std::uint32_t typesize = byte_at(in, 3);
  const std::uint64_t nbytes = le32(in.data() + 4), block = le32(in.data() + 8), cbytes = le32(in.data() + 12);
  if (version == 0 || version > 2) {
    why = "blosc format version " + std::to_string(version) + " (only 1.x frames are split)";
    return std::nullopt;
  }
  if (nbytes != decoded_size || cbytes > in.size() || typesize == 0) {
    why = "blosc header does not match the chunk";
    return std::nullopt;
  }
  ChunkStreams out;
  out.decoded_size = decoded_size;
  out.typesize = typesize;
  if (flags & kMemcpyed) {
    if (kBloscHeader + nbytes > in.size()) {
      why = "stored blosc frame is shorter than its data";
      return std::nullopt;
    }
    out.block_size = nbytes;
    if (nbytes > 0) out.items.push_back({StreamKind::Copy, kBloscHeader, nbytes, 0, nbytes});
    return out;
  }
  if (nbytes == 0) return out;
  if (block == 0) {
    why = "blosc block size 0";
    return std::nullopt;
  }
  StreamKind kind;
  switch (flags >> 5) {
    case 0: kind = StreamKind::Blosclz; break;
    case 1: kind = StreamKind::Lz4; break;
    case 2: kind = StreamKind::Snappy; break;
    case 3: kind = StreamKind::Deflate; break;  // zlib streams, stripped below
    case 4: kind = StreamKind::Zstd; break;
    default:
      why = "blosc compressor code " + std::to_string(flags >> 5);
      return std::nullopt;
  }
  out.block_size = block;
  if (flags & kDoShuffle) out.unshuffle = typesize > 1 ? Unshuffle::Byte : Unshuffle::None;
  else if (flags & kDoBitshuffle) out.unshuffle = Unshuffle::Bit;
  const std::uint64_t nblocks = (nbytes + block - 1) / block;
  const std::uint64_t table_end = kBloscHeader + 4 * nblocks;
  if (table_end > in.size()) {
    why = "blosc block table runs past the frame";
    return std::nullopt;
  }
  for (std::uint64_t b = 0; b < nblocks; ++b) {
    const bool last_partial = b == nblocks - 1 && nbytes % block != 0;
    const std::uint64_t bsize = last_partial ? nbytes % block : block;
    const bool split = !(flags & kDontSplit) && typesize <= kMaxSplits && bsize / typesize >= kMinSplitBytes && !last_partial;
    const std::uint64_t nsplits = split ? typesize : 1;
    const std::uint64_t neblock = bsize / nsplits;
    std::uint64_t pos = le32(in.data() + kBloscHeader + 4 * b);
    for (std::uint64_t s = 0; s < nsplits; ++s) {
      if (pos < table_end || pos + 4 > in.size()) {
        why = "blosc block " + std::to_string(b) + " starts outside the frame";
        return std::nullopt;
      }
      const std::uint64_t csize = le32(in.data() + pos);
      pos += 4;
      if (csize > in.size() - pos) {
        why = "blosc block " + std::to_string(b) + " runs past the frame";
        return std::nullopt;
      }
      StreamItem item{csize == neblock ? StreamKind::Copy : kind, pos, csize, b * block + s * neblock, neblock};
      if (item.kind == StreamKind::Deflate) {
        // Each blosc-zlib stream is a whole zlib stream: 2 header bytes, raw deflate, Adler-32.
        if (csize < 6 || (byte_at(in, pos) & 0x0f) != 8 || (byte_at(in, pos + 1) & 0x20) ||
            ((byte_at(in, pos) << 8) | byte_at(in, pos + 1)) % 31 != 0) {
          why = "blosc zlib stream without a zlib header";
          return std::nullopt;
        }
        item.in_offset += 2;
        item.in_size -= 6;
      }
      out.items.push_back(item);
      pos += csize;
    }
  }
  return out;
}

// gzip member (RFC 1952): 10 fixed bytes, optional extra field, name, comment and header CRC;
// then raw deflate, CRC-32 and the size modulo 2^32.
std::optional<ChunkStreams> split_gzip(std::span<const std::byte> in, std::uint64_t decoded_size, std::string& why) {
  why = "gzip framing does not parse";
  if (in.size() < 18 || byte_at(in, 0) != 0x1f || byte_at(in, 1) != 0x8b || byte_at(in, 2) != 8) return std::nullopt;
  const std::uint8_t flg = byte_at(in, 3);
  if (flg & 0xe0) return std::nullopt;
  std::size_t pos = 10;
  const std::size_t end = in.size() - 8;
  if (flg & 0x04) {  // FEXTRA
    if (pos + 2 > end) return std::nullopt;
    pos += 2 + (byte_at(in, pos) | (byte_at(in, pos + 1) << 8));
  }
  for (const std::uint8_t bit : {std::uint8_t{0x08}, std::uint8_t{0x10}}) {  // FNAME, FCOMMENT
    if (!(flg & bit)) continue;
    while (pos < end && byte_at(in, pos) != 0) ++pos;
    ++pos;
  }
  if (flg & 0x02) pos += 2;  // FHCRC
  if (pos > end) return std::nullopt;
  // A second member would follow the first's trailer; the size field must match this chunk.
  if (le32(in.data() + end + 4) != static_cast<std::uint32_t>(decoded_size)) {
    why = "gzip trailer size differs from the chunk size (several members?)";
    return std::nullopt;
  }
  return one_stream(StreamKind::Deflate, pos, end - pos, decoded_size);
}

std::optional<ChunkStreams> split_zlib(std::span<const std::byte> in, std::uint64_t decoded_size, std::string& why) {
  if (in.size() < 6 || (byte_at(in, 0) & 0x0f) != 8 || (byte_at(in, 0) >> 4) > 7 || (byte_at(in, 1) & 0x20) ||
      ((byte_at(in, 0) << 8) | byte_at(in, 1)) % 31 != 0) {
    why = "zlib header does not parse";
    return std::nullopt;
  }
  return one_stream(StreamKind::Deflate, 2, in.size() - 6, decoded_size);
}

std::optional<ChunkStreams> split_zstd(std::span<const std::byte> in, std::uint64_t decoded_size, std::string& why) {
  // One frame only (the GPU decoders take single frames); its declared size must fit the chunk.
  const std::size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
  if (ZSTD_isError(frame) || frame != in.size()) {
    why = "not exactly one zstd frame";
    return std::nullopt;
  }
  const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != decoded_size) {
    why = "zstd frame declares another size";
    return std::nullopt;
  }
  return one_stream(StreamKind::Zstd, 0, in.size(), decoded_size);
}

}  // namespace

const char* stream_kind_name(StreamKind kind) {
  switch (kind) {
    case StreamKind::Copy: return "copy";
    case StreamKind::Lz4: return "lz4";
    case StreamKind::Zstd: return "zstd";
    case StreamKind::Deflate: return "deflate";
    case StreamKind::Snappy: return "snappy";
    case StreamKind::Blosclz: return "blosclz";
  }
  return "?";
}

std::optional<GpuFormat> gpu_format(std::string_view name) {
  if (name == "blosc") return GpuFormat::Blosc;
  if (name == "lz4") return GpuFormat::Lz4;
  if (name == "zstd") return GpuFormat::Zstd;
  if (name == "gzip") return GpuFormat::Gzip;
  if (name == "zlib") return GpuFormat::Zlib;
  return std::nullopt;
}

std::optional<ChunkStreams> split_streams(GpuFormat format, std::span<const std::byte> in, std::uint64_t decoded_size,
                                          std::string& why) {
  switch (format) {
    case GpuFormat::Blosc: return split_blosc(in, decoded_size, why);
    case GpuFormat::Gzip: return split_gzip(in, decoded_size, why);
    case GpuFormat::Zlib: return split_zlib(in, decoded_size, why);
    case GpuFormat::Zstd: return split_zstd(in, decoded_size, why);
    case GpuFormat::Lz4: {
      // numcodecs: the decoded size as 4 little-endian bytes, then one LZ4 block.
      if (in.size() < 4 || le32(in.data()) != decoded_size) {
        why = "LZ4 size header differs from the chunk size";
        return std::nullopt;
      }
      return one_stream(StreamKind::Lz4, 4, in.size() - 4, decoded_size);
    }
  }
  why = "unknown format";
  return std::nullopt;
}

void unshuffle_block(Unshuffle mode, std::uint32_t typesize, const std::byte* src, std::byte* dst, std::uint64_t size) {
  const std::uint64_t elements = size / typesize;
  if (mode == Unshuffle::Byte) {
    // Byte i of every element was gathered into stream i; trailing bytes were left in place.
    for (std::uint64_t e = 0; e < elements; ++e) {
      for (std::uint32_t i = 0; i < typesize; ++i) dst[e * typesize + i] = src[i * elements + e];
    }
    std::memcpy(dst + elements * typesize, src + elements * typesize, size - elements * typesize);
    return;
  }
  if (mode == Unshuffle::Bit && elements % 8 == 0) {
    // Bit plane (byte b, bit k) holds that bit of every element, 8 elements per byte, the
    // first element in the lowest bit; trailing bytes were left in place. Blosc 1.x leaves
    // blocks whose element count is not a multiple of 8 as they are.
    const std::uint64_t plane = elements / 8;
    for (std::uint64_t e = 0; e < elements; ++e) {
      for (std::uint32_t b = 0; b < typesize; ++b) {
        unsigned v = 0;
        for (unsigned k = 0; k < 8; ++k) {
          v |= ((std::to_integer<unsigned>(src[(b * 8 + k) * plane + e / 8]) >> (e % 8)) & 1u) << k;
        }
        dst[e * typesize + b] = static_cast<std::byte>(v);
      }
    }
    std::memcpy(dst + elements * typesize, src + elements * typesize, size - elements * typesize);
    return;
  }
  std::memcpy(dst, src, size);
}

}  // namespace cuzarr::codec
