#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include "codec/element_ops.hpp"
#include "codec/value_codecs.hpp"
#include "cuzarr/error.hpp"
#include "metadata/dtype_parse.hpp"
#include "metadata/fill_value.hpp"

namespace cuzarr::codec {
namespace {

using metadata::CodecSpec;
using metadata::Json;

enum class Rounding { NearestEven, TowardsZero, TowardsPositive, TowardsNegative, NearestAway };
enum class OutOfRange { Error, Clamp, Wrap };

// Every value of the permitted types (int8..uint64, float32/64) converts exactly to long double
// on the platforms cuzarr builds for (x86-64: 64-bit significand; aarch64: binary128), so one
// conversion routine serves every pair of types.
using Wide = long double;
static_assert(std::numeric_limits<Wide>::digits >= 64, "cast_value needs a 64-bit significand");

// One scalar_map entry: the value it matches (in the source type) and what it becomes (one
// element of the destination type, native order).
struct MapEntry {
  Wide key;
  bool key_is_nan;
  std::vector<std::byte> value;
};

// One direction of the cast (decode: stored type → array type; encode, for the fill value: the
// reverse).
struct Cast {
  DataType from, to;
  Rounding rounding = Rounding::NearestEven;
  OutOfRange out_of_range = OutOfRange::Error;
  std::vector<MapEntry> map;
};

Wide round_to_integer(Wide v, Rounding r) {
  switch (r) {
    case Rounding::NearestEven: return std::nearbyint(v);  // the default FE mode: ties to even
    case Rounding::TowardsZero: return std::trunc(v);
    case Rounding::TowardsPositive: return std::ceil(v);
    case Rounding::TowardsNegative: return std::floor(v);
    case Rounding::NearestAway: return std::round(v);
  }
  return v;
}

// Converts one value; nullopt-free: throws `fail(why)` for what the spec makes an error.
template <typename S, typename D, typename Fail>
void convert(const std::byte* in, std::byte* out, const Cast& c, Fail&& fail) {
  const S s = load_element<S>(in, 0);
  const Wide v = static_cast<Wide>(s);
  const bool nan = v != v;
  for (const MapEntry& e : c.map) {
    if (nan ? e.key_is_nan : (!e.key_is_nan && e.key == v)) {
      std::memcpy(out, e.value.data(), sizeof(D));
      return;
    }
  }
  if constexpr (std::is_floating_point_v<D>) {
    if (nan || std::isinf(v)) {
      store_element<D>(out, 0, static_cast<D>(s));
      return;
    }
    const Wide max = std::numeric_limits<D>::max();
    if (v > max || v < -max) {
      if (c.out_of_range != OutOfRange::Clamp) fail("value " + std::to_string(static_cast<double>(v)) + " is outside the range of " + c.to.name());
      store_element<D>(out, 0, v > 0 ? std::numeric_limits<D>::max() : std::numeric_limits<D>::lowest());
      return;
    }
    store_element<D>(out, 0, static_cast<D>(v));  // rounds to nearest, ties to even
  } else {
    if (nan) fail("NaN cannot be cast to " + c.to.name());
    const Wide lo = static_cast<Wide>(std::numeric_limits<D>::lowest());
    const Wide hi = static_cast<Wide>(std::numeric_limits<D>::max());
    Wide r = std::is_floating_point_v<S> ? round_to_integer(v, c.rounding) : v;
    if (r < lo || r > hi) {
      if (c.out_of_range == OutOfRange::Clamp) {
        r = r < lo ? lo : hi;
      } else if (c.out_of_range == OutOfRange::Wrap && !std::isinf(r)) {
        // Modulo 2^bits, then the two's-complement reading of those bits.
        const Wide modulus = std::ldexp(Wide{1}, 8 * static_cast<int>(sizeof(D)));
        Wide m = std::fmod(r, modulus);
        if (m < 0) m += modulus;
        store_element<D>(out, 0, static_cast<D>(static_cast<std::make_unsigned_t<D>>(static_cast<std::uint64_t>(m))));
        return;
      } else {
        fail("value " + std::to_string(static_cast<double>(v)) + " is outside the range of " + c.to.name());
      }
    }
    store_element<D>(out, 0, static_cast<D>(r));
  }
}

// The permitted types are the integers and the floating-point types; bool and dates are not.
bool permitted(const DataType& t) {
  return t.kind == DTypeKind::Int || t.kind == DTypeKind::UInt || t.kind == DTypeKind::Float;
}

template <typename Fail>
void convert_all(const std::byte* in, std::byte* out, std::int64_t n, const Cast& c, const std::string& array,
                 Fail&& fail) {
  dispatch_numeric(c.from, array, "cast_value", [&](auto s) {
    dispatch_numeric(c.to, array, "cast_value", [&](auto d) {
      using S = decltype(s);
      using D = decltype(d);
      for (std::int64_t i = 0; i < n; ++i) {
        convert<S, D>(in + i * static_cast<std::int64_t>(sizeof(S)), out + i * static_cast<std::int64_t>(sizeof(D)), c, fail);
      }
    });
  });
}

class CastValueCodec final : public ArrayToArrayCodec {
 public:
  CastValueCodec(Cast decode, Cast encode, std::string array)
      : decode_(std::move(decode)), encode_(std::move(encode)), array_(std::move(array)) {}
  std::string name() const override { return "cast_value"; }
  ChunkSpec encoded_spec(const ChunkSpec& decoded) const override { return {decoded.shape, decode_.from}; }

