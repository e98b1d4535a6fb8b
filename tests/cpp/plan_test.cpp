// Selections: parsing, normalisation against a shape, and the chunk plan that maps every touched
// chunk's positions to output positions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "cuzarr/error.hpp"
#include "cuzarr/selection.hpp"
#include "plan/chunk_plan.hpp"

namespace {

using cuzarr::DimSelection;
using cuzarr::Selection;
using cuzarr::Slice;
using cuzarr::plan::ChunkPlan;
using cuzarr::plan::DimPart;
using Shape = std::vector<std::int64_t>;
using Ints = std::vector<std::int64_t>;

constexpr std::optional<std::int64_t> none = std::nullopt;

Selection sel(std::vector<DimSelection> dims) { return Selection{std::move(dims)}; }
DimSelection slice(std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                   std::int64_t step = 1) {
  return Slice{start, stop, step};
}
DimSelection idx(std::int64_t i) { return i; }
DimSelection list(Ints v) { return v; }

struct PlannedChunk {
  Ints coords;
  std::vector<DimPart> parts;
};

std::vector<PlannedChunk> chunks_of(const ChunkPlan& plan) {
  std::vector<PlannedChunk> out;
  cuzarr::plan::ChunkCursor cursor(plan);
  for (std::size_t i = 0; i < plan.num_chunks(); ++i) {
    cursor.seek(i);
    PlannedChunk c{Ints(cursor.coords().begin(), cursor.coords().end()), {}};
    for (const DimPart* p : cursor.parts()) c.parts.push_back(*p);
    out.push_back(std::move(c));
  }
  return out;
}

// The parts of every touched sub-chunk of `part` (a shard's inner chunks along one dimension).
std::vector<DimPart> subdivide(const DimPart& part, std::int64_t sub) {
  const cuzarr::plan::DimChunks chunks(part, sub);
  std::vector<DimPart> out(static_cast<std::size_t>(chunks.count()));
  for (std::int64_t k = 0; k < chunks.count(); ++k) chunks.part(k, out[static_cast<std::size_t>(k)]);
  return out;
}

// Python's slice.indices for a positive step, written out independently of the library.
Ints python_slice(std::int64_t n, std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                  std::int64_t step) {
  auto adjust = [n](std::int64_t v) {
    if (v < 0) return std::max<std::int64_t>(v + n, 0);
    return std::min(v, n);
  };
  const std::int64_t s = start ? adjust(*start) : 0;
  const std::int64_t e = stop ? adjust(*stop) : n;
  Ints out;
  for (std::int64_t i = s; i < e; i += step) out.push_back(i);
  return out;
}

// Selected array positions per dimension (a dropped dimension holds its single index).
std::vector<Ints> reference_positions(const Selection& s, const Shape& shape) {
  std::vector<Ints> out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const std::int64_t n = shape[d];
    if (d >= s.dims.size()) {
      out.push_back(python_slice(n, none, none, 1));
      continue;
    }
    const DimSelection& ds = s.dims[d];
    if (auto* i = std::get_if<std::int64_t>(&ds)) {
      out.push_back({*i < 0 ? *i + n : *i});
    } else if (auto* sl = std::get_if<Slice>(&ds)) {
      out.push_back(python_slice(n, sl->start, sl->stop, sl->step));
    } else {
      Ints v;
      for (std::int64_t i : std::get<Ints>(ds)) v.push_back(i < 0 ? i + n : i);
      out.push_back(v);
    }
  }
  return out;
}

