#include "exec/raw_ranges.hpp"

#include <algorithm>
#include <utility>

namespace cuzarr::exec {

RawSpan raw_span(const codec::ChunkView& geometry, const std::vector<plan::DimPart>& parts, std::int64_t itemsize) {
  RawSpan s{0, itemsize, itemsize};
  for (std::size_t d = 0; d < parts.size(); ++d) {
    const auto [mn, mx] = std::minmax_element(parts[d].local.begin(), parts[d].local.end());
    s.lo += *mn * geometry.byte_strides[d];
    s.hi += *mx * geometry.byte_strides[d];
    s.needed *= static_cast<std::int64_t>(parts[d].local.size());
  }
  return s;
}

void split_raw_selection(const codec::ChunkView& geometry, std::vector<plan::DimPart> parts, std::int64_t itemsize,
                         const std::function<void(std::vector<plan::DimPart>&)>& piece) {
  const RawSpan span = raw_span(geometry, parts, itemsize);
  if (span.hi - span.lo > std::max(2 * span.needed, kOneReadSpan)) {
    std::size_t split = parts.size();
    std::int64_t widest = 0;
    for (std::size_t d = 0; d < parts.size(); ++d) {
      if (parts[d].local.size() < 2) continue;
      const auto [mn, mx] = std::minmax_element(parts[d].local.begin(), parts[d].local.end());
      const std::int64_t extent = (*mx - *mn) * geometry.byte_strides[d];
      if (extent > widest) widest = extent, split = d;
    }
    if (split < parts.size()) {
      const plan::DimPart& whole = parts[split];
      const auto mid = static_cast<std::ptrdiff_t>(whole.local.size() / 2);
      plan::DimPart first{whole.chunk, {whole.local.begin(), whole.local.begin() + mid},
                          {whole.out.begin(), whole.out.begin() + mid}, whole.contiguous};
      plan::DimPart second{whole.chunk, {whole.local.begin() + mid, whole.local.end()},
                           {whole.out.begin() + mid, whole.out.end()}, whole.contiguous};
      std::vector<plan::DimPart> other = parts;
      parts[split] = std::move(first);
      other[split] = std::move(second);
      split_raw_selection(geometry, std::move(parts), itemsize, piece);
      split_raw_selection(geometry, std::move(other), itemsize, piece);
      return;
    }
  }
  piece(parts);
}

}  // namespace cuzarr::exec