  ChunkView decode(ChunkView in, const ChunkSpec& decoded, Buffer& scratch, const DecodeContext& ctx) const override {
    Buffer gathered;
    const std::byte* flat = c_order_elements(in, decode_.from, gathered);
    scratch = Buffer(static_cast<std::size_t>(decoded.num_bytes()));
    convert_all(flat, scratch.data(), decoded.num_elements(), decode_, array_,
                [&](const std::string& why) { throw CodecError(ctx.describe(name()) + ": " + why); });
    return ChunkView{scratch.data(), decoded.shape, c_order_strides(decoded.shape, decoded.dtype.size)};
  }

  std::vector<std::byte> encode_fill(std::vector<std::byte> fill, const ChunkSpec&) const override {
    std::vector<std::byte> out(static_cast<std::size_t>(encode_.to.size));
    convert_all(fill.data(), out.data(), 1, encode_, array_, [&](const std::string& why) {
      throw MetadataError("array '" + array_ + "': codec 'cast_value' cannot encode the fill value: " + why);
    });
    return out;
  }

 private:
  Cast decode_, encode_;
  std::string array_;
};

// scalar_map's "encode" or "decode" list of [from, to] pairs, each in its type's fill-value
// encoding.
std::vector<MapEntry> parse_map(const Json& conf, const char* direction, const DataType& from, const DataType& to,
                                const std::string& where) {
  std::vector<MapEntry> out;
  if (!conf.contains("scalar_map") || conf["scalar_map"].is_null()) return out;
  const Json& map = conf["scalar_map"];
  if (!map.is_object()) throw MetadataError(where + ": 'scalar_map' must be an object");
  for (const auto& [key, value] : map.items()) {
    if (key != "encode" && key != "decode") throw MetadataError(where + ": unknown 'scalar_map' key '" + key + "'");
  }
  if (!map.contains(direction) || map[direction].is_null()) return out;
  const Json& entries = map[direction];
  if (!entries.is_array()) throw MetadataError(where + ": 'scalar_map' " + direction + " must be a list of pairs");
  for (const Json& pair : entries) {
    if (!pair.is_array() || pair.size() != 2) {
      throw MetadataError(where + ": 'scalar_map' " + direction + " entries must be [from, to] pairs");
    }
    const std::string what = where + " scalar_map " + direction;
    const std::vector<std::byte> key = metadata::parse_fill_value(pair[0], from, 3, native_endian(), what);
    MapEntry e{0, false, metadata::parse_fill_value(pair[1], to, 3, native_endian(), what)};
    dispatch_numeric(from, where, "cast_value", [&](auto s) {
      e.key = static_cast<Wide>(load_element<decltype(s)>(key.data(), 0));
      e.key_is_nan = e.key != e.key;
    });
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::unique_ptr<const ArrayToArrayCodec> make_cast_value(const CodecSpec& spec, const ChunkSpec& decoded,
                                                         const std::string& array) {
  const std::string where = "array '" + array + "': codec 'cast_value'";
  const Json& conf = spec.configuration;
  for (const auto& [key, value] : conf.items()) {
    if (key != "data_type" && key != "rounding" && key != "out_of_range" && key != "scalar_map") {
      throw MetadataError(where + ": unknown configuration key '" + key + "' (the spec makes it invalid)");
    }
  }
  if (!conf.contains("data_type")) throw MetadataError(where + ": 'data_type' is required");
  const DataType target = metadata::parse_v3_dtype(conf["data_type"], where + " data_type");
  for (const DataType* t : {&decoded.dtype, &target}) {
    if (!permitted(*t)) {
      throw MetadataError(where + " casts between integer and floating-point types, not " + t->name());
    }
    if (t->kind == DTypeKind::Float && t->size != 4 && t->size != 8) {
      throw UnsupportedError(where + ": data type " + t->name() + " is not supported");
    }
  }
  Cast dec{target, decoded.dtype, Rounding::NearestEven, OutOfRange::Error, {}};
  if (conf.contains("rounding") && !conf["rounding"].is_null()) {
    const Json& r = conf["rounding"];
    if (r == "nearest-even") dec.rounding = Rounding::NearestEven;
    else if (r == "towards-zero") dec.rounding = Rounding::TowardsZero;
    else if (r == "towards-positive") dec.rounding = Rounding::TowardsPositive;
    else if (r == "towards-negative") dec.rounding = Rounding::TowardsNegative;
    else if (r == "nearest-away") dec.rounding = Rounding::NearestAway;
    else throw MetadataError(where + ": unknown 'rounding' " + r.dump());
  }
  if (conf.contains("out_of_range") && !conf["out_of_range"].is_null()) {
    const Json& o = conf["out_of_range"];
    if (o == "clamp") dec.out_of_range = OutOfRange::Clamp;
    else if (o == "wrap") dec.out_of_range = OutOfRange::Wrap;
    else if (o == "error") dec.out_of_range = OutOfRange::Error;
    else throw MetadataError(where + ": unknown 'out_of_range' " + o.dump());
    if (dec.out_of_range == OutOfRange::Wrap && target.kind == DTypeKind::Float) {
      throw MetadataError(where + ": out_of_range \"wrap\" needs an integer data_type, got " + target.name());
    }
  }
  Cast enc{decoded.dtype, target, dec.rounding, dec.out_of_range, {}};
  dec.map = parse_map(conf, "decode", target, decoded.dtype, where);
  enc.map = parse_map(conf, "encode", decoded.dtype, target, where);
  return std::make_unique<CastValueCodec>(std::move(dec), std::move(enc), array);
}

}  // namespace cuzarr::codec
