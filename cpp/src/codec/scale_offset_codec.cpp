#include <cmath>
#include <limits>
#include <type_traits>

#include "codec/element_ops.hpp"
#include "codec/value_codecs.hpp"
#include "cuzarr/error.hpp"
#include "metadata/fill_value.hpp"

namespace cuzarr::codec {
namespace {

using metadata::CodecSpec;
using metadata::Json;

// Integers are computed in 128 bits, which holds every int64/uint64 quotient plus offset, and
// range-checked against the type: the spec makes overflow and inexact division errors.
__extension__ typedef __int128 Int128;  // a GCC/Clang extension; __extension__ keeps -Wpedantic quiet

template <typename T>
bool fits(Int128 v) {
  return v >= static_cast<Int128>(std::numeric_limits<T>::lowest()) &&
         v <= static_cast<Int128>(std::numeric_limits<T>::max());
}

class ScaleOffsetCodec final : public ArrayToArrayCodec {
 public:
  ScaleOffsetCodec(std::vector<std::byte> offset, std::vector<std::byte> scale, std::string array)
      : offset_(std::move(offset)), scale_(std::move(scale)), array_(std::move(array)) {}
  std::string name() const override { return "scale_offset"; }
  ChunkSpec encoded_spec(const ChunkSpec& decoded) const override { return decoded; }

  ChunkView decode(ChunkView in, const ChunkSpec& decoded, Buffer& scratch, const DecodeContext& ctx) const override {
    Buffer gathered;
    const std::byte* flat = c_order_elements(in, decoded.dtype, gathered);
    scratch = Buffer(static_cast<std::size_t>(decoded.num_bytes()));
    const std::int64_t n = decoded.num_elements();
    dispatch_numeric(decoded.dtype, array_, name(), [&](auto t) {
      using T = decltype(t);
      const T offset = load_element<T>(offset_.data(), 0), scale = load_element<T>(scale_.data(), 0);
      for (std::int64_t i = 0; i < n; ++i) {
        const T x = load_element<T>(flat, i);
        if constexpr (std::is_floating_point_v<T>) {
          store_element<T>(scratch.data(), i, static_cast<T>(static_cast<T>(x / scale) + offset));
        } else {
          const Int128 wide_x = x, wide_scale = scale;
          if (wide_x % wide_scale != 0) {
            throw CodecError(ctx.describe(name()) + ": stored value " + std::to_string(x) +
                             " is not a multiple of scale " + std::to_string(scale));
          }
          const Int128 v = wide_x / wide_scale + static_cast<Int128>(offset);
          if (!fits<T>(v)) {
            throw CodecError(ctx.describe(name()) + ": stored value " + std::to_string(x) +
                             " decodes outside the range of " + decoded.dtype.name());
          }
          store_element<T>(scratch.data(), i, static_cast<T>(v));
        }
      }
    });
    return ChunkView{scratch.data(), decoded.shape, c_order_strides(decoded.shape, decoded.dtype.size)};
  }

  std::vector<std::byte> encode_fill(std::vector<std::byte> fill, const ChunkSpec& decoded) const override {
    dispatch_numeric(decoded.dtype, array_, name(), [&](auto t) {
      using T = decltype(t);
      const T offset = load_element<T>(offset_.data(), 0), scale = load_element<T>(scale_.data(), 0);
      const T x = load_element<T>(fill.data(), 0);
      if constexpr (std::is_floating_point_v<T>) {
        store_element<T>(fill.data(), 0, static_cast<T>(static_cast<T>(x - offset) * scale));
      } else {
        const Int128 v = (static_cast<Int128>(x) - offset) * static_cast<Int128>(scale);
        if (!fits<T>(v)) {
          throw MetadataError("array '" + array_ + "': codec 'scale_offset' cannot encode the fill value " +
                              std::to_string(x) + " in " + decoded.dtype.name());
        }
        store_element<T>(fill.data(), 0, static_cast<T>(v));
      }
    });
    return fill;
  }

 private:
  std::vector<std::byte> offset_, scale_;  // one element each, the array's type, native order
  std::string array_;
};

}  // namespace

std::unique_ptr<const ArrayToArrayCodec> make_scale_offset(const CodecSpec& spec, const ChunkSpec& decoded,
                                                           const std::string& array) {
  const DataType& t = decoded.dtype;
  const std::string where = "array '" + array + "': codec 'scale_offset'";
  if (t.kind != DTypeKind::Int && t.kind != DTypeKind::UInt && t.kind != DTypeKind::Float) {
    throw MetadataError(where + " needs an integer or floating-point data type, got " + t.name());
  }
  if (t.kind == DTypeKind::Float && t.size != 4 && t.size != 8) {
    throw UnsupportedError(where + ": data type " + t.name() + " is not supported");
  }
  for (const auto& [key, value] : spec.configuration.items()) {
    if (key != "offset" && key != "scale") {
      throw MetadataError(where + ": unknown configuration key '" + key + "' (the spec makes it invalid)");
    }
  }
  // Both are written in the fill-value encoding of the array's type ("NaN", "0x3f80...", numbers).
  auto scalar = [&](const char* key, int fallback) {
    const Json& c = spec.configuration;
    const Json value = c.contains(key) ? c[key] : Json(fallback);
    return metadata::parse_fill_value(value, t, 3, native_endian(), where + " '" + key + "'");
  };
  std::vector<std::byte> offset = scalar("offset", 0), scale = scalar("scale", 1);
  const bool zero = dispatch_numeric(t, array, "scale_offset", [&](auto v) {
    return load_element<decltype(v)>(scale.data(), 0) == decltype(v){0};
  });
  if (zero) throw MetadataError(where + ": scale must not be 0");
  return std::make_unique<ScaleOffsetCodec>(std::move(offset), std::move(scale), array);
}

}  // namespace cuzarr::codec
