#include "codec/checksums.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "codec/compressors.hpp"
#include "cuzarr/error.hpp"

namespace cuzarr::codec {
namespace {

using metadata::CodecSpec;
using metadata::Json;

using Checksum = std::function<std::uint32_t(const std::byte*, std::size_t)>;

// zlib's crc32/adler32 take uInt lengths: feed them in pieces.
template <typename F>
std::uint32_t zlib_sum(F f, std::uint32_t init, const std::byte* data, std::size_t size) {
  uLong c = init;
  while (size > 0) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(size, std::numeric_limits<uInt>::max()));
    c = f(c, reinterpret_cast<const Bytef*>(data), n);
    data += n;
    size -= n;
  }
  return static_cast<std::uint32_t>(c);
}

class Checksum32Codec final : public BytesToBytesCodec {
 public:
  Checksum32Codec(std::string name, Checksum sum, bool at_start)
      : name_(std::move(name)), sum_(std::move(sum)), at_start_(at_start) {}
  std::string name() const override { return name_; }
  std::optional<std::int64_t> encoded_size(std::optional<std::int64_t> decoded) const override {
    if (!decoded) return std::nullopt;
    return *decoded + 4;
  }
  Buffer decode(Buffer in, std::optional<std::int64_t> expected, const DecodeContext& ctx) const override {
    if (in.size() < 4) {
      throw CodecError(ctx.describe(name_) + ": chunk of " + std::to_string(in.size()) +
                       " bytes cannot hold a checksum");
    }
    const std::size_t n = in.size() - 4;
    const std::byte* stored_at = in.data() + (at_start_ ? 0 : n);
    const std::byte* payload = in.data() + (at_start_ ? 4 : 0);
    std::uint32_t stored = 0;
    for (int i = 3; i >= 0; --i) stored = (stored << 8) | std::to_integer<std::uint32_t>(stored_at[i]);
    const std::uint32_t actual = sum_(payload, n);
    if (stored != actual) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "checksum mismatch (stored %08x, computed %08x)", stored, actual);
      throw CodecError(ctx.describe(name_) + ": " + buf);
    }
    if (expected && static_cast<std::int64_t>(n) != *expected) {
      throw CodecError(ctx.describe(name_) + ": chunk holds " + std::to_string(n) + " bytes, expected " +
                       std::to_string(*expected));
    }
    if (at_start_) {
      Buffer out(n);
      if (n > 0) std::memcpy(out.data(), payload, n);
      return out;
    }
    in.truncate(n);
    return in;
  }
  bool can_encode() const override { return true; }
  Buffer encode(Buffer in, const EncodeContext&) const override {
    const std::size_t n = in.size();
    Buffer out(n + 4);
    std::byte* payload = out.data() + (at_start_ ? 4 : 0);
    if (n > 0) std::memcpy(payload, in.data(), n);
    const std::uint32_t sum = sum_(in.data(), n);
    std::byte* at = out.data() + (at_start_ ? 0 : n);
    for (int i = 0; i < 4; ++i) at[i] = static_cast<std::byte>((sum >> (8 * i)) & 0xffu);
    return out;
  }

 private:
  std::string name_;
  Checksum sum_;
  bool at_start_;
};

[[noreturn]] void bad_config(const CodecSpec& spec, const std::string& array, const std::string& why) {
  throw MetadataError("array '" + array + "': codec '" + spec.name + "' configuration " + spec.configuration.dump() +
                      ": " + why);
}

// numcodecs' Checksum32 `location`; null or absent keeps the codec's default.
bool at_start(const CodecSpec& spec, bool fallback, const std::string& array) {
  const Json& c = spec.configuration;
  if (!c.contains("location") || c["location"].is_null()) return fallback;
  if (c["location"] == "start") return true;
  if (c["location"] == "end") return false;
  bad_config(spec, array, "'location' must be \"start\" or \"end\"");
}

}  // namespace

std::uint32_t fletcher32(const std::byte* data, std::size_t size) {
  std::uint32_t sum1 = 0, sum2 = 0;
  auto fold = [&] {
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  };
  std::size_t words = size / 2;
  const std::byte* p = data;
  // 360 words is the most the two 32-bit sums can take before they must be folded.
  while (words > 0) {
    std::size_t block = std::min<std::size_t>(words, 360);
    words -= block;
    for (; block > 0; --block, p += 2) {
      sum1 += (std::to_integer<std::uint32_t>(p[0]) << 8) | std::to_integer<std::uint32_t>(p[1]);
      sum2 += sum1;
    }
    fold();
  }
  if (size % 2 != 0) {
    sum1 += std::to_integer<std::uint32_t>(p[0]) << 8;
    sum2 += sum1;
    fold();
  }
  fold();
  return (sum2 << 16) | sum1;
}

