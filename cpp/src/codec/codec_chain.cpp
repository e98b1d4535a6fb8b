#include "codec/codec_chain.hpp"

#include <algorithm>
#include <cstring>

#include "codec/bytes_codec.hpp"
#include "codec/registry.hpp"
#include "codec/sharding_codec.hpp"
#include "codec/transpose_codec.hpp"
#include "codec/vlen_codec.hpp"
#include "cuzarr/error.hpp"
#include "metadata/dtype_parse.hpp"

namespace cuzarr::codec {
namespace {

using metadata::CodecSpec;
using metadata::Json;

bool is_vlen_codec(const std::string& name) {
  return name == "vlen-utf8" || name == "vlen-bytes" || name == "vlen-array";
}

[[noreturn]] void bad_config(const std::string& array, const CodecSpec& spec, const std::string& why) {
  throw MetadataError("array '" + array + "': codec '" + spec.name + "' configuration " +
                      spec.configuration.dump() + ": " + why);
}

std::unique_ptr<const ArrayToArrayCodec> make_transpose(const CodecSpec& spec, std::size_t rank,
                                                        const std::string& array) {
  const Json& order = spec.configuration.contains("order") ? spec.configuration["order"] : Json();
  std::vector<std::int64_t> perm;
  if (order == "C" || order == "F") {
    // Early v3 drafts spelt the two common orders as letters.
    for (std::size_t i = 0; i < rank; ++i) perm.push_back(static_cast<std::int64_t>(order == "C" ? i : rank - 1 - i));
  } else if (order.is_array()) {
    for (const Json& v : order) {
      if (!v.is_number_integer()) bad_config(array, spec, "'order' must hold integers");
      perm.push_back(v.get<std::int64_t>());
    }
  } else {
    bad_config(array, spec, "'order' must be an array of integers");
  }
  std::vector<std::int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  bool is_perm = sorted.size() == rank;
  for (std::size_t i = 0; is_perm && i < rank; ++i) is_perm = sorted[i] == static_cast<std::int64_t>(i);
  if (!is_perm) bad_config(array, spec, "'order' must be a permutation of 0.." + std::to_string(rank) + "-1");
  return std::make_unique<TransposeCodec>(std::move(perm));
}

std::unique_ptr<const ArrayToBytesCodec> make_bytes(const CodecSpec& spec, const ChunkSpec& chunk,
                                                    const std::string& array) {
  const Json& endian = spec.configuration.contains("endian") ? spec.configuration["endian"] : Json();
  if (endian == "little") return std::make_unique<BytesCodec>(Endian::Little);
  if (endian == "big") return std::make_unique<BytesCodec>(Endian::Big);
  if (endian.is_null() && chunk.dtype.swap_unit() == 0) return std::make_unique<BytesCodec>(native_endian());
  bad_config(array, spec, "'endian' must be \"little\" or \"big\"");
}

// The variable-length codecs serve exactly the variable-length data types, and those need one.
std::unique_ptr<const ArrayToBytesCodec> make_vlen(const CodecSpec& spec, const ChunkSpec& chunk,
                                                   const std::string& array) {
  const DataType& t = chunk.dtype;
  const bool fits = (spec.name == "vlen-utf8" && t.kind == DTypeKind::String) ||
                    (spec.name == "vlen-bytes" && t.kind == DTypeKind::VlenBytes) ||
                    (spec.name == "vlen-array" && t.kind == DTypeKind::VlenArray);
  if (!fits) {
    throw MetadataError("array '" + array + "': codec '" + spec.name + "' cannot encode data type " + t.name());
  }
  int item_size = 1;
  if (t.kind == DTypeKind::VlenArray) {
    const DataType item = metadata::parse_v2_dtype(metadata::Json(t.unit), "array '" + array + "' vlen-array dtype").first;
    if (item.kind == DTypeKind::Bytes || item.kind == DTypeKind::Unicode) {
      throw UnsupportedError("array '" + array + "': vlen-array items of " + item.name() + " are not supported");
    }
    item_size = item.size;
  }
  return std::make_unique<VlenCodec>(spec.name, item_size, spec.name == "vlen-utf8");
}

std::unique_ptr<const ArrayToBytesCodec> make_sharding(const CodecSpec& spec, const ChunkSpec& shard,
                                                       const std::vector<std::byte>& fill,
                                                       const std::string& array) {
  const Json& conf = spec.configuration;
  const std::string where = array;
  if (!conf.contains("chunk_shape")) bad_config(array, spec, "'chunk_shape' is required");
  const std::vector<std::int64_t> inner = metadata::require_int_list(conf, "chunk_shape", 1, where);
  if (inner.size() != shard.shape.size()) {
    bad_config(array, spec, "'chunk_shape' has " + std::to_string(inner.size()) + " dimensions, the shard " +
                                std::to_string(shard.shape.size()));
  }
  for (std::size_t d = 0; d < inner.size(); ++d) {
    if (shard.shape[d] % inner[d] != 0) {
      bad_config(array, spec, "inner chunk shape must divide the shard shape " + Json(shard.shape).dump());
    }
  }
  if (!conf.contains("codecs")) bad_config(array, spec, "'codecs' is required");
  const auto inner_specs = metadata::parse_codec_list(conf["codecs"], "sharding codecs", where);
  const Json index_json = conf.contains("index_codecs")
                              ? conf["index_codecs"]
                              : Json::array({Json{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                             Json{{"name", "crc32c"}}});
  const auto index_specs = metadata::parse_codec_list(index_json, "sharding index_codecs", where);
  // Compared as JSON: value<std::string>() would throw the JSON library's type_error for a number.
  const Json location = conf.contains("index_location") ? conf["index_location"] : Json("end");
  if (location != "start" && location != "end") {
    bad_config(array, spec, "'index_location' must be \"start\" or \"end\"");
  }
  CodecChain inner_chain = CodecChain::prepare(inner_specs, ChunkSpec{inner, shard.dtype}, fill, array);
  if (shard.dtype.is_vlen() && inner_chain.traits().form == CodecChain::Form::Sharded) {
    throw UnsupportedError("array '" + array + "': nested sharding of " + shard.dtype.name() + " items is not supported");
  }
  std::vector<std::int64_t> index_shape;
  for (std::size_t d = 0; d < inner.size(); ++d) index_shape.push_back(shard.shape[d] / inner[d]);
  index_shape.push_back(2);
  const DataType u64{DTypeKind::UInt, 8, {}};
  CodecChain index_chain = CodecChain::prepare(index_specs, ChunkSpec{index_shape, u64},
                                               std::vector<std::byte>(8, std::byte{0}), array);
  if (!index_chain.fixed_encoded_size()) {
    throw UnsupportedError("array '" + array + "': shard index codecs must have a fixed size (no compression)");
  }
  return std::make_unique<ShardingCodec>(shard, inner, std::move(inner_chain), std::move(index_chain),
                                         location == "end", fill);
}

}  // namespace

CodecChain CodecChain::prepare(const std::vector<CodecSpec>& specs, const ChunkSpec& chunk,
                               const std::vector<std::byte>& fill_value, const std::string& array) {
  CodecChain chain;
  ChunkSpec current = chunk;
  std::vector<std::byte> fill = fill_value;  // as the array→array codecs so far encode it
  std::optional<MetadataError> fill_error;    // a fill they cannot encode matters only to a shard
  for (const CodecSpec& spec : specs) {
    const CodecInfo& info = require_codec(spec.name, array);
    const CodecKind kind = info.kind == CodecKind::ArrayToArray && chain.array_to_bytes_ && info.make_bytes_to_bytes
                               ? CodecKind::BytesToBytes
                               : info.kind;
    if (kind == CodecKind::ArrayToArray) {
      // Variable-length items are records that point at their own bytes: codecs may reorder the
      // view (transpose) but never move or rewrite the records.
      if (current.dtype.is_vlen() && spec.name != "transpose") {
        throw UnsupportedError("array '" + array + "': codec '" + spec.name + "' cannot be applied to " +
                               current.dtype.name() + " items");
      }
      if (chain.array_to_bytes_) {
        throw MetadataError("array '" + array + "': array-to-array codec '" + spec.name +
                            "' must come before the array-to-bytes codec");
      }
      chain.decoded_specs_.push_back(current);
      chain.array_to_array_.push_back(spec.name == "transpose" ? make_transpose(spec, current.shape.size(), array)
                                                               : info.make_array_to_array(spec, current, array));
      chain.views_only_ = chain.views_only_ && spec.name == "transpose";
      if (!fill_error) {
        try {
          fill = chain.array_to_array_.back()->encode_fill(std::move(fill), current);
        } catch (const MetadataError& e) {
          fill_error = e;
        }
      }
      current = chain.array_to_array_.back()->encoded_spec(current);
    } else if (kind == CodecKind::ArrayToBytes) {
      if (chain.array_to_bytes_) {
        throw MetadataError("array '" + array + "': more than one array-to-bytes codec ('" +
                            chain.array_to_bytes_->name() + "', '" + spec.name + "')");
      }
      chain.bytes_spec_ = current;
      if (fill_error && spec.name == "sharding_indexed") throw *fill_error;
      if (current.dtype.is_vlen() && spec.name != "sharding_indexed" && !is_vlen_codec(spec.name)) {
        throw MetadataError("array '" + array + "': data type " + current.dtype.name() +
                            " needs a variable-length codec (vlen-utf8, vlen-bytes), not '" + spec.name + "'");
      }
      chain.array_to_bytes_ = spec.name == "bytes"        ? make_bytes(spec, current, array)
                              : is_vlen_codec(spec.name) ? make_vlen(spec, current, array)
                                                         : make_sharding(spec, current, fill, array);
    } else {
      if (!chain.array_to_bytes_) {
        throw MetadataError("array '" + array + "': bytes-to-bytes codec '" + spec.name +
                            "' must come after the array-to-bytes codec");
      }
      chain.bytes_to_bytes_.push_back(info.make_bytes_to_bytes(spec, chain.bytes_spec_, array));
    }
  }
  if (!chain.array_to_bytes_) {
    throw MetadataError("array '" + array + "': the codec list has no array-to-bytes codec (e.g. 'bytes')");
  }
  // Decoded size of each bytes→bytes stage, known as long as every codec nearer the array keeps
  // sizes fixed.
  // Where a size is unknown (a compressor under another), bound it by the worst expansion of
  // the known size below it: compressors never grow data by more than a small fraction.
  std::optional<std::int64_t> size = chain.array_to_bytes_->encoded_size(chain.bytes_spec_);
  std::int64_t limit = size ? *size
                            : chain.array_to_bytes_->max_encoded_size(chain.bytes_spec_).value_or(DecodeContext{}.size_limit);
  for (const auto& c : chain.bytes_to_bytes_) {
    chain.decoded_sizes_.push_back(size);
    chain.decoded_limits_.push_back(limit);
    size = c->encoded_size(size);
    limit = size ? *size : limit + limit / 8 + (std::int64_t{64} << 10);
  }
  // A shard of variable-length items is read only by the partial reader (the chain's only codec),
  // which hands each inner chunk's records to the sink; a whole-shard decode would copy the
  // records away from their bytes.
  if (chain.bytes_spec_.dtype.is_vlen() && dynamic_cast<const ShardingCodec*>(chain.array_to_bytes_.get()) &&
      (!chain.array_to_array_.empty() || !chain.bytes_to_bytes_.empty())) {
    throw UnsupportedError("array '" + array + "': sharded " + chain.bytes_spec_.dtype.name() +
                           " arrays need sharding_indexed as their only codec, got " + chain.describe());
  }
  chain.encoded_size_ = size;
  chain.encoded_limit_ = size ? *size : limit;
  chain.traits_ = chain.make_traits();
  return chain;
}

CodecChain::Decoded CodecChain::decode(Buffer encoded, const DecodeContext& ctx) const {
  Decoded out;
  for (std::size_t i = bytes_to_bytes_.size(); i-- > 0;) {
    encoded = bytes_to_bytes_[i]->decode(std::move(encoded), decoded_sizes_[i], stage_context(ctx, i));
  }
  out.storage = std::move(encoded);
  // Filters compute on values, so they need native byte order before they run.
  DecodeContext bytes_ctx = ctx;
  bytes_ctx.defer_byteswap = ctx.defer_byteswap && views_only_;
  out.view = array_to_bytes_->decode(out.storage, bytes_spec_, bytes_ctx);
  out.scratch.resize(array_to_array_.size());
  for (std::size_t i = array_to_array_.size(); i-- > 0;) {
    out.view = array_to_array_[i]->decode(std::move(out.view), decoded_specs_[i], out.scratch[i], ctx);
  }
  return out;
}

Buffer CodecChain::encode(const ChunkView& chunk, const EncodeContext& ctx) const {
  ChunkView view = chunk;
  std::vector<Buffer> scratch(array_to_array_.size());
  for (std::size_t i = 0; i < array_to_array_.size(); ++i) {
    view = array_to_array_[i]->encode(std::move(view), decoded_specs_[i], scratch[i], ctx);
  }
  Buffer bytes = array_to_bytes_->encode(view, bytes_spec_, ctx);
  for (const auto& c : bytes_to_bytes_) bytes = c->encode(std::move(bytes), ctx);
  return bytes;
}

bool CodecChain::can_encode() const {
  return std::all_of(array_to_array_.begin(), array_to_array_.end(), [](const auto& c) { return c->can_encode(); }) &&
         array_to_bytes_->can_encode() &&
         std::all_of(bytes_to_bytes_.begin(), bytes_to_bytes_.end(), [](const auto& c) { return c->can_encode(); });
}

void CodecChain::check_encodable(const std::string& array) const {
  for (const auto& c : array_to_array_) {
    if (!c->can_encode()) no_encoder(array, c->name());
  }
  if (const auto* shard = dynamic_cast<const ShardingCodec*>(array_to_bytes_.get())) {
    shard->inner().check_encodable(array);
    shard->index_chain().check_encodable(array);
  } else if (!array_to_bytes_->can_encode()) {
    no_encoder(array, array_to_bytes_->name());
  }
  for (const auto& c : bytes_to_bytes_) {
    if (!c->can_encode()) throw UnsupportedError(c->encode_refusal(array));
  }
}

std::optional<std::int64_t> CodecChain::fixed_encoded_size() const { return encoded_size_; }

void CodecChain::decode_into(Buffer encoded, std::span<std::byte> out, const DecodeContext& ctx) const {
  for (std::size_t i = bytes_to_bytes_.size(); i-- > 1;) {
    encoded = bytes_to_bytes_[i]->decode(std::move(encoded), decoded_sizes_[i], stage_context(ctx, i));
  }
  if (!bytes_to_bytes_.empty()) {
    bytes_to_bytes_[0]->decode_into(std::move(encoded), out, ctx);
  } else {
    if (encoded.size() != out.size()) {
      throw CodecError(ctx.describe("bytes") + ": chunk is " + std::to_string(encoded.size()) +
                       " bytes, expected " + std::to_string(out.size()));
    }
    if (!out.empty()) std::memcpy(out.data(), encoded.data(), out.size());
  }
  swap_in_place(out);
}

DecodeContext CodecChain::stage_context(const DecodeContext& ctx, std::size_t stage) const {
  DecodeContext c = ctx;
  c.size_limit = std::min(c.size_limit, decoded_limits_[stage]);
  return c;
}

void CodecChain::swap_in_place(std::span<std::byte> out) const {
  // The raw bytes' view records whether the stored order differs from the native one.
  if (traits_.form != Form::Sharded && traits_.geometry.swap_unit != 0) {
    byteswap_in_place(out.data(), static_cast<std::int64_t>(out.size()) / bytes_spec_.dtype.size, bytes_spec_.dtype);
  }
}

std::string CodecChain::describe() const {
  std::string s;
  auto add = [&](const std::string& n) { s += (s.empty() ? "" : ", ") + n; };
  for (const auto& c : array_to_array_) add(c->name());
  const auto* shard = dynamic_cast<const ShardingCodec*>(array_to_bytes_.get());
  add(shard ? shard->describe() : array_to_bytes_->name());
  for (const auto& c : bytes_to_bytes_) add(c->name());
  return s;
}

}  // namespace cuzarr::codec

namespace cuzarr::codec {

CodecChain::Traits CodecChain::make_traits() const {
  Traits t;
  const auto* bytes = dynamic_cast<const BytesCodec*>(array_to_bytes_.get());
  const auto* shard = dynamic_cast<const ShardingCodec*>(array_to_bytes_.get());
  t.decode_into = array_to_array_.empty() && bytes != nullptr;
  if (std::optional<ChunkView> view = bytes_view()) {
    t.geometry = std::move(*view);
    t.raw_bytes = bytes_spec_.num_bytes();
    if (bytes_to_bytes_.empty()) {
      t.form = Form::Raw;
    } else if (bytes_to_bytes_.size() == 1) {
      t.form = Form::Compressed;
      t.compressor = bytes_to_bytes_[0]->name();
    }
  } else if (shard != nullptr && array_to_array_.empty() && bytes_to_bytes_.empty()) {
    t.form = Form::Sharded;
    t.shard = shard;
  }
  return t;
}

std::optional<ChunkView> CodecChain::bytes_view() const {
  const auto* bytes = dynamic_cast<const BytesCodec*>(array_to_bytes_.get());
  if (bytes == nullptr || !views_only_) return std::nullopt;
  ChunkView view{nullptr, bytes_spec_.shape, c_order_strides(bytes_spec_.shape, bytes_spec_.dtype.size)};
  if (bytes->endian() != native_endian() && bytes_spec_.dtype.swap_unit() != 0) {
    view.swap_unit = bytes_spec_.dtype.swap_unit();
  }
  Buffer unused;
  const DecodeContext ctx{"", "", true};
  for (std::size_t i = array_to_array_.size(); i-- > 0;) {
    view = array_to_array_[i]->decode(std::move(view), decoded_specs_[i], unused, ctx);
  }
  return view;
}

}  // namespace cuzarr::codec
