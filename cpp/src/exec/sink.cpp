#include "exec/sink.hpp"

#include <algorithm>
#include <cstring>

#include "cuzarr/buffer.hpp"
#include "cuzarr/error.hpp"

namespace cuzarr::exec {
namespace {

void swap_units(std::byte* data, std::size_t bytes, int unit) {
  for (std::size_t at = 0; at + static_cast<std::size_t>(unit) <= bytes; at += static_cast<std::size_t>(unit)) {
    std::reverse(data + at, data + at + unit);
  }
}

}  // namespace

void ChunkSink::put_raw(const RawChunk& chunk, std::span<const plan::DimPart* const> parts) {
  const codec::ChunkView& g = chunk.geometry;
  const std::size_t rank = parts.size();
  // The selection's span in the stored chunk, and the same positions rebased to its first one
  // in every dimension (the piece read is a chunk of its own, starting there).
  const std::int64_t itemsize = chunk.itemsize;
  std::int64_t lo = 0, hi = 0;
  std::vector<std::int64_t> extent(rank);
  std::vector<plan::DimPart> rebased(rank);
  std::vector<const plan::DimPart*> pointers(rank);
  std::int64_t elements = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    if (parts[d]->local.empty()) return;
    const auto [mn, mx] = std::minmax_element(parts[d]->local.begin(), parts[d]->local.end());
    lo += *mn * g.byte_strides[d];
    hi += *mx * g.byte_strides[d];
    extent[d] = *mx - *mn + 1;
    elements *= static_cast<std::int64_t>(parts[d]->local.size());
    rebased[d] = *parts[d];
    for (std::int64_t& p : rebased[d].local) p -= *mn;
    pointers[d] = &rebased[d];
  }
  // Stored in C order over the selected block, which is all of it: one contiguous run of bytes.
  // Read it straight into the output when its place there is dense too.
  const std::vector<std::int64_t> dense = codec::c_order_strides(extent, itemsize);
  bool c_order = true;
  for (std::size_t d = 0; d < rank; ++d) c_order = c_order && (extent[d] == 1 || g.byte_strides[d] == dense[d]);
  const std::int64_t span = hi - lo + itemsize;
  if (c_order && span == elements * itemsize) {
    if (std::byte* target = direct_target(pointers, extent)) {
      chunk.load(target, lo, static_cast<std::size_t>(span));
      if (g.swap_unit != 0) swap_units(target, static_cast<std::size_t>(span), g.swap_unit);
      return;
    }
  }
  // Otherwise through a buffer holding the span.
  const auto n = static_cast<std::size_t>(span);
  Buffer bytes(n);
  chunk.load(bytes.data(), lo, n);
  codec::ChunkView view = g;
  view.data = bytes.data();
  view.shape = extent;
  if (!swaps_bytes()) {
    if (g.swap_unit != 0) swap_units(bytes.data(), n, g.swap_unit);
    view.swap_unit = 0;
  }
  put(view, pointers);
}

void ChunkSink::put_encoded(const EncodedChunk& chunk, std::span<const plan::DimPart* const> parts) {
  std::byte* target = chunk.chain.can_decode_into() ? direct_target(parts, chunk.shape) : nullptr;
  decode_on_host(chunk, target, swaps_bytes(), [&](const codec::ChunkView& view) { put(view, parts); });
}

void decode_on_host(const EncodedChunk& chunk, std::byte* target, bool defer_byteswap,
                    const std::function<void(const codec::ChunkView&)>& put) {
  Buffer bytes(static_cast<std::size_t>(chunk.size));
  chunk.load(bytes.data());
  const codec::DecodeContext ctx{chunk.array, chunk.key, defer_byteswap};
  if (target != nullptr) {
    const auto n = static_cast<std::size_t>(chunk.chain.traits().raw_bytes);
    chunk.chain.decode_into(std::move(bytes), {target, n}, ctx);
    return;
  }
  const codec::CodecChain::Decoded decoded = chunk.chain.decode(std::move(bytes), ctx);
  put(decoded.view);
}

}  // namespace cuzarr::exec
