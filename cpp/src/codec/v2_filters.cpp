#include "codec/v2_filters.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "codec/element_ops.hpp"
#include "cuzarr/error.hpp"

namespace cuzarr::codec {
namespace {

using metadata::CodecSpec;
using metadata::Json;

// numpy's float→int cast is undefined outside the target range; saturate instead of invoking UB.
template <typename D, typename S>
D saturating_cast(S v) {
  if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
    if (!(v == v)) return D{0};
    if (v <= static_cast<S>(std::numeric_limits<D>::lowest())) return std::numeric_limits<D>::lowest();
    if (v >= static_cast<S>(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
  }
  return static_cast<D>(v);
}

template <typename T, bool = std::is_integral_v<T>>
struct Accumulator {
  using type = T;
};
template <typename T>
struct Accumulator<T, true> {
  using type = std::make_unsigned_t<T>;
};

DataType dtype_field(const CodecSpec& spec, const char* field, const DataType& fallback,
                     const std::string& array) {
  if (!spec.configuration.contains(field) || spec.configuration[field].is_null()) return fallback;
  return parse_numpy_dtype(spec.configuration[field], "array '" + array + "' codec '" + spec.name + "'");
}

double number_field(const CodecSpec& spec, const char* field, double fallback, const std::string& array) {
  const Json& c = spec.configuration;
  if (!c.contains(field) || (c[field].is_null() && !std::isnan(fallback))) return fallback;
  if (!c[field].is_number()) {
    throw MetadataError("array '" + array + "': codec '" + spec.name + "' field '" + field + "' must be a number");
  }
  return c[field].get<double>();
}

// An element size or bit count: a whole number in [lo, hi]. Bounded before the cast: a double
// beyond int64 (1e300, inf) has no integer value (UB).
std::int64_t count_field(const CodecSpec& spec, const char* field, double fallback, double lo, double hi,
                         const std::string& array) {
  const double v = number_field(spec, field, fallback, array);
  if (!(v >= lo && v <= hi) || v != std::floor(v)) {
    throw MetadataError("array '" + array + "': codec '" + spec.name + "' field '" + field +
                        "' must be an integer in [" + std::to_string(static_cast<std::int64_t>(lo)) + ", " +
                        std::to_string(static_cast<std::int64_t>(hi)) + "]");
  }
  return static_cast<std::int64_t>(v);
}

// Calls f(A{}, B{}) with the C++ types of two numeric data types (see dispatch_numeric).
template <typename F>
void dispatch_pair(const DataType& a, const DataType& b, const std::string& array, const std::string& codec, F&& f) {
  dispatch_numeric(a, array, codec, [&](auto x) { dispatch_numeric(b, array, codec, [&](auto y) { f(x, y); }); });
}

// Base for filters whose decode reads the flat encoded buffer and writes a new C-ordered one.
class FlatFilter : public ArrayToArrayCodec {
 public:
  FlatFilter(std::string name, DataType encoded, std::string array)
      : name_(std::move(name)), encoded_(std::move(encoded)), array_(std::move(array)) {}
  std::string name() const override { return name_; }
  ChunkSpec encoded_spec(const ChunkSpec& decoded) const override { return {decoded.shape, encoded_}; }
  ChunkView decode(ChunkView in, const ChunkSpec& decoded, Buffer& scratch,
                   const DecodeContext& ctx) const override {
    Buffer gathered;
    const std::byte* flat = c_order_elements(in, encoded_spec(decoded).dtype, gathered);
    scratch = Buffer(static_cast<std::size_t>(decoded.num_bytes()));
    run(flat, scratch.data(), decoded.num_elements(), decoded.dtype, ctx);
    return ChunkView{scratch.data(), decoded.shape, c_order_strides(decoded.shape, decoded.dtype.size)};
  }
  // zarr-python's numcodecs wrappers keep the fill value's number and give it the encoded type.
  std::vector<std::byte> encode_fill(std::vector<std::byte> fill, const ChunkSpec& decoded) const override {
    if (encoded_ == decoded.dtype) return fill;
    std::vector<std::byte> out(static_cast<std::size_t>(encoded_.size));
    dispatch_pair(decoded.dtype, encoded_, array_, name_, [&](auto d, auto e) {
      store_element(out.data(), 0, saturating_cast<decltype(e)>(load_element<decltype(d)>(fill.data(), 0)));
    });
    return out;
  }
  bool can_encode() const override { return encodes(); }
  ChunkView encode(ChunkView in, const ChunkSpec& decoded, Buffer& scratch, const EncodeContext& ctx) const override {
    if (!encodes()) no_encoder(ctx.array, name_);
    Buffer gathered;
    const std::byte* flat = c_order_elements(in, decoded.dtype, gathered);
    const ChunkSpec encoded = encoded_spec(decoded);
    scratch = Buffer(static_cast<std::size_t>(encoded.num_bytes()));
    run_encode(flat, scratch.data(), decoded.num_elements(), decoded.dtype);
    return ChunkView{scratch.data(), encoded.shape, c_order_strides(encoded.shape, encoded.dtype.size)};
  }

 protected:
  virtual void run(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype,
                   const DecodeContext& ctx) const = 0;
  // The encoder: n values of `dtype` to the encoded type. Filters without one keep the default.
  virtual bool encodes() const { return false; }
  virtual void run_encode(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype) const {
    (void)in, (void)out, (void)n, (void)dtype;
  }

  std::string name_;
  DataType encoded_;
  std::string array_;
};

class DeltaFilter final : public FlatFilter {
 public:
  using FlatFilter::FlatFilter;
  void run(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype,
           const DecodeContext&) const override {
    dispatch_pair(encoded_, dtype, array_, name_, [&](auto e, auto d) {
      using E = decltype(e);
      using D = decltype(d);
      // numpy's cumsum wraps around for integers: accumulate in unsigned arithmetic.
      using Acc = typename Accumulator<D>::type;
      Acc acc{};
      for (std::int64_t i = 0; i < n; ++i) {
        acc = static_cast<Acc>(acc + static_cast<Acc>(saturating_cast<D>(load_element<E>(in, i))));
        store_element(out, i, static_cast<D>(acc));
      }
    });
  }
  bool encodes() const override { return true; }
  // numcodecs: the first value, then numpy.diff in the array's type (wrapping for integers), cast.
  void run_encode(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype) const override {
    dispatch_pair(encoded_, dtype, array_, name_, [&](auto e, auto d) {
      using E = decltype(e);
      using D = decltype(d);
      using Acc = typename Accumulator<D>::type;
      D previous{};
      for (std::int64_t i = 0; i < n; ++i) {
        const D v = load_element<D>(in, i);
        const D diff = i == 0 ? v : static_cast<D>(static_cast<Acc>(static_cast<Acc>(v) - static_cast<Acc>(previous)));
        store_element(out, i, saturating_cast<E>(diff));
        previous = v;
      }
    });
  }
};

class FixedScaleOffsetFilter final : public FlatFilter {
 public:
  FixedScaleOffsetFilter(std::string name, DataType astype, double scale, double offset, std::string array)
      : FlatFilter(std::move(name), astype, std::move(array)), scale_(scale), offset_(offset) {}
  void run(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype,
           const DecodeContext&) const override {
    dispatch_pair(encoded_, dtype, array_, name_, [&](auto e, auto d) {
      using E = decltype(e);
      using D = decltype(d);
      // numpy (NEP 50): float32 / python float stays float32; integers divide in float64.
      using W = std::conditional_t<std::is_same_v<E, float>, float, double>;
      const W scale = static_cast<W>(scale_), offset = static_cast<W>(offset_);
      for (std::int64_t i = 0; i < n; ++i) {
        store_element(out, i, saturating_cast<D>(static_cast<W>(static_cast<W>(load_element<E>(in, i)) / scale + offset)));
      }
    });
  }
  bool encodes() const override { return true; }
  // numcodecs: round((x - offset) * scale) (half to even, numpy.around), cast to the stored type.
  void run_encode(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype) const override {
    dispatch_pair(encoded_, dtype, array_, name_, [&](auto e, auto d) {
      using E = decltype(e);
      using D = decltype(d);
      using W = std::conditional_t<std::is_same_v<D, float>, float, double>;
      const W scale = static_cast<W>(scale_), offset = static_cast<W>(offset_);
      for (std::int64_t i = 0; i < n; ++i) {
        const W v = std::nearbyint(static_cast<W>((static_cast<W>(load_element<D>(in, i)) - offset) * scale));
        store_element(out, i, saturating_cast<E>(v));
      }
    });
  }

 private:
  double scale_, offset_;
};

// astype and quantize: decode is a cast from the stored type; astype encodes by the opposite cast
// (quantize rounds first, which cuzarr does not).
class CastFilter final : public FlatFilter {
 public:
  using FlatFilter::FlatFilter;
  void run(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype,
           const DecodeContext&) const override {
    cast(in, encoded_, out, dtype, n);
  }
  bool encodes() const override { return name_ == "astype" || name_ == "numcodecs.astype"; }
  void run_encode(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype) const override {
    cast(in, dtype, out, encoded_, n);
  }

 private:
  void cast(const std::byte* in, const DataType& from, std::byte* out, const DataType& to, std::int64_t n) const {
    if (from == to) {
      std::memcpy(out, in, static_cast<std::size_t>(n * to.size));
      return;
    }
    dispatch_pair(from, to, array_, name_, [&](auto f, auto t) {
      using F = decltype(f);
      using T = decltype(t);
      for (std::int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<T, std::uint8_t>) {
          if (to.kind == DTypeKind::Bool) {
            store_element(out, i, static_cast<std::uint8_t>(load_element<F>(in, i) != F{0}));
            continue;
          }
        }
        store_element(out, i, saturating_cast<T>(load_element<F>(in, i)));
      }
    });
  }
};

class ShuffleFilter final : public FlatFilter {
 public:
  ShuffleFilter(std::string name, DataType dtype, std::int64_t elementsize, std::string array)
      : FlatFilter(std::move(name), dtype, std::move(array)), size_(elementsize) {}
  void run(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype,
           const DecodeContext&) const override {
    unshuffle_bytes(in, out, n * dtype.size, size_);
  }

