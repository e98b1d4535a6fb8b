#include "cuda/decode_rates.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

namespace cuzarr::cuda {

int DecodeRates::size_class(std::uint64_t bytes) {
  return bytes == 0 ? 0 : static_cast<int>(std::bit_width(bytes)) - 1;
}

void DecodeRates::read(codec::GpuFormat format, std::uint64_t decoded_bytes, double seconds) {
  if (decoded_bytes == 0 || !(seconds >= 0)) return;
  std::lock_guard lock(mutex_);
  entries_[{format, size_class(decoded_bytes)}].read.add(seconds / static_cast<double>(decoded_bytes));
}

void DecodeRates::cpu(codec::GpuFormat format, std::uint64_t decoded_bytes, double seconds) {
  if (decoded_bytes == 0 || !(seconds >= 0)) return;
  std::lock_guard lock(mutex_);
  entries_[{format, size_class(decoded_bytes)}].cpu.add(seconds / static_cast<double>(decoded_bytes));
}

void DecodeRates::gpu(codec::GpuFormat format, std::uint64_t decoded_bytes, std::size_t chunks, double seconds) {
  if (decoded_bytes == 0 || chunks == 0 || !(seconds > 0)) return;
  std::lock_guard lock(mutex_);
  Entry& e = entries_[{format, size_class(decoded_bytes)}];
  const double per_byte = seconds / static_cast<double>(decoded_bytes);
  e.latency = e.latency ? std::min(*e.latency, per_byte) : per_byte;
  const double rate = static_cast<double>(decoded_bytes) * static_cast<double>(chunks) / seconds;
  e.rate = e.rate ? std::max(*e.rate, rate) : rate;
}

DecodeEstimate DecodeRates::estimate(codec::GpuFormat format, std::uint64_t decoded_bytes) const {
  std::lock_guard lock(mutex_);
  DecodeEstimate out;
  auto found = entries_.find({format, size_class(decoded_bytes)});
  if (found == entries_.end()) return out;
  const Entry& e = found->second;
  const double bytes = static_cast<double>(decoded_bytes);
  if (e.read.samples > 0) out.read_s = e.read.value * bytes;
  if (e.cpu.samples > 0) out.cpu_s = e.cpu.value * bytes;
  if (e.latency) out.latency_s = *e.latency * bytes;
  out.gpu_bytes_per_s = e.rate;
  return out;
}

namespace {

double threads_seconds(std::size_t n, std::size_t k, double threads, double read_s, double cpu_s) {
  const double work = (static_cast<double>(n) * read_s + static_cast<double>(k) * cpu_s) / threads;
  return std::max(work, read_s + (k > 0 ? cpu_s : 0.0));
}

double device_seconds(std::size_t m, std::uint64_t bytes, double read_s, double latency_s, double rate) {
  if (m == 0) return 0;
  return read_s + std::max(latency_s, static_cast<double>(m) * static_cast<double>(bytes) / rate);
}

std::string seconds_text(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g ms", s * 1e3);
  return text;
}

}  // namespace

double split_seconds(std::size_t chunks, std::size_t cpu, std::size_t threads, std::uint64_t decoded_bytes,
                     double read_s, double cpu_s, double latency_s, double gpu_bytes_per_s) {
  const double t = static_cast<double>(std::max<std::size_t>(threads, 1));
  return std::max(threads_seconds(chunks, cpu, t, read_s, cpu_s),
                  device_seconds(chunks - cpu, decoded_bytes, read_s, latency_s, gpu_bytes_per_s));
}

SplitPlan plan_split(std::size_t chunks, std::size_t threads, std::uint64_t decoded_bytes, const DecodeEstimate& e) {
  SplitPlan plan;
  plan.chunks = chunks;
  if (chunks == 0) return plan;
  if (!e.cpu_s || !e.latency_s || !e.gpu_bytes_per_s || !(*e.gpu_bytes_per_s > 0)) {
    // A side is not measured for chunks of this size: the device takes them, and one chunk in
    // kProbeEvery (at least one) is decoded by the threads, which measures them; the device's
    // batches measure it.
    plan.probing = true;
    plan.cpu = std::max<std::size_t>(1, chunks / kProbeEvery);
    if (plan.cpu >= chunks && chunks > 1) plan.cpu = chunks - 1;
    plan.why = std::string("probing: ") + (e.cpu_s ? "" : "the threads' decode rate ") +
               (e.latency_s && e.gpu_bytes_per_s ? "" : "the device's decode rate ") + "not measured yet";
    return plan;
  }
  const double read_s = e.read_s.value_or(0.0);
  const auto cost = [&](std::size_t k) {
    return split_seconds(chunks, k, threads, decoded_bytes, read_s, *e.cpu_s, *e.latency_s, *e.gpu_bytes_per_s);
  };
  // The threads' time grows with k and the device's shrinks: the best k is where they cross.
  const double t = static_cast<double>(std::max<std::size_t>(threads, 1));
  std::size_t lo = 0, hi = chunks;  // smallest k whose threads' time reaches the device's
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (threads_seconds(chunks, mid, t, read_s, *e.cpu_s) >=
        device_seconds(chunks - mid, decoded_bytes, read_s, *e.latency_s, *e.gpu_bytes_per_s)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  std::size_t best = lo;
  if (lo > 0 && cost(lo - 1) <= cost(lo)) best = lo - 1;
  // A mixed split only where the model gains clearly over the better side alone: both sides then
  // contend for memory bandwidth and the threads read less, which the model does not see (a
  // share the rates gave to whole reads of 16 MiB zstd chunks slowed them on an H200).
  const std::size_t pure = cost(chunks) < cost(0) ? chunks : 0;
  if (best != pure && !(cost(best) < kMixedGain * cost(pure))) best = pure;
  plan.cpu = best;
  plan.seconds = cost(best);
  plan.why = "by measured rates: " + std::to_string(best) + " of " + std::to_string(chunks) +
             " chunks on the threads, model " + seconds_text(plan.seconds) + " (threads only " +
             seconds_text(cost(chunks)) + ", device only " + seconds_text(cost(0)) + "; per chunk: read " +
             seconds_text(read_s) + ", CPU decode " + seconds_text(*e.cpu_s) + ", device latency " +
             seconds_text(*e.latency_s) + ", device " + std::to_string(*e.gpu_bytes_per_s / 1e9).substr(0, 5) + " GB/s)";
  return plan;
}

}  // namespace cuzarr::cuda
