// numcodecs filters of Zarr v2 (array→array in the chain, applied to the chunk's flat buffer in
// storage order): delta, fixedscaleoffset, astype, quantize (decode is a cast) and shuffle.
#pragma once

#include "codec/codec.hpp"
#include "metadata/array_meta.hpp"

namespace cuzarr::codec {

// Builds the filter named by `spec` (a numcodecs id) for chunks of `decoded`; throws
// MetadataError/UnsupportedError naming `array`.
std::unique_ptr<const ArrayToArrayCodec> make_v2_filter(const metadata::CodecSpec& spec,
                                                        const ChunkSpec& decoded,
                                                        const std::string& array);

bool is_v2_filter(const std::string& name);

}  // namespace cuzarr::codec
