// kerchunk's reference format (versions 0 and 1), read into a Manifest; open_kerchunk reads the
// file from a path or URL.
#include <cctype>
#include <functional>
#include <optional>

#include "cuzarr/error.hpp"
#include "cuzarr/manifest.hpp"
#include "metadata/fill_value.hpp"
#include "metadata/json_util.hpp"
#include "store/kerchunk_template.hpp"
#include "store/manifest_targets.hpp"

namespace cuzarr {
namespace {

using metadata::Json;

class Parser {
 public:
  Parser(const std::string& name, std::size_t max_entries) : name_(name), max_entries_(max_entries) {}

  Manifest parse(const Json& doc) {
    if (!doc.is_object()) fail("", "kerchunk references are a JSON object, not " + metadata::json_type_name(doc));
    const Json* refs = &doc;
    if (doc.contains("version")) {
      const Json& v = doc["version"];
      if (!v.is_number_integer() || v.get<std::int64_t>() != 1) {
        fail("", "'version' " + v.dump() + " is not a kerchunk reference version cuzarr reads (1, or none for 0)");
      }
      templates(doc);
      static const Json empty = Json::object();
      refs = doc.contains("refs") ? &doc["refs"] : &empty;
      if (!refs->is_object()) fail("", "'refs' must be an object, not " + metadata::json_type_name(*refs));
      if (doc.contains("gen")) generate(doc["gen"]);
    }
    for (const auto& [key, value] : refs->items()) entry(key, value);
    return std::move(manifest_);
  }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw MetadataError(name_ + (key.empty() ? "" : ": reference '" + key + "'") + ": " + why);
  }

  void templates(const Json& doc) {
    if (!doc.contains("templates")) return;
    const Json& t = doc["templates"];
    if (!t.is_object()) fail("", "'templates' must be an object, not " + metadata::json_type_name(t));
    for (const auto& [name, value] : t.items()) {
      if (!value.is_string()) fail("", "template '" + name + "' must be a string, not " + metadata::json_type_name(value));
      if (value.get<std::string>().find("{{") != std::string::npos) {
        fail("", "template '" + name + "' is itself a template (a function of arguments), which cuzarr does not expand");
      }
      vars_[name] = value.get<std::string>();
    }
  }

  std::string expand(const std::string& key, const std::string& text, const store::TemplateVars& vars) const {
    if (text.find("{{") == std::string::npos) return text;
    try {
      return store::expand_template(text, vars);
    } catch (const MetadataError& e) {
      fail(key, e.what());
    }
  }

  void add(const std::string& key, auto&& fn) {
    try {
      fn();
    } catch (const StoreError& e) {
      fail(key, e.what());  // an invalid key or target
    }
  }

  std::uint64_t unsigned_field(const std::string& key, const Json& v, const char* what) const {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer()) fail(key, std::string("negative ") + what + " " + v.dump());
    fail(key, std::string(what) + " must be an integer, not " + metadata::json_type_name(v));
  }

