// libFuzzer target for selections: the fuzzed input is selection text as `cuzarr read --select`
// takes it ("0:10, 5, ::2", "[3,1,2],:,-1"), parsed and read from a fixed 3-d array whose chunks
// are all present (raw, big endian), so parsing, normalisation, the chunk plan and the place step
// see every kind of index, including huge, negative and out-of-range ones.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/selection.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace cuzarr;

struct Target {
  std::shared_ptr<fuzz::MemoryStore> store = std::make_shared<fuzz::MemoryStore>();
  std::optional<Array> array;

  Target() {
    store->set("zarr.json", R"({"zarr_format": 3, "node_type": "array", "shape": [20, 30, 7],
        "data_type": "int16", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [8, 10, 3]}},
        "chunk_key_encoding": {"name": "default"}, "fill_value": -1,
        "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}]})");
    std::string chunk(8 * 10 * 3 * 2, '\0');
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i * 31 % 251);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        for (int k = 0; k < 3; ++k) {
          if ((i + j + k) % 4 == 3) continue;  // some chunks missing: fill values
          store->set("c/" + std::to_string(i) + "/" + std::to_string(j) + "/" + std::to_string(k), chunk);
        }
      }
    }
    auto context = std::make_shared<const detail::Context>(store, OpenOptions{});
    metadata::NodeMeta node = metadata::load_node(*store, "", fuzz::kMaxMetadata);
    array.emplace(fuzz::make_array(context, std::move(*node.array)));
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::use_one_thread();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Target target;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const Selection selection = parse_selection(text);
    if (fuzz::result_elements(*target.array, selection) <= (1 << 16)) target.array->read(selection);
  } catch (const Error& e) {
    fuzz::expected_error(e);
  }
  return 0;
}
