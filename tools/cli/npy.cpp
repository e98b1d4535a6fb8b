#include "npy.hpp"

#include <cerrno>
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
