#include "cuzarr/config.hpp"

#include <charconv>
#include <cstdlib>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "cuzarr/error.hpp"

#ifndef CUZARR_VERSION
#define CUZARR_VERSION "0.0.0"
#endif

namespace cuzarr {
namespace {

std::size_t parse_size(const char* name, std::string_view text, std::size_t min, std::size_t max) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw Error(std::string(name) + " must be an integer in [" + std::to_string(min) + ", " +
                std::to_string(max) + "], got '" + std::string(text) + "'");
  }
  return value;
}

double parse_seconds(const char* name, std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value > 0) || value > 86400) {
    throw Error(std::string(name) + " must be a number of seconds in (0, 86400], got '" + std::string(text) + "'");
  }
  return value;
}

// The value is a secret (a token): an error names the variable, never its text.
std::map<std::string, std::string> parse_headers(const char* name, std::string_view text) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) throw Error(std::string(name) + " must be a JSON object of header names to strings");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : doc.items()) {
    if (!value.is_string()) throw Error(std::string(name) + ": the value of header '" + key + "' is not a string");
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

const char* system_getenv(const char* name) { return std::getenv(name); }

}  // namespace

Config parse_config(const char* (*getenv_fn)(const char*)) {
  Config cfg;
  unsigned hw = std::thread::hardware_concurrency();
  cfg.threads = hw == 0 ? 1 : hw;
  if (const char* v = getenv_fn("CUZARR_THREADS"); v != nullptr && *v != '\0') {
    cfg.threads = parse_size("CUZARR_THREADS", v, 1, 4096);
  }
  if (const char* v = getenv_fn("CUZARR_COALESCE_BYTES"); v != nullptr && *v != '\0') {
    cfg.coalesce_bytes = parse_size("CUZARR_COALESCE_BYTES", v, 0, std::size_t{1} << 40);
  }
  if (const char* v = getenv_fn("CUZARR_STAGING_BYTES"); v != nullptr && *v != '\0') {
    cfg.staging_bytes = parse_size("CUZARR_STAGING_BYTES", v, std::size_t{64} << 10, std::size_t{1} << 34);
  }
  if (const char* v = getenv_fn("CUZARR_STAGING_BUFFERS"); v != nullptr && *v != '\0') {
    cfg.staging_buffers = parse_size("CUZARR_STAGING_BUFFERS", v, 2, 1024);
  }
  if (const char* v = getenv_fn("CUZARR_GDS"); v != nullptr && *v != '\0') {
    const std::string_view g(v);
    if (g == "auto") cfg.gds = Config::Gds::Auto;
    else if (g == "on") cfg.gds = Config::Gds::On;
    else if (g == "off") cfg.gds = Config::Gds::Off;
    else throw Error("CUZARR_GDS must be auto, on or off, got '" + std::string(g) + "'");
  }
  if (const char* v = getenv_fn("CUZARR_SYMLINKS"); v != nullptr && *v != '\0') {
    const std::string_view s(v);
    if (s == "inside") cfg.symlinks = Config::Symlinks::Inside;
    else if (s == "follow") cfg.symlinks = Config::Symlinks::Follow;
    else throw Error("CUZARR_SYMLINKS must be inside or follow, got '" + std::string(s) + "'");
  }
  if (const char* v = getenv_fn("CUZARR_HTTP_CONCURRENCY"); v != nullptr && *v != '\0') {
    cfg.http_concurrency = parse_size("CUZARR_HTTP_CONCURRENCY", v, 1, 4096);
  }
  if (const char* v = getenv_fn("CUZARR_HTTP_RETRIES"); v != nullptr && *v != '\0') {
    cfg.http_retries = parse_size("CUZARR_HTTP_RETRIES", v, 0, 100);
  }
  if (const char* v = getenv_fn("CUZARR_HTTP_TIMEOUT"); v != nullptr && *v != '\0') {
    cfg.http_timeout = parse_seconds("CUZARR_HTTP_TIMEOUT", v);
  }
  if (const char* v = getenv_fn("CUZARR_HTTP_HEADERS"); v != nullptr && *v != '\0') {
    cfg.http_headers = parse_headers("CUZARR_HTTP_HEADERS", v);
  }
  return cfg;
}

const Config& config() {
  static const Config cfg = parse_config(&system_getenv);
  return cfg;
}

const char* version() { return CUZARR_VERSION; }

#if !CUZARR_WITH_CUDA
bool cuda_built() { return false; }
int cuda_device_count() { return 0; }
#endif

}  // namespace cuzarr