// Checks the plan against the reference: every output element is written exactly once, from the
// right array position; chunks are distinct and enumerated as the cartesian product of the
// per-dimension chunk lists (last dimension fastest).
void verify_plan(const Selection& s, const Shape& shape, const Shape& chunk_shape) {
  const ChunkPlan plan(s, shape, chunk_shape);
  const std::vector<Ints> ref = reference_positions(s, shape);
  Shape out_shape;
  std::vector<bool> dropped;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const bool drop = d < s.dims.size() && std::holds_alternative<std::int64_t>(s.dims[d]);
    dropped.push_back(drop);
    if (!drop) out_shape.push_back(static_cast<std::int64_t>(ref[d].size()));
  }
  ASSERT_EQ(plan.out_shape(), out_shape);
  ASSERT_EQ(plan.rank(), shape.size());
  for (std::size_t d = 0; d < shape.size(); ++d) ASSERT_EQ(plan.dropped(d), dropped[d]) << d;

  std::int64_t total = 1;
  for (std::int64_t n : out_shape) total *= n;
  std::vector<int> written(static_cast<std::size_t>(total), 0);
  std::set<Ints> seen;
  const auto chunks = chunks_of(plan);
  // Per-dimension chunk lists, recovered from the enumeration, to check the product order.
  std::vector<Ints> per_dim(shape.size());
  for (const PlannedChunk& c : chunks) {
    ASSERT_EQ(c.coords.size(), shape.size());
    ASSERT_TRUE(seen.insert(c.coords).second) << "chunk visited twice";
    for (std::size_t d = 0; d < shape.size(); ++d) {
      const DimPart& p = c.parts[d];
      ASSERT_EQ(p.chunk, c.coords[d]);
      ASSERT_FALSE(p.local.empty());
      ASSERT_EQ(p.local.size(), p.out.size());
      if (std::find(per_dim[d].begin(), per_dim[d].end(), p.chunk) == per_dim[d].end()) {
        per_dim[d].push_back(p.chunk);
      }
      bool run = !dropped[d];
      for (std::size_t k = 1; k < p.local.size(); ++k) {
        run = run && p.local[k] == p.local[k - 1] + 1 && p.out[k] == p.out[k - 1] + 1;
      }
      ASSERT_EQ(p.contiguous, run) << "dim " << d << " chunk " << p.chunk;
      for (std::size_t k = 0; k < p.local.size(); ++k) {
        ASSERT_GE(p.local[k], 0);
        ASSERT_LT(p.local[k], chunk_shape[d]);
        const std::int64_t pos = p.chunk * chunk_shape[d] + p.local[k];
        if (dropped[d]) {
          ASSERT_EQ(p.out[k], 0);
          ASSERT_EQ(pos, ref[d][0]);
        } else {
          ASSERT_LT(p.out[k], static_cast<std::int64_t>(ref[d].size()));
          ASSERT_EQ(pos, ref[d][static_cast<std::size_t>(p.out[k])]) << "dim " << d << " out " << p.out[k];
        }
      }
    }
    // Count every output element this chunk writes.
    std::vector<std::size_t> k(shape.size(), 0);
    while (true) {
      std::int64_t flat = 0;
      for (std::size_t d = 0; d < shape.size(); ++d) {
        if (dropped[d]) continue;
        flat = flat * static_cast<std::int64_t>(ref[d].size()) + c.parts[d].out[k[d]];
      }
      if (total > 0) ++written[static_cast<std::size_t>(flat)];
      std::size_t d = shape.size();
      while (d-- > 0) {
        if (++k[d] < c.parts[d].local.size()) break;
        k[d] = 0;
      }
      if (d == static_cast<std::size_t>(-1)) break;
    }
  }
  for (std::size_t i = 0; i < written.size(); ++i) ASSERT_EQ(written[i], 1) << "output element " << i;
  std::size_t product = 1;
  for (const Ints& v : per_dim) product *= v.size();
  ASSERT_EQ(chunks.size(), shape.empty() ? 1u : product);
  // Enumeration order: odometer over per_dim, last dimension fastest.
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    std::size_t rest = i;
    for (std::size_t d = shape.size(); d-- > 0;) {
      ASSERT_EQ(chunks[i].coords[d], per_dim[d][rest % per_dim[d].size()]) << "chunk " << i;
      rest /= per_dim[d].size();
    }
  }
}

template <typename F>
std::string selection_error(F&& fn) {
  try {
    fn();
  } catch (const cuzarr::SelectionError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("WRONG EXCEPTION: ") + e.what();
  }
  return "NO EXCEPTION";
}

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// normalize

TEST(Normalize, FullAndTrailingDimensions) {
  const auto d = cuzarr::plan::normalize(sel({idx(2)}), {10, 7});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_TRUE(d[0].dropped);
  EXPECT_EQ(d[0].start, 2);
  EXPECT_EQ(d[0].count(), 1);
  EXPECT_FALSE(d[1].dropped);
  EXPECT_TRUE(d[1].is_range);
  EXPECT_EQ(d[1].start, 0);
  EXPECT_EQ(d[1].step, 1);
  EXPECT_EQ(d[1].count(), 7);
  EXPECT_EQ(d[1].at(6), 6);
}

