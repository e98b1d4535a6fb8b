// The host place step (strided scatter of one decoded chunk into the output) and the thread pool
// that runs chunks in parallel.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "codec/codec.hpp"
#include "cuzarr/selection.hpp"
#include "exec/place.hpp"
#include "exec/sink.hpp"
#include "exec/thread_pool.hpp"
#include "plan/chunk_plan.hpp"

namespace {

using cuzarr::codec::ChunkView;
using cuzarr::exec::place;
using cuzarr::exec::ThreadPool;
using cuzarr::plan::DimPart;
using Ints = std::vector<std::int64_t>;

constexpr std::byte kSentinel{0xEE};

// Byte b of the element whose C-order index in its chunk is `lin`: distinct for every element of
// the small chunks used here, and never the sentinel.
std::byte pattern(std::int64_t lin, int b) {
  auto v = static_cast<std::uint8_t>((lin * 37 + b * 11 + 1) & 0xff);
  if (v == 0xEE) v = 0x11;
  return std::byte{v};
}

DimPart part(std::int64_t chunk, Ints local, Ints out, bool dropped = false) {
  DimPart p;
  p.chunk = chunk;
  p.local = std::move(local);
  p.out = std::move(out);
  bool run = !dropped;
  for (std::size_t k = 1; run && k < p.local.size(); ++k) {
    run = p.local[k] == p.local[k - 1] + 1 && p.out[k] == p.out[k - 1] + 1;
  }
  p.contiguous = run;
  return p;
}

Ints iota(std::int64_t n, std::int64_t from = 0) {
  Ints v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), from);
  return v;
}

enum class SrcLayout { C, Permuted, ZeroStride };

// A decoded chunk in memory with a chosen layout.
struct Source {
  std::vector<std::byte> storage;
  ChunkView view;
  Ints shape;
  bool zero_stride = false;
  int itemsize = 0;

  // Expected bytes of logical element `pos`.
  std::vector<std::byte> expected(const Ints& pos) const {
    std::int64_t lin = 0;
    if (!zero_stride) {
      for (std::size_t d = 0; d < shape.size(); ++d) lin = lin * shape[d] + pos[d];
    }
    std::vector<std::byte> e(static_cast<std::size_t>(itemsize));
    for (int b = 0; b < itemsize; ++b) e[static_cast<std::size_t>(b)] = pattern(lin, b);
    return e;
  }
};

// `perm` lists dimensions from the slowest-varying in memory to the fastest (only for Permuted).
Source make_source(const Ints& shape, int itemsize, SrcLayout layout, const Ints& perm = {}) {
  Source s;
  s.shape = shape;
  s.itemsize = itemsize;
  s.view.shape = shape;
  const std::size_t rank = shape.size();
  std::int64_t count = 1;
  for (std::int64_t n : shape) count *= n;
  if (layout == SrcLayout::ZeroStride) {
    s.zero_stride = true;
    s.storage.resize(static_cast<std::size_t>(itemsize));
    s.view.byte_strides.assign(rank, 0);
  } else {
    s.storage.assign(static_cast<std::size_t>(count * itemsize), kSentinel);
    s.view.byte_strides.assign(rank, 0);
    Ints order = layout == SrcLayout::C ? iota(static_cast<std::int64_t>(rank)) : perm;
    std::int64_t stride = itemsize;
    for (std::size_t k = rank; k-- > 0;) {
      s.view.byte_strides[static_cast<std::size_t>(order[k])] = stride;
      stride *= shape[static_cast<std::size_t>(order[k])];
    }
  }
  s.view.data = s.storage.data();
  // Write every logical element through the strides.
  Ints pos(rank, 0);
  for (std::int64_t i = 0; i < (s.zero_stride ? 1 : count); ++i) {
    std::int64_t rem = i, off = 0;
    for (std::size_t d = rank; d-- > 0;) {
      pos[d] = rem % shape[d];
      rem /= shape[d];
      off += pos[d] * s.view.byte_strides[d];
    }
    const auto e = s.expected(pos);
    std::memcpy(s.storage.data() + off, e.data(), e.size());
  }
  return s;
}

enum class DstLayout { C, F, Reversed };

