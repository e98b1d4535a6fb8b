#include <algorithm>
#include <cstring>
#include <string>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"

namespace cuzarr {

void validate_key(std::string_view key) {
  auto fail = [&](const char* why) {
    std::string shown;
    for (char c : key) shown += (c == '\0') ? std::string("\\0") : std::string(1, c);
    throw StoreError("invalid store key '" + shown + "': " + why);
  };
  if (key.empty()) fail("empty key");
  if (key.front() == '/') fail("absolute paths are not allowed");
  if (key.find('\0') != std::string_view::npos) fail("NUL byte in key");
  if (key.find('\\') != std::string_view::npos) fail("backslash in key");
  std::size_t start = 0;
  while (true) {
    std::size_t end = key.find('/', start);
    std::string_view part = key.substr(start, end == std::string_view::npos ? end : end - start);
    if (part.empty()) fail("empty path component");
    if (part == "..") fail("'..' would escape the store");
    if (part == ".") fail("'.' path component");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

bool Store::read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const {
  std::optional<Buffer> b = get_range(key, offset, length);
  if (!b) return false;
  if (length > 0) std::memcpy(dst, b->data(), length);
  return true;
}

std::optional<EdgeRead> Store::get_edge(std::string_view key, Edge edge, std::uint64_t length) const {
  const std::optional<std::uint64_t> total = size(key);
  if (!total) return std::nullopt;
  const std::uint64_t n = std::min(length, *total);
  std::optional<Buffer> bytes = get_range(key, edge == Edge::Front ? 0 : *total - n, n);
  if (!bytes) return std::nullopt;
  return EdgeRead{std::move(*bytes), *total};
}

std::optional<std::uint64_t> Store::read_front_into(std::string_view key, std::uint64_t length, void* dst) const {
  const std::optional<std::uint64_t> total = size(key);
  if (!total) return std::nullopt;
  if (!read_into(key, 0, std::min(length, *total), dst)) return std::nullopt;
  return total;
}

std::optional<Store::Version> Store::version(std::string_view key) const {
  if (!exists(key)) return std::nullopt;
  return Version{};
}

void Store::write(std::string_view key, std::span<const std::byte>) const {
  throw UnsupportedError("cannot write '" + std::string(key) + "' to " + describe() +
                         ": this store is read-only (cuzarr writes to local directory stores)");
}

void Store::erase(std::string_view key) const {
  throw UnsupportedError("cannot delete '" + std::string(key) + "' from " + describe() +
                         ": this store is read-only (cuzarr writes to local directory stores)");
}

std::string join_key(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  if (name.empty()) return std::string(prefix);
  std::string out(prefix);
  out += '/';
  out += name;
  return out;
}

}  // namespace cuzarr
