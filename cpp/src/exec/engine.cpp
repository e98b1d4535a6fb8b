#include "exec/engine.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <tuple>

#include "codec/sharding_codec.hpp"
#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "exec/fetch.hpp"
#include "exec/raw_ranges.hpp"

namespace cuzarr::exec {
namespace {

// Where a chunk's stored bytes are: a whole value of the store, a byte range of one (an inner
// chunk, or a nested shard), or bytes already fetched (an inner chunk of a merged range).
struct Source {
  std::string_view key;  // the store's key
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;  // nullopt: the whole value, size unknown
  const std::byte* memory = nullptr;    // fetched already: `*length` bytes here
};

std::uint64_t elements_of(std::span<const std::int64_t> shape) {
  return static_cast<std::uint64_t>(codec::element_count(shape));
}

// Nearby inner chunks are merged into requests of at most this many bytes (or one chunk).
constexpr std::uint64_t kMaxGroupBytes = std::uint64_t{16} << 20;

// What a shard's batch holds per inner chunk (its record, label, byte range and request share),
// and per part of one dimension besides its positions, for sizing batches.
constexpr std::size_t kInnerItemBytes = 256;
constexpr std::size_t kPartBytes = 128;

// The share of Config::memory_budget kept for plans (shard batches); the rest is for chunk bytes.
constexpr std::size_t kPlanShare = 8;

class Reader {
 public:
  Reader(const ReadContext& ctx, ChunkSink& sink, ErrorLog* errors)
      : ctx_(ctx), sink_(sink), errors_(errors), plan_bytes_(config().memory_budget / kPlanShare),
        budget_(config().memory_budget - plan_bytes_),
        cheap_ranges_(ctx.store.read_pattern() == ReadPattern::RandomRanges) {}

  void grid_chunk(std::span<const std::int64_t> coords, std::span<const plan::DimPart* const> parts) {
    // Messages name the chunk by its key within the array ("c/3/0/1", beside the array's path),
    // the same whichever node the store was opened at; the store is asked for its own key.
    const std::string label = ctx_.meta.chunk_key(coords);
    const std::string key = join_key(ctx_.meta.path, label);
    guarded(label, [&] { chunk(Source{key, 0, std::nullopt, nullptr}, ctx_.chain, ctx_.meta.chunk_shape, parts, label); });
  }

