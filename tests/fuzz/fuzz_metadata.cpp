// libFuzzer target for Zarr metadata: a fuzzed document is loaded the way cuzarr::open loads a
// node (JSON parsing, field types, data types, fill values, codec chains), a group's consolidated
// metadata is followed to every node it lists, and each array found is read in small selections.
//
// Built twice (tests/fuzz/CMakeLists.txt):
//   fuzz_v3_metadata  input: <zarr.json> [NUL <chunk bytes>]
//   fuzz_v2_metadata  input: <.zarray> [NUL <.zattrs>] [NUL <chunk bytes>]   when the first
//                     document mentions "shape"; otherwise <.zgroup> [NUL <.zmetadata>]
// The optional chunk bytes become the first chunk of every array found (when a chunk is at most
// 1 MiB), so that metadata and data are fuzzed together (filters, dtypes, sharding layouts).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

#ifndef CUZARR_FUZZ_FORMAT
#error "define CUZARR_FUZZ_FORMAT as 2 or 3"
#endif

namespace {

using namespace cuzarr;

std::vector<std::string_view> split_nul(std::string_view input, std::size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const std::size_t nul = input.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(input.substr(0, nul));
    input.remove_prefix(nul + 1);
  }
  parts.push_back(input);
  return parts;
}

struct Session {
  std::shared_ptr<fuzz::MemoryStore> store = std::make_shared<fuzz::MemoryStore>();
  std::shared_ptr<const detail::Context> context =
      std::make_shared<const detail::Context>(store, OpenOptions{});
  std::optional<std::string_view> chunk;
  int arrays = 0;

  void visit_array(const metadata::NodeMeta& node) {
    if (++arrays > 16) return;
    const metadata::ArrayMeta& meta = *node.array;
    if (chunk) {
      std::int64_t bytes = meta.dtype.size;
      for (std::int64_t c : meta.chunk_shape) bytes = c > (1 << 20) / bytes ? (1 << 21) : bytes * c;
      if (bytes <= (1 << 20)) {
        const std::vector<std::int64_t> first(meta.rank(), 0);
        store->set(join_key(meta.path, meta.chunk_key(first)), *chunk);
      }
    }
    Array a = fuzz::make_array(context, meta);
    a.codec_chain();
    a.attributes_json();
    a.fill_value_json();
    a.codecs_json();
    fuzz::read_small_selections(a);
  }

  // Every node of a consolidated hierarchy, depth first.
  void walk(const metadata::ConsolidatedIndex& index, const std::string& path, int depth) {
    if (depth > 8) return;
    for (const auto& [name, kind] : metadata::list_children(index, path)) {
      const std::string child = join_key(path, name);
      try {
        std::optional<metadata::NodeMeta> node = metadata::load_node(index, *store, child);
        if (!node) continue;
        if (node->kind == metadata::NodeKind::Array) {
          visit_array(*node);
        } else {
          walk(index, child, depth + 1);
        }
      } catch (const Error& e) {
        fuzz::expected_error(e);
      }
    }
  }

  void open_root() {
    metadata::NodeMeta root = metadata::load_node(*store, "", fuzz::kMaxMetadata);
    if (root.kind == metadata::NodeKind::Array) {
      visit_array(root);
      return;
    }
    (void)root.attributes.dump();
    if (auto index = metadata::load_consolidated(*store, root, fuzz::kMaxMetadata)) walk(*index, "", 0);
    for (const auto& child : metadata::list_children(*store, "", fuzz::kMaxMetadata)) (void)child;
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::use_one_thread();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Session s;
#if CUZARR_FUZZ_FORMAT == 3
  const auto parts = split_nul(input, 2);
  s.store->set("zarr.json", parts[0]);
  if (parts.size() > 1) s.chunk = parts[1];
#else
  const auto parts = split_nul(input, 3);
  const bool array = parts[0].find("\"shape\"") != std::string_view::npos;
  s.store->set(array ? ".zarray" : ".zgroup", parts[0]);
  if (parts.size() > 1) s.store->set(array ? ".zattrs" : ".zmetadata", parts[1]);
  if (parts.size() > 2) s.chunk = parts[2];
#endif
  try {
    s.open_root();
  } catch (const Error& e) {
    fuzz::expected_error(e);
  }
  return 0;
}
