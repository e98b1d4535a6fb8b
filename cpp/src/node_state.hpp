// What an open Array or Group holds. Nodes opened from one cuzarr::open share a context: the
// store and a thread pool started on the first read in each process (a forked child starts its
// own: the parent's workers do not exist there).
#pragma once

#include <memory>

#include "codec/codec_chain.hpp"
#include "cuzarr/array.hpp"
#include "cuzarr/config.hpp"
#include "cuzarr/store.hpp"
#include "exec/thread_pool.hpp"
#include "metadata/node.hpp"
#include "process_local.hpp"

namespace cuzarr::detail {

class Context {
 public:
  Context(std::shared_ptr<const Store> store, OpenOptions options);
  const Store& store() const { return *store_; }
  const OpenOptions& options() const { return options_; }
  std::uint64_t max_metadata_bytes() const { return max_metadata_bytes_; }
  exec::ThreadPool& pool() const { return pool_.get(); }

 private:
  std::shared_ptr<const Store> store_;
  OpenOptions options_;
  std::uint64_t max_metadata_bytes_;  // resolved once, at open
  ProcessLocal<exec::ThreadPool> pool_;
};

struct ArrayState {
  std::shared_ptr<const Context> context;
  metadata::ArrayMeta meta;
  codec::CodecChain chain;
};

struct GroupState {
  std::shared_ptr<const Context> context;
  metadata::NodeMeta meta;
  std::shared_ptr<const metadata::ConsolidatedIndex> consolidated;  // null when not used
};

}  // namespace cuzarr::detail
