/// @file
/// Opening Zarr hierarchies, reading arrays, and creating and writing them: the library's entry points.
///
///   auto node = cuzarr::open("data.zarr/temperature");
///   cuzarr::Array a = std::get<cuzarr::Array>(node);
///   cuzarr::HostArray r = a.read(cuzarr::parse_selection("0:10, ::2"));
///
///   cuzarr::Array b = cuzarr::create_array("out.zarr", {.name = "t", .shape = {100, 100},
///                                                       .dtype = "float32", .chunks = {10, 10}});
///   b.write(cuzarr::parse_selection("0:10, :"), cuzarr::Input{values.data(), {10, 100}, {400, 4}});
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cuzarr/buffer.hpp"
#include "cuzarr/dtype.hpp"
#include "cuzarr/selection.hpp"
#include "cuzarr/store.hpp"

namespace cuzarr {

namespace detail {
struct ArrayState;
struct GroupState;
}  // namespace detail

/// How open() uses consolidated metadata (.zmetadata, or v3's consolidated_metadata).
enum class Consolidated {
  Auto,     ///< use consolidated metadata when the group has it
  Require,  ///< a group without consolidated metadata is an error
  Ignore,   ///< always read each node's own metadata
};

/// Whether an opened node may be written (Array::write).
enum class Mode {
  Read,       ///< reads only; Array::write is refused
  ReadWrite,  ///< reads and writes (local directory stores; others refuse the first write)
};

/// How to open a location: the consolidated-metadata policy and the store's settings.
struct OpenOptions {
  Consolidated consolidated = Consolidated::Auto;
  Mode mode = Mode::Read;
  StoreOptions store;  ///< HTTP headers, concurrency, retries, timeout; S3 credentials
  /// The largest metadata document to read; unset: Config::max_metadata_bytes.
  std::optional<std::uint64_t> max_metadata_bytes;
};

/// Where an Output's memory lives: host memory, or GPU memory (a CUDA build only).
enum class Memory { Host, Device };

/// Where a read writes: `shape` must equal the selection's result shape; element (i0, i1, ...)
/// goes to data + sum(i_k * byte_strides[k]). Any strides work (C, F, views, even negative).
/// Device outputs are GPU memory on `device`; the read is ordered after work already queued on
/// `stream` (a cudaStream_t; null is the legacy default stream) and has finished writing when
/// read_into returns.
struct Output {
  void* data = nullptr;                     ///< element (0, 0, ...)
  std::vector<std::int64_t> shape;          ///< the selection's result shape
  std::vector<std::int64_t> byte_strides;   ///< one per dimension of `shape`, in bytes
  Memory memory = Memory::Host;             ///< host or GPU memory
  int device = 0;                           ///< the CUDA device of a Device output
  void* stream = nullptr;                   ///< a cudaStream_t for Device outputs
};

/// What a write reads from: host memory holding values of the array's data type in native byte
/// order; `shape` must equal the selection's result shape; element (i0, i1, ...) is at
/// data + sum(i_k * byte_strides[k]) (any strides, 0 repeats a value).
struct Input {
  const void* data = nullptr;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> byte_strides;
};

/// The owning result of Array::read: C-ordered, native byte order.
struct HostArray {
  Buffer data;                      ///< the values, C order
  std::vector<std::int64_t> shape;  ///< the selection's result shape
  DataType dtype;                   ///< the array's data type
};

/// The owning result of Array::read_vlen, for variable-length data types (DataType::is_vlen):
/// item i, in C order over `shape`, is data[offsets[i], offsets[i + 1]) -- UTF-8 text for
/// DTypeKind::String, raw bytes otherwise (vlen-array items: elements of type dtype.unit).
struct VlenItems {
  Buffer data;
  std::vector<std::int64_t> offsets;  ///< one more than there are items
  std::vector<std::int64_t> shape;
  DataType dtype;
};

/// What Array::verify found.
struct VerifyReport {
  std::size_t chunks = 0;           ///< chunks (or shards) in the grid
  std::size_t missing = 0;          ///< absent from the store: they read as the fill value
  std::size_t inner_chunks = 0;     ///< inner chunks of the shards (0 for an unsharded array)
  std::size_t inner_missing = 0;    ///< of those, absent from their shard: read as the fill value
  std::vector<std::string> errors;  ///< one message per chunk (or inner chunk) that cannot be read, naming its key
};

/// A Zarr array: its metadata, held in memory, and reads of any selection. A cheap handle (shared,
/// immutable state): copy it freely and call its const methods from several threads at once.
class Array {
 public:
  /// The array's shape (empty for a 0-d array).
  const std::vector<std::int64_t>& shape() const;
  /// As zarr-python reports them: for a sharded array (sharding_indexed its only codec) chunks()
  /// is the inner chunk shape and shards() the shard shape; otherwise chunks() is the chunk grid's
  /// shape and shards() is nullopt. storage_chunks() is always the grid's: what one stored object
  /// (chunk or shard) holds.
  const std::vector<std::int64_t>& chunks() const;
  std::optional<std::vector<std::int64_t>> shards() const;
  const std::vector<std::int64_t>& storage_chunks() const;
  /// The data type of the values a read produces (native byte order).
  const DataType& dtype() const;
  /// 2 or 3.
  int zarr_format() const;
  /// The number of dimensions.
  std::size_t rank() const { return shape().size(); }
  /// Node path inside the store ("" when the store root is the array) and a display location.
  const std::string& path() const;
  const std::string& display_path() const;
  /// Attributes as a JSON object text.
  std::string attributes_json() const;
  /// One name per dimension (v3 dimension_names, or v2 _ARRAY_DIMENSIONS); nullopt entries are
  /// unnamed; empty when the metadata names none.
  const std::vector<std::optional<std::string>>& dimension_names() const;
  /// One element in native byte order.
  const std::vector<std::byte>& fill_value() const;
  std::string fill_value_json() const;
  /// The codecs as written in the metadata (v3 list, or v2 {order, filters, compressor}), as JSON.
  std::string codecs_json() const;
  /// The resolved decode chain, e.g. "transpose, bytes".
  std::string codec_chain() const;