  // Grid chunks [first, first + count) of a store whose values are byte ranges of other stores
  // (references): each target's ranges are sorted and nearby ones fetched in one request, as a
  // shard's inner chunks are; inline and missing values are read as usual.
  void located_batch(const plan::ChunkPlan& plan, std::size_t first, std::size_t count) {
    const plan::ChunkBatch batch(plan.dims(), first, count);
    struct Item {
      std::vector<const plan::DimPart*> parts;
      std::string label, key;
      StoreLocation at;
    };
    std::vector<Item> located, others;  // others: inline values, whole targets, missing keys
    std::vector<std::int64_t> coords;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Item item;
      batch.chunk(i, item.parts, coords);
      item.label = ctx_.meta.chunk_key(coords);
      item.key = join_key(ctx_.meta.path, item.label);
      std::optional<StoreLocation> at;
      if (!guarded(item.label, [&] { at = ctx_.store.locate(item.key); })) continue;
      if (at) {
        item.at = std::move(*at);
        located.push_back(std::move(item));
      } else {
        others.push_back(std::move(item));
      }
    }
    std::sort(located.begin(), located.end(), [](const Item& a, const Item& b) {
      return std::tie(a.at.store, a.at.key, a.at.offset) < std::tie(b.at.store, b.at.key, b.at.offset);
    });
    // Groups of nearby ranges, target by target; chunks decoded off the host go one by one where
    // ranges are cheap (straight into the sink's pinned buffers).
    const bool one_by_one = cheap_ranges_ && sink_.decodes_off_host(ctx_.chain);
    std::vector<RangeGroup> groups;
    std::vector<ByteRange> ranges;
    for (std::size_t begin = 0, end = 0; begin < located.size(); begin = end) {
      ranges.clear();
      for (end = begin; end < located.size() && located[end].at.store == located[begin].at.store &&
                        located[end].at.key == located[begin].at.key;
           ++end) {
        ranges.push_back({located[end].at.offset, located[end].at.length});
      }
      for (RangeGroup g : coalesce(ranges, one_by_one ? 0 : config().coalesce_bytes, one_by_one ? 0 : kMaxGroupBytes)) {
        g.first += begin;
        g.last += begin;
        groups.push_back(g);
      }
    }
    const std::uint64_t decoded = elements_of(ctx_.meta.chunk_shape) * static_cast<std::uint64_t>(ctx_.meta.dtype.size);
    run(groups.size() + others.size(), [&](std::size_t g) {
      if (g >= groups.size()) {
        const Item& item = others[g - groups.size()];
        guarded(item.label, [&] {
          chunk(Source{item.key, 0, std::nullopt, nullptr}, ctx_.chain, ctx_.meta.chunk_shape, item.parts, item.label);
        });
        return;
      }
      const RangeGroup& group = groups[g];
      const std::size_t items = group.last - group.first;
      // The chunks of a group decode in parallel: one group may hold a whole variable's chunks.
      auto each = [&](const std::byte* base) {
        run(items, [&](std::size_t k) {
          const Item& item = located[group.first + k];
          const Source src{item.key, 0, item.at.length, base == nullptr ? nullptr : base + (item.at.offset - group.offset)};
          guarded(item.label, [&] { chunk(src, ctx_.chain, ctx_.meta.chunk_shape, item.parts, item.label); });
        });
      };
      if (items == 1) return each(nullptr);  // read like a whole chunk
      const std::uint64_t scratch =
          sink_.decodes_off_host(ctx_.chain) ? 0 : decoded * std::min<std::uint64_t>(items, ctx_.pool.size());
      const ByteBudget::Hold hold(budget_, static_cast<std::size_t>(group.size + scratch));
      Buffer bytes(static_cast<std::size_t>(group.size));
      const StoreLocation& at = located[group.first].at;
      bool read = false;
      try {
        read = at.store->read_into(at.key, group.offset, bytes.size(), bytes.data());
      } catch (const StoreError&) {
        read = false;
      }
      // A failed group is read chunk by chunk, so that the error names each reference.
      each(read ? bytes.data() : nullptr);
    });
  }

  ReadStats stats() const {
    return ReadStats{missing_.load(), inner_.load(), inner_missing_.load()};
  }

 private:
  // Runs `fn`; with an error log, a failure is logged (naming `label` when the message does not)
  // and the read goes on.
  template <typename Fn>
  bool guarded(const std::string& label, Fn&& fn) {
    if (errors_ == nullptr) {
      fn();
      return true;
    }
    try {
      fn();
      return true;
    } catch (const Error& e) {
      std::string what = e.what();
      if (what.find(label) == std::string::npos) what = "chunk '" + label + "': " + what;
      errors_->add(std::move(what));
      return false;
    }
  }

  // A chunk absent from the store (`inner`: an inner chunk its shard's index marks absent).
  void fill(std::span<const std::int64_t> shape, std::span<const plan::DimPart* const> parts, bool inner = false) {
    const codec::ChunkView view{ctx_.meta.fill_value.data(), std::vector<std::int64_t>(shape.begin(), shape.end()),
                                std::vector<std::int64_t>(shape.size(), 0)};
    sink_.put(view, parts);
    ++(inner ? inner_missing_ : missing_);
  }

  void chunk(const Source& src, const codec::CodecChain& chain, std::span<const std::int64_t> shape,
             std::span<const plan::DimPart* const> parts, const std::string& label) {
    switch (chain.traits().form) {
      case codec::CodecChain::Form::Sharded: shard(src, *chain.traits().shard, parts, label); return;
      case codec::CodecChain::Form::Raw: raw(src, chain, shape, parts, label); return;
      default: encoded(src, chain, shape, parts, label); return;
    }
  }

