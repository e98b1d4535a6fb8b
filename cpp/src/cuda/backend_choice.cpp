#include "cuda/backend_choice.hpp"

#include <bit>

namespace cuzarr::cuda {

const char* backend_name(Backend backend) { return backend == Backend::Own ? "cuzarr" : "nvCOMP"; }

BackendChoice::Key BackendChoice::key(codec::StreamKind kind, std::uint64_t item_bytes, std::size_t items) {
  const auto log2 = [](std::uint64_t v) { return v == 0 ? 0 : static_cast<int>(std::bit_width(v)) - 1; };
  return {static_cast<int>(kind), log2(item_bytes), log2(items)};
}

Backend BackendChoice::choose(codec::StreamKind kind, std::uint64_t item_bytes, std::size_t items) {
  std::lock_guard lock(mutex_);
  Entry& e = entries_[key(kind, item_bytes, items)];
  ++e.choices;
  if (e.rate[0].samples == 0) return Backend::Own;
  if (e.rate[1].samples == 0) return Backend::Nvcomp;
  const Backend faster = e.rate[0].value >= e.rate[1].value ? Backend::Own : Backend::Nvcomp;
  if (e.choices % kExploreEvery == 0) return faster == Backend::Own ? Backend::Nvcomp : Backend::Own;
  return faster;
}

void BackendChoice::measured(codec::StreamKind kind, Backend backend, std::uint64_t item_bytes, std::size_t items,
                             std::uint64_t total_bytes, double seconds) {
  if (seconds <= 0 || total_bytes == 0) return;
  std::lock_guard lock(mutex_);
  entries_[key(kind, item_bytes, items)].rate[static_cast<int>(backend)].add(static_cast<double>(total_bytes) / seconds);
}

std::optional<double> BackendChoice::rate(codec::StreamKind kind, Backend backend, std::uint64_t item_bytes,
                                          std::size_t items) const {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(key(kind, item_bytes, items));
  if (found == entries_.end() || found->second.rate[static_cast<int>(backend)].samples == 0) return std::nullopt;
  return found->second.rate[static_cast<int>(backend)].value;
}

}  // namespace cuzarr::cuda
