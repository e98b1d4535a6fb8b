// libFuzzer target for chunk decoding: the fuzzed input is the stored chunk (0, 0) of a fixed
// array, read through the whole host pipeline (store → plan → codec chain → place) twice: once as
// the exact chunk region (decoded straight into the output where the chain allows it) and once
// as a strided part of it (decoded into a buffer, then placed).
//
// Built once per codec chain (tests/fuzz/CMakeLists.txt) with CUZARR_FUZZ_CHAIN naming an entry
// of kChains below. Every array is (20, 30) in (8, 10) chunks, so chunk (0, 0) is an interior,
// full chunk; the sharded one has (4, 5) inner chunks. tests/fuzz/make_seeds.py writes stores with
// the same metadata with zarr-python and takes their chunks as seeds: keep the two in step.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "cuzarr/selection.hpp"
#include "fuzz_support.hpp"

#ifndef CUZARR_FUZZ_CHAIN
#error "define CUZARR_FUZZ_CHAIN as one of the chain names in fuzz_chunk.cpp"
#endif

namespace {

using namespace cuzarr;

struct Chain {
  const char* name;
  const char* metadata_key;  // ".zarray" or "zarr.json"
  const char* chunk_key;
  const char* metadata;
};

#define V2(dtype, compressor, filters)                                                         \
  R"({"zarr_format": 2, "shape": [20, 30], "chunks": [8, 10], "dtype": ")" dtype              \
  R"(", "fill_value": 0, "order": "C", "compressor": )" compressor R"(, "filters": )" filters \
  R"(})"
#define V3(data_type, codecs)                                                                   \
  R"({"zarr_format": 3, "node_type": "array", "shape": [20, 30], "data_type": ")" data_type    \
  R"(", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [8, 10]}},)"         \
  R"( "chunk_key_encoding": {"name": "default"}, "fill_value": 0, "codecs": )" codecs R"(})"

constexpr Chain kChains[] = {
    {"raw", ".zarray", "0.0", V2(">f8", "null", "null")},
    {"blosc", ".zarray", "0.0",
     V2("<f4", R"({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0})", "null")},
    {"zstd", "zarr.json", "c/0/0",
     V3("float32", R"([{"name": "bytes", "configuration": {"endian": "little"}},
                      {"name": "zstd", "configuration": {"level": 3, "checksum": true}}])")},
    {"gzip", "zarr.json", "c/0/0",
     V3("uint16", R"([{"name": "bytes", "configuration": {"endian": "big"}},
                     {"name": "gzip", "configuration": {"level": 5}}])")},
    {"zlib", ".zarray", "0.0", V2("<i8", R"({"id": "zlib", "level": 5})", "null")},
    {"lz4", ".zarray", "0.0", V2("<u4", R"({"id": "lz4", "acceleration": 1})", "null")},
    {"bz2", ".zarray", "0.0", V2("<f8", R"({"id": "bz2", "level": 5})", "null")},
    {"crc32c", "zarr.json", "c/0/0",
     V3("int32", R"([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}])")},
    {"sharding", "zarr.json", "c/0/0",
     V3("uint16", R"([{"name": "sharding_indexed", "configuration": {
                        "chunk_shape": [4, 5],
                        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                                   {"name": "zstd", "configuration": {"level": 3, "checksum": false}}],
                        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                                         {"name": "crc32c"}],
                        "index_location": "end"}}])")},
    {"transpose", "zarr.json", "c/0/0",
     V3("float64", R"([{"name": "transpose", "configuration": {"order": [1, 0]}},
                      {"name": "bytes", "configuration": {"endian": "big"}},
                      {"name": "zstd", "configuration": {"level": 3, "checksum": false}}])")},
    {"filters", ".zarray", "0.0",
     V2("<i2", "null",
        R"([{"id": "delta", "dtype": "<i2"}, {"id": "astype", "encode_dtype": "<f8", "decode_dtype": "<i2"}])")},
    {"lzma", ".zarray", "0.0", V2("<f4", R"({"id": "lzma", "format": 1, "check": -1, "preset": 1, "filters": null})", "null")},
    {"checksum", ".zarray", "0.0", V2("<u2", R"({"id": "crc32"})", "null")},
    {"packbits", ".zarray", "0.0", V2("|b1", R"({"id": "zlib", "level": 1})", R"([{"id": "packbits"}])")},
    {"numcodecs_v3", "zarr.json", "c/0/0",
     V3("int16", R"([{"name": "numcodecs.delta", "configuration": {"dtype": "int16"}},
                    {"name": "bytes", "configuration": {"endian": "little"}},
                    {"name": "numcodecs.shuffle", "configuration": {"elementsize": 2}},
                    {"name": "numcodecs.fletcher32", "configuration": {}}])")},
    // Variable-length strings (read with read_vlen): a v2 object array and a sharded v3 one.
    {"vlen", ".zarray", "0.0",
     R"({"zarr_format": 2, "shape": [20, 30], "chunks": [8, 10], "dtype": "|O", "fill_value": "",
         "order": "C", "compressor": {"id": "zstd", "level": 3}, "filters": [{"id": "vlen-utf8"}]})"},
    {"vlen_sharding", "zarr.json", "c/0/0",
     R"({"zarr_format": 3, "node_type": "array", "shape": [20, 30], "data_type": "string",
         "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [8, 10]}},
         "chunk_key_encoding": {"name": "default"}, "fill_value": "",
         "codecs": [{"name": "sharding_indexed", "configuration": {
             "chunk_shape": [4, 5],
             "codecs": [{"name": "vlen-utf8", "configuration": {}},
                        {"name": "zstd", "configuration": {"level": 3, "checksum": false}}],
             "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
             "index_location": "end"}}]})"},
};

const Chain& chain() {
  for (const Chain& c : kChains) {
    if (std::strcmp(c.name, CUZARR_FUZZ_CHAIN) == 0) return c;
  }
  __builtin_trap();  // a CMake target names a chain that is not in the table
}

struct Target {
  std::shared_ptr<fuzz::MemoryStore> store = std::make_shared<fuzz::MemoryStore>();
  std::optional<Array> array;
  Selection whole_chunk = parse_selection("0:8, 0:10");
  Selection strided = parse_selection("1:7:2, 3:10:3");

  Target() {
    store->set(chain().metadata_key, chain().metadata);
    auto context = std::make_shared<const detail::Context>(store, OpenOptions{});
    metadata::NodeMeta node = metadata::load_node(*store, "", fuzz::kMaxMetadata);
    array.emplace(fuzz::make_array(context, std::move(*node.array)));
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::use_one_thread();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Target target;  // the metadata is fixed: parse it once
  target.store->set(chain().chunk_key, std::string_view(reinterpret_cast<const char*>(data), size));
  for (const Selection* s : {&target.whole_chunk, &target.strided}) {
    try {
      if (target.array->dtype().is_vlen()) {
        target.array->read_vlen(*s);
      } else {
        target.array->read(*s);
      }
    } catch (const Error& e) {
      fuzz::expected_error(e);
    }
  }
  return 0;
}
