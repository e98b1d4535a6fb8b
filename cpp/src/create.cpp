// create_array and create_group: a definition checked against the same parsers and codec chain a
// read uses, then its metadata documents written (parents first), consolidated metadata above it
// updated, and the node opened for writing.
#include <filesystem>
#include <string>
#include <system_error>

#include "codec/codec_chain.hpp"
#include "codec/registry.hpp"
#include "cuzarr/array.hpp"
#include "cuzarr/error.hpp"
#include "metadata/array_meta.hpp"
#include "metadata/node.hpp"
#include "metadata/node_docs.hpp"

namespace cuzarr {
namespace {

using metadata::Json;
using metadata::NodeDocs;

// The largest metadata document a create reads back (consolidated metadata of a big hierarchy).
constexpr std::uint64_t kMaxDoc = std::uint64_t{1} << 30;

std::shared_ptr<const FileStore> make_store(const std::filesystem::path& root) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) throw StoreError("cannot create the store directory '" + root.string() + "': " + ec.message());
  return std::make_shared<const FileStore>(root);
}

bool has_node(const Store& store, const std::string& path) {
  for (const char* doc : {"zarr.json", ".zarray", ".zgroup"}) {
    if (store.exists(join_key(path, doc))) return true;
  }
  return false;
}

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string text_of(const Json& doc) { return doc.dump(4) + "\n"; }

void write_doc(const Store& store, const std::string& key, const Json& doc) {
  const std::string text = text_of(doc);
  store.write(key, std::as_bytes(std::span(text.data(), text.size())));
}

// Lists a new node in the consolidated metadata of every group above it that has some.
void update_consolidated(const Store& store, const std::string& path, int zarr_format, const NodeDocs& docs) {
  std::string group = path;
  while (!group.empty()) {
    group = parent_of(group);
    const std::string relative = group.empty() ? path : path.substr(group.size() + 1);
    const std::string key = join_key(group, zarr_format == 2 ? ".zmetadata" : "zarr.json");
    const std::optional<Buffer> bytes = store.get_metadata(key, kMaxDoc);
    if (!bytes) continue;
    Json doc = metadata::parse_json(bytes->span(), key);
    if (metadata::add_consolidated(doc, zarr_format, relative, docs)) write_doc(store, key, doc);
  }
}

// Writes a node's documents after those of any missing parent group (which are listed in the
// consolidated metadata above them as they are made).
void write_node(const Store& store, const std::string& path, int zarr_format, const NodeDocs& docs,
                const std::string& display) {
  if (has_node(store, path)) {
    throw StoreError("cannot create '" + display + "': an array or group is already there");
  }
  std::vector<std::string> missing;
  for (std::string p = path; !p.empty();) {
    p = parent_of(p);
    if (has_node(store, p)) {
      if (metadata::load_node(store, p, kMaxDoc).kind == metadata::NodeKind::Array) {
        throw StoreError("cannot create '" + display + "': '" + metadata::display_path(store, p) + "' above it is an array");
      }
      break;
    }
    missing.push_back(p);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    const NodeDocs group = metadata::group_docs(zarr_format, Json::object());
    for (const auto& [name, doc] : group) write_doc(store, join_key(*it, name), doc);
    if (!it->empty()) update_consolidated(store, *it, zarr_format, group);
  }
  for (const auto& [name, doc] : docs) write_doc(store, join_key(path, name), doc);
  if (!path.empty()) update_consolidated(store, path, zarr_format, docs);
}

Node open_written(std::shared_ptr<const Store> store, const std::string& path, OpenOptions options) {
  options.mode = Mode::ReadWrite;
  options.consolidated = Consolidated::Ignore;  // the node's own document, just written
  Node root = open(std::move(store), options);
  if (path.empty()) return root;
  return std::get<Group>(root).open(path);
}

std::string display_of(const std::filesystem::path& root, const std::string& name) {
  return join_key(root.string(), name);
}

}  // namespace

Array create_array(const std::filesystem::path& root, const ArrayDefinition& definition, const OpenOptions& options) {
  if (!definition.name.empty()) validate_key(definition.name);
  const std::string display = display_of(root, definition.name);
  // Checked as a reader will see it, before anything is written.
  const NodeDocs docs = metadata::array_docs(definition, display);
  const metadata::ArrayMeta meta =
      definition.zarr_format == 2
          ? metadata::parse_v2_array(docs.at(".zarray"), docs.contains(".zattrs") ? &docs.at(".zattrs") : nullptr,
                                     definition.name, display)
          : metadata::parse_v3_array(docs.at("zarr.json"), definition.name, display);
  const codec::CodecChain chain = codec::CodecChain::prepare(
      meta.zarr_format == 2 ? codec::order_v2_codecs(meta.codecs) : meta.codecs, codec::ChunkSpec{meta.chunk_shape, meta.dtype},
      meta.fill_value, display);
  chain.check_encodable(display);
  if (meta.dtype.is_vlen()) throw UnsupportedError("array '" + display + "': writing " + meta.dtype.name() + " items is not supported");
  const auto store = make_store(root);
  write_node(*store, definition.name, definition.zarr_format, docs, display);
  return std::get<Array>(open_written(store, definition.name, options));
}

Group create_group(const std::filesystem::path& root, const GroupDefinition& definition, const OpenOptions& options) {
  if (!definition.name.empty()) validate_key(definition.name);
  const std::string display = display_of(root, definition.name);
  if (definition.zarr_format != 2 && definition.zarr_format != 3) {
    throw MetadataError("'" + display + "': zarr_format must be 2 or 3");
  }
  const Json attributes = Json::parse(definition.attributes, nullptr, false);
  if (!attributes.is_object()) throw MetadataError("'" + display + "': attributes must be a JSON object");
  const auto store = make_store(root);
  write_node(*store, definition.name, definition.zarr_format, metadata::group_docs(definition.zarr_format, attributes), display);
  return std::get<Group>(open_written(store, definition.name, options));
}

}  // namespace cuzarr
