#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/manifest.hpp"
#include "process_local.hpp"
#include "store/manifest_targets.hpp"
#include "store/metadata_read.hpp"

namespace cuzarr {

void Manifest::add_inline(std::string key, std::string bytes) {
  validate_key(key);
  Entry e;
  e.is_inline = true;
  e.bytes = std::move(bytes);
  entries_.insert_or_assign(std::move(key), std::move(e));
}

void Manifest::add_reference(std::string key, ChunkReference reference) {
  validate_key(key);
  if (reference.target.empty()) throw StoreError("reference '" + key + "': empty target");
  if (reference.length && *reference.length > UINT64_MAX - reference.offset) {
    throw StoreError("reference '" + key + "': offset + length overflows");
  }
  auto [it, added] = target_index_.try_emplace(reference.target, static_cast<std::uint32_t>(targets_.size()));
  if (added) {
    if (targets_.size() == UINT32_MAX) throw StoreError("reference '" + key + "': more than 2^32 distinct targets");
    targets_.push_back(reference.target);
  }
  Entry e;
  e.target = it->second;
  e.offset = reference.offset;
  e.length = reference.length;
  if (!reference.etag.empty() || reference.last_modified) {
    Check c{std::move(reference.etag), reference.last_modified};
    auto [ci, fresh] = check_index_.try_emplace(c, static_cast<std::uint32_t>(checks_.size()));
    if (fresh) checks_.push_back(std::move(c));
    e.check = ci->second;
  }
  entries_.insert_or_assign(std::move(key), std::move(e));
}

class ManifestStore::Impl {
 public:
  Impl(Manifest manifest, ManifestOptions options) : manifest_(std::move(manifest)), options_(std::move(options)) {
    targets_.reserve(manifest_.targets().size());
    for (const std::string& t : manifest_.targets()) {
      targets_.push_back(store::resolve_target(t, options_.base, options_.remote_protocol));
      if (targets_.back().remote) any_remote_ = true;
    }
    // Settled at open, as the target stores settle theirs.
    concurrency_ = any_remote_ ? options_.target_options.http_concurrency.value_or(config().http_concurrency) : 0;
  }

  const Manifest& manifest() const { return manifest_; }
  const ManifestOptions& options() const { return options_; }
  bool any_remote() const { return any_remote_; }
  std::size_t concurrency() const { return concurrency_; }

  const Manifest::Entry* find(std::string_view key) const {
    auto it = manifest_.entries().find(key);
    return it == manifest_.entries().end() ? nullptr : &it->second;
  }

  // "reference 'x/0.0' in refs.json (target '/d/f.nc', bytes 100-199)": the start of every
  // message about a reference.
  std::string context(std::string_view key, const Manifest::Entry& e) const {
    std::string s = "reference '" + std::string(key) + "' in " + options_.name + " (target '" +
                    manifest_.targets()[e.target] + "'";
    if (e.length) {
      s += *e.length == 0 ? ", 0 bytes at " + std::to_string(e.offset)
                          : ", bytes " + std::to_string(e.offset) + "-" + std::to_string(e.offset + *e.length - 1);
    }
    return s + ")";
  }

  // The store holding the target of `e`, opened on first use (one per folder of targets).
  std::pair<std::shared_ptr<const Store>, const std::string*> target_store(std::string_view key,
                                                                          const Manifest::Entry& e) const {
    const store::ResolvedTarget& t = targets_[e.target];
    if (!t.error.empty()) throw UnsupportedError(context(key, e) + ": " + t.error);
    Opened& opened = opened_.get();
    {
      std::lock_guard lock(opened.mutex);
      if (auto it = opened.stores.find(t.base); it != opened.stores.end()) return {it->second, &t.key};
    }
    std::shared_ptr<const Store> s;
    try {
      s = store::open_target_store(t, options_.target_options);
    } catch (const StoreError& err) {
      throw StoreError(context(key, e) + ": " + err.what());
    }
    std::lock_guard lock(opened.mutex);
    return {opened.stores.try_emplace(t.base, std::move(s)).first->second, &t.key};
  }

