// Kernel throughput of GPU decompression, in GB/s of decoded output: cuzarr's LZ4 kernel against
// nvCOMP's, blosc-lz4 with byte shuffle (streams + unshuffle), zstd and deflate through nvCOMP.
// Float data shaped like model output (a smooth field plus noise in the low mantissa bits) is cut
// into chunk-sized items, compressed on the host with the standard libraries, copied to the GPU
// once, then decompressed as one batch several times; every result is checked against the input.
//
//   gpu_decode_bench [total MiB = 1024] [item KiB = 1024] [repeats = 5] [LZ4 lanes, e.g. 8,16,32 or 0: each
//                    launch chooses] [workloads: lz4,blosc,zstd,zstd-3,zstd-9,deflate (default all)]
// nvCOMP comes from CUZARR_NVCOMP_LIBRARY or the loader path; without it only cuzarr's kernels run.
// zstd rows come twice: nvCOMP's and cuzarr's own kernels (issue 29's sizes: `256 16384`, `256 64`,
// `256 1024`, i.e. 16 items of 16 MiB, 4096 of 64 KiB, 256 of 1 MiB).
#include <blosc.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "codec/gpu_streams.hpp"
#include "cuda/batch_decompress.hpp"
#include "cuda/nvcomp.hpp"
#include "cuda/zstd_kernels.hpp"

namespace {

using namespace cuzarr;
using Bytes = std::vector<std::byte>;

void parallel(std::size_t n, const std::function<void(std::size_t)>& f) {
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::size_t i = t; i < n; i += threads) f(i);
    });
  }
  for (auto& th : pool) th.join();
}

// The realistic field of the benchmark harness (bench/datasets.py): a smooth field plus Gaussian
// noise of sigma 2, rounded to 0.01, as reanalysis data is stored; zstd gets about 1.7 from it.
Bytes make_data(std::size_t bytes) {
  Bytes out(bytes);
  const std::size_t n = bytes / 4;
  parallel(64, [&](std::size_t part) {
    std::mt19937 rng(static_cast<unsigned>(part));
    std::normal_distribution<double> noise(0.0, 2.0);
    for (std::size_t i = part * n / 64; i < (part + 1) * n / 64; ++i) {
      const double x = static_cast<double>(i % 512), y = static_cast<double>(i / 512 % 512);
      const double v = 280.0 + 15.0 * std::sin(x * 0.012) * std::cos(y * 0.009) + noise(rng);
      const float f = static_cast<float>(std::round(v * 100.0) / 100.0);
      std::memcpy(out.data() + 4 * i, &f, 4);
    }
  });
  return out;
}

struct Item {
  std::size_t in_offset, in_size, out_offset, out_size;
  codec::StreamKind kind;
};

struct Workload {
  std::string name;
  Bytes compressed;
  std::vector<Item> items;
  codec::Unshuffle unshuffle = codec::Unshuffle::None;
  std::size_t block = 0;  // unshuffle block size
};

// One compressed blob per item, concatenated (each start 8-aligned).
Workload compress_items(const std::string& name, const Bytes& data, std::size_t item,
                        const std::function<Bytes(const std::byte*, std::size_t)>& compress, codec::StreamKind kind) {
  const std::size_t n = (data.size() + item - 1) / item;
  std::vector<Bytes> parts(n);
  parallel(n, [&](std::size_t i) {
    parts[i] = compress(data.data() + i * item, std::min(item, data.size() - i * item));
  });
  Workload w{name, {}, {}};
  for (std::size_t i = 0; i < n; ++i) {
    w.items.push_back({w.compressed.size(), parts[i].size(), i * item, std::min(item, data.size() - i * item), kind});
    w.compressed.insert(w.compressed.end(), parts[i].begin(), parts[i].end());
    w.compressed.resize((w.compressed.size() + 7) / 8 * 8);
  }
  return w;
}