TEST(Normalize, SlicesFollowPython) {
  struct Case {
    std::optional<std::int64_t> start, stop;
    std::int64_t step;
    Ints expected;
  };
  const Case cases[] = {
      {none, none, 1, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
      {3, 7, 1, {3, 4, 5, 6}},
      {-3, none, 1, {7, 8, 9}},
      {none, -2, 1, {0, 1, 2, 3, 4, 5, 6, 7}},
      {-100, 100, 1, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
      {5, 2, 1, {}},
      {12, none, 1, {}},
      {none, -11, 1, {}},
      {-12, -11, 1, {}},
      {10, 10, 1, {}},
      {-5, none, 3, {5, 8}},
      {1, none, 4, {1, 5, 9}},
      {none, none, 10, {0}},
      {none, none, 100, {0}},
      {9, none, 5, {9}},
      {0, 0, 1, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "start " << c.start.value_or(-999) << " stop "
                                    << c.stop.value_or(-999) << " step " << c.step);
    const auto d = cuzarr::plan::normalize(sel({slice(c.start, c.stop, c.step)}), {10});
    ASSERT_EQ(d.size(), 1u);
    EXPECT_FALSE(d[0].dropped);
    ASSERT_EQ(d[0].count(), static_cast<std::int64_t>(c.expected.size()));
    for (std::size_t j = 0; j < c.expected.size(); ++j) {
      EXPECT_EQ(d[0].at(static_cast<std::int64_t>(j)), c.expected[j]);
    }
    EXPECT_EQ(c.expected, python_slice(10, c.start, c.stop, c.step));
  }
}

TEST(Normalize, NegativeIntegersCountFromTheEnd) {
  const auto d = cuzarr::plan::normalize(sel({idx(-1), idx(-10), list({-1, 0, -2})}), {10, 10, 5});
  EXPECT_EQ(d[0].start, 9);
  EXPECT_EQ(d[1].start, 0);
  EXPECT_FALSE(d[2].is_range);
  EXPECT_EQ(d[2].indices, (Ints{4, 0, 3}));
}

TEST(Normalize, OutOfRangeIndex) {
  for (std::int64_t bad : {10LL, -11LL, 1000LL, static_cast<long long>(std::numeric_limits<std::int64_t>::min()),
                           static_cast<long long>(std::numeric_limits<std::int64_t>::max())}) {
    const std::string msg = selection_error([&] { cuzarr::plan::normalize(sel({idx(bad)}), {10}); });
    EXPECT_TRUE(contains(msg, std::to_string(bad))) << msg;
    EXPECT_TRUE(contains(msg, "10")) << msg;
    EXPECT_FALSE(contains(msg, "EXCEPTION")) << msg;
  }
  const std::string msg =
      selection_error([] { cuzarr::plan::normalize(sel({slice(none, none), list({1, 7})}), {10, 5}); });
  EXPECT_TRUE(contains(msg, "7")) << msg;
  EXPECT_TRUE(contains(msg, "dimension 1")) << msg;
  // any index of a zero-length dimension is out of range
  EXPECT_FALSE(contains(selection_error([] { cuzarr::plan::normalize(sel({idx(0)}), {0}); }),
                        "EXCEPTION"));
}

TEST(Normalize, StepMustBePositive) {
  for (std::int64_t step : {0LL, -1LL, -3LL}) {
    const std::string msg =
        selection_error([&] { cuzarr::plan::normalize(sel({slice(none, none, step)}), {10}); });
    EXPECT_TRUE(contains(msg, "step")) << msg;
    EXPECT_FALSE(contains(msg, "EXCEPTION")) << msg;
  }
}

TEST(Normalize, TooManyDimensions) {
  const std::string msg =
      selection_error([] { cuzarr::plan::normalize(sel({idx(0), idx(0), idx(0)}), {10, 10}); });
  EXPECT_TRUE(contains(msg, "3")) << msg;
  EXPECT_TRUE(contains(msg, "2")) << msg;
  EXPECT_FALSE(contains(msg, "EXCEPTION")) << msg;
  EXPECT_FALSE(contains(selection_error([] { cuzarr::plan::normalize(sel({idx(0)}), {}); }),
                        "EXCEPTION"));
}

// A step larger than the remaining length selects only the start, whatever its size; computing
// the count as (stop - start + step - 1) / step overflows for steps near INT64_MAX.
TEST(Normalize, HugeStepSelectsOneElement) {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  const auto d = cuzarr::plan::normalize(sel({slice(none, none, big)}), {10});
  EXPECT_EQ(d[0].count(), 1);
  EXPECT_EQ(cuzarr::result_shape(sel({slice(2, none, big - 1)}), {10}), (Shape{1}));
  EXPECT_EQ(ChunkPlan(sel({slice(none, none, big)}), {10}, {4}).num_chunks(), 1u);
}

// ---------------------------------------------------------------------------------------------
// ChunkPlan

TEST(ChunkPlan, FullSelectionTouchesEveryChunk) {
  const ChunkPlan plan(Selection::all(), {10, 7}, {4, 3});
  EXPECT_EQ(plan.num_chunks(), 9u);
  EXPECT_EQ(plan.out_shape(), (Shape{10, 7}));
  const auto chunks = chunks_of(plan);
  std::vector<Ints> coords;
  for (const auto& c : chunks) coords.push_back(c.coords);
  EXPECT_EQ(coords, (std::vector<Ints>{{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2},
                                       {2, 0}, {2, 1}, {2, 2}}));
  for (const auto& c : chunks) {
    for (const DimPart& p : c.parts) EXPECT_TRUE(p.contiguous);
  }
  verify_plan(Selection::all(), {10, 7}, {4, 3});
}

TEST(ChunkPlan, PartialEdgeChunks) {
  const ChunkPlan plan(Selection::all(), {10}, {4});
  const auto chunks = chunks_of(plan);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].parts[0].local, (Ints{0, 1, 2, 3}));
  EXPECT_EQ(chunks[0].parts[0].out, (Ints{0, 1, 2, 3}));
  EXPECT_EQ(chunks[1].parts[0].local, (Ints{0, 1, 2, 3}));
  EXPECT_EQ(chunks[1].parts[0].out, (Ints{4, 5, 6, 7}));
  EXPECT_EQ(chunks[2].parts[0].chunk, 2);
  EXPECT_EQ(chunks[2].parts[0].local, (Ints{0, 1}));
  EXPECT_EQ(chunks[2].parts[0].out, (Ints{8, 9}));
}

TEST(ChunkPlan, SliceInsideChunks) {
  const ChunkPlan plan(sel({slice(3, 9)}), {10}, {4});
  const auto chunks = chunks_of(plan);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].parts[0].local, (Ints{3}));
  EXPECT_EQ(chunks[0].parts[0].out, (Ints{0}));
  EXPECT_EQ(chunks[1].parts[0].local, (Ints{0, 1, 2, 3}));
  EXPECT_EQ(chunks[1].parts[0].out, (Ints{1, 2, 3, 4}));
  EXPECT_EQ(chunks[2].parts[0].local, (Ints{0}));
  EXPECT_EQ(chunks[2].parts[0].out, (Ints{5}));
  EXPECT_EQ(plan.out_shape(), (Shape{6}));
}