  // The store of e's target, after checking (once per target and check, per process) that the
  // target is still what the reference says it was when written: the same ETag, not modified
  // after its last_modified. A check the target's store cannot make (no ETag from a local file or
  // from a server that sends none) passes, as a conditional request to such a server would.
  std::pair<std::shared_ptr<const Store>, const std::string*> checked_store(std::string_view key,
                                                                           const Manifest::Entry& e) const {
    auto found = target_store(key, e);
    if (e.check == 0) return found;
    Opened& opened = opened_.get();
    const std::pair<std::uint32_t, std::uint32_t> id{e.target, e.check};
    std::string why;
    {
      std::lock_guard lock(opened.mutex);
      if (auto it = opened.checked.find(id); it != opened.checked.end()) {
        if (it->second.empty()) return found;
        why = it->second;
      }
    }
    if (why.empty()) {
      std::optional<Store::Version> v;
      try {
        v = found.first->version(*found.second);
      } catch (const StoreError& err) {
        throw StoreError(context(key, e) + ": " + err.what());
      }
      if (!v) throw StoreError(context(key, e) + ": the target does not exist");
      why = changed(manifest_.checks()[e.check], *v);
      std::lock_guard lock(opened.mutex);
      opened.checked.try_emplace(id, why);
    }
    if (!why.empty()) throw StoreError(context(key, e) + ": " + why);
    return found;
  }

  // Why a target no longer matches a check ("" when it does).
  static std::string changed(const Manifest::Check& c, const Store::Version& v) {
    const auto bare = [](std::string_view t) {
      if (t.starts_with("W/")) t.remove_prefix(2);
      if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
      return std::string(t);
    };
    const auto shown = [](std::string_view t) {  // an ETag as a message may show it: printable, short
      std::string out;
      for (char ch : t.substr(0, 100)) out += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
      return out;
    };
    if (!c.etag.empty() && !v.etag.empty() && bare(c.etag) != bare(v.etag)) {
      return "the target has changed since the reference was written (its ETag is now " + shown(v.etag) +
             ", the reference's " + shown(c.etag) + "); its bytes are not what the reference points at";
    }
    if (c.last_modified && v.last_modified && *v.last_modified > static_cast<std::int64_t>(*c.last_modified)) {
      return "the target was modified (at " + std::to_string(*v.last_modified) +
             " s since the epoch) after the reference was written (" + std::to_string(*c.last_modified) +
             "); its bytes are not what the reference points at";
    }
    return {};
  }

  // The size of a referenced value: its length, or the target's whole size.
  std::uint64_t ref_size(std::string_view key, const Manifest::Entry& e) const {
    if (e.length) return *e.length;
    auto [s, tkey] = checked_store(key, e);
    std::optional<std::uint64_t> n;
    try {
      n = s->size(*tkey);
    } catch (const StoreError& err) {
      throw StoreError(context(key, e) + ": " + err.what());
    }
    if (!n) throw StoreError(context(key, e) + ": the target does not exist");
    return *n;
  }

  // Reads `n` bytes at `offset` of a referenced value into `dst`.
  void read_ref(std::string_view key, const Manifest::Entry& e, std::uint64_t offset, std::uint64_t n,
                void* dst) const {
    if (e.length && (offset > *e.length || n > *e.length - offset)) {
      throw StoreError(context(key, e) + ": bytes " + std::to_string(offset) + "-" + std::to_string(offset + n) +
                       " asked of a " + std::to_string(*e.length) + "-byte reference");
    }
    auto [s, tkey] = checked_store(key, e);
    bool found = false;
    try {
      found = s->read_into(*tkey, e.offset + offset, n, dst);
    } catch (const StoreError& err) {
      throw StoreError(context(key, e) + ": " + err.what());
    }
    if (!found) throw StoreError(context(key, e) + ": the target does not exist");
  }

  std::optional<Buffer> range(std::string_view key, std::uint64_t offset, std::optional<std::uint64_t> length) const {
    const Manifest::Entry* e = find(key);
    if (e == nullptr) return std::nullopt;
    const std::uint64_t total = e->is_inline ? e->bytes.size() : ref_size(key, *e);
    const std::uint64_t n = length.value_or(total - std::min(offset, total));
    if (offset > total || n > total - offset) {
      throw StoreError("key '" + std::string(key) + "' of " + options_.name + " is " + std::to_string(total) +
                       " bytes, shorter than the " + std::to_string(offset + n) + " asked");
    }
    Buffer out(static_cast<std::size_t>(n));
    if (e->is_inline) {
      if (n > 0) std::memcpy(out.data(), e->bytes.data() + offset, static_cast<std::size_t>(n));
    } else if (n > 0) {
      read_ref(key, *e, offset, n, out.data());
    }
    return out;
  }

  std::optional<StoreLocation> locate(std::string_view key) const {
    const Manifest::Entry* e = find(key);
    if (e == nullptr || e->is_inline || !e->length) return std::nullopt;
    auto [s, tkey] = checked_store(key, *e);
    return StoreLocation{std::move(s), *tkey, e->offset, *e->length};
  }

