// ZipStore: a Zarr store inside a .zip, read with libzip. The central directory is read once
// into a name index; reads borrow one of a pool of archive handles (a libzip archive must not be
// used by two threads at once), all reading one descriptor with pread (pread_zip_source.hpp); the
// pool is per process, so a forked child makes its own handles. Stored members are read by range
// with zip_fseek (only the bytes asked for come off the disk); deflated members are inflated from
// their start up to the range.
#include <zip.h>

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <set>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/metadata_read.hpp"
#include "process_local.hpp"
#include "store/posix_file.hpp"
#include "store/pread_zip_source.hpp"

namespace cuzarr {
namespace {

struct FileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using Archive = store::PreadArchive;
using MemberFile = std::unique_ptr<zip_file_t, FileClose>;

struct Member {
  zip_uint64_t index = 0;
  std::uint64_t size = 0;
  bool stored = false;  // no compression: ranges can be read in place
};

bool is_metadata(std::string_view name) { return name == "zarr.json" || name == ".zgroup" || name == ".zarray"; }

}  // namespace

class ZipStore::Impl {
 public:
  explicit Impl(std::filesystem::path archive) : path_(std::move(archive)) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path_, ec)) {
      throw KeyNotFound("no Zarr store at '" + path_.string() + "': not a file");
    }
    std::optional<store::PosixFile> file = store::PosixFile::open(path_);
    if (!file) throw KeyNotFound("no Zarr store at '" + path_.string() + "': not a file");
    file_.emplace(std::move(*file));
    Archive za = open_archive();
    const zip_int64_t n = zip_get_num_entries(za.get(), 0);
    std::map<std::string, Member> all;
    for (zip_int64_t i = 0; i < n; ++i) {
      zip_stat_t st;
      zip_stat_init(&st);
      if (zip_stat_index(za.get(), static_cast<zip_uint64_t>(i), 0, &st) != 0 || (st.valid & ZIP_STAT_NAME) == 0) {
        throw StoreError("'" + path_.string() + "': cannot read entry " + std::to_string(i) + ": " +
                         zip_strerror(za.get()));
      }
      std::string name(st.name);
      if (name.empty() || name.back() == '/') continue;  // a folder entry
      if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
        encrypted_.insert(name);
        continue;
      }
      all[name] = Member{static_cast<zip_uint64_t>(i), st.size, st.comp_method == ZIP_CM_STORE};
    }
    // The store root: the archive's root, or its single top-level folder (zipping "x.zarr/"
    // as a folder puts every key below "x.zarr/").
    bool root_has_metadata = false;
    std::set<std::string> tops;
    for (const auto& [name, m] : all) {
      if (is_metadata(name)) root_has_metadata = true;
      tops.insert(name.substr(0, name.find('/')));
    }
    if (!root_has_metadata && tops.size() == 1) {
      const std::string top = *tops.begin() + "/";
      bool folder_has_metadata = false;
      for (const char* doc : {"zarr.json", ".zgroup", ".zarray"}) folder_has_metadata |= all.count(top + doc) > 0;
      if (folder_has_metadata) prefix_ = top;
    }
    for (auto& [name, m] : all) {
      if (!name.starts_with(prefix_)) continue;
      const std::string key = name.substr(prefix_.size());
      // Directory listing: every folder on the key's path knows its child.
      for (std::size_t start = 0;;) {
        const std::size_t slash = key.find('/', start);
        children_[key.substr(0, start == 0 ? 0 : start - 1)].insert(key.substr(start, slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
      }
      members_.emplace(key, m);
    }
    handles_.get().idle.push_back(std::move(za));
  }

  std::string describe() const { return path_.string(); }

  // The member of `key`, nullopt when there is none.
  std::optional<Member> find(std::string_view key) const {
    validate_key(key);
    auto it = members_.find(std::string(key));
    if (it != members_.end()) return it->second;
    if (encrypted_.count(prefix_ + std::string(key))) {
      throw UnsupportedError("'" + describe() + "': member '" + std::string(key) + "' is encrypted");
    }
    return std::nullopt;
  }

  std::vector<std::string> list(std::string_view prefix) const {
    if (!prefix.empty()) validate_key(prefix);
    auto it = children_.find(std::string(prefix));
    if (it == children_.end()) return {};
    return {it->second.begin(), it->second.end()};
  }

  void check_range(std::string_view key, const Member& m, std::uint64_t offset, std::uint64_t length) const {
    if (offset > m.size || length > m.size - offset) {
      throw StoreError("key '" + std::string(key) + "' in '" + describe() + "' is " + std::to_string(m.size) +
                       " bytes long; cannot read bytes [" + std::to_string(offset) + ", " +
                       std::to_string(offset + length) + ")");
    }
  }

  // Reads bytes [offset, offset + length) of the member into dst.
  void read(std::string_view key, const Member& m, std::uint64_t offset, std::uint64_t length, void* dst) const {
    check_range(key, m, offset, length);
    if (length == 0) return;
    Lease lease(*this);
    auto fail = [&](const std::string& what) {
      throw StoreError("'" + describe() + "', member '" + std::string(key) + "': " + what);
    };
    MemberFile file(zip_fopen_index(lease.get(), m.index, 0));
    if (!file) fail(std::string("cannot open: ") + zip_strerror(lease.get()));
    if (offset > 0) {
      if (m.stored) {
        if (zip_fseek(file.get(), static_cast<zip_int64_t>(offset), SEEK_SET) != 0) {
          fail(std::string("cannot seek: ") + zip_file_strerror(file.get()));
        }
      } else {
        // A deflate stream has no random access: inflate and drop what lies before the range.
        Buffer scratch(static_cast<std::size_t>(std::min<std::uint64_t>(offset, 1u << 20)));
        for (std::uint64_t left = offset; left > 0;) {
          const std::uint64_t step = std::min<std::uint64_t>(left, scratch.size());
          if (zip_fread(file.get(), scratch.data(), step) != static_cast<zip_int64_t>(step)) {
            fail(std::string("truncated or corrupt member: ") + zip_file_strerror(file.get()));
          }
          left -= step;
        }
      }
    }
    auto* out = static_cast<std::byte*>(dst);
    for (std::uint64_t done = 0; done < length;) {
      const zip_int64_t got = zip_fread(file.get(), out + done, length - done);
      if (got <= 0) {
        fail("truncated or corrupt member: got " + std::to_string(done) + " of " + std::to_string(length) +
             " bytes" + (got < 0 ? std::string(" (") + zip_file_strerror(file.get()) + ")" : std::string()));
      }
      done += static_cast<std::uint64_t>(got);
    }
  }

 private:
  Archive open_archive() const { return Archive(*file_, path_.string()); }

  // The archive handles of one process: made as concurrent reads need them and kept.
  struct Handles {
    std::mutex mutex;
    std::vector<Archive> idle;
  };

  // An archive handle for one read.
  class Lease {
   public:
    explicit Lease(const Impl& impl) : handles_(impl.handles_.get()) {
      {
        std::lock_guard lock(handles_.mutex);
        if (!handles_.idle.empty()) {
          za_.emplace(std::move(handles_.idle.back()));
          handles_.idle.pop_back();
        }
      }
      if (!za_) za_.emplace(impl.open_archive());
    }
    ~Lease() {
      std::lock_guard lock(handles_.mutex);
      handles_.idle.push_back(std::move(*za_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    zip_t* get() const { return za_->get(); }

   private:
    Handles& handles_;
    std::optional<Archive> za_;
  };

  std::filesystem::path path_;
  std::string prefix_;  // "" or "<folder>/"
  std::map<std::string, Member, std::less<>> members_;
  std::map<std::string, std::set<std::string>> children_;
  std::set<std::string> encrypted_;
  std::optional<store::PosixFile> file_;  // read by every handle of every process
  // After file_: destroyed before it. A child never touches its parent's handles (process_local.hpp).
  ProcessLocal<Handles> handles_{[] { return std::make_unique<Handles>(); }};
};

ZipStore::ZipStore(std::filesystem::path archive) : impl_(std::make_unique<Impl>(std::move(archive))) {}

ZipStore::~ZipStore() = default;

std::optional<Buffer> ZipStore::get(std::string_view key) const {
  return get_metadata(key, std::numeric_limits<std::uint64_t>::max());  // the same read, with no cap
}

std::optional<Buffer> ZipStore::get_metadata(std::string_view key, std::uint64_t max_bytes) const {
  const std::optional<Member> m = impl_->find(key);
  if (!m) return std::nullopt;
  // The declared size is checked before the buffer exists; the inflate then stops at that size,
  // so a member that inflates to more than it declares cannot grow the read either.
  if (m->size > max_bytes) {
    throw StoreError("'" + describe() + "', member '" + std::string(key) + "': " +
                     store::metadata_too_large(max_bytes, m->size));
  }
  Buffer buf(m->size);
  impl_->read(key, *m, 0, m->size, buf.data());
  return buf;
}

std::optional<Buffer> ZipStore::get_range(std::string_view key, std::uint64_t offset, std::uint64_t length) const {
  const std::optional<Member> m = impl_->find(key);
  if (!m) return std::nullopt;
  impl_->check_range(key, *m, offset, length);  // before any allocation
  Buffer buf(length);
  impl_->read(key, *m, offset, length, buf.data());
  return buf;
}

bool ZipStore::read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const {
  const std::optional<Member> m = impl_->find(key);
  if (!m) return false;
  impl_->read(key, *m, offset, length, dst);
  return true;
}

std::optional<Buffer> ZipStore::get_suffix(std::string_view key, std::uint64_t length) const {
  const std::optional<Member> m = impl_->find(key);
  if (!m) return std::nullopt;
  if (length > m->size) {
    throw StoreError("key '" + std::string(key) + "' in '" + describe() + "' is " + std::to_string(m->size) +
                     " bytes long; cannot read its last " + std::to_string(length) + " bytes");
  }
  Buffer buf(length);
  impl_->read(key, *m, m->size - length, length, buf.data());
  return buf;
}

std::optional<std::uint64_t> ZipStore::size(std::string_view key) const {
  const std::optional<Member> m = impl_->find(key);
  if (!m) return std::nullopt;
  return m->size;
}

bool ZipStore::exists(std::string_view key) const { return impl_->find(key).has_value(); }

std::vector<std::string> ZipStore::list_dir(std::string_view prefix) const { return impl_->list(prefix); }

std::string ZipStore::describe() const { return impl_->describe(); }

}  // namespace cuzarr