  // Reads `n` bytes at `offset` of the source into `dst`.
  void load(const Source& src, std::uint64_t offset, std::size_t n, std::byte* dst) const {
    if (src.memory != nullptr) {
      std::memcpy(dst, src.memory + offset, n);
    } else if (!ctx_.store.read_into(src.key, src.offset + offset, n, dst)) {
      std::string_view key = src.key;
      if (!ctx_.meta.path.empty() && key.starts_with(ctx_.meta.path + "/")) key.remove_prefix(ctx_.meta.path.size() + 1);
      throw StoreError("chunk '" + std::string(key) + "' of array '" + ctx_.meta.display +
                       "' disappeared while it was read");
    }
  }

  void raw(const Source& src, const codec::CodecChain& chain, std::span<const std::int64_t> shape,
           std::span<const plan::DimPart* const> parts, const std::string& label) {
    const codec::CodecChain::Traits& t = chain.traits();
    const auto expected = static_cast<std::uint64_t>(t.raw_bytes);
    const std::int64_t itemsize = ctx_.meta.dtype.size;
    if (src.memory == nullptr && !src.length && cheap_ranges_ && chain.can_decode_into()) {
      // A whole chunk whose place in the output is a dense block: read it straight there (one
      // request gives the bytes and the size to check).
      if (std::byte* target = sink_.direct_target(parts, shape)) {
        const std::optional<std::uint64_t> size = ctx_.store.read_front_into(src.key, expected, target);
        if (!size) return fill(shape, parts);
        check_stored_size(chain, *size, ctx_.meta.display, label);
        chain.swap_in_place({target, static_cast<std::size_t>(expected)});
        return;
      }
    }
    Source at = src;
    Buffer held;  // the whole chunk, for stores that prefer one request
    std::optional<ByteBudget::Hold> hold;
    if (!at.length) {
      if (cheap_ranges_) {
        at.length = ctx_.store.size(src.key);
        if (!at.length) return fill(shape, parts);
      } else {
        hold.emplace(budget_, static_cast<std::size_t>(2 * expected));
        std::optional<EdgeRead> whole = ctx_.store.get_edge(src.key, Edge::Front, expected);
        if (!whole) return fill(shape, parts);
        at.length = whole->total_size;  // checked below: the bytes read are then the whole chunk
        held = std::move(whole->bytes);
        at.memory = held.data();
      }
    }
    check_stored_size(chain, *at.length, ctx_.meta.display, label);
    const RawLoader loader = [&](std::byte* dst, std::int64_t offset, std::size_t n) {
      load(at, static_cast<std::uint64_t>(offset), n, dst);
    };
    const RawChunk chunk{loader, t.geometry, itemsize, at.memory == nullptr ? &ctx_.store : nullptr, at.key, at.offset};
    if (at.memory != nullptr || !cheap_ranges_) {
      sink_.put_raw(chunk, parts);
      return;
    }
    // Only the byte ranges of the selection's pieces are read (raw_ranges.hpp).
    std::vector<plan::DimPart> own(parts.size());
    for (std::size_t d = 0; d < parts.size(); ++d) own[d] = *parts[d];
    split_raw_selection(t.geometry, std::move(own), itemsize, [&](std::vector<plan::DimPart>& piece) {
      std::vector<const plan::DimPart*> pointers(piece.size());
      for (std::size_t d = 0; d < piece.size(); ++d) pointers[d] = &piece[d];
      const RawSpan span = raw_span(t.geometry, piece, itemsize);
      const ByteBudget::Hold hold(budget_, static_cast<std::size_t>(span.hi - span.lo));
      sink_.put_raw(chunk, pointers);
    });
  }