struct Destination {
  std::vector<std::byte> storage;
  std::byte* origin = nullptr;  // element (0, 0, ...)
  Ints shape;                   // output shape (dropped dimensions excluded)
  Ints out_strides;             // per output dimension
};

Destination make_destination(const Ints& shape, int itemsize, DstLayout layout) {
  Destination d;
  d.shape = shape;
  std::int64_t count = 1;
  for (std::int64_t n : shape) count *= n;
  d.storage.assign(static_cast<std::size_t>(std::max<std::int64_t>(count, 1) * itemsize), kSentinel);
  d.out_strides.assign(shape.size(), 0);
  std::int64_t stride = itemsize;
  if (layout == DstLayout::F) {
    for (std::size_t k = 0; k < shape.size(); ++k) {
      d.out_strides[k] = stride;
      stride *= shape[k];
    }
  } else {
    for (std::size_t k = shape.size(); k-- > 0;) {
      d.out_strides[k] = stride;
      stride *= shape[k];
    }
  }
  d.origin = d.storage.data();
  if (layout == DstLayout::Reversed) {
    // Every dimension runs backwards: element (0, 0, ...) is the last in memory.
    for (auto& s : d.out_strides) s = -s;
    d.origin = d.storage.data() + (count - 1) * itemsize;
  }
  return d;
}

// Places `parts` of `src` into `dst` and checks every output element, and that nothing else
// changed. `dropped[d]` marks array dimensions that are not in the output.
void check_place(const Source& src, const std::vector<DimPart>& parts, Destination& dst,
                 const std::vector<bool>& dropped, int itemsize) {
  const std::size_t rank = parts.size();
  ASSERT_EQ(src.shape.size(), rank);
  Ints dst_strides(rank, 0);
  for (std::size_t d = 0, o = 0; d < rank; ++d) {
    if (!dropped[d]) dst_strides[d] = dst.out_strides[o++];
  }
  std::vector<const DimPart*> ptrs;
  for (const DimPart& p : parts) ptrs.push_back(&p);
  const std::vector<std::byte> before = dst.storage;
  place(src.view, ptrs, dst.origin, dst_strides, itemsize);

  std::vector<bool> written(dst.storage.size(), false);
  Ints k(rank, 0);
  bool done = rank > 0 && std::any_of(parts.begin(), parts.end(), [](const DimPart& p) { return p.local.empty(); });
  while (!done) {
    Ints local(rank);
    std::int64_t off = dst.origin - dst.storage.data();
    for (std::size_t d = 0; d < rank; ++d) {
      local[d] = parts[d].local[static_cast<std::size_t>(k[d])];
      off += parts[d].out[static_cast<std::size_t>(k[d])] * dst_strides[d];
    }
    ASSERT_GE(off, 0);
    ASSERT_LE(off + itemsize, static_cast<std::int64_t>(dst.storage.size()));
    const auto e = src.expected(local);
    for (int b = 0; b < itemsize; ++b) {
      ASSERT_EQ(dst.storage[static_cast<std::size_t>(off + b)], e[static_cast<std::size_t>(b)])
          << "byte " << b << " of the element from chunk position " << testing::PrintToString(local);
      written[static_cast<std::size_t>(off + b)] = true;
    }
    std::size_t d = rank;
    while (d-- > 0) {
      if (++k[d] < static_cast<std::int64_t>(parts[d].local.size())) break;
      k[d] = 0;
    }
    done = d == static_cast<std::size_t>(-1);
  }
  for (std::size_t i = 0; i < written.size(); ++i) {
    if (!written[i]) {
      ASSERT_EQ(dst.storage[i], before[i]) << "byte " << i << " changed";
    }
  }
}

const int kItemsizes[] = {1, 2, 3, 4, 5, 8, 12, 16};

}  // namespace

TEST(Place, COrderFullChunk) {
  for (int itemsize : kItemsizes) {
    SCOPED_TRACE(itemsize);
    const Source src = make_source({4, 5}, itemsize, SrcLayout::C);
    Destination dst = make_destination({4, 5}, itemsize, DstLayout::C);
    check_place(src, {part(0, iota(4), iota(4)), part(0, iota(5), iota(5))}, dst, {false, false},
                itemsize);
  }
}

