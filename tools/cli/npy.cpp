#include "npy.hpp"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "cuzarr/error.hpp"

namespace cuzarr::cli {

void write_npy(const std::filesystem::path& path, const HostArray& array) {
  std::string shape = "(";
  for (std::size_t i = 0; i < array.shape.size(); ++i) {
    shape += std::to_string(array.shape[i]) + (array.shape.size() == 1 ? "," : (i + 1 < array.shape.size() ? ", " : ""));
  }
  shape += ")";
  std::string header = "{'descr': '" + array.dtype.numpy_str() +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length field (2 or 4) + header + '\n', padded to 64 bytes.
  const bool v2 = header.size() + 1 + 10 > 65535;
  const std::size_t prefix = v2 ? 12 : 10;
  const std::size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) throw StoreError("cannot write '" + path.string() + "': " + std::strerror(errno));
  std::string out = "\x93NUMPY";
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  const std::size_t len = header.size();
  for (std::size_t i = 0; i < (v2 ? 4u : 2u); ++i) out += static_cast<char>((len >> (8 * i)) & 0xff);
  out += header;
  bool ok = std::fwrite(out.data(), 1, out.size(), f.get()) == out.size();
  if (ok && array.data.size() > 0) {
    ok = std::fwrite(array.data.data(), 1, array.data.size(), f.get()) == array.data.size();
  }
  if (!ok || std::fflush(f.get()) != 0) {
    throw StoreError("cannot write '" + path.string() + "': " + std::strerror(errno));
  }
}

}  // namespace cuzarr::cli

namespace cuzarr::cli {
namespace {

// The value of 'key' in a .npy header dict ("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }").
std::string header_field(const std::string& header, const std::string& key, const std::filesystem::path& path) {
  const std::size_t at = header.find("'" + key + "':");
  if (at == std::string::npos) throw MetadataError(path.string() + ": the .npy header has no '" + key + "'");
  std::size_t begin = at + key.size() + 3;
  while (begin < header.size() && header[begin] == ' ') ++begin;
  if (begin >= header.size()) throw MetadataError(path.string() + ": the .npy header ends inside '" + key + "'");
  const char open = header[begin];
  const char close = open == '\'' ? '\'' : open == '(' ? ')' : open == '[' ? ']' : ',';
  const std::size_t end = header.find(close, begin + 1);
  if (end == std::string::npos) throw MetadataError(path.string() + ": the .npy header's '" + key + "' does not end");
  return open == '\'' ? header.substr(begin + 1, end - begin - 1)
                      : header.substr(begin, end - begin + (close == ',' ? 0 : 1));
}

// C or Fortran strides of out.shape.
void fill_strides(NpyFile& out, std::int64_t item, bool fortran) {
  out.byte_strides.resize(out.shape.size());
  std::int64_t stride = item;
  for (std::size_t k = 0; k < out.shape.size(); ++k) {
    const std::size_t d = fortran ? k : out.shape.size() - 1 - k;
    out.byte_strides[d] = stride;
    stride *= out.shape[d];
  }
}

}  // namespace

NpyFile read_npy(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw StoreError("cannot read '" + path.string() + "': " + std::strerror(errno));
  unsigned char prefix[12];
  if (std::fread(prefix, 1, 10, f.get()) != 10 || std::memcmp(prefix, "\x93NUMPY", 6) != 0 || prefix[6] < 1 ||
      prefix[6] > 3) {
    throw MetadataError(path.string() + ": not a NumPy .npy file (format 1.0, 2.0 or 3.0)");
  }
  std::size_t length = prefix[8] | (static_cast<std::size_t>(prefix[9]) << 8);
  if (prefix[6] > 1) {
    if (std::fread(prefix + 10, 1, 2, f.get()) != 2) throw MetadataError(path.string() + ": the .npy header is cut short");
    length |= (static_cast<std::size_t>(prefix[10]) << 16) | (static_cast<std::size_t>(prefix[11]) << 24);
  }
  if (length > (64u << 20)) throw MetadataError(path.string() + ": the .npy header claims " + std::to_string(length) + " bytes");
  std::string header(length, '\0');
  if (std::fread(header.data(), 1, length, f.get()) != length) throw MetadataError(path.string() + ": the .npy header is cut short");
  NpyFile out;
  out.descr = header_field(header, "descr", path);
  if (out.descr.empty() || header.find("'descr': [") != std::string::npos) {
    throw MetadataError(path.string() + ": structured .npy types are not supported");
  }
  const std::string order = header_field(header, "fortran_order", path);
  const std::string shape = header_field(header, "shape", path);
  for (std::size_t i = 1; i + 1 < shape.size();) {
    while (i + 1 < shape.size() && (shape[i] == ' ' || shape[i] == ',')) ++i;
    if (i + 1 >= shape.size()) break;
    std::int64_t n = 0;
    std::size_t digits = 0;
    for (; i + 1 < shape.size() && shape[i] >= '0' && shape[i] <= '9'; ++i, ++digits) {
      if (n > (INT64_MAX - 9) / 10) throw MetadataError(path.string() + ": the .npy shape " + shape + " is too large");
      n = n * 10 + (shape[i] - '0');
    }
    if (digits == 0) throw MetadataError(path.string() + ": the .npy shape " + shape + " is not a tuple of sizes");
    out.shape.push_back(n);
  }
  // The item size from the type string's digits ("<f4" -> 4, "|b1" -> 1, "<U5" -> 20).
  std::size_t digits_at = out.descr.find_first_of("0123456789");
  if (digits_at == std::string::npos) throw MetadataError(path.string() + ": .npy type '" + out.descr + "' has no size");
  std::int64_t item = 0;
  const auto [end, err] = std::from_chars(out.descr.data() + digits_at, out.descr.data() + out.descr.size(), item);
  if (err != std::errc() || (end != out.descr.data() + out.descr.size() && *end != '[') || item <= 0 || item > (1 << 20)) {
    throw MetadataError(path.string() + ": .npy type '" + out.descr + "' is not one cuzarr writes from");
  }
  if (out.descr.size() > 1 && out.descr[1] == 'U') item *= 4;
  // The values must be in the file before they are allocated: a header may claim any shape.
  std::error_code ec;
  const std::uintmax_t file_size = std::filesystem::file_size(path, ec);
  const std::uint64_t available = ec ? 0 : file_size - std::min<std::uintmax_t>(file_size, (prefix[6] > 1 ? 12 : 10) + length);
  fill_strides(out, item, order == "True");
  if (std::find(out.shape.begin(), out.shape.end(), 0) != out.shape.end()) return out;  // no values
  std::uint64_t count = 1;
  bool more = false;  // more values than the file has bytes (checked before the product can overflow)
  for (std::int64_t n : out.shape) {
    more = more || count > available / static_cast<std::uint64_t>(n);
    if (!more) count *= static_cast<std::uint64_t>(n);
  }
  if (item <= 0 || more || count > available / static_cast<std::uint64_t>(item)) {
    throw MetadataError(path.string() + ": the .npy file holds fewer values than its shape " + shape + " needs");
  }
  const std::uint64_t bytes = count * static_cast<std::uint64_t>(item);
  out.data = Buffer(bytes);
  if (bytes > 0 && std::fread(out.data.data(), 1, bytes, f.get()) != bytes) {
    throw MetadataError(path.string() + ": the .npy file holds fewer values than its shape " + shape + " needs");
  }
  return out;
}

}  // namespace cuzarr::cli
