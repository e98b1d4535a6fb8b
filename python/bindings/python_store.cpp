#include "python_store.hpp"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstring>
#include <span>

#include "cuzarr/error.hpp"

namespace nb = nanobind;

namespace cuzarr::python {
namespace {

// The bytes of a buffer-protocol object, held for as long as this lives (GIL held throughout).
class BytesView {
 public:
  explicit BytesView(nb::handle object) {
    if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_SIMPLE) != 0) throw nb::python_error();
  }
  ~BytesView() { PyBuffer_Release(&view_); }
  BytesView(const BytesView&) = delete;
  BytesView& operator=(const BytesView&) = delete;

  std::span<const std::byte> bytes() const {
    return {static_cast<const std::byte*>(view_.buf), static_cast<std::size_t>(view_.len)};
  }

 private:
  Py_buffer view_{};
};

std::string python_error_text(const nb::python_error& e) {
  std::string type = nb::cast<std::string>(nb::str(e.type().attr("__name__")));
  std::string text = nb::cast<std::string>(nb::str(e.value()));
  return text.empty() ? type : type + ": " + text;
}

}  // namespace

PythonStore::PythonStore(nb::object source) : source_(std::move(source)) {
  description_ = nb::cast<std::string>(source_.attr("description"));
  concurrency_ = nb::cast<std::size_t>(source_.attr("concurrency"));
  random_ranges_ = nb::cast<bool>(source_.attr("random_ranges"));
}

PythonStore::~PythonStore() {
  // The last node of a hierarchy may go away on any thread, or after the interpreter has begun to
  // shut down, when a Python object may no longer be released.
  if (!Py_IsInitialized()) {
    (void)source_.release();
    return;
  }
  nb::gil_scoped_acquire gil;
  source_.reset();
}

template <typename F>
auto PythonStore::call(const char* what, std::string_view key, F&& body) const {
  nb::gil_scoped_acquire gil;
  auto fail = [&](const std::string& why) -> StoreError {
    return StoreError("store " + description_ + ": " + what + " '" + std::string(key) + "' failed: " + why);
  };
  try {
    return body();
  } catch (const Error&) {
    throw;
  } catch (const nb::python_error& e) {
    throw fail(python_error_text(e));
  } catch (const std::exception& e) {
    // nanobind's cast_error and friends: the Python object answered with the wrong type.
    throw fail(std::string("unexpected answer from the Python store (") + e.what() + ")");
  }
}

std::optional<Buffer> PythonStore::get(std::string_view key) const {
  validate_key(key);
  return call("reading", key, [&]() -> std::optional<Buffer> {
    nb::object value = source_.attr("get")(nb::str(key.data(), key.size()));
    if (value.is_none()) return std::nullopt;
    return Buffer::copy_of(BytesView(value).bytes());
  });
}

std::optional<Buffer> PythonStore::get_range(std::string_view key, std::uint64_t offset, std::uint64_t length) const {
  Buffer out(static_cast<std::size_t>(length));
  if (!read_into(key, offset, length, out.data())) return std::nullopt;
  return out;
}

bool PythonStore::read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const {
  validate_key(key);
  return call("reading", key, [&]() -> bool {
    nb::object value = source_.attr("get_range")(nb::str(key.data(), key.size()), offset, length);
    if (value.is_none()) return false;
    BytesView view(value);
    if (view.bytes().size() != length) {
      throw StoreError("store " + description_ + ": key '" + std::string(key) + "' is too short: " +
                       std::to_string(length) + " bytes from offset " + std::to_string(offset) + " asked, " +
                       std::to_string(view.bytes().size()) + " there");
    }
    if (length > 0) std::memcpy(dst, view.bytes().data(), static_cast<std::size_t>(length));
    return true;
  });
}

std::optional<Buffer> PythonStore::get_suffix(std::string_view key, std::uint64_t length) const {
  validate_key(key);
  return call("reading", key, [&]() -> std::optional<Buffer> {
    nb::object value = source_.attr("get_suffix")(nb::str(key.data(), key.size()), length);
    if (value.is_none()) return std::nullopt;
    return Buffer::copy_of(BytesView(value).bytes());
  });
}

std::optional<EdgeRead> PythonStore::get_edge(std::string_view key, Edge edge, std::uint64_t length) const {
  validate_key(key);
  return call("reading", key, [&]() -> std::optional<EdgeRead> {
    nb::object answer = source_.attr("get_edge")(nb::str(key.data(), key.size()), edge == Edge::Front, length);
    if (answer.is_none()) return std::nullopt;
    auto pair = nb::cast<nb::tuple>(answer);
    if (pair.size() != 2) throw nb::type_error("get_edge must answer (bytes, total_size) or None");
    EdgeRead read{Buffer::copy_of(BytesView(pair[0]).bytes()), nb::cast<std::uint64_t>(pair[1])};
    if (read.bytes.size() != std::min(length, read.total_size)) {
      throw StoreError("store " + description_ + ": key '" + std::string(key) + "' answered " +
                       std::to_string(read.bytes.size()) + " bytes of a value of " +
                       std::to_string(read.total_size) + " where " +
                       std::to_string(std::min(length, read.total_size)) + " were asked");
    }
    return read;
  });
}

std::optional<std::uint64_t> PythonStore::read_front_into(std::string_view key, std::uint64_t length,
                                                          void* dst) const {
  std::optional<EdgeRead> read = get_edge(key, Edge::Front, length);
  if (!read) return std::nullopt;
  if (!read->bytes.empty()) std::memcpy(dst, read->bytes.data(), read->bytes.size());
  return read->total_size;
}

std::optional<std::uint64_t> PythonStore::size(std::string_view key) const {
  validate_key(key);
  return call("asking the size of", key, [&]() -> std::optional<std::uint64_t> {
    nb::object value = source_.attr("size")(nb::str(key.data(), key.size()));
    if (value.is_none()) return std::nullopt;
    return nb::cast<std::uint64_t>(value);
  });
}

bool PythonStore::exists(std::string_view key) const {
  validate_key(key);
  return call("looking up", key, [&] { return nb::cast<bool>(source_.attr("exists")(nb::str(key.data(), key.size()))); });
}

std::vector<std::string> PythonStore::list_dir(std::string_view prefix) const {
  if (!prefix.empty()) validate_key(prefix);
  std::vector<std::string> names = call("listing", prefix, [&] {
    return nb::cast<std::vector<std::string>>(source_.attr("list_dir")(nb::str(prefix.data(), prefix.size())));
  });
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace cuzarr::python