TEST(Place, COrderEdgeChunkIntoLargerOutput) {
  // the last chunk (2 x 3 positions used of a 4 x 5 chunk) of a 10 x 13 array
  for (int itemsize : kItemsizes) {
    SCOPED_TRACE(itemsize);
    const Source src = make_source({4, 5}, itemsize, SrcLayout::C);
    Destination dst = make_destination({10, 13}, itemsize, DstLayout::C);
    check_place(src, {part(2, {0, 1}, {8, 9}), part(2, {0, 1, 2}, {10, 11, 12})}, dst,
                {false, false}, itemsize);
  }
}

TEST(Place, SubRegionsAtOffsets) {
  for (int itemsize : kItemsizes) {
    SCOPED_TRACE(itemsize);
    const Source src = make_source({4, 6}, itemsize, SrcLayout::C);
    Destination dst = make_destination({5, 7}, itemsize, DstLayout::C);
    check_place(src, {part(0, {1, 2, 3}, {0, 1, 2}), part(0, {2, 3, 4}, {4, 5, 6})}, dst,
                {false, false}, itemsize);
  }
}

TEST(Place, TransposedSource) {
  for (int itemsize : kItemsizes) {
    SCOPED_TRACE(itemsize);
    // memory order: dimension 1 slowest, dimension 0 fastest (an F-ordered 2-d chunk)
    const Source src = make_source({4, 5}, itemsize, SrcLayout::Permuted, {1, 0});
    EXPECT_EQ(src.view.byte_strides, (Ints{itemsize, 4 * itemsize}));
    Destination dst = make_destination({4, 5}, itemsize, DstLayout::C);
    check_place(src, {part(0, iota(4), iota(4)), part(0, iota(5), iota(5))}, dst, {false, false},
                itemsize);
    // 3-d with a rotated layout, partial selection
    const Source src3 = make_source({3, 4, 5}, itemsize, SrcLayout::Permuted, {2, 0, 1});
    Destination dst3 = make_destination({2, 4, 3}, itemsize, DstLayout::C);
    check_place(src3, {part(0, {0, 2}, {0, 1}), part(0, iota(4), iota(4)), part(0, {1, 2, 3}, {0, 1, 2})},
                dst3, {false, false, false}, itemsize);
  }
}

TEST(Place, ZeroStrideSourceFills) {
  for (int itemsize : kItemsizes) {
    SCOPED_TRACE(itemsize);
    const Source src = make_source({4, 5}, itemsize, SrcLayout::ZeroStride);
    Destination dst = make_destination({6, 7}, itemsize, DstLayout::C);
    check_place(src, {part(1, iota(4), {2, 3, 4, 5}), part(0, iota(5), iota(5))}, dst,
                {false, false}, itemsize);
    Destination dst_f = make_destination({6, 7}, itemsize, DstLayout::F);
    check_place(src, {part(1, {3, 0}, {5, 0}), part(0, {4}, {6})}, dst_f, {false, false}, itemsize);
  }
}

TEST(Place, FOrderDestination) {
  for (int itemsize : kItemsizes) {
    SCOPED_TRACE(itemsize);
    const Source src = make_source({4, 5}, itemsize, SrcLayout::C);
    Destination dst = make_destination({8, 5}, itemsize, DstLayout::F);
    check_place(src, {part(1, iota(4), iota(4, 4)), part(0, iota(5), iota(5))}, dst, {false, false},
                itemsize);
    // a transposed source into an F-ordered output lines up again: runs along dimension 0
    const Source srcf = make_source({4, 5}, itemsize, SrcLayout::Permuted, {1, 0});
    Destination dst2 = make_destination({4, 5}, itemsize, DstLayout::F);
    check_place(srcf, {part(0, iota(4), iota(4)), part(0, iota(5), iota(5))}, dst2, {false, false},
                itemsize);
  }
}

TEST(Place, NegativeStrideDestination) {
  for (int itemsize : kItemsizes) {
    SCOPED_TRACE(itemsize);
    const Source src = make_source({4, 5}, itemsize, SrcLayout::C);
    Destination dst = make_destination({4, 5}, itemsize, DstLayout::Reversed);
    EXPECT_EQ(dst.origin, dst.storage.data() + 19 * itemsize);
    check_place(src, {part(0, iota(4), iota(4)), part(0, iota(5), iota(5))}, dst, {false, false},
                itemsize);
    // 1-d reversed, with a partial part
    const Source src1 = make_source({6}, itemsize, SrcLayout::C);
    Destination dst1 = make_destination({9}, itemsize, DstLayout::Reversed);
    check_place(src1, {part(1, {1, 2, 3}, {4, 5, 6})}, dst1, {false}, itemsize);
  }
}