std::uint32_t jenkins_lookup3(const std::byte* data, std::size_t size, std::uint32_t initval) {
  auto rot = [](std::uint32_t x, int k) { return (x << k) | (x >> (32 - k)); };
  std::uint32_t a = 0xdeadbeefu + static_cast<std::uint32_t>(size) + initval;
  std::uint32_t b = a, c = a;
  if (size == 0) return c;
  auto word = [&](const std::byte* k, std::size_t n) {
    std::uint32_t w = 0;
    for (std::size_t i = 0; i < n; ++i) w |= std::to_integer<std::uint32_t>(k[i]) << (8 * i);
    return w;
  };
  const std::byte* k = data;
  while (size > 12) {
    a += word(k, 4);
    b += word(k + 4, 4);
    c += word(k + 8, 4);
    a -= c; a ^= rot(c, 4);  c += b;
    b -= a; b ^= rot(a, 6);  a += c;
    c -= b; c ^= rot(b, 8);  b += a;
    a -= c; a ^= rot(c, 16); c += b;
    b -= a; b ^= rot(a, 19); a += c;
    c -= b; c ^= rot(b, 4);  b += a;
    size -= 12;
    k += 12;
  }
  // The last 1..12 bytes, little-endian into a, b, c; missing bytes count as zero.
  a += word(k, std::min<std::size_t>(size, 4));
  if (size > 4) b += word(k + 4, std::min<std::size_t>(size - 4, 4));
  if (size > 8) c += word(k + 8, size - 8);
  c ^= b; c -= rot(b, 14);
  a ^= c; a -= rot(c, 11);
  b ^= a; b -= rot(a, 25);
  c ^= b; c -= rot(b, 16);
  a ^= c; a -= rot(c, 4);
  b ^= a; b -= rot(a, 14);
  c ^= b; c -= rot(b, 24);
  return c;
}

std::unique_ptr<const BytesToBytesCodec> make_crc32(const CodecSpec& spec, const ChunkSpec&, const std::string& array) {
  return std::make_unique<Checksum32Codec>(
      spec.name, [](const std::byte* p, std::size_t n) { return zlib_sum(::crc32, 0, p, n); }, at_start(spec, true, array));
}

std::unique_ptr<const BytesToBytesCodec> make_crc32c(const CodecSpec& spec, const ChunkSpec&, const std::string& array) {
  // v3's core crc32c has no configuration; numcodecs' CRC32C takes `location`, default the end.
  return std::make_unique<Checksum32Codec>(spec.name, &crc32c, at_start(spec, false, array));
}

std::unique_ptr<const BytesToBytesCodec> make_adler32(const CodecSpec& spec, const ChunkSpec&, const std::string& array) {
  return std::make_unique<Checksum32Codec>(
      spec.name, [](const std::byte* p, std::size_t n) { return zlib_sum(::adler32, 1, p, n); },
      at_start(spec, true, array));
}

std::unique_ptr<const BytesToBytesCodec> make_fletcher32(const CodecSpec& spec, const ChunkSpec&, const std::string&) {
  return std::make_unique<Checksum32Codec>(spec.name, &fletcher32, false);
}

std::unique_ptr<const BytesToBytesCodec> make_jenkins_lookup3(const CodecSpec& spec, const ChunkSpec&,
                                                              const std::string& array) {
  const Json& c = spec.configuration;
  std::uint32_t initval = 0;
  if (c.contains("initval") && !c["initval"].is_null()) {
    if (!c["initval"].is_number_integer() || c["initval"].get<std::int64_t>() < 0 ||
        c["initval"].get<std::int64_t>() > std::int64_t{0xffffffff}) {
      bad_config(spec, array, "'initval' must be an integer in [0, 2^32)");
    }
    initval = static_cast<std::uint32_t>(c["initval"].get<std::int64_t>());
  }
  // numcodecs hashes `prefix` + data; the prefix is bytes, which JSON can only hold as a list.
  std::vector<std::byte> prefix;
  if (c.contains("prefix") && !c["prefix"].is_null()) {
    if (!c["prefix"].is_array()) bad_config(spec, array, "'prefix' must be null or a list of byte values");
    for (const Json& v : c["prefix"]) {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 255) {
        bad_config(spec, array, "'prefix' must be null or a list of byte values");
      }
      prefix.push_back(static_cast<std::byte>(v.get<int>()));
    }
  }
  Checksum sum = [initval](const std::byte* p, std::size_t n) { return jenkins_lookup3(p, n, initval); };
  if (!prefix.empty()) {
    sum = [initval, prefix](const std::byte* p, std::size_t n) {
      std::vector<std::byte> joined(prefix);
      joined.insert(joined.end(), p, p + n);
      return jenkins_lookup3(joined.data(), joined.size(), initval);
    };
  }
  return std::make_unique<Checksum32Codec>(spec.name, std::move(sum), false);
}

}  // namespace cuzarr::codec