 private:
  std::int64_t size_;
};

// numcodecs PackBits: byte 0 counts the padding bits of the last byte, then the booleans eight
// to a byte, first one in the most significant bit (numpy.packbits).
class PackBitsFilter final : public FlatFilter {
 public:
  PackBitsFilter(std::string name, std::string array)
      : FlatFilter(std::move(name), DataType{DTypeKind::UInt, 1, {}}, std::move(array)) {}
  ChunkSpec encoded_spec(const ChunkSpec& decoded) const override {
    return {{1 + (decoded.num_elements() + 7) / 8}, encoded_};
  }
  std::vector<std::byte> encode_fill(std::vector<std::byte> fill, const ChunkSpec&) const override {
    return fill;  // a missing shard chunk cannot stand in for packed bits; nothing reads this
  }
  void run(const std::byte* in, std::byte* out, std::int64_t n, const DataType&,
           const DecodeContext& ctx) const override {
    const auto padding = std::to_integer<std::int64_t>(in[0]);
    const std::int64_t stored = ((n + 7) / 8) * 8 - padding;
    if (padding > 7 || stored != n) {
      throw CodecError(ctx.describe(name_) + ": header says " + std::to_string(padding) +
                       " padding bits, which leaves " + std::to_string(stored) + " values; the chunk has " +
                       std::to_string(n));
    }
    for (std::int64_t i = 0; i < n; ++i) {
      const auto byte = std::to_integer<unsigned>(in[1 + i / 8]);
      out[i] = std::byte{static_cast<unsigned char>((byte >> (7 - i % 8)) & 1u)};
    }
  }
};

// numcodecs BitRound: encoding zeroes low mantissa bits of floats and decoding is the identity.
class BitRoundFilter final : public ArrayToArrayCodec {
 public:
  explicit BitRoundFilter(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  ChunkSpec encoded_spec(const ChunkSpec& decoded) const override { return decoded; }
  ChunkView decode(ChunkView in, const ChunkSpec&, Buffer&, const DecodeContext&) const override { return in; }

 private:
  std::string name_;
};

// numcodecs.shuffle in a v3 codec list is a bytes→bytes codec.
class ShuffleBytesCodec final : public BytesToBytesCodec {
 public:
  ShuffleBytesCodec(std::string name, std::int64_t elementsize) : name_(std::move(name)), size_(elementsize) {}
  std::string name() const override { return name_; }
  std::optional<std::int64_t> encoded_size(std::optional<std::int64_t> decoded) const override { return decoded; }
  Buffer decode(Buffer in, std::optional<std::int64_t> decoded_size, const DecodeContext& ctx) const override {
    const auto n = static_cast<std::int64_t>(in.size());
    if (decoded_size && n != *decoded_size) {
      throw CodecError(ctx.describe(name_) + ": chunk is " + std::to_string(n) + " bytes, expected " +
                       std::to_string(*decoded_size));
    }
    if (size_ <= 1) return in;
    // A tail shorter than an element stays where it is, as HDF5's shuffle filter leaves it: an
    // 8-byte type's chunk followed by HDF5's 4-byte fletcher32 checksum is shuffled so
    // (numcodecs' encoder refuses such sizes, so no numcodecs writer makes one).
    Buffer out(in.size());
    unshuffle_bytes(in.data(), out.data(), n, size_);
    return out;
  }