TEST(Place, DroppedDimensions) {
  for (int itemsize : kItemsizes) {
    SCOPED_TRACE(itemsize);
    const Source src = make_source({3, 4, 5}, itemsize, SrcLayout::C);
    // array[i=2 (chunk-local 2), :, j=4 (local 4)] → output of shape (4,)
    Destination dst = make_destination({4}, itemsize, DstLayout::C);
    check_place(src, {part(0, {2}, {0}, true), part(0, iota(4), iota(4)), part(0, {4}, {0}, true)},
                dst, {true, false, true}, itemsize);
    // dropping the innermost dimension forces element copies with a strided source
    Destination dst2 = make_destination({3, 4}, itemsize, DstLayout::F);
    check_place(src, {part(0, iota(3), iota(3)), part(0, iota(4), iota(4)), part(0, {1}, {0}, true)},
                dst2, {false, false, true}, itemsize);
    // every dimension dropped: a single element
    Destination dst3 = make_destination({}, itemsize, DstLayout::C);
    check_place(src, {part(0, {1}, {0}, true), part(0, {3}, {0}, true), part(0, {0}, {0}, true)}, dst3,
                {true, true, true}, itemsize);
  }
}

TEST(Place, IndexArrayParts) {
  for (int itemsize : kItemsizes) {
    SCOPED_TRACE(itemsize);
    const Source src = make_source({4, 5}, itemsize, SrcLayout::C);
    Destination dst = make_destination({7, 6}, itemsize, DstLayout::C);
    // unsorted, repeated chunk positions going to scattered output positions
    check_place(src, {part(0, {3, 0, 3, 1}, {6, 2, 0, 5}), part(0, {4, 4, 0, 2}, {1, 5, 3, 0})}, dst,
                {false, false}, itemsize);
    Destination dst_r = make_destination({7, 6}, itemsize, DstLayout::Reversed);
    check_place(src, {part(0, {2, 1}, {3, 4}), part(0, {0, 1, 2, 3}, {2, 3, 4, 5})}, dst_r,
                {false, false}, itemsize);
  }
}

TEST(Place, ZeroDimensional) {
  for (int itemsize : kItemsizes) {
    SCOPED_TRACE(itemsize);
    const Source src = make_source({}, itemsize, SrcLayout::C);
    Destination dst = make_destination({}, itemsize, DstLayout::C);
    check_place(src, {}, dst, {}, itemsize);
    const Source fill = make_source({}, itemsize, SrcLayout::ZeroStride);
    Destination dst2 = make_destination({}, itemsize, DstLayout::C);
    check_place(fill, {}, dst2, {}, itemsize);
  }
}

