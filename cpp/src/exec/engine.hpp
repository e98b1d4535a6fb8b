// THE read engine, for host and GPU reads alike: every touched chunk of a plan is fetched and
// handed to a sink (exec/sink.hpp) as what it is — the fill value, raw elements, or an encoded
// chunk — decided from the chain's prepared traits. A shard is a chunk source: its index is
// fetched once, and its inner chunks become ordinary chunks of the read (nearby ones fetched
// together), so they reach the sink, and a GPU's batch decoder, exactly like whole chunks. Bytes
// in flight are bounded by Config::memory_budget whatever the array.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "codec/codec_chain.hpp"
#include "cuzarr/store.hpp"
#include "exec/sink.hpp"
#include "exec/thread_pool.hpp"
#include "metadata/array_meta.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::exec {

struct ReadContext {
  const metadata::ArrayMeta& meta;
  const codec::CodecChain& chain;
  const Store& store;
  ThreadPool& pool;
};

// What a read met: chunks absent from the store, and the inner chunks of shards (for verify).
struct ReadStats {
  std::size_t missing = 0;        // chunks (or whole shards) absent: read as the fill value
  std::size_t inner = 0;          // inner chunks of shards touched (present or not)
  std::size_t inner_missing = 0;  // of those, absent from their shard's index
};

// Failures collected instead of stopping the read at the first (verify).
class ErrorLog {
 public:
  void add(std::string message);
  std::vector<std::string> take();

 private:
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

// Reads every chunk of `plan` into `sink` and calls sink.finish().
ReadStats read_plan(const ReadContext& ctx, const plan::ChunkPlan& plan, ChunkSink& sink);

// Reads one chunk of the grid (`parts` chunk-local, one per dimension) into `sink`. With `errors`,
// a failing chunk or inner chunk is logged and the rest is still read; without, it throws.
ReadStats read_chunk(const ReadContext& ctx, std::span<const std::int64_t> coords,
                     std::span<const plan::DimPart* const> parts, ChunkSink& sink, ErrorLog* errors = nullptr);

}  // namespace cuzarr::exec
