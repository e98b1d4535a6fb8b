// cuzarr._core: a thin nanobind layer over the C++ API. No logic lives here beyond converting
// arguments; indexing rules and dtype handling are in python/cuzarr.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include <cstring>

#include "cuzarr/cuzarr.hpp"
#include "python_store.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

// Python exception classes, created once at import: each derives from cuzarr's base Error and
// from the matching built-in exception so that callers can catch either.
struct Exceptions {
  PyObject* error = nullptr;
  PyObject* metadata = nullptr;
  PyObject* codec = nullptr;
  PyObject* store = nullptr;
  PyObject* not_found = nullptr;
  PyObject* selection = nullptr;
  PyObject* unsupported = nullptr;
  PyObject* cuda = nullptr;
};
Exceptions exceptions;

PyObject* make_exception(nb::module_& m, const char* name, std::initializer_list<PyObject*> bases) {
  PyObject* tuple = PyTuple_New(static_cast<Py_ssize_t>(bases.size()));
  Py_ssize_t i = 0;
  for (PyObject* b : bases) {
    Py_INCREF(b);
    PyTuple_SET_ITEM(tuple, i++, b);
  }
  const std::string qualified = std::string("cuzarr._core.") + name;
  PyObject* cls = PyErr_NewException(qualified.c_str(), tuple, nullptr);
  Py_DECREF(tuple);
  if (cls == nullptr) throw nb::python_error();
  m.attr(name) = nb::handle(cls);
  return cls;
}

// Messages may quote bytes from the store (a JSON syntax error quotes the bad input): decode them
// leniently, since PyErr_SetString would replace a message that is not UTF-8 by a
// UnicodeDecodeError.
void set_error(PyObject* type, const char* message) {
  PyObject* text = PyUnicode_DecodeUTF8(message, static_cast<Py_ssize_t>(std::strlen(message)), "backslashreplace");
  if (text == nullptr) return;  // MemoryError is set
  PyErr_SetObject(type, text);
  Py_DECREF(text);
}

cuzarr::Selection to_selection(const nb::list& items) {
  cuzarr::Selection sel;
  for (nb::handle item : items) {
    if (nb::isinstance<nb::int_>(item)) {
      sel.dims.emplace_back(nb::cast<std::int64_t>(item));
    } else if (nb::isinstance<nb::tuple>(item)) {
      auto t = nb::cast<nb::tuple>(item);
      if (t.size() != 3) throw nb::value_error("slice tuples must be (start, stop, step)");
      cuzarr::Slice s;
      if (!t[0].is_none()) s.start = nb::cast<std::int64_t>(t[0]);
      if (!t[1].is_none()) s.stop = nb::cast<std::int64_t>(t[1]);
      s.step = nb::cast<std::int64_t>(t[2]);
      sel.dims.emplace_back(s);
    } else {
      auto a = nb::cast<nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>>(item);
      sel.dims.emplace_back(std::vector<std::int64_t>(a.data(), a.data() + a.shape(0)));
    }
  }
  return sel;
}

std::vector<std::optional<std::string>> dimension_names(const cuzarr::Array& a) {
  return a.dimension_names();
}

nb::object to_python(cuzarr::Node node) {
  if (auto* a = std::get_if<cuzarr::Array>(&node)) return nb::cast(std::move(*a));
  return nb::cast(std::get<cuzarr::Group>(std::move(node)));
}

cuzarr::OpenOptions options_from(const std::string& consolidated, const std::string& mode = "r") {
  cuzarr::OpenOptions o;
  if (mode == "r+") o.mode = cuzarr::Mode::ReadWrite;
  else if (mode != "r") throw nb::value_error("mode must be 'r' or 'r+'");
  if (consolidated == "require") o.consolidated = cuzarr::Consolidated::Require;
  else if (consolidated == "ignore") o.consolidated = cuzarr::Consolidated::Ignore;
  else if (consolidated != "auto") throw nb::value_error("consolidated must be 'auto', 'require' or 'ignore'");
  return o;
}

