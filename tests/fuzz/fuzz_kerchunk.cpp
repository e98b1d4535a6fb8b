// libFuzzer target for kerchunk references: the JSON parser (versions 0 and 1, base64, templates,
// gen expanded within a small bound), then every key read through a ManifestStore whose targets
// resolve against a folder that does not exist (every reference then fails with a StoreError,
// never a crash). Input: the references document.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "cuzarr/error.hpp"
#include "cuzarr/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> json(reinterpret_cast<const std::byte*>(data), size);
  try {
    cuzarr::Manifest manifest = cuzarr::parse_kerchunk(json, "fuzz.json", /*max_entries=*/4096);
    if (manifest.size() > 4096 + size) __builtin_trap();  // gen's bound, plus one entry per input byte
    cuzarr::ManifestOptions options;
    options.base = "/nonexistent-cuzarr-fuzz";
    const auto store = cuzarr::make_manifest_store(std::move(manifest), options);
    (void)store->list_dir("");
    for (const auto& [key, entry] : store->manifest().entries()) {
      try {
        const std::optional<std::uint64_t> n = store->size(key);
        if (entry.is_inline && n != entry.bytes.size()) __builtin_trap();
        (void)store->get_range(key, 0, std::min<std::uint64_t>(n.value_or(0), 16));
      } catch (const cuzarr::Error&) {
        // A reference that cannot be read (its target is missing, or unsupported): named errors.
      }
    }
  } catch (const cuzarr::Error&) {
    // Malformed references: a MetadataError naming the reference.
  }
  return 0;
}