// The plan and the place step together: every chunk of a 3-d array, placed through a real
// ChunkPlan, reproduces the selection computed directly.
TEST(Place, WholePlanMatchesDirectIndexing) {
  const Ints shape{7, 6, 5};
  const Ints chunk_shape{3, 4, 2};
  const int itemsize = 4;
  auto value = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
    return static_cast<std::int32_t>(i * 10000 + j * 100 + k);
  };
  cuzarr::Selection sel;
  sel.dims = {cuzarr::Slice{1, std::nullopt, 2}, std::vector<std::int64_t>{5, 0, 3, 3},
              cuzarr::Slice{std::nullopt, -1, 1}};
  const cuzarr::plan::ChunkPlan plan(sel, shape, chunk_shape);
  ASSERT_EQ(plan.out_shape(), (Ints{3, 4, 4}));
  for (DstLayout layout : {DstLayout::C, DstLayout::F, DstLayout::Reversed}) {
    Destination dst = make_destination(plan.out_shape(), itemsize, layout);
    cuzarr::plan::ChunkCursor cursor(plan);
    for (std::size_t c = 0; c < plan.num_chunks(); ++c) {
      cursor.seek(c);
      const auto parts = cursor.parts();
      const auto coords = cursor.coords();
      // build the chunk from the array's values (positions past the edge hold junk)
      std::vector<std::int32_t> data(static_cast<std::size_t>(3 * 4 * 2), -1);
      for (std::int64_t a = 0; a < 3; ++a) {
        for (std::int64_t b = 0; b < 4; ++b) {
          for (std::int64_t e = 0; e < 2; ++e) {
            const Ints g{coords[0] * 3 + a, coords[1] * 4 + b, coords[2] * 2 + e};
            if (g[0] < shape[0] && g[1] < shape[1] && g[2] < shape[2]) {
              data[static_cast<std::size_t>((a * 4 + b) * 2 + e)] = value(g[0], g[1], g[2]);
            }
          }
        }
      }
      const ChunkView view{reinterpret_cast<const std::byte*>(data.data()), chunk_shape,
                           cuzarr::codec::c_order_strides(chunk_shape, itemsize)};
      place(view, parts, dst.origin, dst.out_strides, itemsize);
    }
    const Ints is{1, 3, 5}, js{5, 0, 3, 3}, ks{0, 1, 2, 3};
    for (std::size_t a = 0; a < is.size(); ++a) {
      for (std::size_t b = 0; b < js.size(); ++b) {
        for (std::size_t e = 0; e < ks.size(); ++e) {
          const std::int64_t off = static_cast<std::int64_t>(a) * dst.out_strides[0] +
                                   static_cast<std::int64_t>(b) * dst.out_strides[1] +
                                   static_cast<std::int64_t>(e) * dst.out_strides[2];
          std::int32_t got;
          std::memcpy(&got, dst.origin + off, 4);
          EXPECT_EQ(got, value(is[a], js[b], ks[e])) << a << "," << b << "," << e;
        }
      }
    }
  }
}

TEST(HostSink, PutPlacesIntoItsOutput) {
  const Source src = make_source({4, 5}, 4, SrcLayout::C);
  Destination via_sink = make_destination({6, 5}, 4, DstLayout::F);
  Destination direct = make_destination({6, 5}, 4, DstLayout::F);
  const std::vector<DimPart> parts{part(1, {0, 3}, {4, 5}), part(0, {4, 0, 1}, {0, 1, 2})};
  std::vector<const DimPart*> ptrs{&parts[0], &parts[1]};
  cuzarr::exec::HostSink sink(via_sink.origin, via_sink.out_strides, 4);
  EXPECT_FALSE(sink.swaps_bytes());
  sink.put(src.view, ptrs);
  place(src.view, ptrs, direct.origin, direct.out_strides, 4);
  EXPECT_EQ(via_sink.storage, direct.storage);
  check_place(src, parts, direct, {false, false}, 4);
}

// ---------------------------------------------------------------------------------------------
// ThreadPool

TEST(ThreadPool, Size) {
  EXPECT_EQ(ThreadPool(1).size(), 1u);
  EXPECT_EQ(ThreadPool(4).size(), 4u);
  EXPECT_EQ(ThreadPool(0).size(), 1u);
}

TEST(ThreadPool, CoversEachIndexExactlyOnce) {
  for (std::size_t threads : {1u, 4u}) {
    ThreadPool pool(threads);
    for (std::size_t n : {0u, 1u, 2u, 3u, 1000u}) {
      SCOPED_TRACE(testing::Message() << threads << " threads, n = " << n);
      std::vector<std::atomic<int>> hits(n);
      pool.parallel_for(n, [&](std::size_t i) { hits[i].fetch_add(1); });
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << i;
    }
  }
}

TEST(ThreadPool, ZeroItemsNeverCallsTheFunction) {
  ThreadPool pool(4);
  bool called = false;
  pool.parallel_for(0, [&](std::size_t) { called = true; });
  EXPECT_FALSE(called);
}