  void encoded(const Source& src, const codec::CodecChain& chain, std::span<const std::int64_t> shape,
               std::span<const plan::DimPart* const> parts, const std::string& label) {
    // Decoded bytes held beside the encoded ones, unless the chunk decodes into place or off
    // the host.
    const bool in_place = chain.can_decode_into() && sink_.direct_target(parts, shape) != nullptr;
    const std::uint64_t decoded =
        in_place || sink_.decodes_off_host(chain) ? 0 : elements_of(shape) * static_cast<std::uint64_t>(ctx_.meta.dtype.size);
    Source at = src;
    Buffer held;
    std::optional<ByteBudget::Hold> hold;
    if (at.memory == nullptr && !at.length) {
      if (cheap_ranges_) {
        // A size costs a stat here; the bytes are then read where the sink wants them.
        at.length = ctx_.store.size(src.key);
        if (!at.length) return fill(shape, parts);
      } else {
        // One request for the bytes and the size; no more than the limit is read.
        const auto limit = static_cast<std::uint64_t>(chain.encoded_limit());
        hold.emplace(budget_, static_cast<std::size_t>(limit + decoded));
        std::optional<EdgeRead> whole = ctx_.store.get_edge(src.key, Edge::Front, limit);
        if (!whole) return fill(shape, parts);
        held = std::move(whole->bytes);  // all of it once the size is checked below
        at.memory = held.data();
        at.length = whole->total_size;
      }
    }
    check_stored_size(chain, *at.length, ctx_.meta.display, label);
    if (!hold && src.memory == nullptr) hold.emplace(budget_, static_cast<std::size_t>(*at.length + decoded));
    const std::function<void(std::byte*)> loader = [&](std::byte* dst) {
      load(at, 0, static_cast<std::size_t>(*at.length), dst);
    };
    sink_.put_encoded(EncodedChunk{chain, ctx_.meta.display, label, *at.length, loader, shape}, parts);
  }

  // A shard: its index in one request, then the inner chunks the selection touches, nearby ones
  // fetched together.
  void shard(const Source& src, const codec::ShardingCodec& codec, std::span<const plan::DimPart* const> parts,
             const std::string& label) {
    const std::size_t rank = parts.size();
    const codec::DecodeContext dctx{ctx_.meta.display, label};
    const std::uint64_t index_bytes = codec.index_bytes();
    Buffer index;
    std::uint64_t size = 0;
    if (!src.length) {
      std::optional<EdgeRead> edge = ctx_.store.get_edge(src.key, codec.index_edge(), index_bytes);
      if (!edge) return fill(codec_shape(codec), parts);
      index = std::move(edge->bytes);
      size = edge->total_size;
    } else {
      // A shard inside a shard: its index lies at an end of its byte range.
      size = *src.length;
      if (size >= index_bytes) {
        const std::uint64_t at = codec.index_edge() == Edge::Back ? size - index_bytes : 0;
        index = Buffer(static_cast<std::size_t>(index_bytes));
        load(src, at, static_cast<std::size_t>(index_bytes), index.data());
      }
    }
    const std::vector<codec::ShardingCodec::Entry> entries = codec.parse_index(std::move(index), size, dctx);

    // The inner chunks the selection touches, with their share of each dimension's positions,
    // taken batch after batch: a shard of millions of inner chunks is read within the budget.
    // Every thread may be reading a shard, so each takes its share of the plans' part.
    std::vector<plan::DimChunks> sub;
    sub.reserve(rank);
    std::size_t total = 1;
    std::size_t per_chunk = kInnerItemBytes;  // at most one new part per dimension and chunk
    for (std::size_t d = 0; d < rank; ++d) {
      sub.emplace_back(*parts[d], codec.inner_shape()[d]);
      total *= static_cast<std::size_t>(sub.back().count());
      const auto positions = std::min(parts[d]->local.size(), static_cast<std::size_t>(codec.inner_shape()[d]));
      per_chunk += kPartBytes + 2 * sizeof(std::int64_t) * positions;
    }
    const std::size_t per_batch = plan::batch_chunks(plan_bytes_ / ctx_.pool.size(), per_chunk, 64);
    for (std::size_t first = 0; first < total; first += per_batch) {
      shard_batch(src, codec, entries, plan::ChunkBatch(sub, first, std::min(per_batch, total - first)), label);
    }
  }

