#include "exec/place.hpp"

#include "exec/sink.hpp"

#include <cstring>

namespace cuzarr::exec {
namespace {

template <int N>
void copy_elements(const std::byte* src, const std::int64_t* src_off, std::byte* dst,
                   const std::int64_t* dst_off, std::size_t count, int itemsize) {
  for (std::size_t k = 0; k < count; ++k) {
    std::memcpy(dst + dst_off[k], src + src_off[k], N > 0 ? N : static_cast<std::size_t>(itemsize));
  }
}

}  // namespace

void place(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts,
           std::byte* dst, std::span<const std::int64_t> dst_strides, int itemsize) {
  const std::size_t rank = parts.size();
  if (rank == 0) {
    std::memcpy(dst, src.data, static_cast<std::size_t>(itemsize));
    return;
  }
  // Byte offsets of every selected position, per dimension.
  std::vector<std::vector<std::int64_t>> src_off(rank), dst_off(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    const plan::DimPart& p = *parts[d];
    src_off[d].resize(p.local.size());
    dst_off[d].resize(p.out.size());
    for (std::size_t k = 0; k < p.local.size(); ++k) {
      src_off[d][k] = p.local[k] * src.byte_strides[d];
      dst_off[d][k] = p.out[k] * dst_strides[d];
    }
  }
  const std::size_t inner = rank - 1;
  const plan::DimPart& last = *parts[inner];
  const std::size_t inner_count = last.local.size();
  // One memcpy per run when the innermost dimension is dense on both sides.
  const bool run = last.contiguous && src.byte_strides[inner] == itemsize && dst_strides[inner] == itemsize;

  std::vector<std::size_t> idx(rank, 0);
  while (true) {
    std::int64_t s = 0, t = 0;
    for (std::size_t d = 0; d < inner; ++d) {
      s += src_off[d][idx[d]];
      t += dst_off[d][idx[d]];
    }
    const std::byte* sp = src.data + s;
    std::byte* tp = dst + t;
    if (run) {
      std::memcpy(tp + dst_off[inner][0], sp + src_off[inner][0], inner_count * static_cast<std::size_t>(itemsize));
    } else {
      const std::int64_t* so = src_off[inner].data();
      const std::int64_t* to = dst_off[inner].data();
      switch (itemsize) {
        case 1: copy_elements<1>(sp, so, tp, to, inner_count, itemsize); break;
        case 2: copy_elements<2>(sp, so, tp, to, inner_count, itemsize); break;
        case 4: copy_elements<4>(sp, so, tp, to, inner_count, itemsize); break;
        case 8: copy_elements<8>(sp, so, tp, to, inner_count, itemsize); break;
        case 16: copy_elements<16>(sp, so, tp, to, inner_count, itemsize); break;
        default: copy_elements<0>(sp, so, tp, to, inner_count, itemsize); break;
      }
    }
    // Advance the odometer over the outer dimensions.
    std::size_t d = inner;
    while (d-- > 0) {
      if (++idx[d] < parts[d]->local.size()) break;
      idx[d] = 0;
    }
    if (d == static_cast<std::size_t>(-1)) return;
  }
}

std::int64_t dense_output_offset(std::span<const plan::DimPart* const> parts,
                                 std::span<const std::int64_t> block_shape,
                                 std::span<const std::int64_t> dst_strides, std::int64_t itemsize) {
  // Walk from the innermost dimension out: each must take the whole block extent in order, and
  // the output strides must be those of a C-ordered block of that shape.
  std::int64_t expected_stride = itemsize;
  std::int64_t offset = 0;
  for (std::size_t d = parts.size(); d-- > 0;) {
    const plan::DimPart& p = *parts[d];
    const std::int64_t n = block_shape[d];
    if (static_cast<std::int64_t>(p.local.size()) != n || p.local.empty() || p.local.front() != 0) return -1;
    if (n > 1 && (!p.contiguous || dst_strides[d] != expected_stride)) return -1;
    offset += p.out.front() * dst_strides[d];
    expected_stride *= n;
  }
  return offset;
}

std::byte* HostSink::direct_target(std::span<const plan::DimPart* const> parts,
                                   std::span<const std::int64_t> chunk_shape) {
  const std::int64_t offset = dense_output_offset(parts, chunk_shape, dst_strides_, itemsize_);
  return offset < 0 ? nullptr : dst_ + offset;
}

void HostSink::put(const codec::ChunkView& src, std::span<const plan::DimPart* const> parts) {
  place(src, parts, dst_, dst_strides_, itemsize_);
}

}  // namespace cuzarr::exec
