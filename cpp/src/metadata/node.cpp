#include "metadata/node.hpp"

#include <algorithm>
#include <set>

#include "cuzarr/error.hpp"

namespace cuzarr::metadata {
namespace {

std::optional<Json> read_doc(const Store& store, const std::string& key, const std::string& where,
                             std::uint64_t max_bytes) {
  std::optional<Buffer> bytes = store.get_metadata(key, max_bytes);
  if (!bytes) return std::nullopt;
  return parse_json(bytes->span(), where);
}

NodeMeta v3_node(const Json& doc, const std::string& path, const std::string& display) {
  const std::string where = join_key(display, "zarr.json");
  require_object(doc, "the document", where);
  const Json& fmt = require_field(doc, "zarr_format", where);
  if (fmt != 3) {
    throw MetadataError("'" + where + "': unsupported zarr_format " + fmt.dump() + " (expected 3)");
  }
  const std::string type = require_string(doc, "node_type", where);
  NodeMeta node;
  node.zarr_format = 3;
  node.path = path;
  node.display = display;
  if (type == "array") {
    node.kind = NodeKind::Array;
    node.array = parse_v3_array(doc, path, display);
    node.attributes = node.array->attributes;
  } else if (type == "group") {
    node.kind = NodeKind::Group;
    if (auto it = doc.find("attributes"); it != doc.end()) {
      require_object(*it, "attributes", where);
      node.attributes = *it;
    }
    if (auto it = doc.find("consolidated_metadata"); it != doc.end()) {
      node.consolidated_metadata = *it;
    }
  } else {
    throw MetadataError("'" + where + "': node_type must be \"array\" or \"group\", got \"" + type + "\"");
  }
  return node;
}

NodeMeta v2_node(const Json* zarray, const Json* zgroup, const Json* zattrs, const std::string& path,
                 const std::string& display) {
  NodeMeta node;
  node.zarr_format = 2;
  node.path = path;
  node.display = display;
  if (zarray != nullptr && zgroup != nullptr) {
    throw MetadataError("'" + display + "' has both .zarray and .zgroup");
  }
  if (zarray != nullptr) {
    node.kind = NodeKind::Array;
    node.array = parse_v2_array(*zarray, zattrs, path, display);
    node.attributes = node.array->attributes;
    return node;
  }
  const std::string where = join_key(display, ".zgroup");
  require_object(*zgroup, "the document", where);
  const Json& fmt = require_field(*zgroup, "zarr_format", where);
  if (fmt != 2) {
    throw MetadataError("'" + where + "': unsupported zarr_format " + fmt.dump() + " (expected 2)");
  }
  node.kind = NodeKind::Group;
  if (zattrs != nullptr) {
    require_object(*zattrs, "the document", join_key(display, ".zattrs"));
    node.attributes = *zattrs;
  }
  return node;
}

// A key listed in consolidated metadata ("../x", "/abs") is bad metadata: name the document.
void validate_listed_key(const std::string& key, const std::string& where) {
  try {
    validate_key(key);
  } catch (const StoreError& e) {
    throw MetadataError("'" + where + "': consolidated metadata lists an " + e.what());
  }
}

// Path of `path` relative to `root`, or nullopt when it is not inside it.
std::optional<std::string> relative_to(const std::string& root, const std::string& path) {
  if (root.empty()) return path;
  if (path == root) return std::string();
  if (path.size() > root.size() && path.starts_with(root) && path[root.size()] == '/') {
    return path.substr(root.size() + 1);
  }
  return std::nullopt;
}

// The node_type of a v3 child, read without checking the rest of its document (an array with an
// unknown data type is still an array), as v2 children are told by their .zarray / .zgroup.
NodeKind v3_kind(const Store& store, const std::string& path, std::uint64_t max_bytes) {
  try {
    const std::string key = join_key(path, "zarr.json");
    const std::optional<Json> doc = read_doc(store, key, join_key(display_path(store, path), "zarr.json"), max_bytes);
    if (doc && doc->is_object()) {
      const auto it = doc->find("node_type");
      if (it != doc->end() && *it == "array") return NodeKind::Array;
      if (it != doc->end() && *it == "group") return NodeKind::Group;
    }
  } catch (const Error&) {
    // Unreadable (bad JSON, a store error): Unknown, and opening the child says why.
  }
  return NodeKind::Unknown;
}

}  // namespace

std::string display_path(const Store& store, const std::string& path) {
  return path.empty() ? store.describe() : store.describe() + "/" + path;
}

NodeMeta load_node(const Store& store, const std::string& path, std::uint64_t max_bytes) {
  const std::string display = display_path(store, path);
  if (auto doc = read_doc(store, join_key(path, "zarr.json"), join_key(display, "zarr.json"), max_bytes)) {
    return v3_node(*doc, path, display);
  }
  auto zarray = read_doc(store, join_key(path, ".zarray"), join_key(display, ".zarray"), max_bytes);
  auto zgroup = zarray ? std::nullopt
                       : read_doc(store, join_key(path, ".zgroup"), join_key(display, ".zgroup"), max_bytes);
  if (!zarray && !zgroup) {
    throw KeyNotFound("no Zarr array or group at '" + display +
                      "' (no zarr.json, .zarray or .zgroup)");
  }
  auto zattrs = read_doc(store, join_key(path, ".zattrs"), join_key(display, ".zattrs"), max_bytes);
  return v2_node(zarray ? &*zarray : nullptr, zgroup ? &*zgroup : nullptr, zattrs ? &*zattrs : nullptr,
                 path, display);
}

std::optional<NodeMeta> load_node(const ConsolidatedIndex& index, const Store& store,
                                  const std::string& path) {
  auto rel = relative_to(index.root, path);
  if (!rel) return std::nullopt;
  const std::string display = display_path(store, path);
  auto find = [&](const std::string& key) -> const Json* {
    auto it = index.docs.find(key);
    return it == index.docs.end() ? nullptr : &it->second;
  };
  if (index.zarr_format == 3) {
    const Json* doc = find(*rel);
    if (doc == nullptr) return std::nullopt;
    return v3_node(*doc, path, display);
  }
  const Json* zarray = find(join_key(*rel, ".zarray"));
  const Json* zgroup = find(join_key(*rel, ".zgroup"));
  if (zarray == nullptr && zgroup == nullptr) return std::nullopt;
  return v2_node(zarray, zgroup, find(join_key(*rel, ".zattrs")), path, display);
}

std::shared_ptr<const ConsolidatedIndex> load_consolidated(const Store& store, const NodeMeta& group,
                                                           std::uint64_t max_bytes) {
  auto index = std::make_shared<ConsolidatedIndex>();
  index->root = group.path;
  index->zarr_format = group.zarr_format;
  if (group.zarr_format == 3) {
    const Json& cm = group.consolidated_metadata;
    if (cm.is_null()) return nullptr;
    const std::string where = join_key(group.display, "zarr.json") + "' consolidated_metadata '";
    require_object(cm, "consolidated_metadata", join_key(group.display, "zarr.json"));
    const Json& docs = require_field(cm, "metadata", join_key(group.display, "zarr.json"));
    require_object(docs, "consolidated_metadata.metadata", join_key(group.display, "zarr.json"));
    for (const auto& [key, doc] : docs.items()) {
      validate_listed_key(key, join_key(group.display, "zarr.json"));
      index->docs.emplace(key, doc);
    }
    index->docs.emplace("", Json{{"zarr_format", 3}, {"node_type", "group"},
                                 {"attributes", group.attributes}});
    return index;
  }
  const std::string key = join_key(group.path, ".zmetadata");
  const std::string where = join_key(group.display, ".zmetadata");
  auto doc = read_doc(store, key, where, max_bytes);
  if (!doc) return nullptr;
  require_object(*doc, "the document", where);
  const Json& fmt = require_field(*doc, "zarr_consolidated_format", where);
  if (fmt != 1) {
    throw UnsupportedError("'" + where + "': zarr_consolidated_format " + fmt.dump() + " is not supported");
  }
  const Json& docs = require_field(*doc, "metadata", where);
  require_object(docs, "'metadata'", where);
  for (const auto& [k, v] : docs.items()) {
    validate_listed_key(k, where);
    index->docs.emplace(k, v);
  }
  return index;
}

std::vector<std::pair<std::string, NodeKind>> list_children(const Store& store, const std::string& path,
                                                            std::uint64_t max_bytes) {
  std::vector<std::pair<std::string, NodeKind>> out;
  for (const std::string& name : store.list_dir(path)) {
    if (name.starts_with(".") || name == "zarr.json") continue;
    const std::string child = join_key(path, name);
    // A directory entry that cannot be a key (a backslash in its name) is no member: skip it rather
    // than fail the listing of every other member on it.
    try {
      validate_key(child);
    } catch (const StoreError&) {
      continue;
    }
    if (store.exists(join_key(child, "zarr.json"))) {
      out.emplace_back(name, v3_kind(store, child, max_bytes));
    } else if (store.exists(join_key(child, ".zarray"))) {
      out.emplace_back(name, NodeKind::Array);
    } else if (store.exists(join_key(child, ".zgroup"))) {
      out.emplace_back(name, NodeKind::Group);
    }
  }
  return out;
}

std::vector<std::pair<std::string, NodeKind>> list_children(const ConsolidatedIndex& index,
                                                            const std::string& path) {
  std::vector<std::pair<std::string, NodeKind>> out;
  auto rel = relative_to(index.root, path);
  if (!rel) return out;
  const std::string prefix = rel->empty() ? "" : *rel + "/";
  std::set<std::string> seen;
  for (const auto& [key, doc] : index.docs) {
    if (!key.starts_with(prefix) || key.size() == prefix.size()) continue;
    const std::string rest = key.substr(prefix.size());
    std::string name;
    NodeKind kind;
    if (index.zarr_format == 3) {
      if (rest.find('/') != std::string::npos) continue;
      name = rest;
      // Not doc.value("node_type", ""): it throws the JSON library's type_error for a non-string.
      kind = doc.is_object() && doc.contains("node_type") && doc["node_type"] == "array" ? NodeKind::Array
                                                                                        : NodeKind::Group;
    } else {
      auto slash = rest.find('/');
      if (slash == std::string::npos) continue;
      const std::string leaf = rest.substr(slash + 1);
      if (leaf != ".zarray" && leaf != ".zgroup") continue;
      name = rest.substr(0, slash);
      kind = leaf == ".zarray" ? NodeKind::Array : NodeKind::Group;
    }
    if (seen.insert(name).second) out.emplace_back(name, kind);
  }
  // Key order is not name order ("t-max/.zarray" sorts before "t/.zarray").
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cuzarr::metadata