  // Inner chunks of one batch of a shard: the absent ones filled, the others fetched (nearby ones
  // together) and read.
  void shard_batch(const Source& src, const codec::ShardingCodec& codec,
                   const std::vector<codec::ShardingCodec::Entry>& entries, const plan::ChunkBatch& batch,
                   const std::string& label) {
    struct Inner {
      const codec::ShardingCodec::Entry* entry;
      std::vector<const plan::DimPart*> parts;
      std::string label;
    };
    std::vector<Inner> present;
    std::vector<std::int64_t> coords;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Inner item{nullptr, {}, {}};
      batch.chunk(i, item.parts, coords);
      std::int64_t linear = 0;
      for (std::size_t d = 0; d < coords.size(); ++d) linear = linear * codec.grid()[d] + coords[d];
      item.entry = &entries[static_cast<std::size_t>(linear)];
      ++inner_;
      if (item.entry->missing()) {
        fill(codec.inner_shape(), item.parts, true);
      } else {
        item.label = label + " (inner chunk " + codec::coords_text(coords) + ")";
        present.push_back(std::move(item));
      }
    }
    const codec::CodecChain& inner = codec.inner();
    if (inner.traits().form == codec::CodecChain::Form::Sharded) {
      // Nested shards are chunk sources of their own: each fetches its index from its range.
      run(present.size(), [&](std::size_t k) {
        const Inner& item = present[k];
        const Source range{src.key, src.offset + item.entry->offset, item.entry->nbytes,
                           src.memory != nullptr ? src.memory + item.entry->offset : nullptr};
        guarded(item.label, [&] { chunk(range, inner, codec.inner_shape(), item.parts, item.label); });
      });
      return;
    }
    std::sort(present.begin(), present.end(),
              [](const Inner& a, const Inner& b) { return a.entry->offset < b.entry->offset; });
    std::vector<ByteRange> ranges;
    ranges.reserve(present.size());
    for (const Inner& item : present) ranges.push_back({item.entry->offset, item.entry->nbytes});
    // Inner chunks decoded off the host are read one by one where ranges are cheap: each then
    // goes straight into the sink's (pinned) buffer, with no group buffer and no second copy.
    const bool one_by_one = cheap_ranges_ && sink_.decodes_off_host(inner);
    const std::vector<RangeGroup> groups =
        coalesce(ranges, one_by_one ? 0 : config().coalesce_bytes, one_by_one ? 0 : kMaxGroupBytes);
    const std::uint64_t decoded = elements_of(codec.inner_shape()) * static_cast<std::uint64_t>(ctx_.meta.dtype.size);
    run(groups.size(), [&](std::size_t g) {
      const RangeGroup& group = groups[g];
      if (group.last - group.first == 1 && src.memory == nullptr) {
        // Alone in its request: read like a whole chunk, straight to where the sink wants it.
        const Inner& item = present[group.first];
        guarded(item.label, [&] {
          chunk(Source{src.key, src.offset + item.entry->offset, item.entry->nbytes}, inner, codec.inner_shape(),
                item.parts, item.label);
        });
        return;
      }
      // The group's bytes, and one decoded inner chunk at a time, are what this task holds.
      const std::uint64_t scratch = sink_.decodes_off_host(inner) ? 0 : decoded;
      const ByteBudget::Hold hold(budget_, static_cast<std::size_t>(group.size + scratch));
      Buffer bytes;
      const std::byte* base = src.memory != nullptr ? src.memory + group.offset : nullptr;
      if (base == nullptr) {
        bytes = Buffer(static_cast<std::size_t>(group.size));
        if (!guarded(label, [&] { load(src, group.offset, bytes.size(), bytes.data()); })) return;
        base = bytes.data();
      }
      for (std::size_t k = group.first; k < group.last; ++k) {
        const Inner& item = present[k];
        const Source in_memory{src.key, src.offset + item.entry->offset, item.entry->nbytes,
                               base + (item.entry->offset - group.offset)};
        guarded(item.label, [&] { chunk(in_memory, inner, codec.inner_shape(), item.parts, item.label); });
      }
    });
  }

