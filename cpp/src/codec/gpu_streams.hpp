// The host half of GPU decompression: a stored chunk is cut into independent compressed streams
// that a GPU decompresses in parallel, each into its own range of the chunk's decoded bytes.
// Blosc frames give one stream per block (or per split of a block) plus the shuffle to undo per
// block; numcodecs LZ4 framing loses its size header; gzip and zlib framing are stripped down to
// the raw deflate stream. Plain C++: no CUDA here, so all of it is tested without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/codec.hpp"

namespace cuzarr::codec {

// The compressed formats a GPU backend decompresses; Copy is a stored (uncompressed) stream.
enum class StreamKind : std::uint8_t { Copy, Lz4, Zstd, Deflate, Snappy, Blosclz };
inline constexpr int kStreamKinds = 6;
const char* stream_kind_name(StreamKind kind);

// Bytes [in_offset, in_offset + in_size) of the stored chunk decompress to exactly out_size
// bytes at out_offset of the chunk's decompressed bytes (before any unshuffle).
struct StreamItem {
  StreamKind kind = StreamKind::Copy;
  std::uint64_t in_offset = 0, in_size = 0;
  std::uint64_t out_offset = 0, out_size = 0;
};

// Blosc's filters, undone per block after decompression.
enum class Unshuffle : std::uint8_t { None, Byte, Bit };

struct ChunkStreams {
  std::vector<StreamItem> items;
  Unshuffle unshuffle = Unshuffle::None;
  std::uint32_t typesize = 1;
  std::uint64_t block_size = 0;  // unshuffle works on blocks of this size, the last one shorter
  std::uint64_t decoded_size = 0;
};

// The stored formats the GPU path knows, named after the Zarr codec.
enum class GpuFormat : std::uint8_t { Blosc, Lz4, Zstd, Gzip, Zlib };
std::optional<GpuFormat> gpu_format(std::string_view codec_name);

// Cuts `stored` (one whole stored chunk) into streams that together decompress to `decoded_size`
// bytes. Returns nullopt, with `why` set, when the chunk does not have a shape the GPU path takes
// (an unknown blosc version or compressor, a header that disagrees with the chunk size, framing
// that does not parse): the caller then decodes that chunk on the CPU, whose codec gives the
// verdict on a malformed chunk. Every item returned lies inside `stored` and inside the output.
std::optional<ChunkStreams> split_streams(GpuFormat format, std::span<const std::byte> stored,
                                          std::uint64_t decoded_size, std::string& why);

// Reverses blosc's byte shuffle / bit shuffle of one block on the host: the reference the GPU
// kernels are tested against, written from the format rather than taken from c-blosc.
void unshuffle_block(Unshuffle mode, std::uint32_t typesize, const std::byte* src, std::byte* dst,
                     std::uint64_t size);

}  // namespace cuzarr::codec