// Store settings from the dict cuzarr.api._core_options makes (headers, concurrency, retries,
// timeout, s3, gcs, azure).
cuzarr::StoreOptions store_options_from(const nb::dict& d) {
  cuzarr::StoreOptions o;
  for (auto [k, v] : d) {
    const std::string name = nb::cast<std::string>(k);
    if (name == "headers") o.http_headers = nb::cast<std::map<std::string, std::string>>(v);
    else if (name == "concurrency") o.http_concurrency = nb::cast<std::size_t>(v);
    else if (name == "retries") o.http_retries = nb::cast<std::size_t>(v);
    else if (name == "timeout") o.http_timeout = nb::cast<double>(v);
    else if (name == "s3") {
      for (auto [sk, sv] : nb::cast<nb::dict>(v)) cuzarr::set_s3_option(o.s3, nb::cast<std::string>(sk), nb::cast<std::string>(sv));
    } else if (name == "gcs") {
      for (auto [sk, sv] : nb::cast<nb::dict>(v)) cuzarr::set_gcs_option(o.gcs, nb::cast<std::string>(sk), nb::cast<std::string>(sv));
    } else if (name == "azure") {
      for (auto [sk, sv] : nb::cast<nb::dict>(v)) {
        cuzarr::set_azure_option(o.azure, nb::cast<std::string>(sk), nb::cast<std::string>(sv));
      }
    } else {
      throw nb::value_error(("unknown store option '" + name + "'").c_str());
    }
  }
  return o;
}

// Which snapshot of an Icechunk repository, and the repository's store settings.
cuzarr::IcechunkOptions icechunk_options(const std::string& branch, const std::string& tag,
                                         const std::string& snapshot_id, const nb::dict& store) {
  cuzarr::IcechunkOptions io;
  io.branch = branch;
  io.tag = tag;
  io.snapshot_id = snapshot_id;
  io.store = store_options_from(store);
  return io;
}

