// Icechunk repositories, spec version 1 (cuzarr/icechunk.hpp). The layout read here:
//   refs/branch.<name>/ref.json, refs/tag.<name>/ref.json   {"snapshot": "<id>"}
//   refs/tag.<name>/ref.json.deleted                        a deleted tag's tombstone
//   snapshots/<id>, manifests/<id>                          header + (zstd) flatbuffer
//   chunks/<id>                                             chunk bytes (one or several chunks)
// A binary file starts with a 39-byte header: the magic "ICE🧊CHUNK" (12 bytes), the writer's
// name (24), the spec version (1), the file type (1: snapshot, 2: manifest) and the compression
// of what follows (0: none, 1: zstd).
#include "cuzarr/icechunk.hpp"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cuzarr/error.hpp"

#if CUZARR_WITH_ICECHUNK
#include "icechunk_v1_generated.h"
#endif

namespace cuzarr {

namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

}  // namespace

std::string icechunk_id_text(std::span<const std::uint8_t> id) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : id) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += kCrockford[(buffer >> (bits - 5)) & 31u];
      bits -= 5;
    }
  }
  if (bits > 0) out += kCrockford[(buffer << (5 - bits)) & 31u];
  return out;
}

bool is_icechunk_directory(const std::string& location) {
  std::error_code ec;
  const std::filesystem::path root(location);
  return std::filesystem::is_directory(root / "refs", ec) && std::filesystem::is_directory(root / "snapshots", ec);
}

#if !CUZARR_WITH_ICECHUNK

std::shared_ptr<const ManifestStore> open_icechunk(std::shared_ptr<const Store>, const std::string& location,
                                                   const IcechunkOptions& options, std::string* snapshot_id) {
  return open_icechunk(location, options, snapshot_id);
}

std::shared_ptr<const ManifestStore> open_icechunk(const std::string& location, const IcechunkOptions&, std::string*) {
  throw UnsupportedError("cannot open the Icechunk repository '" + location +
                         "': this build of cuzarr has no Icechunk support (CUZARR_ICECHUNK=OFF, or flatc and "
                         "flatbuffers' headers were not found)");
}

#else

namespace {

namespace fb = icechunk::fb;

constexpr std::size_t kHeaderSize = 39;
constexpr char kMagic[] = "ICE\xF0\x9F\xA7\x8A" "CHUNK";  // "ICE🧊CHUNK", 12 bytes
constexpr std::uint8_t kSnapshotFile = 1, kManifestFile = 2;
// What a snapshot or manifest may decompress to.
constexpr std::uint64_t kMaxDecoded = std::uint64_t{4} << 30;

class Repository {
 public:
  Repository(std::shared_ptr<const Store> files, std::string location)
      : location_(std::move(location)), store_(std::move(files)) {}

  const std::string& location() const { return location_; }

  // The JSON value of a ref file; nullopt when it does not exist.
  std::optional<std::string> snapshot_of_ref(const std::string& key) const {
    const std::optional<Buffer> bytes = store_->get(key);
    if (!bytes) return std::nullopt;
    const nlohmann::json doc = nlohmann::json::parse(bytes->data(), bytes->data() + bytes->size(), nullptr, false);
    if (!doc.is_object() || !doc.contains("snapshot") || !doc["snapshot"].is_string()) {
      throw MetadataError(name() + ": " + key + " is not an Icechunk ref ({\"snapshot\": \"<id>\"})");
    }
    return doc["snapshot"].get<std::string>();
  }

  bool exists(const std::string& key) const { return store_->exists(key); }

