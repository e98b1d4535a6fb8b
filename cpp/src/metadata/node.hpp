// Finding and reading the metadata of arrays and groups in a store, with or without
// consolidated metadata (v2 ".zmetadata", v3 "consolidated_metadata" in the group's zarr.json).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cuzarr/store.hpp"
#include "metadata/array_meta.hpp"

namespace cuzarr::metadata {

// Unknown: a child whose metadata cannot be read far enough to tell (a zarr.json that is no JSON
// object or has no valid node_type, or a store error reading it); opening it gives the reason.
enum class NodeKind { Array, Group, Unknown };

struct NodeMeta {
  NodeKind kind = NodeKind::Group;
  int zarr_format = 3;
  std::string path;                // inside the store, "" for the root
  std::string display;             // for messages
  std::optional<ArrayMeta> array;  // set for arrays
  Json attributes = Json::object();
  Json consolidated_metadata;  // v3 groups: the "consolidated_metadata" member, if any
};

// The documents of a consolidated hierarchy, keyed by node path relative to `root`.
struct ConsolidatedIndex {
  int zarr_format = 3;
  std::string root;  // store path of the group that holds the consolidated metadata
  // v2: ".zarray"/".zgroup"/".zattrs" documents keyed "a/b/.zarray"; v3: zarr.json documents keyed "a/b".
  std::map<std::string, Json> docs;
};

// Display form of a node path: "<store>/<path>".
std::string display_path(const Store& store, const std::string& path);

// Reads the node at `path` from the store; KeyNotFound when there is none. Documents over
// `max_bytes` (Config::max_metadata_bytes) are a StoreError (Store::get_metadata).
NodeMeta load_node(const Store& store, const std::string& path, std::uint64_t max_bytes);
// The node at `path` from consolidated metadata; nullopt when the index does not hold it.
std::optional<NodeMeta> load_node(const ConsolidatedIndex& index, const Store& store,
                                  const std::string& path);
// The consolidated metadata of the group at `group`, nullopt when it has none.
std::shared_ptr<const ConsolidatedIndex> load_consolidated(const Store& store, const NodeMeta& group,
                                                           std::uint64_t max_bytes);

// Direct children (name, kind) of a group, sorted by name. One broken child does not stop the
// listing: it is listed (Unknown where its kind cannot be read) and fails when opened.
std::vector<std::pair<std::string, NodeKind>> list_children(const Store& store, const std::string& path,
                                                            std::uint64_t max_bytes);
std::vector<std::pair<std::string, NodeKind>> list_children(const ConsolidatedIndex& index,
                                                            const std::string& path);

}  // namespace cuzarr::metadata