TEST(ThreadPool, ExceptionIsRethrownAndPoolStaysUsable) {
  for (std::size_t threads : {1u, 4u}) {
    SCOPED_TRACE(threads);
    ThreadPool pool(threads);
    for (int round = 0; round < 3; ++round) {
      try {
        pool.parallel_for(1000, [&](std::size_t i) {
          if (i == 500) throw std::runtime_error("item 500 failed");
        });
        FAIL() << "no exception";
      } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "item 500 failed");
      }
      std::vector<std::atomic<int>> hits(1000);
      pool.parallel_for(1000, [&](std::size_t i) { hits[i].fetch_add(1); });
      for (std::size_t i = 0; i < 1000; ++i) ASSERT_EQ(hits[i].load(), 1) << i;
    }
    // every item throwing: one of the exceptions comes back
    EXPECT_THROW(pool.parallel_for(100, [](std::size_t) { throw std::logic_error("all"); }),
                 std::logic_error);
    // a single item runs on the caller
    EXPECT_THROW(pool.parallel_for(1, [](std::size_t) { throw std::out_of_range("one"); }),
                 std::out_of_range);
  }
}

TEST(ThreadPool, ExceptionStopsItemsNotYetStarted) {
  ThreadPool pool(1);  // sequential: items after the failing one are never started
  std::atomic<int> ran{0};
  EXPECT_THROW(pool.parallel_for(1000,
                                 [&](std::size_t i) {
                                   ran.fetch_add(1);
                                   if (i == 10) throw std::runtime_error("stop");
                                 }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 11);
}

TEST(ThreadPool, ItemsRunConcurrently) {
  ThreadPool pool(4);
  std::atomic<int> inside{0};
  std::atomic<int> peak{0};
  pool.parallel_for(4, [&](std::size_t) {
    const int now = inside.fetch_add(1) + 1;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    // Wait (bounded) for a second item to be running at the same time.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (peak.load() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    inside.fetch_sub(1);
  });
  EXPECT_GE(peak.load(), 2);
}

TEST(ThreadPool, ConcurrentCallersAllComplete) {
  ThreadPool pool(4);
  for (int round = 0; round < 20; ++round) {
    constexpr int kCallers = 3;
    constexpr std::size_t kItems = 1000;
    std::vector<std::vector<std::atomic<int>>> hits;
    for (int c = 0; c < kCallers; ++c) hits.emplace_back(kItems);
    std::vector<std::thread> callers;
    for (int c = 0; c < kCallers; ++c) {
      callers.emplace_back([&, c] {
        pool.parallel_for(kItems, [&, c](std::size_t i) { hits[static_cast<std::size_t>(c)][i].fetch_add(1); });
      });
    }
    for (auto& t : callers) t.join();
    for (int c = 0; c < kCallers; ++c) {
      for (std::size_t i = 0; i < kItems; ++i) {
        ASSERT_EQ(hits[static_cast<std::size_t>(c)][i].load(), 1) << "caller " << c << " item " << i;
      }
    }
  }
}

TEST(ThreadPool, ConcurrentCallersWithFailures) {
  ThreadPool pool(4);
  std::atomic<int> caught{0};
  std::vector<std::atomic<int>> ok_hits(500);
  std::vector<std::thread> callers;
  for (int c = 0; c < 2; ++c) {
    callers.emplace_back([&] {
      try {
        pool.parallel_for(500, [](std::size_t i) {
          if (i % 97 == 3) throw std::runtime_error("bad");
        });
      } catch (const std::runtime_error&) {
        caught.fetch_add(1);
      }
    });
  }
  callers.emplace_back([&] { pool.parallel_for(500, [&](std::size_t i) { ok_hits[i].fetch_add(1); }); });
  for (auto& t : callers) t.join();
  EXPECT_EQ(caught.load(), 2);
  for (std::size_t i = 0; i < ok_hits.size(); ++i) ASSERT_EQ(ok_hits[i].load(), 1) << i;
}

TEST(ThreadPool, NestedParallelForCompletes) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(20 * 30);
  pool.parallel_for(20, [&](std::size_t i) {
    pool.parallel_for(30, [&](std::size_t j) { hits[i * 30 + j].fetch_add(1); });
  });
  for (std::size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i].load(), 1) << i;
}

TEST(ThreadPool, ManyPoolsStartAndStop) {
  for (int i = 0; i < 50; ++i) {
    ThreadPool pool(4);
    if (i % 2 == 0) {
      std::atomic<int> sum{0};
      pool.parallel_for(10, [&](std::size_t k) { sum.fetch_add(static_cast<int>(k)); });
      EXPECT_EQ(sum.load(), 45);
    }
  }
}