  // The flatbuffer of snapshots/<id> or manifests/<id>: header checked, decompressed, verified.
  std::vector<std::uint8_t> read_file(const std::string& key, std::uint8_t type) const {
    const std::optional<Buffer> bytes = store_->get(key);
    if (!bytes) {
      throw KeyNotFound(name() + ": " + key + " does not exist" +
                        (type == kSnapshotFile ? " (no such snapshot)" : " (a manifest the snapshot needs)"));
    }
    const auto* p = reinterpret_cast<const std::uint8_t*>(bytes->data());
    if (bytes->size() < kHeaderSize || std::memcmp(p, kMagic, 12) != 0) {
      throw MetadataError(name() + ": " + key + " is not an Icechunk file (no 'ICE\xF0\x9F\xA7\x8A" "CHUNK' header)");
    }
    if (p[36] != 1) {
      throw UnsupportedError(name() + ": " + key + " is in Icechunk spec version " + std::to_string(p[36]) +
                             "; cuzarr reads version 1 (icechunk 1.x)");
    }
    if (p[37] != type) {
      throw MetadataError(name() + ": " + key + " is an Icechunk file of type " + std::to_string(p[37]) + ", not a " +
                          (type == kSnapshotFile ? "snapshot (1)" : "manifest (2)"));
    }
    const std::uint8_t* body = p + kHeaderSize;
    const std::size_t body_size = bytes->size() - kHeaderSize;
    std::vector<std::uint8_t> out;
    if (p[38] == 0) {
      out.assign(body, body + body_size);
    } else if (p[38] == 1) {
      out = decompress(body, body_size, key);
    } else {
      throw MetadataError(name() + ": " + key + " has an unknown compression code " + std::to_string(p[38]));
    }
    return out;
  }

  std::string name() const { return "Icechunk repository '" + location_ + "'"; }

 private:
  std::vector<std::uint8_t> decompress(const std::uint8_t* in, std::size_t size, const std::string& key) const {
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
    if (!ctx) throw std::bad_alloc();
    // At most 4 GiB, and at most 1000 times the compressed size (64 MiB for small files): a
    // snapshot or manifest is ids and offsets, which never shrink that far; a damaged or
    // malicious file cannot make a read allocate more. The declared size is only a hint.
    const std::uint64_t limit = std::min<std::uint64_t>(kMaxDecoded, std::max<std::uint64_t>(std::uint64_t{64} << 20, size * 1000ull));
    std::vector<std::uint8_t> out;
    const unsigned long long declared = ZSTD_getFrameContentSize(in, size);
    out.reserve(static_cast<std::size_t>(declared <= limit ? declared : std::min<std::uint64_t>(limit, std::uint64_t{1} << 20)));
    ZSTD_inBuffer input{in, size, 0};
    std::vector<std::uint8_t> block(ZSTD_DStreamOutSize());
    std::size_t last = 1;
    while (input.pos < input.size || last != 0) {
      ZSTD_outBuffer output{block.data(), block.size(), 0};
      last = ZSTD_decompressStream(ctx.get(), &output, &input);
      if (ZSTD_isError(last)) {
        throw MetadataError(name() + ": " + key + ": its zstd data is damaged (" + ZSTD_getErrorName(last) + ")");
      }
      out.insert(out.end(), block.data(), block.data() + output.pos);
      if (out.size() > limit) {
        throw MetadataError(name() + ": " + key + " decompresses to more than " + std::to_string(limit) +
                            " bytes (from " + std::to_string(size) + "): damaged");
      }
      if (input.pos == input.size && output.pos == 0 && last != 0) {
        throw MetadataError(name() + ": " + key + ": its zstd data is cut short");
      }
    }
    return out;
  }