  void entry(const std::string& key, const Json& value) {
    if (value.is_string()) {
      const std::string& s = value.get_ref<const std::string&>();
      if (!s.starts_with("base64:")) return add(key, [&] { manifest_.add_inline(key, s); });
      std::optional<std::vector<std::byte>> bytes = metadata::try_decode_base64(std::string_view(s).substr(7));
      if (!bytes) fail(key, "'base64:' data that is not standard base64");
      return add(key, [&] { manifest_.add_inline(key, std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size())); });
    }
    if (value.is_object()) return add(key, [&] { manifest_.add_inline(key, value.dump()); });
    if (!value.is_array() || (value.size() != 1 && value.size() != 3)) {
      fail(key, "a reference is text, an object, [url] or [url, offset, length], not " + value.dump().substr(0, 200));
    }
    if (!value[0].is_string()) fail(key, "the URL must be a string, not " + metadata::json_type_name(value[0]));
    ChunkReference ref{expand(key, value[0].get<std::string>(), vars_), 0, std::nullopt};
    if (value.size() == 3) {
      ref.offset = unsigned_field(key, value[1], "offset");
      ref.length = unsigned_field(key, value[2], "length");
    }
    add(key, [&] { manifest_.add_reference(key, std::move(ref)); });
  }

  // One dimension of a `gen` entry: a list of values, or {start, stop, step} as Python's range.
  static std::vector<std::string> dimension(const Json& d, const std::function<void(const std::string&)>& bad) {
    std::vector<std::string> values;
    if (d.is_array()) {
      for (const Json& v : d) {
        if (v.is_string()) {
          values.push_back(v.get<std::string>());
        } else if (v.is_number_integer()) {
          values.push_back(v.dump());
        } else {
          bad("dimension values must be integers or strings, not " + metadata::json_type_name(v));
        }
      }
      return values;
    }
    if (!d.is_object() || !d.contains("stop")) bad("a dimension is a list or an object with 'stop', not " + d.dump());
    auto field = [&](const char* name, std::int64_t fallback) -> std::int64_t {
      if (!d.contains(name)) return fallback;
      if (!d[name].is_number_integer()) bad(std::string("'") + name + "' must be an integer");
      return d[name].get<std::int64_t>();
    };
    const std::int64_t start = field("start", 0), stop = field("stop", 0), step = field("step", 1);
    if (step == 0) bad("'step' must not be 0");
    for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      values.push_back(std::to_string(i));
      if (values.size() > (std::size_t{1} << 27)) bad("a dimension of more than 2^27 values");
      if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
    }
    return values;
  }

  void generate(const Json& gen) {
    if (!gen.is_array()) fail("", "'gen' must be a list, not " + metadata::json_type_name(gen));
    for (std::size_t g = 0; g < gen.size(); ++g) {
      const std::string where = "gen[" + std::to_string(g) + "]";
      const Json& item = gen[g];
      auto bad = [&](const std::string& why) { fail("", where + ": " + why); };
      if (!item.is_object()) bad("must be an object");
      auto text = [&](const char* name) -> std::optional<std::string> {
        if (!item.contains(name)) return std::nullopt;
        const Json& v = item[name];
        if (v.is_string()) return v.get<std::string>();
        if (v.is_number_integer()) return v.dump();
        bad(std::string("'") + name + "' must be a string, not " + metadata::json_type_name(v));
        return std::nullopt;
      };
      const std::optional<std::string> key = text("key"), url = text("url"), offset = text("offset"),
                                       length = text("length");
      if (!key || !url) bad("needs 'key' and 'url'");
      if (offset.has_value() != length.has_value()) bad("needs both 'offset' and 'length', or neither");
      if (!item.contains("dimensions") || !item["dimensions"].is_object()) bad("needs 'dimensions', an object");
      std::vector<std::string> names;
      std::vector<std::vector<std::string>> values;
      std::size_t total = 1;
      for (const auto& [name, d] : item["dimensions"].items()) {
        names.push_back(name);
        values.push_back(dimension(d, bad));
        if (values.back().empty()) return;  // an empty product: nothing generated
        if (total > max_entries_ / values.back().size()) bad("expands to more than " + std::to_string(max_entries_) + " references");
        total *= values.back().size();
      }
      if (manifest_.size() + total > max_entries_) bad("expands to more than " + std::to_string(max_entries_) + " references");
      store::TemplateVars vars = vars_;
      std::vector<std::size_t> at(names.size(), 0);
      for (std::size_t n = 0; n < total; ++n) {
        for (std::size_t d = 0; d < names.size(); ++d) vars[names[d]] = values[d][at[d]];
        const std::string k = expand(where, *key, vars);
        ChunkReference ref{expand(k, *url, vars), 0, std::nullopt};
        if (offset) {
          ref.offset = number(k, expand(k, *offset, vars), "offset");
          ref.length = number(k, expand(k, *length, vars), "length");
        }
        add(k, [&] { manifest_.add_reference(k, std::move(ref)); });
        for (std::size_t d = names.size(); d-- > 0;) {  // the last dimension varies fastest
          if (++at[d] < values[d].size()) break;
          at[d] = 0;
        }
      }
    }
  }

  std::uint64_t number(const std::string& key, const std::string& text, const char* what) const {
    std::size_t used = 0;
    std::int64_t v = 0;
    try {
      v = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size()) fail(key, std::string(what) + " '" + text + "' is not an integer");
    if (v < 0) fail(key, std::string("negative ") + what + " " + text);
    return static_cast<std::uint64_t>(v);
  }

  const std::string& name_;
  std::size_t max_entries_;
  store::TemplateVars vars_;
  Manifest manifest_;
};

}  // namespace

Manifest parse_kerchunk(std::span<const std::byte> json, const std::string& name, std::size_t max_entries) {
  const Json doc = metadata::parse_json(json, name);
  return Parser(name, max_entries).parse(doc);
}

bool is_references_location(std::string_view location) {
  if (location.size() < 5) return false;
  std::string tail(location.substr(location.size() - 5));
  for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return tail == ".json";
}

std::shared_ptr<const ManifestStore> open_kerchunk(const std::string& location, ManifestOptions options,
                                                   const StoreOptions& file_options) {
  const store::ResolvedTarget file = store::resolve_target(location, "", "");
  if (!file.error.empty()) throw UnsupportedError("references '" + location + "': " + file.error);
  std::shared_ptr<const Store> folder;
  try {
    folder = store::open_target_store(file, file_options);
  } catch (const StoreError&) {
    throw KeyNotFound("references file '" + location + "' does not exist");
  }
  std::optional<Buffer> bytes = folder->get(file.key);
  if (!bytes) throw KeyNotFound("references file '" + location + "' does not exist");
  if (options.name == "<references>") options.name = location;  // the default name
  if (options.base.empty()) options.base = file.base;
  Manifest manifest = parse_kerchunk(bytes->span(), options.name);
  return make_manifest_store(std::move(manifest), std::move(options));
}

}  // namespace cuzarr