 private:
  std::string name_;
  std::int64_t size_;
};

}  // namespace

void unshuffle_bytes(const std::byte* in, std::byte* out, std::int64_t bytes, std::int64_t elementsize) {
  const std::int64_t count = elementsize > 1 ? bytes / elementsize : 0;
  for (std::int64_t i = 0; i < count; ++i) {
    for (std::int64_t k = 0; k < elementsize; ++k) out[i * elementsize + k] = in[k * count + i];
  }
  // A tail shorter than one element (or everything, for elementsize <= 1) is left as stored.
  if (bytes > count * elementsize) {
    std::memcpy(out + count * elementsize, in + count * elementsize, static_cast<std::size_t>(bytes - count * elementsize));
  }
}

std::unique_ptr<const ArrayToArrayCodec> make_delta(const CodecSpec& spec, const ChunkSpec& decoded,
                                                    const std::string& array) {
  return std::make_unique<DeltaFilter>(spec.name, dtype_field(spec, "astype", decoded.dtype, array), array);
}

std::unique_ptr<const ArrayToArrayCodec> make_fixedscaleoffset(const CodecSpec& spec, const ChunkSpec& decoded,
                                                               const std::string& array) {
  const double scale = number_field(spec, "scale", 1.0, array);
  if (scale == 0) throw MetadataError("array '" + array + "': codec '" + spec.name + "' scale must not be 0");
  return std::make_unique<FixedScaleOffsetFilter>(spec.name, dtype_field(spec, "astype", decoded.dtype, array), scale,
                                                  number_field(spec, "offset", 0.0, array), array);
}

std::unique_ptr<const ArrayToArrayCodec> make_astype(const CodecSpec& spec, const ChunkSpec& decoded,
                                                     const std::string& array) {
  return std::make_unique<CastFilter>(spec.name, dtype_field(spec, "encode_dtype", decoded.dtype, array), array);
}

std::unique_ptr<const ArrayToArrayCodec> make_quantize(const CodecSpec& spec, const ChunkSpec& decoded,
                                                       const std::string& array) {
  return std::make_unique<CastFilter>(spec.name, dtype_field(spec, "astype", decoded.dtype, array), array);
}

std::unique_ptr<const ArrayToArrayCodec> make_shuffle_filter(const CodecSpec& spec, const ChunkSpec& decoded,
                                                             const std::string& array) {
  const std::int64_t es = count_field(spec, "elementsize", decoded.dtype.size, 0, double{1 << 30}, array);
  return std::make_unique<ShuffleFilter>(spec.name, decoded.dtype, es, array);
}

std::unique_ptr<const BytesToBytesCodec> make_shuffle_bytes(const CodecSpec& spec, const ChunkSpec& bytes,
                                                            const std::string& array) {
  // zarr-python fills in the element size from the data type when the configuration lacks it.
  const std::int64_t es = count_field(spec, "elementsize", bytes.dtype.size, 0, double{1 << 30}, array);
  return std::make_unique<ShuffleBytesCodec>(spec.name, es);
}

std::unique_ptr<const ArrayToArrayCodec> make_packbits(const CodecSpec& spec, const ChunkSpec& decoded,
                                                       const std::string& array) {
  if (decoded.dtype.kind != DTypeKind::Bool) {
    throw MetadataError("array '" + array + "': codec '" + spec.name + "' packs booleans, the data type is " +
                        decoded.dtype.name());
  }
  return std::make_unique<PackBitsFilter>(spec.name, array);
}

std::unique_ptr<const ArrayToArrayCodec> make_bitround(const CodecSpec& spec, const ChunkSpec& decoded,
                                                       const std::string& array) {
  const DataType& t = decoded.dtype;
  if (t.kind != DTypeKind::Float) {
    throw MetadataError("array '" + array + "': codec '" + spec.name + "' rounds floating-point values, the data type is " +
                        t.name());
  }
  // Mantissa bits of binary16/32/64: keeping more than there are is an encoder error.
  const double mantissa = t.size == 2 ? 10 : t.size == 4 ? 23 : 52;
  count_field(spec, "keepbits", std::nan(""), 0, mantissa, array);
  return std::make_unique<BitRoundFilter>(spec.name);
}

}  // namespace cuzarr::codec