TEST(ChunkPlan, StridedSliceSkipsWholeChunks) {
  const ChunkPlan plan(sel({slice(none, none, 10)}), {100}, {4});
  const auto chunks = chunks_of(plan);
  Ints coords, local, out;
  for (const auto& c : chunks) {
    coords.push_back(c.coords[0]);
    ASSERT_EQ(c.parts[0].local.size(), 1u);
    local.push_back(c.parts[0].local[0]);
    out.push_back(c.parts[0].out[0]);
  }
  EXPECT_EQ(coords, (Ints{0, 2, 5, 7, 10, 12, 15, 17, 20, 22}));
  EXPECT_EQ(local, (Ints{0, 2, 0, 2, 0, 2, 0, 2, 0, 2}));
  EXPECT_EQ(out, (Ints{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  verify_plan(sel({slice(none, none, 10)}), {100}, {4});
  verify_plan(sel({slice(3, 95, 7), slice(1, none, 5)}), {100, 23}, {4, 3});
}

TEST(ChunkPlan, StepSmallerThanChunk) {
  const ChunkPlan plan(sel({slice(none, none, 3)}), {10}, {4});
  const auto chunks = chunks_of(plan);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].parts[0].local, (Ints{0, 3}));
  EXPECT_EQ(chunks[0].parts[0].out, (Ints{0, 1}));
  EXPECT_FALSE(chunks[0].parts[0].contiguous);
  EXPECT_EQ(chunks[1].parts[0].local, (Ints{2}));
  EXPECT_EQ(chunks[1].parts[0].out, (Ints{2}));
  EXPECT_TRUE(chunks[1].parts[0].contiguous);  // a single position is trivially contiguous
  EXPECT_EQ(chunks[2].parts[0].local, (Ints{1}));
  EXPECT_EQ(chunks[2].parts[0].out, (Ints{3}));
}

TEST(ChunkPlan, NegativeBoundsAndIndices) {
  verify_plan(sel({slice(-7, -1), idx(-1)}), {10, 6}, {3, 4});
  verify_plan(sel({slice(-100, 100, 2), slice(-2, none)}), {10, 6}, {3, 4});
  const ChunkPlan plan(sel({idx(-1)}), {10}, {4});
  const auto chunks = chunks_of(plan);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].coords, (Ints{2}));
  EXPECT_EQ(chunks[0].parts[0].local, (Ints{1}));
  EXPECT_EQ(chunks[0].parts[0].out, (Ints{0}));
}

TEST(ChunkPlan, Errors) {
  EXPECT_THROW(ChunkPlan(sel({idx(10)}), {10}, {4}), cuzarr::SelectionError);
  EXPECT_THROW(ChunkPlan(sel({idx(-11)}), {10}, {4}), cuzarr::SelectionError);
  EXPECT_THROW(ChunkPlan(sel({list({0, 10})}), {10}, {4}), cuzarr::SelectionError);
  EXPECT_THROW(ChunkPlan(sel({slice(none, none, 0)}), {10}, {4}), cuzarr::SelectionError);
  EXPECT_THROW(ChunkPlan(sel({slice(none, none, -1)}), {10}, {4}), cuzarr::SelectionError);
  EXPECT_THROW(ChunkPlan(sel({idx(0), idx(0)}), {10}, {4}), cuzarr::SelectionError);
}

TEST(ChunkPlan, UnsortedAndDuplicateIndexArrays) {
  const ChunkPlan plan(sel({list({7, 1, 5, 1, 0})}), {10}, {4});
  EXPECT_EQ(plan.out_shape(), (Shape{5}));
  const auto chunks = chunks_of(plan);
  ASSERT_EQ(chunks.size(), 2u);  // each chunk once, in chunk order
  EXPECT_EQ(chunks[0].coords, (Ints{0}));
  EXPECT_EQ(chunks[0].parts[0].local, (Ints{1, 1, 0}));
  EXPECT_EQ(chunks[0].parts[0].out, (Ints{1, 3, 4}));
  EXPECT_FALSE(chunks[0].parts[0].contiguous);
  EXPECT_EQ(chunks[1].coords, (Ints{1}));
  EXPECT_EQ(chunks[1].parts[0].local, (Ints{3, 1}));
  EXPECT_EQ(chunks[1].parts[0].out, (Ints{0, 2}));
  EXPECT_FALSE(chunks[1].parts[0].contiguous);
  verify_plan(sel({list({7, 1, 5, 1, 0})}), {10}, {4});
  verify_plan(sel({list({9, 9, 9}), list({-1, 0, 2, 1})}), {10, 3}, {4, 2});
}