  static std::vector<std::int64_t> codec_shape(const codec::ShardingCodec& codec) {
    std::vector<std::int64_t> shape(codec.inner_shape().size());
    for (std::size_t d = 0; d < shape.size(); ++d) shape[d] = codec.inner_shape()[d] * codec.grid()[d];
    return shape;
  }

  void run(std::size_t n, const std::function<void(std::size_t)>& fn) {
    if (n > 1) {
      ctx_.pool.parallel_for(n, fn);
    } else if (n == 1) {
      fn(0);
    }
  }

  const ReadContext& ctx_;
  ChunkSink& sink_;
  ErrorLog* errors_;
  std::size_t plan_bytes_;
  ByteBudget budget_;
  bool cheap_ranges_;
  std::atomic<std::size_t> missing_{0}, inner_{0}, inner_missing_{0};
};

}  // namespace

void ErrorLog::add(std::string message) {
  std::lock_guard lock(mutex_);
  messages_.push_back(std::move(message));
}

std::vector<std::string> ErrorLog::take() {
  std::lock_guard lock(mutex_);
  return std::move(messages_);
}

ReadStats read_plan(const ReadContext& ctx, const plan::ChunkPlan& plan, ChunkSink& sink) {
  Reader reader(ctx, sink, nullptr);
  if (ctx.store.refers_to_others()) {
    // References: batches of chunks whose ranges are merged per target (Reader::located_batch),
    // each batch's plan within the plans' share of the budget.
    std::size_t per_chunk = kInnerItemBytes;
    for (std::size_t d = 0; d < plan.rank(); ++d) {
      per_chunk += kPartBytes + 2 * sizeof(std::int64_t) * static_cast<std::size_t>(ctx.meta.chunk_shape[d]);
    }
    const std::size_t n = plan.num_chunks();
    const std::size_t per_batch = plan::batch_chunks(config().memory_budget / kPlanShare, per_chunk, 64);
    for (std::size_t first = 0; first < n; first += per_batch) reader.located_batch(plan, first, std::min(per_batch, n - first));
    sink.finish();
    return reader.stats();
  }
  // Runs of consecutive chunks per task: a cursor then remakes only the dimensions whose chunk
  // changed, what a read holds of its plan is one chunk per thread, and the pool still has
  // many more tasks than threads to balance.
  const std::size_t n = plan.num_chunks();
  const std::size_t per_task = std::clamp<std::size_t>(n / (16 * ctx.pool.size()), 1, 256);
  const std::size_t tasks = (n + per_task - 1) / per_task;
  auto run = [&](std::size_t t) {
    plan::ChunkCursor cursor(plan);
    for (std::size_t i = t * per_task, end = std::min(n, i + per_task); i < end; ++i) {
      cursor.seek(i);
      reader.grid_chunk(cursor.coords(), cursor.parts());
    }
  };
  if (tasks == 1) {
    run(0);  // a small read costs no hand-over to the pool
  } else if (tasks > 1) {
    ctx.pool.parallel_for(tasks, run);
  }
  sink.finish();
  return reader.stats();
}

ReadStats read_chunk(const ReadContext& ctx, std::span<const std::int64_t> coords,
                     std::span<const plan::DimPart* const> parts, ChunkSink& sink, ErrorLog* errors) {
  Reader reader(ctx, sink, errors);
  reader.grid_chunk(coords, parts);
  sink.finish();
  return reader.stats();
}

}  // namespace cuzarr::exec
