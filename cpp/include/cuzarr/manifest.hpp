// Virtual Zarr hierarchies: a manifest maps each key to inline bytes or to a byte range of another
// file or object (kerchunk references, VirtualiZarr manifests), so a NetCDF4/HDF5 archive reads as
// Zarr without copying. ManifestStore serves a manifest as a Store; its references are read
// through the stores cuzarr already has (files, HTTP(S), S3), one store per directory of targets.
//
//   cuzarr::Manifest m;
//   m.add_inline(".zgroup", R"({"zarr_format": 2})");
//   m.add_inline("t/.zarray", zarray_json);
//   m.add_reference("t/0.0", {"/data/file.nc", 4096, 1000});
//   cuzarr::Node root = cuzarr::open(cuzarr::make_manifest_store(std::move(m)));
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/store.hpp"

namespace cuzarr {

// Where a value lies: `length` bytes at `offset` of `target`, or the whole target when `length`
// is unset. `target` is an absolute or relative path, a file://, http(s):// or s3:// URL, or
// (with ManifestOptions::remote_protocol) a URL without its scheme.
struct ChunkReference {
  std::string target;
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
  // What the target was when the reference was written (Icechunk's checksum of a virtual chunk):
  // its ETag, or its last modification in seconds since the epoch. A target that has changed
  // since is an error at read, never its new bytes (docs/references.md).
  std::string etag;
  std::optional<std::uint32_t> last_modified;
};

// Keys (validated as store keys) to inline bytes or references. Adding a key again replaces it.
class Manifest {
 public:
  void add_inline(std::string key, std::string bytes);
  void add_reference(std::string key, ChunkReference reference);
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  // One entry, as stored: inline bytes in `bytes`, or a reference to targets()[target].
  struct Entry {
    bool is_inline = false;
    std::string bytes;
    std::uint32_t target = 0;
    std::uint64_t offset = 0;
    std::optional<std::uint64_t> length;
    std::uint32_t check = 0;  // checks()[check]: what the target must still be; 0: nothing
  };
  // The distinct checks references carry (ChunkReference::etag, last_modified); [0] is "none".
  struct Check {
    std::string etag;
    std::optional<std::uint32_t> last_modified;
    auto operator<=>(const Check&) const = default;
  };
  const std::vector<Check>& checks() const { return checks_; }
  const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }
  // The distinct targets, in the order first referenced (references share one copy of each).
  const std::vector<std::string>& targets() const { return targets_; }

 private:
  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<std::string> targets_;
  std::map<std::string, std::uint32_t, std::less<>> target_index_;
  std::vector<Check> checks_{Check{}};
  std::map<Check, std::uint32_t> check_index_;
};

struct ManifestOptions {
  // What relative targets are resolved against: a directory or an http(s)/s3 URL (the folder of
  // the references file). Empty: the working directory.
  std::string base;
  // fsspec's remote_protocol: the scheme of targets written without one ("s3", "http", "https",
  // "file"); empty: such targets are paths.
  std::string remote_protocol;
  // Settings of the target stores (fsspec's remote_options): S3 options go to s3:// targets only.
  StoreOptions target_options;
  // The manifest's name in messages (the references file).
  std::string name = "<references>";
};

// A read-only store over a manifest. A key the manifest lacks is a missing key (a missing chunk
// reads as the fill value). A reference whose target is missing or shorter than the reference
// says is a StoreError naming the reference's key, its target and the range, never zeros.
class ManifestStore final : public Store {
 public:
  ManifestStore(Manifest manifest, ManifestOptions options);
  ~ManifestStore() override;
  ManifestStore(const ManifestStore&) = delete;
  ManifestStore& operator=(const ManifestStore&) = delete;

  std::optional<Buffer> get(std::string_view key) const override;
  std::optional<Buffer> get_metadata(std::string_view key, std::uint64_t max_bytes) const override;
  std::optional<Buffer> get_range(std::string_view key, std::uint64_t offset,
                                  std::uint64_t length) const override;
  bool read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const override;
  std::optional<Buffer> get_suffix(std::string_view key, std::uint64_t length) const override;
  std::optional<std::uint64_t> size(std::string_view key) const override;
  bool exists(std::string_view key) const override;
  std::vector<std::string> list_dir(std::string_view prefix) const override;
  std::string describe() const override;
  std::size_t preferred_concurrency() const override;
  ReadPattern read_pattern() const override;
  std::optional<StoreLocation> locate(std::string_view key) const override;
  bool refers_to_others() const override { return true; }

  const Manifest& manifest() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

std::shared_ptr<const ManifestStore> make_manifest_store(Manifest manifest, ManifestOptions options = {});

// kerchunk references (JSON, versions 0 and 1: inline text, "base64:" data, [url], [url, offset,
// length], templates, gen) as a manifest. Malformed references are a MetadataError naming
// `name` and the reference's key. `max_entries` bounds what `gen` may expand to.
Manifest parse_kerchunk(std::span<const std::byte> json, const std::string& name,
                        std::size_t max_entries = std::size_t{1} << 27);

// Whether `location` names a kerchunk references file: a path or URL ending in ".json".
bool is_references_location(std::string_view location);

// The store of the references file at `location` (a path, or an http(s) or s3 URL, read with
// `file_options`); relative targets resolve against its folder unless options.base is set.
std::shared_ptr<const ManifestStore> open_kerchunk(const std::string& location, ManifestOptions options = {},
                                                   const StoreOptions& file_options = {});

}  // namespace cuzarr