TEST(ChunkPlan, SortedIndexArrays) {
  const ChunkPlan plan(sel({list({0, 1, 2, 5, 6, 9})}), {10}, {4});
  const auto chunks = chunks_of(plan);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].parts[0].local, (Ints{0, 1, 2}));
  EXPECT_EQ(chunks[0].parts[0].out, (Ints{0, 1, 2}));
  EXPECT_TRUE(chunks[0].parts[0].contiguous);
  EXPECT_EQ(chunks[1].parts[0].local, (Ints{1, 2}));
  EXPECT_EQ(chunks[1].parts[0].out, (Ints{3, 4}));
  EXPECT_TRUE(chunks[1].parts[0].contiguous);
  EXPECT_EQ(chunks[2].parts[0].local, (Ints{1}));
  EXPECT_EQ(chunks[2].parts[0].out, (Ints{5}));
  // consecutive positions out of order, or repeated, are not contiguous
  EXPECT_FALSE(chunks_of(ChunkPlan(sel({list({3, 2})}), {10}, {4}))[0].parts[0].contiguous);
  EXPECT_FALSE(chunks_of(ChunkPlan(sel({list({2, 2})}), {10}, {4}))[0].parts[0].contiguous);
  // consecutive in the chunk but not in the output
  const auto gap = chunks_of(ChunkPlan(sel({list({0, 5, 1})}), {10}, {4}));
  EXPECT_EQ(gap[0].parts[0].local, (Ints{0, 1}));
  EXPECT_EQ(gap[0].parts[0].out, (Ints{0, 2}));
  EXPECT_FALSE(gap[0].parts[0].contiguous);
  verify_plan(sel({list({0, 5, 1})}), {10}, {4});
}

TEST(ChunkPlan, IntegersDropDimensions) {
  const ChunkPlan plan(sel({idx(5), slice(none, none), idx(-1)}), {10, 7, 5}, {4, 3, 2});
  EXPECT_EQ(plan.out_shape(), (Shape{7}));
  EXPECT_TRUE(plan.dropped(0));
  EXPECT_FALSE(plan.dropped(1));
  EXPECT_TRUE(plan.dropped(2));
  const auto chunks = chunks_of(plan);
  ASSERT_EQ(chunks.size(), 3u);
  for (const auto& c : chunks) {
    EXPECT_EQ(c.coords[0], 1);
    EXPECT_EQ(c.coords[2], 2);
    EXPECT_EQ(c.parts[0].local, (Ints{1}));
    EXPECT_EQ(c.parts[0].out, (Ints{0}));
    EXPECT_FALSE(c.parts[0].contiguous);  // a dropped dimension is never a run
    EXPECT_EQ(c.parts[2].local, (Ints{0}));
  }
  verify_plan(sel({idx(5), slice(none, none), idx(-1)}), {10, 7, 5}, {4, 3, 2});
  // all dimensions dropped: one element, out_shape is empty
  const ChunkPlan point(sel({idx(3), idx(4)}), {10, 7}, {4, 3});
  EXPECT_TRUE(point.out_shape().empty());
  EXPECT_EQ(point.num_chunks(), 1u);
  verify_plan(sel({idx(3), idx(4)}), {10, 7}, {4, 3});
}

TEST(ChunkPlan, EmptySelections) {
  EXPECT_EQ(ChunkPlan(sel({slice(5, 5)}), {10}, {4}).num_chunks(), 0u);
  EXPECT_EQ(ChunkPlan(sel({slice(5, 5)}), {10}, {4}).out_shape(), (Shape{0}));
  EXPECT_EQ(ChunkPlan(sel({slice(none, none), list({})}), {10, 4}, {4, 2}).num_chunks(), 0u);
  EXPECT_EQ(ChunkPlan(sel({slice(none, none), list({})}), {10, 4}, {4, 2}).out_shape(), (Shape{10, 0}));
  EXPECT_EQ(ChunkPlan(Selection::all(), {10, 0}, {4, 2}).num_chunks(), 0u);
  EXPECT_EQ(ChunkPlan(Selection::all(), {0}, {4}).out_shape(), (Shape{0}));
  verify_plan(sel({slice(8, 2)}), {10, 3}, {4, 2});
}

TEST(ChunkPlan, ZeroDimensionalArray) {
  const ChunkPlan plan(Selection::all(), {}, {});
  EXPECT_EQ(plan.num_chunks(), 1u);
  EXPECT_EQ(plan.rank(), 0u);
  EXPECT_TRUE(plan.out_shape().empty());
  cuzarr::plan::ChunkCursor cursor(plan);
  cursor.seek(0);
  EXPECT_TRUE(cursor.parts().empty());
  EXPECT_TRUE(cursor.coords().empty());
  EXPECT_THROW(ChunkPlan(sel({idx(0)}), {}, {}), cuzarr::SelectionError);
}

TEST(ChunkPlan, ChunkEnumeratesTheCartesianProduct) {
  const Selection s = sel({list({9, 0}), slice(2, 7), list({4, 1, 4})});
  const ChunkPlan plan(s, {10, 8, 6}, {4, 3, 2});
  // dim 0: chunks {0, 2}; dim 1 positions 2..6: chunks {0, 1, 2}; dim 2 positions 4, 1: chunks {0, 2}
  ASSERT_EQ(plan.num_chunks(), 12u);
  const auto chunks = chunks_of(plan);
  std::vector<Ints> expected;
  for (std::int64_t a : {0, 2}) {
    for (std::int64_t b : {0, 1, 2}) {
      for (std::int64_t c : {0, 2}) expected.push_back({a, b, c});
    }
  }
  std::vector<Ints> got;
  for (const auto& c : chunks) got.push_back(c.coords);
  EXPECT_EQ(got, expected);
  // Random access gives the same chunks as walking in order.
  cuzarr::plan::ChunkCursor cursor(plan);
  for (std::size_t i : {7u, 2u, 11u, 0u, 7u}) {
    cursor.seek(i);
    EXPECT_EQ(Ints(cursor.coords().begin(), cursor.coords().end()), expected[i]) << i;
    for (std::size_t d = 0; d < 3; ++d) EXPECT_EQ(cursor.parts()[d]->local, chunks[i].parts[d].local) << i;
  }
  verify_plan(s, {10, 8, 6}, {4, 3, 2});
}

