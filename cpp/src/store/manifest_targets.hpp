// Where a manifest's targets live: each target (a path, a file:// / http(s):// / s3:// URL, or a
// URL without its scheme and fsspec's remote_protocol) becomes a folder that one store serves and
// the target's key in that store. Pure string work except open_target_store.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "cuzarr/store.hpp"

namespace cuzarr::store {

struct ResolvedTarget {
  std::string base;   // the folder: a local directory, or an http(s):// or s3:// URL
  std::string key;    // the target's name in that folder's store
  bool remote = false;
  std::string error;  // non-empty: the target cannot be read, and why (an unsupported scheme)
};

// Resolves `target` against `base` (a directory or URL; empty: the working directory).
ResolvedTarget resolve_target(std::string_view target, std::string_view base, std::string_view remote_protocol);

// The store serving `target.base`; S3 options reach s3:// folders only. A missing local folder
// is a StoreError.
std::shared_ptr<const Store> open_target_store(const ResolvedTarget& target, const StoreOptions& options);

}  // namespace cuzarr::store