  std::string location_;
  std::shared_ptr<const Store> store_;
};

template <class Root>
const Root* verified_root(const std::vector<std::uint8_t>& buffer, const std::string& what) {
  flatbuffers::Verifier verifier(buffer.data(), buffer.size(), 64, 1u << 31);
  if (!verifier.VerifyBuffer<Root>(nullptr)) throw MetadataError(what + " is damaged (its flatbuffer does not verify)");
  return flatbuffers::GetRoot<Root>(buffer.data());
}

std::string id_text(const fb::Id12* id) { return icechunk_id_text({id->bytes()->data(), 12}); }
std::string id_text(const fb::Id8* id) { return icechunk_id_text({id->bytes()->data(), 8}); }

bool valid_id_text(const std::string& s) {
  if (s.size() != 20) return false;
  for (char c : s) {
    if (std::strchr(kCrockford, c) == nullptr || c == '\0') return false;
  }
  return true;
}

bool valid_ref_name(const std::string& s) { return !s.empty() && s.find('/') == std::string::npos && s != "." && s != ".."; }

// An array's chunk key: icechunk stores Zarr v3's default encoding only ("c/1/2"; "c" for 0-d).
std::string chunk_key(const std::string& prefix, const flatbuffers::Vector<std::uint32_t>& index) {
  std::string key = prefix.empty() ? "c" : prefix + "/c";
  for (std::uint32_t i = 0; i < index.size(); ++i) key += "/" + std::to_string(index.Get(i));
  return key;
}

struct ArrayNode {
  std::string prefix;  // its path without the leading '/'
  std::size_t rank = 0;
};

}  // namespace

namespace {

std::string repository_root(const std::string& location) {
  std::string root = location;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.find("://") == std::string::npos) root = std::filesystem::absolute(root).lexically_normal().string();
  return root;
}

// The snapshot id `options` names, and how it was chosen ("branch main", "tag v1", "snapshot").
std::pair<std::string, std::string> resolve_snapshot(const Repository& repo, const IcechunkOptions& options) {
  if (!options.snapshot_id.empty()) {
    if (!valid_id_text(options.snapshot_id)) {
      throw MetadataError(repo.name() + ": '" + options.snapshot_id +
                          "' is not a snapshot id (20 characters of Crockford base32)");
    }
    return {options.snapshot_id, "snapshot"};
  }
  std::string key, chosen;
  if (!options.tag.empty()) {
    if (!valid_ref_name(options.tag)) throw MetadataError(repo.name() + ": '" + options.tag + "' is not a tag name");
    key = "refs/tag." + options.tag + "/ref.json";
    chosen = "tag '" + options.tag + "'";
    if (repo.exists(key + ".deleted")) throw KeyNotFound(repo.name() + ": tag '" + options.tag + "' was deleted");
  } else {
    if (!valid_ref_name(options.branch)) throw MetadataError(repo.name() + ": '" + options.branch + "' is not a branch name");
    key = "refs/branch." + options.branch + "/ref.json";
    chosen = "branch '" + options.branch + "'";
  }
  const std::optional<std::string> id = repo.snapshot_of_ref(key);
  if (!id) {
    throw KeyNotFound(repo.name() + ": no " + chosen + " (" + key +
                      (options.tag.empty() && options.branch == "main" ? "; not an Icechunk repository?)" : ")"));
  }
  if (!valid_id_text(*id)) throw MetadataError(repo.name() + ": the " + chosen + " names a malformed snapshot id");
  return {*id, chosen};
}

}  // namespace

std::shared_ptr<const ManifestStore> open_icechunk(const std::string& location, const IcechunkOptions& options,
                                                   std::string* snapshot_id) {
  const std::string root = repository_root(location);
  return open_icechunk(open_store(root, options.store), root, options, snapshot_id);
}

