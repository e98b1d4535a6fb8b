#include "codec/v2_filters.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "cuzarr/error.hpp"
#include "metadata/dtype_parse.hpp"

namespace cuzarr::codec {
namespace {

using metadata::CodecSpec;
using metadata::Json;

// Calls f(T{}) with the C++ type of a numeric dtype.
template <typename F>
void dispatch(const DataType& t, const std::string& array, const std::string& codec, F&& f) {
  switch (t.kind) {
    case DTypeKind::Bool: return f(std::uint8_t{});
    case DTypeKind::Int:
    case DTypeKind::DateTime:
    case DTypeKind::TimeDelta:
      switch (t.size) {
        case 1: return f(std::int8_t{});
        case 2: return f(std::int16_t{});
        case 4: return f(std::int32_t{});
        default: return f(std::int64_t{});
      }
    case DTypeKind::UInt:
      switch (t.size) {
        case 1: return f(std::uint8_t{});
        case 2: return f(std::uint16_t{});
        case 4: return f(std::uint32_t{});
        default: return f(std::uint64_t{});
      }
    case DTypeKind::Float:
      if (t.size == 4) return f(float{});
      if (t.size == 8) return f(double{});
      break;
    default:
      break;  // complex, text and variable-length items
  }
  throw UnsupportedError("array '" + array + "': filter '" + codec + "' does not support " + t.name());
}

// numpy's float→int cast is undefined outside the target range; saturate instead of invoking UB.
template <typename D, typename S>
D cast_value(S v) {
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

template <typename T>
T load(const std::byte* p, std::int64_t i) {
  T v;
  std::memcpy(&v, p + i * static_cast<std::int64_t>(sizeof(T)), sizeof(T));
  return v;
}

template <typename T>
void store(std::byte* p, std::int64_t i, T v) {
  std::memcpy(p + i * static_cast<std::int64_t>(sizeof(T)), &v, sizeof(T));
}

DataType dtype_field(const CodecSpec& spec, const char* field, const DataType& fallback,
                     const std::string& array) {
  if (!spec.configuration.contains(field) || spec.configuration[field].is_null()) return fallback;
  return metadata::parse_v2_dtype(spec.configuration[field], "array '" + array + "' filter '" + spec.name + "'").first;
}

double number_field(const CodecSpec& spec, const char* field, double fallback, const std::string& array) {
  const Json& c = spec.configuration;
  if (!c.contains(field)) return fallback;
  if (!c[field].is_number()) {
    throw MetadataError("array '" + array + "': filter '" + spec.name + "' field '" + field + "' must be a number");
  }
  return c[field].get<double>();
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
    const ChunkSpec enc{decoded.shape, encoded_};
    if (in.swap_unit != 0 || in.byte_strides != c_order_strides(enc.shape, enc.dtype.size)) {
      throw CodecError(ctx.describe(name_) + ": filter input is not contiguous");
    }
    scratch = Buffer(static_cast<std::size_t>(decoded.num_bytes()));
    run(in.data, scratch.data(), decoded.num_elements(), decoded.dtype);
    return ChunkView{scratch.data(), decoded.shape, c_order_strides(decoded.shape, decoded.dtype.size)};
  }

 protected:
  virtual void run(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype) const = 0;
  std::string name_;
  DataType encoded_;
  std::string array_;
};

class DeltaFilter final : public FlatFilter {
 public:
  DeltaFilter(DataType astype, std::string array) : FlatFilter("delta", astype, std::move(array)) {}
  void run(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype) const override {
    dispatch(encoded_, array_, name_, [&](auto e) {
      dispatch(dtype, array_, name_, [&](auto d) {
        using E = decltype(e);
        using D = decltype(d);
        // numpy's cumsum wraps around for integers: accumulate in unsigned arithmetic.
        using Acc = typename Accumulator<D>::type;
        Acc acc{};
        for (std::int64_t i = 0; i < n; ++i) {
          acc = static_cast<Acc>(acc + static_cast<Acc>(cast_value<D>(load<E>(in, i))));
          store(out, i, static_cast<D>(acc));
        }
      });
    });
  }
};

class ScaleOffsetFilter final : public FlatFilter {
 public:
  ScaleOffsetFilter(DataType astype, double scale, double offset, std::string array)
      : FlatFilter("fixedscaleoffset", astype, std::move(array)), scale_(scale), offset_(offset) {}
  void run(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype) const override {
    dispatch(encoded_, array_, name_, [&](auto e) {
      dispatch(dtype, array_, name_, [&](auto d) {
        using E = decltype(e);
        using D = decltype(d);
        // numpy (NEP 50): float32 / python float stays float32; integers divide in float64.
        using W = std::conditional_t<std::is_same_v<E, float>, float, double>;
        const W scale = static_cast<W>(scale_), offset = static_cast<W>(offset_);
        for (std::int64_t i = 0; i < n; ++i) {
          store(out, i, cast_value<D>(static_cast<W>(static_cast<W>(load<E>(in, i)) / scale + offset)));
        }
      });
    });
  }