  /// The shape a read of `selection` produces. Throws SelectionError when it does not fit.
  std::vector<std::int64_t> result_shape(const Selection& selection) const;
  /// Reads `selection` into `output`. Missing chunks read as the fill value. Variable-length data
  /// types have no fixed-size elements: they are UnsupportedError here, read them with read_vlen.
  void read_into(const Selection& selection, const Output& output) const;
  /// Reads `selection` into a new host buffer (C order, native byte order).
  HostArray read(const Selection& selection = Selection::all()) const;
  /// Reads the items of a variable-length array (host memory); UnsupportedError for other types.
  VlenItems read_vlen(const Selection& selection = Selection::all()) const;
  /// Writes `input` into `selection` (an array opened with Mode::ReadWrite, or made by
  /// create_array). Chunks the selection covers are encoded from the input; chunks it covers in
  /// part are read (the fill value where absent), merged and rewritten; a chunk that then holds
  /// only the fill value is deleted rather than stored; a shard is rewritten whole. Each chunk
  /// reaches the store atomically (see FileStore). Checked before anything is written: the
  /// selection (SelectionError), the input's shape (SelectionError), every codec's encoder
  /// (UnsupportedError naming it), the store's and the handle's permission to write.
  /// Concurrent writes to one chunk: the last rename wins; writes to different chunks all land.
  void write(const Selection& selection, const Input& input) const;
  /// Reads and decodes every chunk, collecting failures instead of stopping at the first.
  /// `progress(done, total)` is called after each chunk (serialised, from worker threads).
  VerifyReport verify(const std::function<void(std::size_t, std::size_t)>& progress = {}) const;

  /// For the library: arrays come from open(), open_array() and Group.
  explicit Array(std::shared_ptr<const detail::ArrayState> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<const detail::ArrayState> state_;
};

class Group;
/// What a location holds: an array or a group (open, Group::open).
using Node = std::variant<Array, Group>;

/// A direct child of a group as the listing finds it. Unreadable: its metadata cannot be read far
/// enough to tell an array from a group (malformed zarr.json, a store error); open() says why.
enum class MemberKind { Array, Group, Unreadable };
/// A direct child of a group: its name and what it is (Group::members).
struct GroupMember {
  std::string name;                     ///< the child's name, relative to the group
  MemberKind kind = MemberKind::Group;  ///< array, group, or unreadable
};

/// A Zarr group: its attributes and its members. A cheap handle, like Array.
class Group {
 public:
  /// 2 or 3.
  int zarr_format() const;
  /// Node path inside the store ("" for the root) and a display location for messages.
  const std::string& path() const;
  const std::string& display_path() const;
  /// Attributes as a JSON object text.
  std::string attributes_json() const;
  /// Whether children are read from consolidated metadata.
  bool consolidated() const;
  /// The direct children, sorted by name, in one listing of the store. A broken child is listed
  /// (as what its metadata says it is, or Unreadable) rather than failing the listing; opening it
  /// gives the reason. Throws only when the store cannot be listed at all.
  std::vector<GroupMember> members() const;
  /// Names of the direct children of one kind, sorted.
  std::vector<std::string> array_names() const;
  std::vector<std::string> group_names() const;
  /// A descendant by relative path ("a" or "a/b"); KeyNotFound when absent.
  Node open(const std::string& name) const;
  Array open_array(const std::string& name) const;
  Group open_group(const std::string& name) const;

