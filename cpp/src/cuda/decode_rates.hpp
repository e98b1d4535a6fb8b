// Where a GPU read's compressed chunks are decoded under CUZARR_DECODE=auto: a cost model of
// rates this process has measured, and the split of one read's chunks that it says finishes first.
// Plain C++ (no CUDA), so the model is tested in every build.
//
// The model, for a read of n chunks of S decoded bytes by T reader threads, k of them decoded by
// the threads and n - k by the device:
//
//   threads:  max(t_read + t_cpu, (n * t_read + k * t_cpu) / T)      (k > 0; without t_cpu for k = 0)
//   device:   t_read + max(L, (n - k) * S / R)                        (n - k > 0)
//
// where t_read is one thread's time to load a chunk, t_cpu one thread's time to decode it, L the
// shortest time the device has taken for a batch of such chunks (its latency: one large zstd frame
// takes nvCOMP ~180 ms however many run beside it) and R the highest rate it has reached over a
// batch of them. The read takes the larger of the two; plan_split picks the k that makes it
// smallest, where it gains at least 10% over the better side alone (kMixedGain). So 16 chunks of
// 16 MiB that a thread decodes in 20 ms go to the threads, and 256 of them are shared by the two
// sides' rates; chunks the device decodes faster than the threads read them all go to the device.
//
// Rates are kept per decoder format and per chunk size class (powers of two), measured by every
// read of the process (decode_rates() in gpu_resources), not set by hand. Until a side has been
// measured for a size class, the model cannot choose: `plan_split` then sends every chunk to the
// device except one in `kProbeEvery` (at least one), whose time on the threads measures them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "codec/gpu_streams.hpp"
#include "cuda/running_mean.hpp"

namespace cuzarr::cuda {

// What the process has measured for chunks of one format and size class.
struct DecodeEstimate {
  std::optional<double> read_s;     // one thread loading one chunk
  std::optional<double> cpu_s;      // one thread decoding one chunk
  std::optional<double> latency_s;  // the device's shortest batch
  std::optional<double> gpu_bytes_per_s;  // the device's best rate over a batch
};

class DecodeRates {
 public:
  // One thread loaded (read) a chunk of `decoded_bytes` in `seconds`.
  void read(codec::GpuFormat format, std::uint64_t decoded_bytes, double seconds);
  // One thread decoded a chunk of `decoded_bytes` in `seconds`.
  void cpu(codec::GpuFormat format, std::uint64_t decoded_bytes, double seconds);
  // The device decoded `chunks` chunks of `decoded_bytes` each in `seconds` (one batch).
  void gpu(codec::GpuFormat format, std::uint64_t decoded_bytes, std::size_t chunks, double seconds);

  DecodeEstimate estimate(codec::GpuFormat format, std::uint64_t decoded_bytes) const;

  // Size class of a chunk: floor(log2(bytes)).
  static int size_class(std::uint64_t bytes);

 private:
  struct Entry {
    RunningMean read, cpu;
    std::optional<double> latency;  // shortest batch, per byte of one chunk
    std::optional<double> rate;     // best bytes per second over a batch
  };
  using Key = std::pair<codec::GpuFormat, int>;
  mutable std::mutex mutex_;
  std::map<Key, Entry> entries_;
};

// How one read's chunks are shared: `cpu` of `chunks` go to the reader threads. `seconds` is the
// model's time for the read (0 while it cannot tell), `why` the reason, for the debug log.
struct SplitPlan {
  std::size_t chunks = 0;
  std::size_t cpu = 0;
  double seconds = 0;
  std::string why;
  bool probing = false;  // a side is not measured yet: `cpu` chunks measure the threads
};

inline constexpr std::size_t kProbeEvery = 16;
// A split that gives chunks to both sides is taken only when the model says it beats the better
// side alone by this factor.
inline constexpr double kMixedGain = 0.9;

// The split of `chunks` chunks of `decoded_bytes` among `threads` reader threads and the device.
SplitPlan plan_split(std::size_t chunks, std::size_t threads, std::uint64_t decoded_bytes, const DecodeEstimate& e);

// The model's time for a given split (the two sides above, the larger), for tests and the log.
double split_seconds(std::size_t chunks, std::size_t cpu, std::size_t threads, std::uint64_t decoded_bytes,
                     double read_s, double cpu_s, double latency_s, double gpu_bytes_per_s);

}  // namespace cuzarr::cuda