 private:
  double scale_, offset_;
};

// astype and quantize: decode is a cast from the stored type.
class CastFilter final : public FlatFilter {
 public:
  CastFilter(std::string name, DataType encoded, std::string array)
      : FlatFilter(std::move(name), encoded, std::move(array)) {}
  void run(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype) const override {
    if (encoded_ == dtype) {
      std::memcpy(out, in, static_cast<std::size_t>(n * dtype.size));
      return;
    }
    dispatch(encoded_, array_, name_, [&](auto e) {
      dispatch(dtype, array_, name_, [&](auto d) {
        using E = decltype(e);
        using D = decltype(d);
        for (std::int64_t i = 0; i < n; ++i) {
          if constexpr (std::is_same_v<D, std::uint8_t>) {
            if (dtype.kind == DTypeKind::Bool) {
              store(out, i, static_cast<std::uint8_t>(load<E>(in, i) != E{0}));
              continue;
            }
          }
          store(out, i, cast_value<D>(load<E>(in, i)));
        }
      });
    });
  }
};

// numcodecs Shuffle: byte k of element i is stored at k * count + i.
class ShuffleFilter final : public FlatFilter {
 public:
  ShuffleFilter(DataType dtype, std::int64_t elementsize, std::string array)
      : FlatFilter("shuffle", dtype, std::move(array)), size_(elementsize) {}
  void run(const std::byte* in, std::byte* out, std::int64_t n, const DataType& dtype) const override {
    const std::int64_t bytes = n * dtype.size;
    const std::int64_t count = size_ > 0 ? bytes / size_ : 0;
    if (size_ <= 1) {
      std::memcpy(out, in, static_cast<std::size_t>(bytes));
      return;
    }
    for (std::int64_t i = 0; i < count; ++i) {
      for (std::int64_t k = 0; k < size_; ++k) out[i * size_ + k] = in[k * count + i];
    }
    // A tail shorter than one element is left as stored.
    std::memcpy(out + count * size_, in + count * size_, static_cast<std::size_t>(bytes - count * size_));
  }

 private:
  std::int64_t size_;
};

}  // namespace

bool is_v2_filter(const std::string& name) {
  return name == "delta" || name == "fixedscaleoffset" || name == "astype" || name == "quantize" ||
         name == "shuffle";
}

std::unique_ptr<const ArrayToArrayCodec> make_v2_filter(const CodecSpec& spec, const ChunkSpec& decoded,
                                                        const std::string& array) {
  const DataType& t = decoded.dtype;
  if (spec.name == "delta") {
    return std::make_unique<DeltaFilter>(dtype_field(spec, "astype", t, array), array);
  }
  if (spec.name == "fixedscaleoffset") {
    const double scale = number_field(spec, "scale", 1.0, array);
    if (scale == 0) throw MetadataError("array '" + array + "': fixedscaleoffset scale must not be 0");
    return std::make_unique<ScaleOffsetFilter>(dtype_field(spec, "astype", t, array), scale,
                                               number_field(spec, "offset", 0.0, array), array);
  }
  if (spec.name == "astype") {
    return std::make_unique<CastFilter>("astype", dtype_field(spec, "encode_dtype", t, array), array);
  }
  if (spec.name == "quantize") {
    return std::make_unique<CastFilter>("quantize", dtype_field(spec, "astype", t, array), array);
  }
  const double es = number_field(spec, "elementsize", t.size, array);
  // Bounded before the cast: a double beyond int64 (1e300, inf) has no integer value (UB).
  if (es < 0 || es != std::floor(es) || es > double{1 << 30}) {
    throw MetadataError("array '" + array + "': shuffle elementsize must be an integer in [0, 2^30]");
  }
  return std::make_unique<ShuffleFilter>(t, static_cast<std::int64_t>(es), array);
}

}  // namespace cuzarr::codec