TEST(ChunkPlan, MixedSelectionsAgainstReference) {
  const Shape shape{13, 9, 7};
  const Shape chunk_shape{5, 2, 3};
  const std::vector<Selection> selections = {
      Selection::all(),
      sel({slice(1, 12, 2)}),
      sel({idx(12), list({8, 0, 3, 3}), slice(none, none, 4)}),
      sel({list({-1, 0, 6}), idx(-9), slice(-5, none)}),
      sel({slice(none, none, 6), slice(1, none, 3), list({6, 5, 4, 3, 2, 1, 0})}),
      sel({slice(4, 5), slice(8, 100), idx(0)}),
  };
  for (std::size_t i = 0; i < selections.size(); ++i) {
    SCOPED_TRACE(i);
    verify_plan(selections[i], shape, chunk_shape);
  }
  // chunk shape 1 and chunk shape larger than the array
  verify_plan(sel({slice(1, none, 2), list({3, 0})}), {6, 4}, {1, 1});
  verify_plan(sel({slice(1, none, 2), list({3, 0})}), {6, 4}, {100, 100});
}

// ---------------------------------------------------------------------------------------------
// Bounded planning: a plan holds nothing per chunk, batches hold at most count + 1 parts per
// dimension, so a read of millions of chunks plans within a fixed memory.

