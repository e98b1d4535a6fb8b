// `cuzarr copy`: a hierarchy (or one array) from any store cuzarr reads into a new local
// directory store, recompressed on the way if asked; and the codec names the command takes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "cuzarr/array.hpp"

namespace cuzarr::cli {

// What --codec names, for one data type: the v3 codec list of a chunk (bytes, little-endian, then
// the compressor) and the v2 compressor object, both JSON. NAME[:LEVEL] with NAME one of none,
// zstd, gzip, zlib, lz4, blosc-lz4, blosc-zstd; or JSON as it is ("[...]" a v3 codec list, "{...}"
// a v2 compressor). UnsupportedError for anything else.
struct CodecSpec {
  std::string v3;
  std::string v2_compressor;
};
CodecSpec parse_codec(const std::string& spec, int typesize);

struct CopyOptions {
  std::string codec;                 // "" keeps each array's own codecs (the default codec on a format change)
  int zarr_format = 0;               // 0 keeps each node's format
  std::vector<std::int64_t> chunks;  // the (inner) chunk shape of every array; empty keeps each one's
  bool progress = false;             // a progress bar on `err`
  std::uint64_t slab_bytes = 64ull << 20;  // the most one read-and-write step holds in memory
};

struct CopyReport {
  std::size_t groups = 0;
  std::size_t arrays = 0;
  std::uint64_t bytes = 0;  // decoded bytes copied
};

// Copies `source` (an array or a group and everything below it) to the root of the local store
// `destination`, which must not hold a node yet. Each array is read and written a slab of whole
// destination chunks (or shards) at a time; chunks holding only the fill value are not written.
// Prints one line per array to `out`.
CopyReport copy_tree(std::ostream& out, std::ostream& err, const Node& source, const std::filesystem::path& destination,
                     const CopyOptions& options);

}  // namespace cuzarr::cli
