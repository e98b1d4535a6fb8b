// The zarr-extensions array→array codecs that zarr-python >= 3.2 writes for packed data:
// `scale_offset` (decode: x / scale + offset, in the array's own arithmetic) and `cast_value`
// (value conversion to a narrower type, with rounding, out-of-range and scalar_map rules).
// Host decoders; a GPU read decodes them on the CPU before the copy.
#pragma once

#include <memory>
#include <string>

#include "codec/codec.hpp"
#include "metadata/array_meta.hpp"

namespace cuzarr::codec {

// Throw MetadataError / UnsupportedError naming `array` and the codec for configurations the
// spec rejects or types cuzarr lacks.
std::unique_ptr<const ArrayToArrayCodec> make_scale_offset(const metadata::CodecSpec& spec, const ChunkSpec& decoded,
                                                           const std::string& array);
std::unique_ptr<const ArrayToArrayCodec> make_cast_value(const metadata::CodecSpec& spec, const ChunkSpec& decoded,
                                                         const std::string& array);

}  // namespace cuzarr::codec
