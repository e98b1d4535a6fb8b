// How a GPU read shares the decoding of one codec chain between the device and the CPU threads
// that read its chunks. Both paths start with a reader thread loading the chunk; a chunk sent to
// the device then costs device time, one decoded on the CPU costs that thread its decode. From
// the rates measured while the read runs — the threads' read rate, their CPU decode rate and the
// device's decode rate — the CPU takes the share f that finishes both sides together:
//
//   (1 - f) / R_gpu = 1 / R_read + f / R_cpu,  i.e.  f = (1/R_gpu - 1/R_read) / (1/R_gpu + 1/R_cpu)
//
// (R_read and R_cpu for all threads together), clamped to [0, kMaxShare]; a share below kMinShare
// is 0 (a CPU decode keeps a thread from reading for a whole chunk: a small share gains less than
// the rates' noise). R_gpu counts the device's busy time once where batches overlap. When the device decodes
// faster than the threads read (blosc-lz4), f is 0: every chunk goes to the device. When it decodes
// slower (nvCOMP zstd over a few large frames), the threads decode some chunks themselves and the
// two rates add up. Until every rate has been measured, one chunk in kProbeEvery goes to the CPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

namespace cuzarr::cuda {

class DecodeSplit {
 public:
  static constexpr double kMaxShare = 0.5;
  static constexpr double kMinShare = 0.1;
  static constexpr int kProbeEvery = 16;

  // `threads`: the reader threads of the read (the engine's pool).
  explicit DecodeSplit(std::size_t threads) : threads_(threads == 0 ? 1 : threads) {}

  // One thread loaded a chunk of `bytes` decoded bytes in `seconds`.
  void read(std::uint64_t bytes, double seconds) { add(read_, bytes, seconds); }
  // One thread decoded `bytes` on the CPU in `seconds`.
  void cpu(std::uint64_t bytes, double seconds) { add(cpu_, bytes, seconds); }
  // The device decoded a batch of `bytes` between `start` and `end`, seconds from any one
  // reference point; batches that overlap count their common time once.
  void gpu(std::uint64_t bytes, double start, double end);

  // Fixes the CPU's share to `share` (the read's plan, decode_rates.hpp) instead of following
  // this read's rates; the first chunks already take it.
  void pin(double share);
  // The device's busy time so far (overlapping batches counted once).
  double gpu_seconds();

  // Whether the next chunk is decoded on the CPU.
  bool to_cpu();
  // The CPU's share now (kProbe while rates are missing), and the rates behind it, for the log.
  std::string describe();

 private:
  struct Rate {
    double bytes = 0, seconds = 0;
    int samples = 0;
  };
  void add(Rate& r, std::uint64_t bytes, double seconds);
  double share();  // with mutex_ held

  std::mutex mutex_;
  double threads_;
  Rate read_, cpu_, gpu_;
  double busy_until_ = 0;  // end of the device's last counted interval
  double credit_ = 0;
  double pinned_ = -1;  // < 0: not pinned
};

}  // namespace cuzarr::cuda
