// The place step for variable-length items: decoded chunks hold records that point at their
// items' bytes (kVlenRecordSize); the sink copies each selected item into its own slot of the
// result, in C order of the output.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cuzarr/buffer.hpp"
#include "exec/sink.hpp"

namespace cuzarr::exec {

class VlenSink final : public ChunkSink {
 public:
  // `dst_strides`: per array dimension, the step in output items (0 for dropped dimensions).
  VlenSink(std::vector<std::int64_t> dst_strides, std::int64_t items)
      : dst_strides_(std::move(dst_strides)), items_(static_cast<std::size_t>(items)) {}
  // Each output item is written by exactly one chunk, so threads never share a slot.
  void put(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) override;
  using ChunkSink::finish;
  // Concatenates the items: item i is data[offsets[i], offsets[i + 1]).
  void finish(std::vector<std::int64_t>& offsets, Buffer& data) const;

 private:
  std::vector<std::int64_t> dst_strides_;
  std::vector<std::string> items_;
};

}  // namespace cuzarr::exec
