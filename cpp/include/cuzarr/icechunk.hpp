// Icechunk repositories (spec version 1, what icechunk 1.x writes), read natively: the branch,
// tag or snapshot's snapshot file gives every group and array (their zarr.json as written) and
// the manifests of each array; the manifests give each chunk as inline bytes, a range of one of
// the repository's chunk files, or a range of a file elsewhere (a virtual chunk). cuzarr serves
// that as a ManifestStore, so chunk reads are fetched and merged as kerchunk references are.
//
//   auto store = cuzarr::open_icechunk("/data/repo", {.branch = "main"});
//   cuzarr::Node root = cuzarr::open(store);
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "cuzarr/manifest.hpp"
#include "cuzarr/store.hpp"

namespace cuzarr {

// Which snapshot to read: snapshot_id when set, else the tag when set, else the branch.
struct IcechunkOptions {
  std::string branch = "main";
  std::string tag{};
  std::string snapshot_id{};  // 20 characters of Crockford base32, as icechunk prints them
  // Settings of the repository's store (the location's cloud); virtual chunks' files are read
  // with the same ones.
  StoreOptions store{};
};

// The snapshot of the repository at `location` (a directory, or an s3://, gs://, az:// or
// http(s):// URL of one) as a read-only store. When `snapshot_id` is given it receives the id of
// the snapshot read (a branch's or tag's current one): open that same snapshot later with
// IcechunkOptions::snapshot_id, however the branch moves. Errors name the repository and what was
// missing or damaged: no such branch or tag (KeyNotFound), a deleted tag, an unknown snapshot id, a
// file that is not an Icechunk file of the expected kind or spec version, a damaged flatbuffer
// (MetadataError). UnsupportedError in a build without Icechunk support (CUZARR_ICECHUNK=OFF).
std::shared_ptr<const ManifestStore> open_icechunk(const std::string& location, const IcechunkOptions& options = {},
                                                   std::string* snapshot_id = nullptr);

// The same over a store of the caller's that serves the repository's files (refs/..., snapshots/...);
// `location` is where the repository's chunk files are read from (chunks/<id> below it) and its
// name in messages.
std::shared_ptr<const ManifestStore> open_icechunk(std::shared_ptr<const Store> files, const std::string& location,
                                                   const IcechunkOptions& options = {},
                                                   std::string* snapshot_id = nullptr);

// Whether `location` is a local directory holding an Icechunk repository (refs/ and snapshots/).
bool is_icechunk_directory(const std::string& location);

// Icechunk's object ids in file names: Crockford base32 (upper case, no padding) of their bytes.
std::string icechunk_id_text(std::span<const std::uint8_t> id);

}  // namespace cuzarr
