// Opening Zarr hierarchies and reading arrays: the library's entry points.
//
//   auto node = cuzarr::open("data.zarr/temperature");
//   cuzarr::Array a = std::get<cuzarr::Array>(node);
//   cuzarr::HostArray r = a.read(cuzarr::parse_selection("0:10, ::2"));
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

enum class Consolidated {
  Auto,     // use consolidated metadata when the group has it
  Require,  // a group without consolidated metadata is an error
  Ignore,   // always read each node's own metadata
};

struct OpenOptions {
  Consolidated consolidated = Consolidated::Auto;
  StoreOptions store;  // HTTP headers, concurrency, retries, timeout
  // The largest metadata document to read; unset: Config::max_metadata_bytes.
  std::optional<std::uint64_t> max_metadata_bytes;
};

enum class Memory { Host, Device };

// Where a read writes: `shape` must equal the selection's result shape; element (i0, i1, ...)
// goes to data + sum(i_k * byte_strides[k]). Any strides work (C, F, views, even negative).
// Device outputs are GPU memory on `device`; the read is ordered after work already queued on
// `stream` (a cudaStream_t; null is the legacy default stream) and has finished writing when
// read_into returns.
struct Output {
  void* data = nullptr;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> byte_strides;
  Memory memory = Memory::Host;
  int device = 0;
  void* stream = nullptr;
};

// The owning result of Array::read: C-ordered, native byte order.
struct HostArray {
  Buffer data;
  std::vector<std::int64_t> shape;
  DataType dtype;
};

// The owning result of Array::read_vlen, for variable-length data types (DataType::is_vlen):
// item i, in C order over `shape`, is data[offsets[i], offsets[i + 1]) -- UTF-8 text for
// DTypeKind::String, raw bytes otherwise (vlen-array items: elements of type dtype.unit).
struct VlenItems {
  Buffer data;
  std::vector<std::int64_t> offsets;  // one more than there are items
  std::vector<std::int64_t> shape;
  DataType dtype;
};

// What Array::verify found.
struct VerifyReport {
  std::size_t chunks = 0;           // chunks (or shards) in the grid
  std::size_t missing = 0;          // absent from the store: they read as the fill value
  std::size_t inner_chunks = 0;     // inner chunks of the shards (0 for an unsharded array)
  std::size_t inner_missing = 0;    // of those, absent from their shard: read as the fill value
  std::vector<std::string> errors;  // one message per chunk (or inner chunk) that cannot be read, naming its key
};

class Array {
 public:
  const std::vector<std::int64_t>& shape() const;
  // As zarr-python reports them: for a sharded array (sharding_indexed its only codec) chunks()
  // is the inner chunk shape and shards() the shard shape; otherwise chunks() is the chunk grid's
  // shape and shards() is nullopt. storage_chunks() is always the grid's: what one stored object
  // (chunk or shard) holds.
  const std::vector<std::int64_t>& chunks() const;
  std::optional<std::vector<std::int64_t>> shards() const;
  const std::vector<std::int64_t>& storage_chunks() const;
  const DataType& dtype() const;
  int zarr_format() const;
  std::size_t rank() const { return shape().size(); }
  // Node path inside the store ("" when the store root is the array) and a display location.
  const std::string& path() const;
  const std::string& display_path() const;
  // Attributes as a JSON object text.
  std::string attributes_json() const;
  // One name per dimension (v3 dimension_names, or v2 _ARRAY_DIMENSIONS); nullopt entries are
  // unnamed; empty when the metadata names none.
  const std::vector<std::optional<std::string>>& dimension_names() const;
  // One element in native byte order.
  const std::vector<std::byte>& fill_value() const;
  std::string fill_value_json() const;
  // The codecs as written in the metadata (v3 list, or v2 {order, filters, compressor}), as JSON.
  std::string codecs_json() const;
  // The resolved decode chain, e.g. "transpose, bytes".
  std::string codec_chain() const;

  std::vector<std::int64_t> result_shape(const Selection& selection) const;
  // Reads `selection` into `output`. Missing chunks read as the fill value. Variable-length data
  // types have no fixed-size elements: they are UnsupportedError here, read them with read_vlen.
  void read_into(const Selection& selection, const Output& output) const;
  HostArray read(const Selection& selection = Selection::all()) const;
  // Reads the items of a variable-length array (host memory); UnsupportedError for other types.
  VlenItems read_vlen(const Selection& selection = Selection::all()) const;
  // Reads and decodes every chunk, collecting failures instead of stopping at the first.
  // `progress(done, total)` is called after each chunk (serialised, from worker threads).
  VerifyReport verify(const std::function<void(std::size_t, std::size_t)>& progress = {}) const;

  explicit Array(std::shared_ptr<const detail::ArrayState> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<const detail::ArrayState> state_;
};

class Group;
using Node = std::variant<Array, Group>;

// A direct child of a group as the listing finds it. Unreadable: its metadata cannot be read far
// enough to tell an array from a group (malformed zarr.json, a store error); open() says why.
enum class MemberKind { Array, Group, Unreadable };
struct GroupMember {
  std::string name;
  MemberKind kind = MemberKind::Group;
};

class Group {
 public:
  int zarr_format() const;
  const std::string& path() const;
  const std::string& display_path() const;
  std::string attributes_json() const;
  // Whether children are read from consolidated metadata.
  bool consolidated() const;
  // The direct children, sorted by name, in one listing of the store. A broken child is listed
  // (as what its metadata says it is, or Unreadable) rather than failing the listing; opening it
  // gives the reason. Throws only when the store cannot be listed at all.
  std::vector<GroupMember> members() const;
  // Names of the direct children of one kind, sorted.
  std::vector<std::string> array_names() const;
  std::vector<std::string> group_names() const;
  // A descendant by relative path ("a" or "a/b"); KeyNotFound when absent.
  Node open(const std::string& name) const;
  Array open_array(const std::string& name) const;
  Group open_group(const std::string& name) const;

  explicit Group(std::shared_ptr<const detail::GroupState> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<const detail::GroupState> state_;
};

// Opens the array or group at a directory `path` (which may lie inside a store).
Node open(const std::filesystem::path& path, const OpenOptions& options = {});
Array open_array(const std::filesystem::path& path, const OpenOptions& options = {});
Group open_group(const std::filesystem::path& path, const OpenOptions& options = {});
// Opens the array or group at the root of `store`, a store of the caller's own (e.g. one whose
// bytes come from another library); options.store is not used.
Node open(std::shared_ptr<const Store> store, const OpenOptions& options = {});

}  // namespace cuzarr
