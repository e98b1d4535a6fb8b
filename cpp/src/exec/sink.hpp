// The place step's destination. Decoders hand each decoded chunk (or a fill-value view) with the
// positions to copy; a sink puts them into the caller's output: HostSink copies at once, the GPU
// executor's sink stages them for a scatter kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "codec/codec.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::exec {

class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  // Copies the positions `parts` (one per array dimension) of `src`; `src` need only stay valid
  // for the duration of the call. May be called from several threads at once.
  virtual void put(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) = 0;
  // Whether put() accepts views whose elements are still in non-native byte order
  // (ChunkView::swap_unit != 0), i.e. the sink swaps while it copies.
  virtual bool swaps_bytes() const { return false; }
  // Where the chunk would land when its selection is the whole chunk and its place in the
  // output is one dense C-ordered block of host memory; nullptr otherwise. A decoder may then
  // write the chunk there directly, with no copy.
  virtual std::byte* direct_target(std::span<const plan::DimPart* const> parts,
                                   std::span<const std::int64_t> chunk_shape) {
    (void)parts;
    (void)chunk_shape;
    return nullptr;
  }
};

class HostSink final : public ChunkSink {
 public:
  HostSink(std::byte* dst, std::span<const std::int64_t> dst_strides, int itemsize)
      : dst_(dst), dst_strides_(dst_strides.begin(), dst_strides.end()), itemsize_(itemsize) {}
  void put(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) override;
  std::byte* direct_target(std::span<const plan::DimPart* const> parts,
                           std::span<const std::int64_t> chunk_shape) override;

 private:
  std::byte* dst_;
  std::vector<std::int64_t> dst_strides_;
  int itemsize_;
};

}  // namespace cuzarr::exec