std::shared_ptr<const ManifestStore> open_icechunk(std::shared_ptr<const Store> files, const std::string& root,
                                                   const IcechunkOptions& options, std::string* snapshot_id) {
  const Repository repo(std::move(files), root);
  const auto [snapshot, chosen] = resolve_snapshot(repo, options);
  if (snapshot_id != nullptr) *snapshot_id = snapshot;

  const std::string snapshot_key = "snapshots/" + snapshot;
  const std::vector<std::uint8_t> snapshot_bytes = repo.read_file(snapshot_key, kSnapshotFile);
  const fb::Snapshot* snap = verified_root<fb::Snapshot>(snapshot_bytes, repo.name() + ": " + snapshot_key);
  if (id_text(snap->id()) != snapshot) {
    throw MetadataError(repo.name() + ": " + snapshot_key + " holds snapshot " + id_text(snap->id()));
  }

  Manifest manifest;
  std::map<std::string, ArrayNode> arrays;                 // by node id
  std::map<std::string, std::vector<std::string>> needs;  // manifest id -> node ids that use it
  for (const fb::Node* node : *snap->nodes()) {
    const std::string path = node->path()->str();
    if (path.empty() || path[0] != '/') throw MetadataError(repo.name() + ": node path '" + path + "' does not start with '/'");
    const std::string prefix = path.substr(1);
    const auto* user = node->user_data();
    std::string meta_text(reinterpret_cast<const char*>(user->data()), user->size());
    if (node->data_type() == fb::NodeKind_Array) {
      const fb::ArrayData* a = node->data_as_Array();
      if (a == nullptr) throw MetadataError(repo.name() + ": array node '" + path + "' has no array data");
      ArrayNode& entry = arrays[id_text(node->id())];
      entry.prefix = prefix;
      entry.rank = a->shape()->size();
      for (const fb::ManifestPointer* m : *a->manifests()) needs[id_text(m->id())].push_back(id_text(node->id()));
    } else if (node->data_type() != fb::NodeKind_Group) {
      throw MetadataError(repo.name() + ": node '" + path + "' is neither a group nor an array");
    }
    manifest.add_inline(prefix.empty() ? "zarr.json" : prefix + "/zarr.json", std::move(meta_text));
  }

  for (const auto& [manifest_id, nodes] : needs) {
    const std::string key = "manifests/" + manifest_id;
    const std::vector<std::uint8_t> bytes = repo.read_file(key, kManifestFile);
    const fb::Manifest* m = verified_root<fb::Manifest>(bytes, repo.name() + ": " + key);
    const std::set<std::string> wanted(nodes.begin(), nodes.end());
    for (const fb::ArrayChunks* chunks : *m->arrays()) {
      const std::string node_id = id_text(chunks->node());
      if (wanted.count(node_id) == 0) continue;  // another snapshot's array, or another node
      const ArrayNode& array = arrays.at(node_id);
      for (const fb::ChunkEntry* ref : *chunks->refs()) {
        if (ref->index()->size() != array.rank) {
          throw MetadataError(repo.name() + ": " + key + ": a chunk of array '/" + array.prefix + "' has " +
                              std::to_string(ref->index()->size()) + " coordinates, the array " +
                              std::to_string(array.rank) + " dimensions");
        }
        std::string ckey = chunk_key(array.prefix, *ref->index());
        if (ref->inline_() != nullptr) {
          manifest.add_inline(std::move(ckey), std::string(reinterpret_cast<const char*>(ref->inline_()->data()),
                                                           ref->inline_()->size()));
        } else if (ref->chunk_id() != nullptr) {
          manifest.add_reference(std::move(ckey), {root + "/chunks/" + id_text(ref->chunk_id()), ref->offset(), ref->length()});
        } else if (ref->location() != nullptr) {
          ChunkReference r{ref->location()->str(), ref->offset(), ref->length()};
          if (ref->etag() != nullptr) r.etag = ref->etag()->str();
          if (ref->last_modified() != 0) r.last_modified = ref->last_modified();
          manifest.add_reference(std::move(ckey), std::move(r));
        } else {
          throw MetadataError(repo.name() + ": " + key + ": chunk '" + ckey + "' is neither inline, native nor virtual");
        }
      }
    }
  }

  ManifestOptions mo;
  mo.base = root;
  mo.target_options = options.store;
  mo.name = repo.name() + " (" + (chosen == "snapshot" ? "" : chosen + ", ") + "snapshot " + snapshot + ")";
  return make_manifest_store(std::move(manifest), std::move(mo));
}

#endif

}  // namespace cuzarr
