// libFuzzer target for the Icechunk reader (cuzarr/icechunk.hpp): a repository in memory whose
// snapshot and manifest files come from the input, opened at its main branch, then every inline
// key read. Native and virtual chunks are resolved but never read (their targets lie in a folder
// that does not exist, or are URLs: no request, no file of the machine). Input: the snapshot id
// (20 characters), a 4-byte little-endian length, the snapshot file, then any number of
// [manifest id (20 characters), 4-byte length, manifest file]. Seeds (tests/fuzz/make_seeds.py)
// are the files of repositories icechunk writes, their bodies stored uncompressed so that
// mutations reach the flatbuffers rather than zstd.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cuzarr/error.hpp"
#include "cuzarr/icechunk.hpp"
#include "fuzz_support.hpp"

namespace {

// The next [id, length, bytes] record of `in`, or false at its end.
bool next_file(std::string_view& in, std::string& id, std::string_view& bytes) {
  if (in.size() < 24) return false;
  id.assign(in.substr(0, 20));
  const auto* p = reinterpret_cast<const unsigned char*>(in.data() + 20);
  const std::size_t length = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::size_t>(p[3]) << 24);
  in.remove_prefix(24);
  bytes = in.substr(0, std::min(length, in.size()));
  in.remove_prefix(bytes.size());
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto files = std::make_shared<cuzarr::fuzz::MemoryStore>();
  std::string id;
  std::string_view bytes;
  if (!next_file(in, id, bytes)) return 0;
  files->set("refs/branch.main/ref.json", "{\"snapshot\": \"" + id + "\"}");
  files->set("snapshots/" + id, bytes);
  while (next_file(in, id, bytes)) files->set("manifests/" + id, bytes);
  try {
    const auto store = cuzarr::open_icechunk(files, "/nonexistent-cuzarr-fuzz/repo");
    for (const auto& [key, entry] : store->manifest().entries()) {
      if (!entry.is_inline) continue;
      const std::optional<std::uint64_t> n = store->size(key);
      if (n != entry.bytes.size()) __builtin_trap();
      (void)store->get(key);
    }
    (void)store->list_dir("");
  } catch (const cuzarr::Error&) {
    // Damaged files, unknown ids, malformed refs: named errors, never a crash.
  }
  return 0;
}