  /// For the library: groups come from open(), open_group() and Group.
  explicit Group(std::shared_ptr<const detail::GroupState> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<const detail::GroupState> state_;
};

/// Opens the array or group at `path`: a directory (which may lie inside a store), a .zip file,
/// an http(s):// or s3:// URL. KeyNotFound when nothing is there; open_array / open_group also
/// throw when the node is of the other kind.
Node open(const std::filesystem::path& path, const OpenOptions& options = {});
Array open_array(const std::filesystem::path& path, const OpenOptions& options = {});
Group open_group(const std::filesystem::path& path, const OpenOptions& options = {});
/// Opens the array or group at the root of `store`, a store of the caller's own (e.g. one whose
/// bytes come from another library); options.store is not used.
Node open(std::shared_ptr<const Store> store, const OpenOptions& options = {});

/// What create_array makes. JSON fields are text, as Zarr metadata spells them.
struct ArrayDefinition {
  std::string name;  ///< node path inside the store; "" makes the store's root the array
  int zarr_format = 3;
  std::vector<std::int64_t> shape;
  /// v3: a data type name ("float32", "int16", "bool", "complex64"); v2: a NumPy type string
  /// with its byte order ("<f4", ">i2", "|b1"). v3 byte order is the bytes codec's "endian".
  std::string dtype;
  /// The chunk shape; with `shards`, the inner chunks of each shard (which they must divide).
  std::vector<std::int64_t> chunks;
  /// v3 only: the shard shape; the array's codecs become one sharding_indexed codec holding
  /// `codecs` for the inner chunks, its index coded as bytes (little-endian) + crc32c, at the end.
  std::optional<std::vector<std::int64_t>> shards;
  /// v3: the codec list of one chunk as a JSON array; empty: bytes (little-endian) + zstd level 0.
  std::string codecs;
  /// v2: the filters (JSON array or "null") and the compressor (JSON object or "null"); an
  /// empty compressor is zstd level 0.
  std::string filters = "null";
  std::string compressor;
  char order = 'C';  ///< v2 "order"
  /// JSON; "null" is the type's zero in v3 (false for bool) and null in v2 (read as zeros).
  std::string fill_value = "null";
  std::string attributes = "{}";  ///< a JSON object
  /// One name per dimension (v3 dimension_names; v2 the attribute _ARRAY_DIMENSIONS); empty: none.
  std::vector<std::optional<std::string>> dimension_names;
  /// The chunk key separator: 0 is '/' in v3 ("c/0/1") and '.' in v2 ("0.1").
  char separator = 0;
};

/// What create_group makes.
struct GroupDefinition {
  std::string name;  ///< node path inside the store; "" is the root
  int zarr_format = 3;
  std::string attributes = "{}";  ///< a JSON object
};

/// Creates an array in the local directory store at `store` (made if missing) and returns it,
/// opened for writing: its metadata document, and those of missing parent groups, are written;
/// consolidated metadata of the groups above it (v2 .zmetadata, v3 consolidated_metadata) is
/// updated to list it. The definition is checked first (MetadataError or UnsupportedError naming
/// the array, a codec without an encoder included), so a bad one writes nothing. A node already
/// at `name` is a StoreError.
Array create_array(const std::filesystem::path& store, const ArrayDefinition& definition,
                   const OpenOptions& options = {});
/// Creates a group the same way.
Group create_group(const std::filesystem::path& store, const GroupDefinition& definition,
                   const OpenOptions& options = {});

}  // namespace cuzarr
