// Shared by the libFuzzer targets: an in-memory store (so that fuzzed bytes need no file system),
// building an Array the way cuzarr::open does, and the reads every target runs. A target fails
// (libFuzzer reports a crash) on anything but a cuzarr::Error: a sanitizer report, a signal, an
// uncaught foreign exception (a bare nlohmann or std exception is a bug: messages must be
// cuzarr's), a timeout or an out-of-memory.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/codec_chain.hpp"
#include "cuzarr/array.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "metadata/node.hpp"
#include "node_state.hpp"

namespace cuzarr::fuzz {

// The metadata size cap the targets read with (Config::max_metadata_bytes' default).
inline constexpr std::uint64_t kMaxMetadata = std::uint64_t{64} << 20;

// Keys are validated like FileStore's, so that a fuzzed key cannot pass here and fail there.
class MemoryStore final : public Store {
 public:
  void set(const std::string& key, std::string_view value) {
    values_[key] = Buffer::copy_of(std::as_bytes(std::span(value.data(), value.size())));
  }
  void clear() { values_.clear(); }

  std::optional<Buffer> get(std::string_view key) const override {
    const Buffer* v = find(key);
    if (v == nullptr) return std::nullopt;
    return Buffer::copy_of(v->span());
  }
  std::optional<Buffer> get_range(std::string_view key, std::uint64_t offset,
                                  std::uint64_t length) const override {
    const Buffer* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (offset > v->size() || length > v->size() - offset) {
      throw StoreError("key '" + std::string(key) + "' is " + std::to_string(v->size()) +
                       " bytes long; cannot read " + std::to_string(length) + " bytes at " +
                       std::to_string(offset));
    }
    return Buffer::copy_of(v->span().subspan(offset, length));
  }
  std::optional<Buffer> get_suffix(std::string_view key, std::uint64_t length) const override {
    const Buffer* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (length > v->size()) throw StoreError("key '" + std::string(key) + "' is too short");
    return Buffer::copy_of(v->span().subspan(v->size() - length));
  }
  std::optional<std::uint64_t> size(std::string_view key) const override {
    const Buffer* v = find(key);
    if (v == nullptr) return std::nullopt;
    return v->size();
  }
  bool exists(std::string_view key) const override { return find(key) != nullptr; }
  std::vector<std::string> list_dir(std::string_view prefix) const override {
    std::vector<std::string> names;
    const std::string p = prefix.empty() ? "" : std::string(prefix) + "/";
    for (const auto& [key, value] : values_) {
      if (!key.starts_with(p)) continue;
      std::string rest = key.substr(p.size());
      rest = rest.substr(0, rest.find('/'));
      if (names.empty() || names.back() != rest) names.push_back(rest);
    }
    return names;
  }
  std::string describe() const override { return "memory"; }

 private:
  const Buffer* find(std::string_view key) const {
    validate_key(key);
    auto it = values_.find(std::string(key));
    return it == values_.end() ? nullptr : &it->second;
  }
  std::map<std::string, Buffer> values_;
};

// Single-threaded reads keep coverage deterministic; must run before the first read.
inline void use_one_thread() { setenv("CUZARR_THREADS", "1", 1); }

// CUZARR_FUZZ_VERBOSE=1 prints the errors an input raised (to check seeds: `target seed-file`).
inline void expected_error(const Error& e) {
  static const bool verbose = std::getenv("CUZARR_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "cuzarr error: %s\n", e.what());
}

// An Array over `store` from parsed metadata, as cuzarr::open builds one (the codec chain is
// prepared here, so bad codec configurations fail here too).
inline Array make_array(const std::shared_ptr<const detail::Context>& context, metadata::ArrayMeta meta) {
  codec::CodecChain chain = codec::CodecChain::prepare(
      meta.codecs, codec::ChunkSpec{meta.chunk_shape, meta.dtype}, meta.fill_value, meta.display);
  return Array(std::make_shared<detail::ArrayState>(
      detail::ArrayState{context, std::move(meta), std::move(chain)}));
}

// Elements in a selection's result; saturates instead of overflowing.
inline std::int64_t result_elements(const Array& a, const Selection& s) {
  std::int64_t n = 1;
  for (std::int64_t d : a.result_shape(s)) {
    if (d != 0 && n > (std::int64_t{1} << 40) / d) return std::int64_t{1} << 40;
    n *= d;
  }
  return n;
}

// Reads that stay small whatever the shape: the first three and the last position of every
// dimension, a coarse strided slice, and the whole array when it is small. Each read stops at its
// first cuzarr::Error; the next one still runs.
inline void read_small_selections(const Array& a, std::int64_t max_elements = 1 << 16) {
  if (a.rank() > 8) return;
  std::vector<Selection> selections(3);
  for (std::int64_t n : a.shape()) {
    std::vector<std::int64_t> picks;
    for (std::int64_t i = 0; i < n && i < 3; ++i) picks.push_back(i);
    if (n > 3) picks.push_back(n - 1);
    selections[0].dims.emplace_back(std::move(picks));
    selections[1].dims.emplace_back(Slice{std::nullopt, std::nullopt, n > 3 ? n / 3 : 1});
  }
  for (const Selection& s : selections) {
    try {
      if (result_elements(a, s) <= max_elements) a.read(s);
    } catch (const Error& e) {
      expected_error(e);
    }
  }
}

}  // namespace cuzarr::fuzz
