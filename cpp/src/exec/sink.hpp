// The seam between the read engine (exec/engine.hpp) and where a read's data ends up. The engine
// decides per chunk what it needs (fill value, raw bytes, an encoded chunk to decode) from the
// chain's prepared traits and calls the sink once for it; the sink owns the rest: HostSink decodes
// and places on the host, the GPU sink (cuda/gpu_sink.hpp) stages bytes and decodes batches on the
// device where its policy says so. The defaults here are the host's way of doing each step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "codec/codec.hpp"
#include "codec/codec_chain.hpp"
#include "cuzarr/store.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::exec {

// Writes `size` bytes of a stored raw chunk, starting `offset` bytes from its view's origin, to `dst`.
using RawLoader = std::function<void(std::byte* dst, std::int64_t offset, std::size_t size)>;

// Raw elements of one chunk (or of a piece of it) and where they come from.
struct RawChunk {
  const RawLoader& load;
  codec::ChunkView geometry;  // the stored layout (data unused), swap_unit set when not native
  std::int64_t itemsize = 0;
  // The file's bytes, for sinks that read files themselves (cuFile): `store`'s value `key`, whose
  // byte 0 of the chunk lies at `base`. Null store when the bytes are already in memory.
  const Store* store = nullptr;
  std::string_view key;
  std::uint64_t base = 0;
};

// One stored (encoded) chunk: `size` bytes that `load(dst)` writes, to be decoded by `chain`.
struct EncodedChunk {
  const codec::CodecChain& chain;
  std::string_view array;  // for messages
  std::string_view key;    // the chunk's key (and inner chunk) for messages
  std::uint64_t size = 0;
  const std::function<void(std::byte*)>& load;
  std::span<const std::int64_t> shape;  // the chunk's shape
};

class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  // Copies the positions `parts` (one per array dimension) of `src`; `src` need only stay valid
  // for the duration of the call. May be called from several threads at once (as may all below).
  virtual void put(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) = 0;
  // Whether put() accepts views whose elements are still in non-native byte order
  // (ChunkView::swap_unit != 0), i.e. the sink swaps while it copies.
  virtual bool swaps_bytes() const { return false; }
  // Where a block of `block_shape` elements would land when `parts` select it whole, in order,
  // and its place in the output is one dense C-ordered block of host memory; nullptr otherwise.
  // The engine then reads or decodes the block straight there, with no copy.
  virtual std::byte* direct_target(std::span<const plan::DimPart* const> parts,
                                   std::span<const std::int64_t> block_shape) {
    (void)parts;
    (void)block_shape;
    return nullptr;
  }
  // Raw elements: the positions `parts` of `chunk` (chunk-local, nothing outside the span of
  // the selected positions is loaded). Default: straight into a direct target, else through a
  // buffer of the selected span and put().
  virtual void put_raw(const RawChunk& chunk, std::span<const plan::DimPart* const> parts);
  // An encoded chunk whose selected positions are `parts`. Default: decoded on the host, into
  // place when the chain and the target allow, else decoded and put().
  virtual void put_encoded(const EncodedChunk& chunk, std::span<const plan::DimPart* const> parts);
  // Whether encoded chunks of `chain` are decoded away from host memory (a GPU batch), so that a
  // read holds only their encoded bytes on the host.
  virtual bool decodes_off_host(const codec::CodecChain& chain) const {
    (void)chain;
    return false;
  }
  // Called once after the last chunk of a read (not after a failure); completes what is pending.
  virtual void finish() {}
};

// A sink over host memory: `dst` with per-dimension byte strides (0 where the selection drops a
// dimension).
class HostSink final : public ChunkSink {
 public:
  HostSink(std::byte* dst, std::span<const std::int64_t> dst_strides, int itemsize)
      : dst_(dst), dst_strides_(dst_strides.begin(), dst_strides.end()), itemsize_(itemsize) {}
  void put(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) override;
  std::byte* direct_target(std::span<const plan::DimPart* const> parts,
                           std::span<const std::int64_t> block_shape) override;

 private:
  std::byte* dst_;
  std::vector<std::int64_t> dst_strides_;
  int itemsize_;
};

// The host decode of one encoded chunk (the default put_encoded, and the CPU side of other
// sinks): decodes into `target` when given (the chain must allow it), else into a view handed to
// `put`. `defer_byteswap`: the view may keep non-native byte order.
void decode_on_host(const EncodedChunk& chunk, std::byte* target, bool defer_byteswap,
                    const std::function<void(const codec::ChunkView&)>& put);

}  // namespace cuzarr::exec
