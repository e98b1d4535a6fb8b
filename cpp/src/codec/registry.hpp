// The one table of codecs cuzarr knows, under every spelling a writer uses: the v2 numcodecs
// `id`, the v3 name, and the v3 `numcodecs.<id>` name zarr-python gives a numcodecs codec. Each
// name says what kind of codec it is, how to build its decoder, and whether a GPU read can run
// it on the device; codecs that are recognised but need a library cuzarr is built without are
// listed too, so that refusing them can say what would be needed.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/codec.hpp"
#include "metadata/array_meta.hpp"

namespace cuzarr::codec {

enum class CodecKind { ArrayToArray, ArrayToBytes, BytesToBytes };

// `decoded`: the array the codec decodes to (array→array); `bytes`: the array the chain's
// array→bytes codec encodes (bytes→bytes; its element size is numcodecs.shuffle's default).
using ArrayToArrayFactory = std::unique_ptr<const ArrayToArrayCodec> (*)(const metadata::CodecSpec& spec,
                                                                         const ChunkSpec& decoded,
                                                                         const std::string& array);
using BytesToBytesFactory = std::unique_ptr<const BytesToBytesCodec> (*)(const metadata::CodecSpec& spec,
                                                                         const ChunkSpec& bytes,
                                                                         const std::string& array);

struct CodecInfo {
  std::string_view name;
  CodecKind kind;
  // Set for the codecs the table builds; the chain builds the rest itself (transpose and the
  // array→bytes codecs, which need the chain: rank, fill value, nested chains). An array→array
  // codec with a bytes→bytes factory too (v2 shuffle) is built as that after the array→bytes codec.
  ArrayToArrayFactory make_array_to_array = nullptr;
  BytesToBytesFactory make_bytes_to_bytes = nullptr;
  // A GPU read decodes this stage on the device (nvCOMP or cuzarr's kernels, see gpu_streams.hpp);
  // the others run on the CPU before the copy.
  bool gpu_decoder = false;
  // Non-empty: a codec cuzarr recognises but cannot decode in this build; what it would need.
  std::string_view needs;
};

// Zarr v2 runs every filter and the compressor on the chunk's flat buffer, so a byte-level codec
// (a checksum, a compressor) may stand among the filters, and numcodecs' shuffle in the
// compressor's place. `specs` is a v2 chain as the metadata normalises it ([transpose] + filters +
// bytes + [compressor]); this moves `bytes` before the first filter that only works on bytes, so
// every codec sits where its kind belongs. Lists without such a filter come back unchanged.
std::vector<metadata::CodecSpec> order_v2_codecs(std::vector<metadata::CodecSpec> specs);

// The entry for `name`, or null when no entry has that spelling.
const CodecInfo* find_codec(std::string_view name);
// The entry for `name`; UnsupportedError naming `array` and the codec (and, where one would
// help, the library) when cuzarr cannot decode it.
const CodecInfo& require_codec(const std::string& name, const std::string& array);
// Every entry, for documentation and tests.
std::span<const CodecInfo> registered_codecs();

}  // namespace cuzarr::codec
