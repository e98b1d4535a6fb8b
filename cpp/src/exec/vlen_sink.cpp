#include "exec/vlen_sink.hpp"

#include <cstring>

namespace cuzarr::exec {

void VlenSink::put(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) {
  const std::size_t rank = parts.size();
  std::vector<std::size_t> idx(rank, 0);
  for (std::size_t d = 0; d < rank; ++d) {
    if (parts[d]->local.empty()) return;
  }
  while (true) {
    std::int64_t s = 0, t = 0;
    for (std::size_t d = 0; d < rank; ++d) {
      s += parts[d]->local[idx[d]] * src.byte_strides[d];
      t += parts[d]->out[idx[d]] * dst_strides_[d];
    }
    const std::byte* record = src.data + s;
    std::int64_t offset = 0, size = 0;
    std::memcpy(&offset, record, 8);
    std::memcpy(&size, record + 8, 8);
    items_[static_cast<std::size_t>(t)].assign(reinterpret_cast<const char*>(record + offset), static_cast<std::size_t>(size));
    std::size_t d = rank;
    while (d-- > 0) {
      if (++idx[d] < parts[d]->local.size()) break;
      idx[d] = 0;
    }
    if (d == static_cast<std::size_t>(-1)) return;
  }
}

void VlenSink::finish(std::vector<std::int64_t>& offsets, Buffer& data) const {
  offsets.assign(items_.size() + 1, 0);
  for (std::size_t i = 0; i < items_.size(); ++i) {
    offsets[i + 1] = offsets[i] + static_cast<std::int64_t>(items_[i].size());
  }
  data = Buffer(static_cast<std::size_t>(offsets.back()));
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (!items_[i].empty()) std::memcpy(data.data() + offsets[i], items_[i].data(), items_[i].size());
  }
}

}  // namespace cuzarr::exec
