// libFuzzer target for kerchunk references: the JSON parser (versions 0 and 1, base64, templates,
// gen expanded within a small bound), the resolution of every target, then every inline key and
// every key whose target lies in the folder that relative targets resolve against, which does not
// exist (such a reference fails with a StoreError, never a crash). Other targets (URLs, absolute
// paths) are resolved but never read: a fuzzer sends no request and reads no file of the machine.
// Input: the references document.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "cuzarr/error.hpp"
#include "cuzarr/manifest.hpp"
#include "store/manifest_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> json(reinterpret_cast<const std::byte*>(data), size);
  try {
    cuzarr::Manifest manifest = cuzarr::parse_kerchunk(json, "fuzz.json", /*max_entries=*/4096);
    if (manifest.size() > 4096 + size) __builtin_trap();  // gen's bound, plus one entry per input byte
    cuzarr::ManifestOptions options;
    options.base = "/nonexistent-cuzarr-fuzz";
    const auto store = cuzarr::make_manifest_store(std::move(manifest), options);
    (void)store->list_dir("");
    const cuzarr::Manifest& m = store->manifest();
    for (const auto& [key, entry] : m.entries()) {
      if (!entry.is_inline) {
        const auto target = cuzarr::store::resolve_target(m.targets()[entry.target], options.base, "");
        // Only what lies in the missing folder: no request, no file of this machine read.
        if (target.remote || !target.error.empty() || !target.base.starts_with(options.base)) continue;
      }
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
