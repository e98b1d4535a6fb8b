// Runs a chunk plan on the host: each touched chunk is fetched, decoded and placed by one task
// of the thread pool. Missing chunks are written with the fill value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "codec/codec_chain.hpp"
#include "cuzarr/store.hpp"
#include "exec/thread_pool.hpp"
#include "metadata/array_meta.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr::exec {

// `dst_strides` has one entry per array dimension (0 where the selection drops it).
void read_host(const metadata::ArrayMeta& meta, const codec::CodecChain& chain, const Store& store,
               ThreadPool& pool, const plan::ChunkPlan& plan, std::byte* dst,
               std::span<const std::int64_t> dst_strides);

}  // namespace cuzarr::exec
