// 32-bit checksum codecs (bytes→bytes): v3 crc32c, and numcodecs' crc32, crc32c, adler32,
// fletcher32 and jenkins_lookup3 under their v2 ids and v3 `numcodecs.*` names. Each stores the
// checksum as 4 little-endian bytes before or after the data (numcodecs' `location`: crc32 and
// adler32 default to the start, the others to the end); decoding verifies and strips it, and a
// mismatch is a CodecError naming array, chunk and codec.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "codec/codec.hpp"
#include "metadata/array_meta.hpp"

namespace cuzarr::codec {

std::unique_ptr<const BytesToBytesCodec> make_crc32(const metadata::CodecSpec& spec, const ChunkSpec& bytes,
                                                    const std::string& array);
std::unique_ptr<const BytesToBytesCodec> make_crc32c(const metadata::CodecSpec& spec, const ChunkSpec& bytes,
                                                     const std::string& array);
std::unique_ptr<const BytesToBytesCodec> make_adler32(const metadata::CodecSpec& spec, const ChunkSpec& bytes,
                                                      const std::string& array);
std::unique_ptr<const BytesToBytesCodec> make_fletcher32(const metadata::CodecSpec& spec, const ChunkSpec& bytes,
                                                         const std::string& array);
std::unique_ptr<const BytesToBytesCodec> make_jenkins_lookup3(const metadata::CodecSpec& spec, const ChunkSpec& bytes,
                                                              const std::string& array);

// HDF5's Fletcher-32 (16-bit big-endian words, odd tail byte as a high byte), as numcodecs
// computes it.
std::uint32_t fletcher32(const std::byte* data, std::size_t size);
// Bob Jenkins' lookup3 hashlittle, as HDF5 and numcodecs compute it.
std::uint32_t jenkins_lookup3(const std::byte* data, std::size_t size, std::uint32_t initval);

}  // namespace cuzarr::codec