// Blosc frames per item, cut into their streams by the host parser, as the read path does.
Workload blosc_items(const Bytes& data, std::size_t item) {
  const std::size_t n = (data.size() + item - 1) / item;
  std::vector<Bytes> frames(n);
  parallel(n, [&](std::size_t i) {
    const std::size_t size = std::min(item, data.size() - i * item);
    Bytes f(size + BLOSC_MAX_OVERHEAD);
    const int r = blosc_compress_ctx(5, BLOSC_SHUFFLE, 4, size, data.data() + i * item, f.data(), f.size(), "lz4", 0, 1);
    f.resize(static_cast<std::size_t>(r));
    frames[i] = std::move(f);
  });
  Workload w{"blosc-lz4+shuffle", {}, {}, codec::Unshuffle::Byte};
  for (std::size_t i = 0; i < n; ++i) {
    std::string why;
    const auto cs = codec::split_streams(codec::GpuFormat::Blosc, frames[i], std::min(item, data.size() - i * item), why);
    if (!cs) {
      std::fprintf(stderr, "blosc frame %zu: %s\n", i, why.c_str());
      std::exit(1);
    }
    w.block = cs->block_size;
    for (const codec::StreamItem& s : cs->items) {
      w.items.push_back({w.compressed.size() + s.in_offset, s.in_size, i * item + s.out_offset, s.out_size, s.kind});
    }
    w.compressed.insert(w.compressed.end(), frames[i].begin(), frames[i].end());
    w.compressed.resize((w.compressed.size() + 7) / 8 * 8);
  }
  return w;
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

// The fastest of `repeats` runs of `launch` on `stream` in milliseconds (events around it), after
// one untimed run that warms up.
double best_ms(int repeats, cudaStream_t stream, const std::function<void()>& launch) {
  cudaEvent_t t0, t1;
  cudaEventCreate(&t0);
  cudaEventCreate(&t1);
  double best = 1e30;
  for (int r = 0; r <= repeats; ++r) {
    check(cudaEventRecord(t0, stream), "event");
    launch();
    check(cudaEventRecord(t1, stream), "event");
    check(cudaStreamSynchronize(stream), "decode");
    float ms = 0;
    cudaEventElapsedTime(&ms, t0, t1);
    if (r > 0) best = std::min(best, static_cast<double>(ms));
  }
  cudaEventDestroy(t0);
  cudaEventDestroy(t1);
  return best;
}

// Checks a timed batch's result (every status Ok, every byte as the input) and prints its row;
// a wrong result ends the benchmark.
void report(const Workload& w, const std::string& backend, const Bytes& data, const std::byte* decoded,
            const std::byte* statuses, std::size_t n, int repeats, double best_ms) {
  std::vector<std::int32_t> st(n);
  check(cudaMemcpy(st.data(), statuses, st.size() * 4, cudaMemcpyDeviceToHost), "statuses");
  Bytes got(data.size());
  check(cudaMemcpy(got.data(), decoded, got.size(), cudaMemcpyDeviceToHost), "download");
  bool ok = got == data;
  for (std::int32_t s : st) ok = ok && s == 0;
  std::printf("%-22s %-14s %7.1f GB/s  (%zu items, %.1f MiB -> %.1f MiB, ratio %.2f, best of %d: %.2f ms)%s\n",
              w.name.c_str(), backend.c_str(), static_cast<double>(data.size()) / (best_ms * 1e6), w.items.size(),
              static_cast<double>(w.compressed.size()) / 1048576.0, static_cast<double>(data.size()) / 1048576.0,
              static_cast<double>(data.size()) / static_cast<double>(w.compressed.size()), repeats, best_ms,
              ok ? "" : "  RESULT DIFFERS");
  std::fflush(stdout);
  if (!ok) std::exit(2);
}

void run(const Workload& w, const Bytes& data, const cuda::Nvcomp* nvcomp, bool nvcomp_lz4, int repeats,
         int lanes = 0) {
  cuda::BatchDecompressor d(nvcomp, nvcomp_lz4 ? Config::GpuLz4::Nvcomp : Config::GpuLz4::Own);
  d.set_lz4_lanes(lanes);
  for (const Item& it : w.items) {
    if (!d.supports(it.kind)) {
      std::printf("%-22s %-14s skipped: no backend for %s\n", w.name.c_str(), "-", codec::stream_kind_name(it.kind));
      return;
    }
  }
  codec::StreamKind main = w.items.front().kind;  // the compressor, not a stored block
  for (const Item& it : w.items) {
    if (it.kind != codec::StreamKind::Copy) main = it.kind;
  }
  std::string backend = d.backend(main);
  if (backend == "cuzarr" && main == codec::StreamKind::Lz4) {  // and the threads per LZ4 item
    const auto lz4 =
        std::count_if(w.items.begin(), w.items.end(), [](const Item& it) { return it.kind == codec::StreamKind::Lz4; });
    backend += " x" + std::to_string(lanes != 0 ? lanes : cuda::lz4_lanes_for(static_cast<int>(lz4)));
  }
  cuda::DeviceBuffer in(w.compressed.size()), raw(data.size()), out(w.unshuffle != codec::Unshuffle::None ? data.size() : 0);
  check(cudaMemcpy(in.data(), w.compressed.data(), w.compressed.size(), cudaMemcpyHostToDevice), "upload");
  std::vector<cuda::DeviceItem> items;
  std::vector<codec::StreamKind> kinds;
  for (const Item& it : w.items) {
    items.push_back({in.data() + it.in_offset, it.in_size, raw.data() + it.out_offset, it.out_size});
    kinds.push_back(it.kind);
  }
  std::vector<cuda::UnshuffleJob> jobs;
  if (w.unshuffle != codec::Unshuffle::None) {
    for (std::size_t at = 0; at < data.size(); at += w.block) {
      jobs.push_back({raw.data() + at, out.data() + at, std::min(w.block, data.size() - at), 4,
                      static_cast<std::uint32_t>(w.unshuffle)});
    }
  }
  cuda::DeviceBuffer dj(std::max<std::size_t>(1, jobs.size() * sizeof(cuda::UnshuffleJob)));
  check(cudaMemcpy(dj.data(), jobs.data(), jobs.size() * sizeof(cuda::UnshuffleJob), cudaMemcpyHostToDevice), "jobs");
  cuda::DeviceBuffer statuses(items.size() * sizeof(std::int32_t));
  cuda::Stream stream;
  const double best = best_ms(repeats, stream.get(), [&] {
    d.launch(kinds, items, reinterpret_cast<std::int32_t*>(statuses.data()), stream.get());
    cuda::launch_unshuffle(reinterpret_cast<const cuda::UnshuffleJob*>(dj.data()), static_cast<int>(jobs.size()),
                           stream.get());
  });
  report(w, backend, data, (jobs.empty() ? raw : out).data(), statuses.data(), items.size(), repeats, best);
}

// cuzarr's own zstd kernels (cuda/zstd_kernels.cu) on a zstd workload, timed like run(): the
// whole batch, its one mid-batch synchronization (scratch sizing) and allocations included.
void run_own_zstd(const Workload& w, const Bytes& data, int repeats) {
  cuda::DeviceBuffer in(w.compressed.size()), raw(data.size());
  check(cudaMemcpy(in.data(), w.compressed.data(), w.compressed.size(), cudaMemcpyHostToDevice), "upload");
  std::vector<cuda::DeviceItem> items;
  for (const Item& it : w.items) items.push_back({in.data() + it.in_offset, it.in_size, raw.data() + it.out_offset, it.out_size});
  cuda::DeviceBuffer statuses(items.size() * sizeof(std::int32_t));
  cuda::Stream stream;
  const double best = best_ms(repeats, stream.get(), [&] {
    check(cuda::zstd_decode_batch(items.data(), static_cast<int>(items.size()),
                                  reinterpret_cast<std::int32_t*>(statuses.data()), stream.get()),
          "own zstd");
  });
  report(w, "cuzarr", data, raw.data(), statuses.data(), items.size(), repeats, best);
  cuda::ZstdPhases ph;
  check(cuda::zstd_decode_batch(items.data(), static_cast<int>(items.size()),
                                reinterpret_cast<std::int32_t*>(statuses.data()), stream.get(), &ph),
        "own zstd (phases)");
  std::printf("  own zstd steps (ms): walk+sizing %.2f, entropy %.2f, layout %.2f, execute %.2f, resolve %.2f, checksum %.2f\n",
              ph.walk, ph.entropy, ph.layout, ph.execute, ph.resolve, ph.checksum);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t total = (argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1024) << 20;
  const std::size_t item = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024) << 10;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 5;
  // Threads per item of cuzarr's LZ4 kernel, a row each ("8,32"); by default each launch chooses.
  std::vector<int> lane_counts{0};
  if (argc > 4) {
    lane_counts.clear();
    const std::string list = argv[4];
    for (std::size_t at = 0; at <= list.size();) {
      const std::size_t comma = std::min(list.find(',', at), list.size());
      lane_counts.push_back(std::atoi(list.substr(at, comma - at).c_str()));
      at = comma + 1;
    }
  }
  const std::string only = argc > 5 ? "," + std::string(argv[5]) + "," : std::string();
  const auto wanted = [&](const char* name) { return only.empty() || only.find("," + std::string(name) + ",") != std::string::npos; };
  std::string why;
  std::unique_ptr<cuda::Nvcomp> nvcomp = cuda::Nvcomp::open(why);
  std::printf("GPU decompression kernels: %zu MiB of float32 in items of %zu KiB; nvCOMP %s\n", total >> 20, item >> 10,
              nvcomp ? nvcomp->version().c_str() : ("absent: " + why).c_str());
  const Bytes data = make_data(total);
  if (wanted("lz4")) {
    const Workload lz4 = compress_items("lz4", data, item, [](const std::byte* p, std::size_t n) {
      Bytes o(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(n))));
      o.resize(static_cast<std::size_t>(LZ4_compress_default(reinterpret_cast<const char*>(p), reinterpret_cast<char*>(o.data()),
                                                             static_cast<int>(n), static_cast<int>(o.size()))));
      return o;
    }, codec::StreamKind::Lz4);
    for (const int lanes : lane_counts) run(lz4, data, nvcomp.get(), false, repeats, lanes);
    run(lz4, data, nvcomp.get(), true, repeats);
  }
  if (wanted("blosc")) {
    const Workload blosc = blosc_items(data, item);
    for (const int lanes : lane_counts) run(blosc, data, nvcomp.get(), false, repeats, lanes);
    run(blosc, data, nvcomp.get(), true, repeats);
  }
  // zstd at level 1, at its default level 3 (Zarr's level 0: what zarr-python writes unless told
  // otherwise) and at level 9.
  for (const auto& [name, level] : {std::pair<const char*, int>{"zstd", 1}, {"zstd-3", 3}, {"zstd-9", 9}}) {
    if (!wanted(name)) continue;
    const int lvl = level;
    const Workload zstd = compress_items(name, data, item, [lvl](const std::byte* p, std::size_t n) {
      Bytes o(ZSTD_compressBound(n));
      o.resize(ZSTD_compress(o.data(), o.size(), p, n, lvl));
      return o;
    }, codec::StreamKind::Zstd);
    run(zstd, data, nvcomp.get(), true, repeats);
    run_own_zstd(zstd, data, repeats);
  }
  if (wanted("deflate")) {
    const Workload deflate = compress_items("deflate", data, item, [](const std::byte* p, std::size_t n) {
      Bytes o(compressBound(n));
      uLongf size = o.size();
      compress2(reinterpret_cast<Bytef*>(o.data()), &size, reinterpret_cast<const Bytef*>(p), n, 5);
      return Bytes(o.begin() + 2, o.begin() + static_cast<std::ptrdiff_t>(size) - 4);  // raw deflate
    }, codec::StreamKind::Deflate);
    run(deflate, data, nvcomp.get(), true, repeats);
  }
  return 0;
}
