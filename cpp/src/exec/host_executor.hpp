// Runs a chunk plan on the host: each touched chunk is fetched, decoded and placed by one task
// of the thread pool. Missing chunks are written with the fill value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
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

// Fetches and decodes one chunk and puts it into `sink` (`parts` are chunk-local, one per
// dimension). Returns false when the chunk (or shard) is missing and the fill value was put.
// `pool`, when given, also runs work inside the chunk (the inner chunks of a shard).
bool read_chunk(const metadata::ArrayMeta& meta, const codec::CodecChain& chain, const Store& store,
                std::span<const std::int64_t> coords, std::span<const plan::DimPart* const> parts,
                ChunkSink& sink, ThreadPool* pool = nullptr);

// Runs every chunk of `plan` through read_chunk on the pool.
void read_plan(const metadata::ArrayMeta& meta, const codec::CodecChain& chain, const Store& store,
               ThreadPool& pool, const plan::ChunkPlan& plan, ChunkSink& sink);

struct VerifyResult {
  std::size_t chunks = 0;
  std::size_t missing = 0;
  std::vector<std::string> errors;  // one message per chunk that failed, sorted
};

// Decodes every chunk of the array, collecting failures instead of stopping at the first.
VerifyResult verify_chunks(const metadata::ArrayMeta& meta, const codec::CodecChain& chain,
                           const Store& store, ThreadPool& pool,
                           const std::function<void(std::size_t, std::size_t)>& progress);

}  // namespace cuzarr::exec
