// cuzarr's own zstd decoder on the host, built from the same format functions as the GPU kernels
// (frame.hpp, literals.hpp, sequences.hpp, offsets.hpp, execute.hpp). It serves as their test
// bed against libzstd, as a fuzz target, and as a fallback for items a GPU batch rejects.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common.hpp"

namespace cuzarr::zstd {

// Decodes every frame of in[0, in_size) (zstd frames and skippable frames, concatenated) into
// out[0, capacity) and sets *produced. Output that would pass `capacity` is SizeMismatch; so is a
// frame whose decoded size differs from its Frame_Content_Size.
Status decode_into(const std::uint8_t* in, std::size_t in_size, std::uint8_t* out, std::size_t capacity,
                   std::size_t* produced);

// decode_into with an exact expected size (a Zarr chunk's): anything else is SizeMismatch.
Status decode(const std::uint8_t* in, std::size_t in_size, std::uint8_t* out, std::size_t out_size);

const char* status_name(Status status);

}  // namespace cuzarr::zstd