TEST(BoundedPlan, MillionsOfChunksHoldNothingPerChunk) {
  const ChunkPlan flat(Selection::all(), {3'000'000}, {1});
  EXPECT_EQ(flat.num_chunks(), 3'000'000u);
  EXPECT_EQ(flat.held_bytes(), 0u);
  cuzarr::plan::ChunkCursor cursor(flat);
  cursor.seek(2'999'999);
  EXPECT_EQ(cursor.coords()[0], 2'999'999);
  EXPECT_EQ(cursor.parts()[0]->local, (Ints{0}));
  EXPECT_EQ(cursor.parts()[0]->out, (Ints{2'999'999}));

  const ChunkPlan grid(sel({slice(1, none, 3), slice(none, none)}), {6'000, 3'000}, {1, 2});
  EXPECT_EQ(grid.num_chunks(), 2'000u * 1'500u);
  EXPECT_EQ(grid.held_bytes(), 0u);

  // An index array is held once more, sorted by chunk: a few words per index, none per chunk.
  Ints many;
  for (std::int64_t i = 0; i < 10'000; ++i) many.push_back((i * 7919) % 3'000'000);
  const ChunkPlan picked(sel({list(many)}), {3'000'000}, {1});
  EXPECT_EQ(picked.num_chunks(), 10'000u);
  EXPECT_LE(picked.held_bytes(), 4 * sizeof(std::int64_t) * many.size() + 64);
}

TEST(BoundedPlan, TooManyChunksIsASelectionError) {
  const std::int64_t big = std::int64_t{1} << 40;
  EXPECT_THROW(ChunkPlan(Selection::all(), {big, big}, {1, 1}), cuzarr::SelectionError);
}

namespace {

std::vector<cuzarr::plan::DimChunks> dims_of(const ChunkPlan& plan) {
  std::vector<cuzarr::plan::DimChunks> dims;
  for (std::size_t d = 0; d < plan.rank(); ++d) dims.push_back(plan.dim(d));
  return dims;
}

}  // namespace

TEST(BoundedPlan, BatchesHoldAtMostTheirChunksAndMatchTheCursor) {
  const ChunkPlan plan(Selection::all(), {1'000, 1'000}, {1, 1});
  const auto dims = dims_of(plan);
  cuzarr::plan::ChunkCursor cursor(plan);
  std::vector<const DimPart*> parts;
  Ints coords;
  const std::vector<std::pair<std::size_t, std::size_t>> spans = {
      {0, 1}, {0, 1'000}, {999, 2}, {500, 1'500}, {123'456, 4'096}, {998'000, 2'000}, {0, 1'000'000}};
  for (const auto& [first, count] : spans) {
    const cuzarr::plan::ChunkBatch batch(dims, first, count);
    ASSERT_EQ(batch.size(), count);
    // Dimension 1 holds at most one part per chunk (and at most its 1000); dimension 0 one per
    // 1000 chunks, plus the two it starts and ends in.
    EXPECT_LE(batch.held_parts(), std::min<std::size_t>(count, 1'000) + std::min<std::size_t>(1'000, count / 1'000 + 2))
        << first << "+" << count;
    for (std::size_t i = 0; i < count; i += std::max<std::size_t>(1, count / 97)) {
      batch.chunk(i, parts, coords);
      cursor.seek(first + i);
      ASSERT_EQ(coords, Ints(cursor.coords().begin(), cursor.coords().end())) << first << "+" << i;
      for (std::size_t d = 0; d < 2; ++d) {
        ASSERT_EQ(parts[d]->local, cursor.parts()[d]->local);
        ASSERT_EQ(parts[d]->out, cursor.parts()[d]->out);
      }
    }
  }
}

TEST(BoundedPlan, BatchesOfMixedSelectionsCoverThePlan) {
  const Selection s = sel({list({9, 0, 5}), slice(2, 7), idx(3), list({4, 1, 4})});
  const ChunkPlan plan(s, {10, 8, 5, 6}, {4, 3, 2, 2});
  const auto dims = dims_of(plan);
  const auto all = chunks_of(plan);
  std::vector<const DimPart*> parts;
  Ints coords;
  for (std::size_t per = 1; per <= plan.num_chunks() + 1; ++per) {
    for (std::size_t first = 0; first < plan.num_chunks(); first += per) {
      const cuzarr::plan::ChunkBatch batch(dims, first, std::min(per, plan.num_chunks() - first));
      for (std::size_t i = 0; i < batch.size(); ++i) {
        batch.chunk(i, parts, coords);
        const PlannedChunk& want = all[first + i];
        ASSERT_EQ(coords, want.coords) << per << " " << first << " " << i;
        for (std::size_t d = 0; d < parts.size(); ++d) {
          ASSERT_EQ(parts[d]->local, want.parts[d].local);
          ASSERT_EQ(parts[d]->out, want.parts[d].out);
          ASSERT_EQ(parts[d]->contiguous, want.parts[d].contiguous);
        }
      }
    }
  }
  EXPECT_EQ(cuzarr::plan::batch_chunks(1 << 20, 1024, 64), 1024u);
  EXPECT_EQ(cuzarr::plan::batch_chunks(1 << 10, 1024, 64), 64u);
}

// ---------------------------------------------------------------------------------------------
// DimChunks of a part (inner chunks of a shard) and full_part

TEST(Subdivide, SplitsPositionsBySubChunk) {
  DimPart p;
  p.chunk = 3;
  p.local = {0, 1, 2, 5, 6, 7};
  p.out = {10, 11, 12, 13, 14, 15};
  const auto subs = subdivide(p, 4);
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].chunk, 0);
  EXPECT_EQ(subs[0].local, (Ints{0, 1, 2}));
  EXPECT_EQ(subs[0].out, (Ints{10, 11, 12}));
  EXPECT_TRUE(subs[0].contiguous);
  EXPECT_EQ(subs[1].chunk, 1);
  EXPECT_EQ(subs[1].local, (Ints{1, 2, 3}));
  EXPECT_EQ(subs[1].out, (Ints{13, 14, 15}));
  EXPECT_TRUE(subs[1].contiguous);
}

TEST(Subdivide, UnsortedPositionsKeepOutputOrderPerSubChunk) {
  DimPart p;
  p.local = {11, 1, 9, 0, 1};
  p.out = {0, 1, 2, 3, 4};
  const auto subs = subdivide(p, 3);
  ASSERT_EQ(subs.size(), 2u);  // sub-chunks 0 and 3, in order; sub-chunks 1 and 2 untouched
  EXPECT_EQ(subs[0].chunk, 0);
  EXPECT_EQ(subs[0].local, (Ints{1, 0, 1}));
  EXPECT_EQ(subs[0].out, (Ints{1, 3, 4}));
  EXPECT_FALSE(subs[0].contiguous);
  EXPECT_EQ(subs[1].chunk, 3);
  EXPECT_EQ(subs[1].local, (Ints{2, 0}));
  EXPECT_EQ(subs[1].out, (Ints{0, 2}));
  EXPECT_FALSE(subs[1].contiguous);
  // a sub-chunk size of 1 puts every position alone
  EXPECT_EQ(subdivide(p, 1).size(), 4u);
}

TEST(FullPart, WholeExtent) {
  const DimPart p = cuzarr::plan::full_part(4);
  EXPECT_EQ(p.chunk, 0);
  EXPECT_EQ(p.local, (Ints{0, 1, 2, 3}));
  EXPECT_EQ(p.out, (Ints{0, 1, 2, 3}));
  EXPECT_TRUE(p.contiguous);
}

// ---------------------------------------------------------------------------------------------
// parse_selection and result_shape

namespace {

void expect_slice(const DimSelection& d, std::optional<std::int64_t> start,
                  std::optional<std::int64_t> stop, std::int64_t step) {
  ASSERT_TRUE(std::holds_alternative<Slice>(d));
  const Slice& s = std::get<Slice>(d);
  EXPECT_EQ(s.start, start);
  EXPECT_EQ(s.stop, stop);
  EXPECT_EQ(s.step, step);
}

void expect_int(const DimSelection& d, std::int64_t v) {
  ASSERT_TRUE(std::holds_alternative<std::int64_t>(d));
  EXPECT_EQ(std::get<std::int64_t>(d), v);
}

void expect_list(const DimSelection& d, const Ints& v) {
  ASSERT_TRUE(std::holds_alternative<Ints>(d));
  EXPECT_EQ(std::get<Ints>(d), v);
}

}  // namespace

TEST(ParseSelection, SlicesIntegersAndLists) {
  const Selection a = cuzarr::parse_selection("0:10,5,::2");
  ASSERT_EQ(a.dims.size(), 3u);
  expect_slice(a.dims[0], 0, 10, 1);
  expect_int(a.dims[1], 5);
  expect_slice(a.dims[2], none, none, 2);

  const Selection b = cuzarr::parse_selection("[3,1,2],:");
  ASSERT_EQ(b.dims.size(), 2u);
  expect_list(b.dims[0], {3, 1, 2});
  expect_slice(b.dims[1], none, none, 1);

  const Selection c = cuzarr::parse_selection("-1");
  ASSERT_EQ(c.dims.size(), 1u);
  expect_int(c.dims[0], -1);
}

TEST(ParseSelection, EmptyTextSelectsEverything) {
  EXPECT_TRUE(cuzarr::parse_selection("").dims.empty());
  EXPECT_TRUE(cuzarr::parse_selection("   ").dims.empty());
}

TEST(ParseSelection, SliceForms) {
  const Selection s = cuzarr::parse_selection(":,::,1:,:-1,::3,-5:-1:2,1::2,:4:");
  ASSERT_EQ(s.dims.size(), 8u);
  expect_slice(s.dims[0], none, none, 1);
  expect_slice(s.dims[1], none, none, 1);
  expect_slice(s.dims[2], 1, none, 1);
  expect_slice(s.dims[3], none, -1, 1);
  expect_slice(s.dims[4], none, none, 3);
  expect_slice(s.dims[5], -5, -1, 2);
  expect_slice(s.dims[6], 1, none, 2);
  expect_slice(s.dims[7], none, 4, 1);
  // a negative step parses; normalisation rejects it
  const Selection neg = cuzarr::parse_selection("::-1");
  expect_slice(neg.dims[0], none, none, -1);
  EXPECT_THROW(cuzarr::result_shape(neg, {10}), cuzarr::SelectionError);
}

TEST(ParseSelection, WhitespaceSignsAndEmptyLists) {
  const Selection s = cuzarr::parse_selection("  1 : 5 , [ 4 , -2 ] , +3 , [] , [ ] ");
  ASSERT_EQ(s.dims.size(), 5u);
  expect_slice(s.dims[0], 1, 5, 1);
  expect_list(s.dims[1], {4, -2});
  expect_int(s.dims[2], 3);
  expect_list(s.dims[3], {});
  expect_list(s.dims[4], {});
  const Selection big = cuzarr::parse_selection("9223372036854775807,-9223372036854775808");
  expect_int(big.dims[0], std::numeric_limits<std::int64_t>::max());
  expect_int(big.dims[1], std::numeric_limits<std::int64_t>::min());
}

TEST(ParseSelection, Errors) {
  for (const char* bad : {"1:2:3:4", "[1,2", "a", "1,,2", "[[1]]", "]", "1]", "[1]]", "[1,a]",
                          "1.5", "1:a", "99999999999999999999", "0,", ",0", "[1,,2]", "1 2", "+",
                          "-", "[1,2]x", "x[1]", "1:2:3:"}) {
    const std::string msg = selection_error([&] { cuzarr::parse_selection(bad); });
    EXPECT_TRUE(contains(msg, std::string("'") + bad + "'")) << bad << " -> " << msg;
    EXPECT_FALSE(contains(msg, "EXCEPTION")) << bad << " -> " << msg;
  }
}

TEST(ResultShape, Shapes) {
  EXPECT_EQ(cuzarr::result_shape(Selection::all(), {10, 20, 30}), (Shape{10, 20, 30}));
  EXPECT_EQ(cuzarr::result_shape(cuzarr::parse_selection("2, 3:7, [1,1,2]"), {10, 20, 30}),
            (Shape{4, 3}));
  EXPECT_EQ(cuzarr::result_shape(cuzarr::parse_selection("::3"), {10, 20}), (Shape{4, 20}));
  EXPECT_EQ(cuzarr::result_shape(cuzarr::parse_selection("-1"), {10}), Shape{});
  EXPECT_EQ(cuzarr::result_shape(cuzarr::parse_selection("5:2"), {10}), (Shape{0}));
  EXPECT_EQ(cuzarr::result_shape(cuzarr::parse_selection("-3:"), {10}), (Shape{3}));
  EXPECT_EQ(cuzarr::result_shape(cuzarr::parse_selection("[]"), {10}), (Shape{0}));
  EXPECT_EQ(cuzarr::result_shape(Selection::all(), {}), Shape{});
  EXPECT_THROW(cuzarr::result_shape(cuzarr::parse_selection("1,2,3"), {10, 20}), cuzarr::SelectionError);
  EXPECT_THROW(cuzarr::result_shape(cuzarr::parse_selection("10"), {10}), cuzarr::SelectionError);
  EXPECT_THROW(cuzarr::result_shape(cuzarr::parse_selection("[0,-11]"), {10}), cuzarr::SelectionError);
  EXPECT_THROW(cuzarr::result_shape(cuzarr::parse_selection("::0"), {10}), cuzarr::SelectionError);
}
