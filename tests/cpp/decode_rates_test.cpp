// The GPU decode policy's cost model (cuda/decode_rates.hpp) and the count of chunks a selection
// touches (plan/block_count.hpp): plain C++, tested in every build. The rates below are of the
// order measured on an H100 (issue 29): nvCOMP takes ~180 ms for a batch of 16 MiB zstd frames at
// level 3 whatever their number up to a few hundred; a thread decodes such a frame in ~20 ms.
#include <gtest/gtest.h>

#include <cstdint>

#include "cuda/backend_choice.hpp"
#include "cuda/decode_rates.hpp"
#include "cuzarr/selection.hpp"
#include "plan/block_count.hpp"

namespace cuzarr {
namespace {

using cuda::DecodeEstimate;
using cuda::plan_split;
using cuda::split_seconds;
using codec::GpuFormat;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

DecodeEstimate zstd_16mib() {
  DecodeEstimate e;
  e.read_s = 0.002;
  e.cpu_s = 0.020;
  e.latency_s = 0.180;
  e.gpu_bytes_per_s = 16.0 * kMiB * 256 / 0.37;  // 256 frames in 0.37 s
  return e;
}

TEST(DecodeRates, AFewLargeZstdFramesGoToTheThreads) {
  const cuda::SplitPlan p = plan_split(16, 16, 16 * kMiB, zstd_16mib());
  EXPECT_FALSE(p.probing);
  EXPECT_EQ(p.cpu, 16u) << p.why;
  EXPECT_NEAR(p.seconds, 0.022, 1e-9);
  const cuda::SplitPlan one = plan_split(1, 16, 16 * kMiB, zstd_16mib());
  EXPECT_EQ(one.cpu, 1u) << one.why;
}

TEST(DecodeRates, ManyFramesAreSharedAndTheSplitBeatsEitherSide) {
  const DecodeEstimate e = zstd_16mib();
  const std::size_t n = 256, threads = 16;
  const cuda::SplitPlan p = plan_split(n, threads, 16 * kMiB, e);
  EXPECT_GT(p.cpu, 0u);
  EXPECT_LT(p.cpu, n);
  const auto cost = [&](std::size_t k) {
    return split_seconds(n, k, threads, 16 * kMiB, *e.read_s, *e.cpu_s, *e.latency_s, *e.gpu_bytes_per_s);
  };
  EXPECT_DOUBLE_EQ(p.seconds, cost(p.cpu));
  for (std::size_t k = 0; k <= n; ++k) EXPECT_LE(p.seconds, cost(k) + 1e-12) << "k = " << k;
}

TEST(DecodeRates, ADeviceFasterThanTheThreadsTakesEverything) {
  DecodeEstimate e;
  e.read_s = 0.0015;  // 16 MiB loaded from the page cache
  e.cpu_s = 0.012;    // blosc-lz4 on one thread
  e.latency_s = 0.001;
  e.gpu_bytes_per_s = 120e9;
  const cuda::SplitPlan p = plan_split(256, 16, 16 * kMiB, e);
  EXPECT_EQ(p.cpu, 0u) << p.why;
}

TEST(DecodeRates, UnmeasuredSidesAreProbed) {
  DecodeEstimate e;
  cuda::SplitPlan p = plan_split(160, 16, 16 * kMiB, e);
  EXPECT_TRUE(p.probing);
  EXPECT_EQ(p.cpu, 10u);
  p = plan_split(3, 16, 16 * kMiB, e);
  EXPECT_TRUE(p.probing);
  EXPECT_EQ(p.cpu, 1u) << "at least one chunk measures the threads, and one is left for the device";
  e.cpu_s = 0.02;
  p = plan_split(160, 16, 16 * kMiB, e);
  EXPECT_TRUE(p.probing) << "the device is not measured yet";
  EXPECT_NE(p.why.find("device"), std::string::npos);
  EXPECT_EQ(plan_split(0, 16, 16 * kMiB, e).cpu, 0u);
}

TEST(DecodeRates, MeasurementsBecomeEstimatesPerFormatAndSizeClass) {
  cuda::DecodeRates rates;
  EXPECT_FALSE(rates.estimate(GpuFormat::Zstd, 16 * kMiB).cpu_s);
  rates.cpu(GpuFormat::Zstd, 16 * kMiB, 0.02);
  rates.cpu(GpuFormat::Zstd, 16 * kMiB, 0.04);
  rates.read(GpuFormat::Zstd, 16 * kMiB, 0.002);
  rates.gpu(GpuFormat::Zstd, 16 * kMiB, 16, 0.2);   // a batch of 16: latency 0.2
  rates.gpu(GpuFormat::Zstd, 16 * kMiB, 256, 0.4);  // a whole read: 256 frames in 0.4 s
  rates.gpu(GpuFormat::Zstd, 16 * kMiB, 1, 0.18);   // one frame alone: the shortest batch
  const DecodeEstimate e = rates.estimate(GpuFormat::Zstd, 16 * kMiB);
  ASSERT_TRUE(e.cpu_s && e.read_s && e.latency_s && e.gpu_bytes_per_s);
  EXPECT_NEAR(*e.cpu_s, 0.03, 1e-12);
  EXPECT_NEAR(*e.read_s, 0.002, 1e-12);
  EXPECT_NEAR(*e.latency_s, 0.18, 1e-12);
  EXPECT_NEAR(*e.gpu_bytes_per_s, 256.0 * 16 * kMiB / 0.4, 1.0);
  // Chunks of half the size scale the per-chunk times; another class or format knows nothing.
  const DecodeEstimate half = rates.estimate(GpuFormat::Zstd, 24 * kMiB);
  EXPECT_NEAR(*half.cpu_s, 0.045, 1e-12);
  EXPECT_FALSE(rates.estimate(GpuFormat::Zstd, 1 * kMiB).cpu_s);
  EXPECT_FALSE(rates.estimate(GpuFormat::Lz4, 16 * kMiB).cpu_s);
  // Later samples weigh more than early ones once there are many.
  for (int i = 0; i < 64; ++i) rates.cpu(GpuFormat::Zstd, 16 * kMiB, 0.01);
  EXPECT_NEAR(*rates.estimate(GpuFormat::Zstd, 16 * kMiB).cpu_s, 0.01, 1e-4);
  // Nonsense samples are ignored.
  rates.cpu(GpuFormat::Lz4, 0, 1.0);
  rates.gpu(GpuFormat::Lz4, kMiB, 4, 0.0);
  EXPECT_FALSE(rates.estimate(GpuFormat::Lz4, kMiB).latency_s);
}

TEST(BlockCount, RangesStepsAndIndexLists) {
  const std::vector<std::int64_t> shape{1024, 512, 512};
  auto touched = [&](const char* text, const std::vector<std::int64_t>& blocks) {
    return plan::blocks_touched(plan::normalize(parse_selection(text), shape), blocks);
  };
  const std::vector<std::int64_t> chunk16{16, 512, 512}, inner{1, 512, 512};
  EXPECT_EQ(touched("", chunk16), 64u);
  EXPECT_EQ(touched("0:256,100:300,100:300", chunk16), 16u);  // the box: 16 chunks of 16 MiB
  EXPECT_EQ(touched("0:256,100:300,100:300", inner), 256u);   // ... or 256 inner chunks
  EXPECT_EQ(touched("7", chunk16), 1u);                       // one map
  EXPECT_EQ(touched(":,250,250", chunk16), 64u);              // one time series
  // A range that straddles a boundary, a step larger than a block, a smaller one, an index list.
  EXPECT_EQ(touched("15:17,0:1,0:1", chunk16), 2u);
  EXPECT_EQ(touched("::32,0:1,0:1", chunk16), 32u);
  EXPECT_EQ(touched("::5,0:1,0:1", chunk16), 64u);
  EXPECT_EQ(touched("[3,900,5,901],0:1,0:1", chunk16), 2u);
  EXPECT_EQ(touched("0:0", chunk16), 0u);
}

// cuzarr's kernels or nvCOMP for a batch: the one measured faster on batches like it, each side
// tried first, the slower side tried again every kExploreEvery-th batch.
TEST(BackendChoice, MeasuresBothSidesThenTakesTheFaster) {
  using cuda::Backend;
  using codec::StreamKind;
  cuda::BackendChoice c;
  const std::uint64_t big = 16 * kMiB, small = 64 * 1024;
  EXPECT_EQ(c.choose(StreamKind::Zstd, big, 16), Backend::Own);  // nothing measured: ours first
  c.measured(StreamKind::Zstd, Backend::Own, big, 16, 256 * kMiB, 0.01);
  EXPECT_EQ(c.choose(StreamKind::Zstd, big, 16), Backend::Nvcomp);  // then nvCOMP
  c.measured(StreamKind::Zstd, Backend::Nvcomp, big, 16, 256 * kMiB, 0.2);
  int nvcomp = 0;
  for (std::uint32_t i = 0; i < 2 * cuda::BackendChoice::kExploreEvery; ++i) {
    nvcomp += c.choose(StreamKind::Zstd, big, 16) == Backend::Nvcomp;
  }
  EXPECT_EQ(nvcomp, 2);  // the slower side, now and then
  EXPECT_NEAR(*c.rate(StreamKind::Zstd, Backend::Own, big, 16), 256 * kMiB / 0.01, 1.0);
  // Other classes (item size, item count, kind) are measured on their own.
  EXPECT_FALSE(c.rate(StreamKind::Zstd, Backend::Own, small, 4096));
  EXPECT_EQ(c.choose(StreamKind::Zstd, big, 256), Backend::Own);
  c.measured(StreamKind::Zstd, Backend::Own, small, 4096, 256 * kMiB, 0.02);
  c.measured(StreamKind::Zstd, Backend::Nvcomp, small, 4096, 256 * kMiB, 0.005);
  EXPECT_EQ(c.choose(StreamKind::Zstd, small, 4096), Backend::Nvcomp);
  EXPECT_EQ(c.choose(StreamKind::Zstd, small, 5000), Backend::Nvcomp);  // same power of two
  EXPECT_EQ(c.choose(StreamKind::Lz4, small, 4096), Backend::Own);
  // Nonsense samples are ignored.
  c.measured(StreamKind::Lz4, Backend::Own, small, 4096, 0, 1.0);
  c.measured(StreamKind::Lz4, Backend::Own, small, 4096, kMiB, 0.0);
  EXPECT_FALSE(c.rate(StreamKind::Lz4, Backend::Own, small, 4096));
}

}  // namespace
}  // namespace cuzarr