// The manifest's settings from the references' bindings' arguments.
cuzarr::ManifestOptions manifest_options(const std::string& name, const std::string& base,
                                         const std::string& remote_protocol, const nb::dict& targets) {
  cuzarr::ManifestOptions mo;
  mo.name = name;
  mo.base = base;
  mo.remote_protocol = remote_protocol;
  mo.target_options = store_options_from(targets);
  return mo;
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "cuzarr native core (use the cuzarr package, not this module)";

  exceptions.error = make_exception(m, "Error", {PyExc_Exception});
  exceptions.metadata = make_exception(m, "MetadataError", {exceptions.error, PyExc_ValueError});
  exceptions.codec = make_exception(m, "CodecError", {exceptions.error, PyExc_ValueError});
  exceptions.store = make_exception(m, "StoreError", {exceptions.error, PyExc_OSError});
  exceptions.not_found = make_exception(m, "KeyNotFoundError", {exceptions.store, PyExc_FileNotFoundError});
  exceptions.selection = make_exception(m, "SelectionError", {exceptions.error, PyExc_IndexError});
  exceptions.unsupported = make_exception(m, "UnsupportedError", {exceptions.error, PyExc_NotImplementedError});
  exceptions.cuda = make_exception(m, "CudaError", {exceptions.error, PyExc_RuntimeError});

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const cuzarr::KeyNotFound& e) {
      set_error(exceptions.not_found, e.what());
    } catch (const cuzarr::StoreError& e) {
      set_error(exceptions.store, e.what());
    } catch (const cuzarr::MetadataError& e) {
      set_error(exceptions.metadata, e.what());
    } catch (const cuzarr::CodecError& e) {
      set_error(exceptions.codec, e.what());
    } catch (const cuzarr::SelectionError& e) {
      set_error(exceptions.selection, e.what());
    } catch (const cuzarr::UnsupportedError& e) {
      set_error(exceptions.unsupported, e.what());
    } catch (const cuzarr::CudaError& e) {
      set_error(exceptions.cuda, e.what());
    } catch (const cuzarr::Error& e) {
      set_error(exceptions.error, e.what());
    }
  });

  m.def("version", [] { return std::string(cuzarr::version()); });
  m.def("cuda_built", &cuzarr::cuda_built);
  m.def("http_built", [] { return CUZARR_WITH_HTTP != 0; });
  m.def("zip_built", [] { return CUZARR_WITH_ZIP != 0; });
  // RS256 for GCS service-account keys (CUZARR_OPENSSL).
  m.def("openssl_built", [] { return CUZARR_WITH_OPENSSL != 0; });
  m.def("cuda_device_count", &cuzarr::cuda_device_count);
  m.def("threads", [] { return cuzarr::config().threads; });
  m.def("config", [] {
    const cuzarr::Config& c = cuzarr::config();
    nb::dict d;
    d["threads"] = c.threads;
    d["coalesce_bytes"] = c.coalesce_bytes;
    d["staging_bytes"] = c.staging_bytes;
    d["staging_buffers"] = c.staging_buffers;
    d["http_concurrency"] = c.http_concurrency;
    d["gds"] = c.gds == cuzarr::Config::Gds::Auto ? "auto" : (c.gds == cuzarr::Config::Gds::On ? "on" : "off");
    return d;
  });

  nb::class_<cuzarr::Array>(m, "Array")
      .def_prop_ro("shape", [](const cuzarr::Array& a) { return a.shape(); })
      .def_prop_ro("chunks", [](const cuzarr::Array& a) { return a.chunks(); })
      .def_prop_ro("shards", [](const cuzarr::Array& a) { return a.shards(); })
      .def_prop_ro("dtype", [](const cuzarr::Array& a) { return a.dtype().numpy_str(); })
      .def_prop_ro("dtype_name", [](const cuzarr::Array& a) { return a.dtype().name(); })
      .def_prop_ro("zarr_format", &cuzarr::Array::zarr_format)
      .def_prop_ro("path", &cuzarr::Array::path)
      .def_prop_ro("display_path", &cuzarr::Array::display_path)
      .def_prop_ro("attributes_json", &cuzarr::Array::attributes_json)
      .def_prop_ro("dimension_names", &dimension_names)
      .def_prop_ro("fill_value_bytes",
                   [](const cuzarr::Array& a) {
                     const auto& f = a.fill_value();
                     return nb::bytes(reinterpret_cast<const char*>(f.data()), f.size());
                   })
      .def_prop_ro("fill_value_json", &cuzarr::Array::fill_value_json)
      .def_prop_ro("codecs_json", &cuzarr::Array::codecs_json)
      .def_prop_ro("codec_chain", &cuzarr::Array::codec_chain)
      .def("result_shape",
           [](const cuzarr::Array& a, const nb::list& sel) { return a.result_shape(to_selection(sel)); })
      .def(
          "read_into",
          [](const cuzarr::Array& a, const nb::list& sel, nb::ndarray<nb::device::cpu> out) {
            if (out.itemsize() != static_cast<std::size_t>(a.dtype().size)) {
              throw nb::type_error("output item size does not match the array's dtype");
            }
            cuzarr::Selection selection = to_selection(sel);
            cuzarr::Output o;
            o.data = out.data();
            for (std::size_t d = 0; d < out.ndim(); ++d) {
              o.shape.push_back(static_cast<std::int64_t>(out.shape(d)));
              o.byte_strides.push_back(out.stride(d) * static_cast<std::int64_t>(out.itemsize()));
            }
            nb::gil_scoped_release release;
            a.read_into(selection, o);
          },
          "selection"_a, "out"_a)
      .def(
          // Any memory given as a raw pointer: device >= 0 (or -1: the GPU that owns the
          // pointer) reads into GPU memory ordered after `stream`; device None reads into host memory.
          "read_into_raw",
          [](const cuzarr::Array& a, const nb::list& sel, std::uintptr_t data, std::vector<std::int64_t> shape,
             std::vector<std::int64_t> byte_strides, std::optional<int> device, std::uintptr_t stream) {
            cuzarr::Selection selection = to_selection(sel);
            cuzarr::Output o;
            o.data = reinterpret_cast<void*>(data);
            o.shape = std::move(shape);
            o.byte_strides = std::move(byte_strides);
            if (device) {
              o.memory = cuzarr::Memory::Device;
              o.device = *device;
              o.stream = reinterpret_cast<void*>(stream);
            }
            nb::gil_scoped_release release;
            a.read_into(selection, o);
          },
          "selection"_a, "data"_a, "shape"_a, "byte_strides"_a, "device"_a.none(), "stream"_a = 0)
      .def(
          // Values at a raw host pointer (the caller keeps them alive and converted to the
          // array's dtype in native byte order) written into the selection.
          "write_raw",
          [](const cuzarr::Array& a, const nb::list& sel, std::uintptr_t data, std::vector<std::int64_t> shape,
             std::vector<std::int64_t> byte_strides) {
            cuzarr::Selection selection = to_selection(sel);
            const cuzarr::Input input{reinterpret_cast<const void*>(data), std::move(shape), std::move(byte_strides)};
            nb::gil_scoped_release release;
            a.write(selection, input);
          },
          "selection"_a, "data"_a, "shape"_a, "byte_strides"_a)
      .def(
          // Variable-length items as a flat list in C order (str for text, bytes otherwise) and
          // the result shape.
          "read_vlen",
          [](const cuzarr::Array& a, const nb::list& sel) {
            cuzarr::Selection selection = to_selection(sel);
            cuzarr::VlenItems items;
            {
              nb::gil_scoped_release release;
              items = a.read_vlen(selection);
            }
            const bool text = items.dtype.kind == cuzarr::DTypeKind::String;
            const std::size_t n = items.offsets.size() - 1;
            nb::list out;
            for (std::size_t i = 0; i < n; ++i) {
              const char* p = reinterpret_cast<const char*>(items.data.data()) + items.offsets[i];
              const auto len = static_cast<Py_ssize_t>(items.offsets[i + 1] - items.offsets[i]);
              // The core checked the UTF-8, so decoding cannot fail.
              PyObject* item = text ? PyUnicode_DecodeUTF8(p, len, "strict") : PyBytes_FromStringAndSize(p, len);
              if (item == nullptr) throw nb::python_error();
              out.append(nb::steal(item));
            }
            return nb::make_tuple(out, items.shape);
          },
          "selection"_a);

  nb::class_<cuzarr::Group>(m, "Group")
      .def_prop_ro("zarr_format", &cuzarr::Group::zarr_format)
      .def_prop_ro("path", &cuzarr::Group::path)
      .def_prop_ro("display_path", &cuzarr::Group::display_path)
      .def_prop_ro("attributes_json", &cuzarr::Group::attributes_json)
      .def_prop_ro("consolidated", &cuzarr::Group::consolidated)
      // These read the store: without the GIL, since a store may call back into Python from
      // the reader's threads (cuzarr._zarr_store) or wait on the network.
      .def("array_names", &cuzarr::Group::array_names, nb::call_guard<nb::gil_scoped_release>())
      .def("group_names", &cuzarr::Group::group_names, nb::call_guard<nb::gil_scoped_release>())
      // (name, "array" | "group" | "unreadable") per direct child, in one listing.
      .def("members", [](const cuzarr::Group& g) {
        std::vector<cuzarr::GroupMember> members;
        {
          nb::gil_scoped_release release;
          members = g.members();
        }
        std::vector<std::pair<std::string, std::string>> out;
        for (auto& m : members) {
          out.emplace_back(std::move(m.name), m.kind == cuzarr::MemberKind::Array   ? "array"
                                               : m.kind == cuzarr::MemberKind::Group ? "group"
                                                                                     : "unreadable");
        }
        return out;
      })
      .def("open", [](const cuzarr::Group& g, const std::string& name) {
        cuzarr::Node node = [&] {
          nb::gil_scoped_release release;
          return g.open(name);
        }();
        return to_python(std::move(node));
      });

  m.def(
      "open",
      // The store options as keywords (headers, concurrency, retries, timeout, s3, gcs, azure), read
      // by store_options_from as the references' options are.
      [](const std::string& path, const std::string& consolidated, const std::string& mode, const nb::kwargs& store) {
        cuzarr::OpenOptions o = options_from(consolidated, mode);
        o.store = store_options_from(store);
        cuzarr::Node node = [&] {
          nb::gil_scoped_release release;  // opening over HTTP waits on the network
          return cuzarr::open(path, o);
        }();
        return to_python(std::move(node));
      },
      "path"_a, "consolidated"_a = "auto", "mode"_a = "r", "store"_a);

  // Creation: the JSON fields are text, as cuzarr::ArrayDefinition takes them (cuzarr.api builds them).
  m.def(
      "create_array",
      [](const std::string& root, const std::string& name, int zarr_format, std::vector<std::int64_t> shape,
         const std::string& dtype, std::vector<std::int64_t> chunks, std::optional<std::vector<std::int64_t>> shards,
         const std::string& codecs, const std::string& filters, const std::string& compressor, const std::string& order,
         const std::string& fill_value, const std::string& attributes,
         std::vector<std::optional<std::string>> dimension_names, const std::string& separator) {
        cuzarr::ArrayDefinition d;
        d.name = name;
        d.zarr_format = zarr_format;
        d.shape = std::move(shape);
        d.dtype = dtype;
        d.chunks = std::move(chunks);
        d.shards = std::move(shards);
        d.codecs = codecs;
        d.filters = filters;
        d.compressor = compressor;
        d.order = order.empty() ? 'C' : order[0];
        d.fill_value = fill_value;
        d.attributes = attributes;
        d.dimension_names = std::move(dimension_names);
        d.separator = separator.empty() ? 0 : separator[0];
        nb::gil_scoped_release release;
        return cuzarr::create_array(root, d);
      },
      "root"_a, "name"_a, "zarr_format"_a, "shape"_a, "dtype"_a, "chunks"_a, "shards"_a.none(), "codecs"_a,
      "filters"_a, "compressor"_a, "order"_a, "fill_value"_a, "attributes"_a, "dimension_names"_a, "separator"_a);
  m.def(
      "create_group",
      [](const std::string& root, const std::string& name, int zarr_format, const std::string& attributes) {
        nb::gil_scoped_release release;
        return cuzarr::create_group(root, cuzarr::GroupDefinition{name, zarr_format, attributes});
      },
      "root"_a, "name"_a, "zarr_format"_a, "attributes"_a);

  m.def(
      // kerchunk references: a file (path or URL) or, with `text`, the references' JSON itself;
      // `targets` are the referenced files' store options (fsspec's remote_options), `file` the
      // references file's own.
      "open_references",
      [](const std::string& source, bool text, const std::string& base, const std::string& remote_protocol,
         const std::string& consolidated, const nb::dict& targets, const nb::dict& file) {
        cuzarr::OpenOptions o = options_from(consolidated);
        cuzarr::ManifestOptions mo = manifest_options("<references>", base, remote_protocol, targets);
        const cuzarr::StoreOptions file_options = store_options_from(file);
        cuzarr::Node node = [&] {
          nb::gil_scoped_release release;
          std::shared_ptr<const cuzarr::Store> store;
          if (text) {
            const auto* p = reinterpret_cast<const std::byte*>(source.data());
            store = cuzarr::make_manifest_store(cuzarr::parse_kerchunk({p, source.size()}, mo.name), std::move(mo));
          } else {
            store = cuzarr::open_kerchunk(source, std::move(mo), file_options);
          }
          return cuzarr::open(std::move(store), o);
        }();
        return to_python(std::move(node));
      },
      "source"_a, "text"_a, "base"_a = "", "remote_protocol"_a = "", "consolidated"_a = "auto",
      "targets"_a = nb::dict(), "file"_a = nb::dict());

  m.def(
      // An Icechunk repository's branch, tag or snapshot (cuzarr/icechunk.hpp): the root node and
      // the id of the snapshot read.
      "open_icechunk",
      [](const std::string& location, const std::string& branch, const std::string& tag, const std::string& snapshot_id,
         const std::string& consolidated, const nb::dict& store) {
        const cuzarr::IcechunkOptions io = icechunk_options(branch, tag, snapshot_id, store);
        const cuzarr::OpenOptions o = options_from(consolidated);
        std::string resolved;
        cuzarr::Node node = [&] {
          nb::gil_scoped_release release;
          return cuzarr::open(cuzarr::open_icechunk(location, io, &resolved), o);
        }();
        return nb::make_tuple(to_python(std::move(node)), resolved);
      },
      "location"_a, "branch"_a = "main", "tag"_a = "", "snapshot_id"_a = "", "consolidated"_a = "auto",
      "store"_a = nb::dict());
  m.def(
      // One key of the store at `location` (any location cuzarr opens: a directory, a URL) as
      // bytes, or None when it is missing: the Parquet references' files over HTTP or S3.
      "fetch_key",
      [](const std::string& location, const std::string& key, const nb::dict& store) -> std::optional<nb::bytes> {
        const cuzarr::StoreOptions options = store_options_from(store);
        std::optional<cuzarr::Buffer> value;
        {
          nb::gil_scoped_release release;
          value = cuzarr::open_store(location, options)->get(key);
        }
        if (!value) return std::nullopt;
        return nb::bytes(reinterpret_cast<const char*>(value->data()), value->size());
      },
      "location"_a, "key"_a, "store"_a = nb::dict());
  m.def("icechunk_built", [] { return CUZARR_WITH_ICECHUNK != 0; });
  m.def("is_icechunk_directory", [](const std::string& location) { return cuzarr::is_icechunk_directory(location); });

  m.def(
      // A manifest made in Python (kerchunk's Parquet references, read with pyarrow): `inline`
      // keys to bytes, and references as parallel lists (a length of -1: the whole target).
      "open_manifest",
      [](const std::map<std::string, nb::bytes>& inline_values, std::vector<std::string> keys,
         std::vector<std::string> targets, nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu> offsets,
         nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu> lengths, const std::string& name,
         const std::string& base, const std::string& remote_protocol, const std::string& consolidated,
         const nb::dict& target_options) {
        if (targets.size() != keys.size() || offsets.shape(0) != keys.size() || lengths.shape(0) != keys.size()) {
          throw nb::value_error("open_manifest: keys, targets, offsets and lengths must have one entry each");
        }
        cuzarr::Manifest manifest;
        for (const auto& [key, value] : inline_values) manifest.add_inline(key, std::string(value.c_str(), value.size()));
        const std::int64_t* off = offsets.data();
        const std::int64_t* len = lengths.data();
        for (std::size_t i = 0; i < keys.size(); ++i) {
          if (off[i] < 0 || len[i] < -1) {
            throw cuzarr::MetadataError(name + ": reference '" + keys[i] + "': negative " + (off[i] < 0 ? "offset" : "length"));
          }
          cuzarr::ChunkReference ref{std::move(targets[i]), static_cast<std::uint64_t>(off[i]), std::nullopt};
          if (len[i] >= 0) ref.length = static_cast<std::uint64_t>(len[i]);
          manifest.add_reference(std::move(keys[i]), std::move(ref));
        }
        cuzarr::ManifestOptions mo = manifest_options(name, base, remote_protocol, target_options);
        const cuzarr::OpenOptions o = options_from(consolidated);
        cuzarr::Node node = [&] {
          nb::gil_scoped_release release;
          return cuzarr::open(cuzarr::make_manifest_store(std::move(manifest), std::move(mo)), o);
        }();
        return to_python(std::move(node));
      },
      "inline"_a, "keys"_a, "targets"_a, "offsets"_a, "lengths"_a, "name"_a, "base"_a = "",
      "remote_protocol"_a = "", "consolidated"_a = "auto", "targets_options"_a = nb::dict());

  m.def(
      // A hierarchy whose bytes come from a Python object (see python_store.hpp for its methods):
      // cuzarr._zarr_store adapts zarr-python stores and mappings.
      "open_source",
      [](nb::object source, const std::string& consolidated) {
        cuzarr::OpenOptions o = options_from(consolidated);
        auto store = std::make_shared<const cuzarr::python::PythonStore>(std::move(source));
        cuzarr::Node node = [&] {
          nb::gil_scoped_release release;
          return cuzarr::open(store, o);
        }();
        return to_python(std::move(node));
      },
      "source"_a, "consolidated"_a = "auto");
}
