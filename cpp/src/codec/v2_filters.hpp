// numcodecs filters (array→array in the chain, applied to the chunk's flat buffer in storage
// order), under their v2 ids and their v3 `numcodecs.*` names: delta, fixedscaleoffset, astype,
// quantize (decode is a cast), shuffle, packbits and bitround (decode is the identity). v3's
// numcodecs.shuffle is the same byte shuffle as a bytes→bytes codec.
#pragma once

#include <memory>
#include <string>

#include "codec/codec.hpp"
#include "metadata/array_meta.hpp"

namespace cuzarr::codec {

// Each builds the filter `spec` names for chunks of `decoded`; throws MetadataError or
// UnsupportedError naming `array` and the codec.
std::unique_ptr<const ArrayToArrayCodec> make_delta(const metadata::CodecSpec& spec, const ChunkSpec& decoded,
                                                    const std::string& array);
std::unique_ptr<const ArrayToArrayCodec> make_fixedscaleoffset(const metadata::CodecSpec& spec,
                                                               const ChunkSpec& decoded, const std::string& array);
std::unique_ptr<const ArrayToArrayCodec> make_astype(const metadata::CodecSpec& spec, const ChunkSpec& decoded,
                                                     const std::string& array);
std::unique_ptr<const ArrayToArrayCodec> make_quantize(const metadata::CodecSpec& spec, const ChunkSpec& decoded,
                                                       const std::string& array);
std::unique_ptr<const ArrayToArrayCodec> make_shuffle_filter(const metadata::CodecSpec& spec,
                                                             const ChunkSpec& decoded, const std::string& array);
std::unique_ptr<const ArrayToArrayCodec> make_packbits(const metadata::CodecSpec& spec, const ChunkSpec& decoded,
                                                       const std::string& array);
std::unique_ptr<const ArrayToArrayCodec> make_bitround(const metadata::CodecSpec& spec, const ChunkSpec& decoded,
                                                       const std::string& array);
// `bytes` is what the array→bytes codec encodes (its element size is the default).
std::unique_ptr<const BytesToBytesCodec> make_shuffle_bytes(const metadata::CodecSpec& spec, const ChunkSpec& bytes,
                                                            const std::string& array);

// numcodecs/blosc byte shuffle, undone: byte k of element i is stored at k * count + i.
void unshuffle_bytes(const std::byte* in, std::byte* out, std::int64_t bytes, std::int64_t elementsize);

}  // namespace cuzarr::codec