 private:
  Manifest manifest_;
  ManifestOptions options_;
  std::vector<store::ResolvedTarget> targets_;
  bool any_remote_ = false;
  std::size_t concurrency_ = 0;
  // The target stores opened so far, per process: a child forked while a parent's thread holds
  // the lock would otherwise wait on it forever; a child opens its own (process_local.hpp).
  struct Opened {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const Store>, std::less<>> stores;
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::string> checked;  // (target, check) -> why not, "" ok
  };
  ProcessLocal<Opened> opened_{[] { return std::make_unique<Opened>(); }};
};

ManifestStore::ManifestStore(Manifest manifest, ManifestOptions options)
    : impl_(std::make_unique<Impl>(std::move(manifest), std::move(options))) {}
ManifestStore::~ManifestStore() = default;

const Manifest& ManifestStore::manifest() const { return impl_->manifest(); }

std::optional<Buffer> ManifestStore::get(std::string_view key) const { return impl_->range(key, 0, std::nullopt); }

std::optional<Buffer> ManifestStore::get_metadata(std::string_view key, std::uint64_t max_bytes) const {
  const Manifest::Entry* e = impl_->find(key);
  if (e == nullptr) return std::nullopt;
  const std::uint64_t n = e->is_inline ? e->bytes.size() : impl_->ref_size(key, *e);
  if (n > max_bytes) {
    throw StoreError(describe() + ": '" + std::string(key) + "': " + store::metadata_too_large(max_bytes, n));
  }
  return get(key);
}

std::optional<Buffer> ManifestStore::get_range(std::string_view key, std::uint64_t offset, std::uint64_t length) const {
  return impl_->range(key, offset, length);
}

bool ManifestStore::read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const {
  const Manifest::Entry* e = impl_->find(key);
  if (e == nullptr) return false;
  if (e->is_inline) {
    std::optional<Buffer> b = impl_->range(key, offset, length);
    if (length > 0) std::memcpy(dst, b->data(), static_cast<std::size_t>(length));
    return true;
  }
  if (!e->length) {
    const std::uint64_t total = impl_->ref_size(key, *e);
    if (offset > total || length > total - offset) {
      throw StoreError(impl_->context(key, *e) + ": the target is " + std::to_string(total) + " bytes, shorter than the " +
                       std::to_string(offset + length) + " asked");
    }
  }
  // Straight into the caller's memory (a pinned staging buffer, the output array).
  if (length > 0) impl_->read_ref(key, *e, offset, length, dst);
  return true;
}

std::optional<Buffer> ManifestStore::get_suffix(std::string_view key, std::uint64_t length) const {
  const std::optional<std::uint64_t> n = size(key);
  if (!n) return std::nullopt;
  const std::uint64_t take = std::min(length, *n);
  return impl_->range(key, *n - take, take);
}

std::optional<std::uint64_t> ManifestStore::size(std::string_view key) const {
  const Manifest::Entry* e = impl_->find(key);
  if (e == nullptr) return std::nullopt;
  return e->is_inline ? e->bytes.size() : impl_->ref_size(key, *e);
}

bool ManifestStore::exists(std::string_view key) const { return impl_->find(key) != nullptr; }

std::vector<std::string> ManifestStore::list_dir(std::string_view prefix) const {
  const auto& entries = impl_->manifest().entries();
  const std::string p = prefix.empty() ? std::string() : std::string(prefix) + "/";
  std::set<std::string> names;
  auto it = entries.lower_bound(p);
  while (it != entries.end() && std::string_view(it->first).starts_with(p)) {
    const std::string_view rest = std::string_view(it->first).substr(p.size());
    const std::size_t slash = rest.find('/');
    names.emplace(rest.substr(0, slash));
    if (slash == std::string_view::npos) {
      ++it;
    } else {
      // Skip the rest of this folder: its keys lie in [p + name + "/", p + name + "0").
      it = entries.lower_bound(p + std::string(rest.substr(0, slash)) + "0");
    }
  }
  return {names.begin(), names.end()};
}

std::string ManifestStore::describe() const { return impl_->options().name; }

std::size_t ManifestStore::preferred_concurrency() const { return impl_->concurrency(); }

ReadPattern ManifestStore::read_pattern() const {
  return impl_->any_remote() ? ReadPattern::FewLargeRequests : ReadPattern::RandomRanges;
}

std::optional<StoreLocation> ManifestStore::locate(std::string_view key) const { return impl_->locate(key); }

std::shared_ptr<const ManifestStore> make_manifest_store(Manifest manifest, ManifestOptions options) {
  return std::make_shared<const ManifestStore>(std::move(manifest), std::move(options));
}

}  // namespace cuzarr
