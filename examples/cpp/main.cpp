// Reads a Zarr array with cuzarr: the whole array into a buffer cuzarr allocates, then one slice
// of it into a buffer of our own. Prints what it read; with a second argument it also writes the
// whole array's bytes (C order, native byte order) to that file.
//
//   read_array data.zarr/air [values.bin]
#include <cuzarr/cuzarr.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <vector>

namespace {

// The first few elements of a host result, for the numeric types the example knows.
void print_first(const cuzarr::HostArray& result) {
  const auto n = std::min<std::size_t>(result.data.size() / result.dtype.size, 5);
  std::cout << "first values:";
  for (std::size_t i = 0; i < n; ++i) {
    const std::byte* p = result.data.data() + i * result.dtype.size;
    if (result.dtype.kind == cuzarr::DTypeKind::Float && result.dtype.size == 4) {
      float v;
      std::memcpy(&v, p, sizeof v);
      std::cout << ' ' << v;
    } else if (result.dtype.kind == cuzarr::DTypeKind::Float && result.dtype.size == 8) {
      double v;
      std::memcpy(&v, p, sizeof v);
      std::cout << ' ' << v;
    } else if (result.dtype.kind == cuzarr::DTypeKind::Int && result.dtype.size == 8) {
      std::int64_t v;
      std::memcpy(&v, p, sizeof v);
      std::cout << ' ' << v;
    } else {
      std::cout << " (" << result.dtype.name() << ")";
      break;
    }
  }
  std::cout << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: read_array ARRAY_PATH [OUT_FILE]\n";
    return 1;
  }
  try {
    const cuzarr::Array array = cuzarr::open_array(argv[1]);
    std::cout << "array " << array.display_path() << ": " << array.dtype().name() << ", shape (";
    for (std::size_t d = 0; d < array.rank(); ++d) std::cout << (d ? ", " : "") << array.shape()[d];
    std::cout << "), codecs " << array.codec_chain() << '\n';

    // The whole array, into a buffer cuzarr allocates (C order, native byte order).
    const cuzarr::HostArray all = array.read();
    print_first(all);

    // One index of the first dimension into memory of our own: Output says where each element
    // goes (byte strides), so this could as well be a column of a larger matrix or GPU memory.
    if (array.rank() >= 1 && array.shape()[0] > 0) {
      const cuzarr::Selection first = cuzarr::parse_selection("0");
      const std::vector<std::int64_t> shape = array.result_shape(first);
      std::int64_t count = 1;
      for (std::int64_t n : shape) count *= n;
      const std::int64_t item = array.dtype().size;
      std::vector<std::byte> mine(static_cast<std::size_t>(count * item));
      std::vector<std::int64_t> strides(shape.size());
      std::int64_t stride = item;
      for (std::size_t d = shape.size(); d-- > 0;) {
        strides[d] = stride;
        stride *= shape[d];
      }
      array.read_into(first, cuzarr::Output{mine.data(), shape, strides});
      const bool same = std::memcmp(mine.data(), all.data.data(), mine.size()) == 0;
      std::cout << "first index read into our own buffer: " << (same ? "same" : "DIFFERENT")
                << " as in the whole array\n";
      if (!same) return 3;
    }

    if (argc == 3) {
      std::ofstream out(argv[2], std::ios::binary);
      out.write(reinterpret_cast<const char*>(all.data.data()),
                static_cast<std::streamsize>(all.data.size()));
      if (!out) {
        std::cerr << "read_array: cannot write " << argv[2] << '\n';
        return 1;
      }
      std::cout << "wrote " << all.data.size() << " bytes to " << argv[2] << '\n';
    }
  } catch (const cuzarr::Error& e) {
    // Every cuzarr failure derives from cuzarr::Error; its message names the store and the key.
    std::cerr << "read_array: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
