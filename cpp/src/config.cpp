#include "cuzarr/config.hpp"

#include <charconv>
#include <cstdlib>
#include <string_view>
#include <thread>

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
  if (const char* v = getenv_fn("CUZARR_DECODE"); v != nullptr && *v != '\0') {
    const std::string_view d(v);
    if (d == "auto") cfg.decode = Config::Decode::Auto;
    else if (d == "cpu") cfg.decode = Config::Decode::Cpu;
    else if (d == "gpu") cfg.decode = Config::Decode::Gpu;
    else throw Error("CUZARR_DECODE must be auto, cpu or gpu, got '" + std::string(d) + "'");
  }
  if (const char* v = getenv_fn("CUZARR_NVCOMP_LIBRARY"); v != nullptr) cfg.nvcomp_library = v;
  if (const char* v = getenv_fn("CUZARR_GPU_LZ4"); v != nullptr && *v != '\0') {
    const std::string_view l(v);
    if (l == "auto") cfg.gpu_lz4 = Config::GpuLz4::Auto;
    else if (l == "own") cfg.gpu_lz4 = Config::GpuLz4::Own;
    else if (l == "nvcomp") cfg.gpu_lz4 = Config::GpuLz4::Nvcomp;
    else throw Error("CUZARR_GPU_LZ4 must be auto, own or nvcomp, got '" + std::string(l) + "'");
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
