#include "cuzarr/array.hpp"

#include <algorithm>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "exec/engine.hpp"
#include "exec/verify.hpp"
#include "exec/vlen_sink.hpp"
#include "exec/write.hpp"
#include "node_state.hpp"
#include "plan/block_count.hpp"
#include "plan/chunk_plan.hpp"
#if CUZARR_WITH_CUDA
#include "cuda/gpu_sink.hpp"
#endif

namespace cuzarr {

namespace detail {

Context::Context(std::shared_ptr<const Store> store, OpenOptions options)
    : store_(std::move(store)), options_(options),
      max_metadata_bytes_(options.max_metadata_bytes.value_or(config().max_metadata_bytes)), pool_([this] {
        // A network store serves many requests at once: as many readers as it takes in flight.
        return std::make_unique<exec::ThreadPool>(std::max(config().threads, store_->preferred_concurrency()));
      }) {}

}  // namespace detail

const std::vector<std::int64_t>& Array::shape() const { return state_->meta.shape; }
const std::vector<std::int64_t>& Array::chunks() const {
  return state_->meta.inner_chunk_shape.empty() ? state_->meta.chunk_shape : state_->meta.inner_chunk_shape;
}
std::optional<std::vector<std::int64_t>> Array::shards() const {
  if (state_->meta.inner_chunk_shape.empty()) return std::nullopt;
  return state_->meta.chunk_shape;
}
const std::vector<std::int64_t>& Array::storage_chunks() const { return state_->meta.chunk_shape; }
const DataType& Array::dtype() const { return state_->meta.dtype; }
int Array::zarr_format() const { return state_->meta.zarr_format; }
const std::string& Array::path() const { return state_->meta.path; }
const std::string& Array::display_path() const { return state_->meta.display; }
std::string Array::attributes_json() const { return state_->meta.attributes.dump(); }
const std::vector<std::optional<std::string>>& Array::dimension_names() const {
  return state_->meta.dimension_names;
}
const std::vector<std::byte>& Array::fill_value() const { return state_->meta.fill_value; }
std::string Array::fill_value_json() const { return state_->meta.fill_value_json.dump(); }
std::string Array::codecs_json() const { return state_->meta.codecs_as_written.dump(); }
std::string Array::codec_chain() const { return state_->chain.describe(); }

namespace {

// Selection errors are found by the planner, which knows no array; name it here.
[[noreturn]] void rethrow_with_array(const SelectionError& e, const std::string& array) {
  const std::string what = e.what();
  if (what.starts_with("array '")) throw e;
  throw SelectionError("array '" + array + "': " + what);
}

plan::ChunkPlan make_plan(const Selection& selection, const metadata::ArrayMeta& meta) {
  try {
    return plan::ChunkPlan(selection, meta.shape, meta.chunk_shape);
  } catch (const SelectionError& e) {
    rethrow_with_array(e, meta.display);
  }
}

}  // namespace

std::vector<std::int64_t> Array::result_shape(const Selection& selection) const {
  try {
    return cuzarr::result_shape(selection, state_->meta.shape);
  } catch (const SelectionError& e) {
    rethrow_with_array(e, state_->meta.display);
  }
}

void Array::read_into(const Selection& selection, const Output& output) const {
  const metadata::ArrayMeta& meta = state_->meta;
#if !CUZARR_WITH_CUDA
  if (output.memory != Memory::Host) {
    throw UnsupportedError("array '" + meta.display +
                           "': reading into GPU memory needs a CUDA build of cuzarr (this one has none)");
  }
#endif
  if (meta.dtype.is_vlen()) {
    throw UnsupportedError("array '" + meta.display + "': data type " + meta.dtype.name() +
                           " has variable-length items, which have no fixed-size form (C++: Array::read_vlen; Python: cuzarr.open(...)[...])");
  }
  const plan::ChunkPlan plan = make_plan(selection, meta);
  if (output.shape != plan.out_shape()) {
    std::string want, got;
    for (auto s : plan.out_shape()) want += std::to_string(s) + ",";
    for (auto s : output.shape) got += std::to_string(s) + ",";
    throw SelectionError("array '" + meta.display + "': output shape (" + got +
                         ") does not match the selection's shape (" + want + ")");
  }
  if (output.byte_strides.size() != output.shape.size()) {
    throw SelectionError("array '" + meta.display + "': output has " +
                         std::to_string(output.shape.size()) + " dimensions but " +
                         std::to_string(output.byte_strides.size()) + " strides");
  }
  const std::int64_t elements = codec::element_count(output.shape);
  if (elements == 0) return;
  if (output.data == nullptr) throw SelectionError("array '" + meta.display + "': output data is null");
  std::vector<std::int64_t> dst_strides(meta.rank(), 0);
  for (std::size_t d = 0, o = 0; d < meta.rank(); ++d) {
    if (!plan.dropped(d)) dst_strides[d] = output.byte_strides[o++];
  }
  const exec::ReadContext ctx{meta, state_->chain, state_->context->store(), state_->context->pool()};
#if CUZARR_WITH_CUDA
  if (output.memory == Memory::Device) {
    const std::uint64_t chunks = plan::blocks_touched(
        plan::normalize(selection, meta.shape), meta.inner_chunk_shape.empty() ? meta.chunk_shape : meta.inner_chunk_shape);
    cuda::GpuSink sink(cuda::process_resources(),
                       cuda::DeviceTarget{output.data, output.device, output.stream, dst_strides, meta.dtype.size, meta.display,
                                          state_->chain.describe(), chunks});
    exec::read_plan(ctx, plan, sink);
    return;
  }
#endif
  exec::HostSink sink(static_cast<std::byte*>(output.data), dst_strides, meta.dtype.size);
  exec::read_plan(ctx, plan, sink);
}

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

void Array::write(const Selection& selection, const Input& input) const {
  const metadata::ArrayMeta& meta = state_->meta;
  const detail::Context& context = *state_->context;
  // Everything that can be known before the first chunk is checked here, so that a refused
  // write leaves the store as it was.
  if (context.options().mode != Mode::ReadWrite) {
    throw StoreError("array '" + meta.display +
                     "' was opened read-only: open it for writing (C++: OpenOptions::mode = Mode::ReadWrite; "
                     "Python: cuzarr.open(..., mode=\"r+\"))");
  }
  if (!context.store().writable()) {
    throw UnsupportedError("array '" + meta.display + "': the store " + context.store().describe() +
                           " is read-only (cuzarr writes to local directory stores)");
  }
  if (meta.dtype.is_vlen()) {
    throw UnsupportedError("array '" + meta.display + "': writing " + meta.dtype.name() + " items is not supported");
  }
  state_->chain.check_encodable(meta.display);
  const plan::ChunkPlan plan = make_plan(selection, meta);
  if (input.shape != plan.out_shape()) {
    throw SelectionError("array '" + meta.display + "': the value has shape " + shape_text(input.shape) +
                         ", the selection " + shape_text(plan.out_shape()));
  }
  if (input.byte_strides.size() != input.shape.size()) {
    throw SelectionError("array '" + meta.display + "': the value has " + std::to_string(input.shape.size()) +
                         " dimensions but " + std::to_string(input.byte_strides.size()) + " strides");
  }
  if (codec::element_count(input.shape) == 0) return;
  if (input.data == nullptr) throw SelectionError("array '" + meta.display + "': input data is null");
  std::vector<std::int64_t> src_strides(meta.rank(), 0);
  for (std::size_t d = 0, o = 0; d < meta.rank(); ++d) {
    if (!plan.dropped(d)) src_strides[d] = input.byte_strides[o++];
  }
  const exec::ReadContext ctx{meta, state_->chain, context.store(), context.pool()};
  exec::write_plan(ctx, plan, static_cast<const std::byte*>(input.data), src_strides);
}

VerifyReport Array::verify(const std::function<void(std::size_t, std::size_t)>& progress) const {
  const exec::ReadContext ctx{state_->meta, state_->chain, state_->context->store(), state_->context->pool()};
  exec::VerifyResult r = exec::verify_chunks(ctx, progress);
  return VerifyReport{r.chunks, r.missing, r.inner, r.inner_missing, std::move(r.errors)};
}

VlenItems Array::read_vlen(const Selection& selection) const {
  const metadata::ArrayMeta& meta = state_->meta;
  if (!meta.dtype.is_vlen()) {
    throw UnsupportedError("array '" + meta.display + "': data type " + meta.dtype.name() +
                           " has fixed-size elements; read it with read or read_into");
  }
  const plan::ChunkPlan plan = make_plan(selection, meta);
  VlenItems out;
  out.shape = plan.out_shape();
  out.dtype = meta.dtype;
  const std::int64_t items = codec::element_count(out.shape);
  // Output steps in items, per array dimension (dropped dimensions contribute nothing).
  const std::vector<std::int64_t> out_strides = codec::c_order_strides(out.shape, 1);
  std::vector<std::int64_t> dst_strides(meta.rank(), 0);
  for (std::size_t d = 0, o = 0; d < meta.rank(); ++d) {
    if (!plan.dropped(d)) dst_strides[d] = out_strides[o++];
  }
  exec::VlenSink sink(std::move(dst_strides), items);
  if (items > 0) {
    exec::read_plan(exec::ReadContext{meta, state_->chain, state_->context->store(), state_->context->pool()}, plan, sink);
  }
  sink.finish(out.offsets, out.data);
  return out;
}

HostArray Array::read(const Selection& selection) const {
  HostArray out;
  out.shape = result_shape(selection);
  out.dtype = dtype();
  const std::int64_t elements = codec::element_count(out.shape);
  out.data = Buffer(static_cast<std::size_t>(elements * out.dtype.size));
  Output o{out.data.data(), out.shape, codec::c_order_strides(out.shape, out.dtype.size)};
  read_into(selection, o);
  return out;
}

}  // namespace cuzarr
