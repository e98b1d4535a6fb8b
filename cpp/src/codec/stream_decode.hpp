// What the streaming decompressors share (compressors.cpp, lzma_codec.cpp): failures in the
// words of a decode context, the size check, and the loop that runs a streaming decoder into a
// buffer of the expected (or a bounded, growing) size.
#pragma once

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <utility>

#include "codec/codec.hpp"
#include "cuzarr/error.hpp"

namespace cuzarr::codec::stream {

[[noreturn]] inline void fail(const DecodeContext& ctx, const std::string& codec, const std::string& why) {
  throw CodecError(ctx.describe(codec) + ": " + why);
}

inline void check_size(const DecodeContext& ctx, const std::string& codec, std::int64_t got,
                std::optional<std::int64_t> expected) {
  if (expected && got != *expected) {
    fail(ctx, codec, "decompressed to " + std::to_string(got) + " bytes, expected " +
                         std::to_string(*expected));
  }
}

// A decompressor that could not allocate its state says so in its own error code; that is not a
// corrupt chunk (cuzarr verify would list a healthy one), so it travels as std::bad_alloc, which
// Python sees as MemoryError.
inline void fail_if_out_of_memory(bool out_of_memory) {
  if (out_of_memory) throw std::bad_alloc();
}

// Runs a streaming decoder into a buffer of the expected size (plus one byte, to notice a stream
// that is longer than announced), or a growing one when the size is unknown. `step(out, avail)`
// decodes into [out, out+avail) and returns {bytes written, finished}.
template <typename Step>
Buffer run_stream(const DecodeContext& ctx, const std::string& codec, std::optional<std::int64_t> expected,
                  std::int64_t input_size, Step&& step) {
  std::int64_t capacity =
      expected ? *expected + 1 : std::min(std::max<std::int64_t>(4 * input_size, 1 << 16), ctx.size_limit + 1);
  Buffer out(static_cast<std::size_t>(capacity));
  std::int64_t used = 0;
  while (true) {
    auto [written, finished] = step(out.data() + used, static_cast<std::size_t>(capacity - used));
    used += static_cast<std::int64_t>(written);
    if (finished) break;
    if (used < capacity) continue;
    if (expected) {
      fail(ctx, codec, "decompresses to more than the expected " + std::to_string(*expected) + " bytes");
    }
    if (capacity > ctx.size_limit) {
      fail(ctx, codec, "decompresses to more than " + std::to_string(ctx.size_limit) +
                           " bytes, more than the chunk can hold");
    }
    const std::int64_t grown = std::min(capacity * 2, ctx.size_limit + 1);
    Buffer bigger(static_cast<std::size_t>(grown));
    std::memcpy(bigger.data(), out.data(), static_cast<std::size_t>(used));
    out = std::move(bigger);
    capacity = grown;
  }
  check_size(ctx, codec, used, expected);
  out.truncate(static_cast<std::size_t>(used));
  return out;
}


}  // namespace cuzarr::codec::stream
