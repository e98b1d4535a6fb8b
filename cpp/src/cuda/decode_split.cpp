#include "cuda/decode_split.hpp"

#include <algorithm>
#include <cstdio>

namespace cuzarr::cuda {

void DecodeSplit::add(Rate& r, std::uint64_t bytes, double seconds) {
  std::lock_guard lock(mutex_);
  r.bytes += static_cast<double>(bytes);
  r.seconds += std::max(seconds, 1e-9);
  ++r.samples;
}

void DecodeSplit::gpu(std::uint64_t bytes, double start, double end) {
  std::lock_guard lock(mutex_);
  // Batches complete about in the order they start: the union of the intervals so far ends at
  // busy_until_.
  const double from = std::max(start, busy_until_);
  gpu_.bytes += static_cast<double>(bytes);
  gpu_.seconds += std::max(end - from, 0.0);
  busy_until_ = std::max(busy_until_, end);
  ++gpu_.samples;
}

void DecodeSplit::pin(double share) {
  std::lock_guard lock(mutex_);
  pinned_ = std::clamp(share, 0.0, 1.0);
  // Half a chunk of credit: the share's chunks fall evenly through the read, the first among the
  // first chunks (a read of two chunks, one for each side, decodes both at once).
  credit_ = 0.5;
}

double DecodeSplit::gpu_seconds() {
  std::lock_guard lock(mutex_);
  return gpu_.seconds;
}

double DecodeSplit::share() {
  if (pinned_ >= 0) return pinned_;
  if (read_.samples < 4 || cpu_.samples < 2 || gpu_.samples < 1) return 1.0 / kProbeEvery;
  const double r_read = threads_ * read_.bytes / read_.seconds;
  const double r_cpu = threads_ * cpu_.bytes / cpu_.seconds;
  const double r_gpu = gpu_.bytes / std::max(gpu_.seconds, 1e-9);
  const double f = (1 / r_gpu - 1 / r_read) / (1 / r_gpu + 1 / r_cpu);
  return f < kMinShare ? 0.0 : std::min(f, kMaxShare);
}

bool DecodeSplit::to_cpu() {
  std::lock_guard lock(mutex_);
  credit_ += share();
  if (credit_ < 1) return false;
  credit_ -= 1;
  return true;
}

std::string DecodeSplit::describe() {
  std::lock_guard lock(mutex_);
  auto rate = [&](const Rate& r, double scale) {
    return r.seconds > 0 ? scale * r.bytes / r.seconds / 1e9 : 0.0;
  };
  char text[200];
  std::snprintf(text, sizeof text, "CPU share %.3f (GB/s: read %.1f, CPU decode %.1f, GPU decode %.1f)", share(),
                rate(read_, threads_), rate(cpu_, threads_), rate(gpu_, 1));
  return text;
}

}  // namespace cuzarr::cuda
