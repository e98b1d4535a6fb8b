// Key/value access to the bytes of a Zarr hierarchy. Keys are '/'-separated relative paths
// ("group/array/c/0/1"); every key is validated before it reaches the file system.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/buffer.hpp"

namespace cuzarr {

namespace store {
class PosixFile;  // an open file (cpp/src/store/posix_file.hpp)
}  // namespace store

// Throws StoreError unless `key` is a safe relative key: not empty, not absolute, no empty,
// "." or ".." parts, no NUL or backslash.
void validate_key(std::string_view key);

// Joins two key prefixes with '/', ignoring empty parts ("" + "a" = "a").
std::string join_key(std::string_view prefix, std::string_view name);

// How a store likes to be read (Store::read_pattern). A local file serves many small byte ranges
// cheaply (a pread each), so a read takes only the bytes it needs and asks sizes freely; a network
// store or an archive costs a round trip (or an inflate) per request, so a read asks for whole
// values, gets sizes with the bytes, and merges nearby ranges into few large requests.
enum class ReadPattern { RandomRanges, FewLargeRequests };

// Which end of a value Store::get_edge reads.
enum class Edge { Front, Back };

// Part of a value together with the size of the whole value.
struct EdgeRead {
  Buffer bytes;
  std::uint64_t total_size = 0;
};

class Store;

// Where a value's bytes lie in another store: `length` bytes at `offset` of `key` in `store`
// (a reference of a ManifestStore).
struct StoreLocation {
  std::shared_ptr<const Store> store;
  std::string key;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // The whole value, or nullopt when the key does not exist.
  virtual std::optional<Buffer> get(std::string_view key) const = 0;
  // A metadata document (zarr.json, .zarray, .zgroup, .zattrs, .zmetadata): the whole value, or
  // nullopt when the key does not exist. A value over `max_bytes` (Config::max_metadata_bytes) is
  // a StoreError naming the store, the key, the cap and CUZARR_MAX_METADATA_BYTES, raised before
  // the value is held whole: from its declared size where the store knows one (a file's, a zip
  // member's, a Content-Length), else once more than `max_bytes` have come. The default checks
  // what get() returns (File, Zip and the network stores check first).
  virtual std::optional<Buffer> get_metadata(std::string_view key, std::uint64_t max_bytes) const;
  // `length` bytes from `offset`; nullopt when the key does not exist. A value shorter than
  // offset + length is a StoreError naming the key and both sizes.
  virtual std::optional<Buffer> get_range(std::string_view key, std::uint64_t offset,
                                          std::uint64_t length) const = 0;
  // Reads `length` bytes from `offset` into `dst` (caller's memory, e.g. a pinned staging
  // buffer); false when the key does not exist. The default goes through get_range.
  virtual bool read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const;
  // The last `length` bytes; nullopt when the key does not exist.
  virtual std::optional<Buffer> get_suffix(std::string_view key, std::uint64_t length) const = 0;
  // The first (Front) or last (Back) min(length, size) bytes of the value and its whole size, in
  // one request where the store can (an HTTP range answers both); nullopt when the key does not
  // exist. The default asks size() and then get_range().
  virtual std::optional<EdgeRead> get_edge(std::string_view key, Edge edge, std::uint64_t length) const;
  // Reads the first min(length, size) bytes of the value into `dst` and returns its whole size;
  // nullopt when the key does not exist. One request over HTTP; the default asks size() first.
  virtual std::optional<std::uint64_t> read_front_into(std::string_view key, std::uint64_t length, void* dst) const;
  // Size in bytes of the value, nullopt when absent.
  virtual std::optional<std::uint64_t> size(std::string_view key) const = 0;
  virtual bool exists(std::string_view key) const = 0;
  // What tells one version of a value from the next: its ETag as the server sent it ("" when the
  // store has none) and its last modification (seconds since the epoch), where the store knows
  // them; nullopt when the key does not exist. Default: neither (exists() only).
  struct Version {
    std::string etag;
    std::optional<std::int64_t> last_modified;
  };
  virtual std::optional<Version> version(std::string_view key) const;
  // Names directly under `prefix` ("" is the root), sorted; empty when the prefix does not exist.
  // A store that cannot list (HTTP) throws UnsupportedError saying so.
  virtual std::vector<std::string> list_dir(std::string_view prefix) const = 0;
  // A human-readable location ("/data/x.zarr") for messages.
  virtual std::string describe() const = 0;
  // The local file holding `key`, for readers that open files themselves (cuFile); nullopt for
  // stores that are not local files.
  virtual std::optional<std::filesystem::path> local_path(std::string_view key) const {
    (void)key;
    return std::nullopt;
  }
  // How many reads the store serves best at once (a network store wants many in flight); 0 when
  // the reader's own thread count is right.
  virtual std::size_t preferred_concurrency() const { return 0; }
  // See ReadPattern.
  virtual ReadPattern read_pattern() const { return ReadPattern::FewLargeRequests; }

  // Writes. A Store is a handle on bytes that live elsewhere, so writing changes no state of the
  // handle and the methods are const, like the reads; whether a node may be written is decided
  // when it is opened (OpenOptions::mode), not here.
  // Whether write and erase work on this store.
  virtual bool writable() const { return false; }
  // Makes `value` the whole value of `key`, creating what the key's path needs. A reader sees
  // the old value or the new one, never a mix, where the store can promise it (FileStore does).
  // Read-only stores (the default) throw UnsupportedError naming the store.
  virtual void write(std::string_view key, std::span<const std::byte> value) const;
  // Removes `key`; nothing happens when it does not exist. Read-only stores throw UnsupportedError.
  virtual void erase(std::string_view key) const;

  // Where the bytes of `key` lie in another store, for stores whose values are byte ranges of
  // others (ManifestStore): the engine then reads nearby ranges of one target in one request, as
  // it does a shard's inner chunks. nullopt: read `key` from this store (also for keys it lacks).
  virtual std::optional<StoreLocation> locate(std::string_view key) const {
    (void)key;
    return std::nullopt;
  }
  // Whether locate() may find values in other stores (the engine then asks it for every chunk).
  virtual bool refers_to_others() const { return false; }
};

// A store over a directory of the local file system. Reads never create or change a file; a
// write puts each value into a temporary file beside its key (".<name>.cuzarr-tmp-<pid>-<n>")
// and renames it over the key, so a process killed mid-write leaves the old value or the new
// one, never part of one (perhaps a stray temporary file, which no reader opens). A failed write
// (a full disk included) removes its temporary file and leaves the key as it was.
// Only regular files are read (a FIFO or a device is a StoreError). A symbolic link is followed
// only when its target lies inside `root` (checked on the opened file, so a link swapped later
// cannot escape), unless CUZARR_SYMLINKS=follow; a dangling link reads as a missing key.
class FileStore final : public Store {
 public:
  // Throws KeyNotFound when `root` is not an existing directory.
  explicit FileStore(std::filesystem::path root);
  ~FileStore() override;
  FileStore(const FileStore&) = delete;
  FileStore& operator=(const FileStore&) = delete;

  std::optional<Buffer> get(std::string_view key) const override;
  std::optional<Buffer> get_metadata(std::string_view key, std::uint64_t max_bytes) const override;
  std::optional<Buffer> get_range(std::string_view key, std::uint64_t offset,
                                  std::uint64_t length) const override;
  std::optional<Buffer> get_suffix(std::string_view key, std::uint64_t length) const override;
  bool read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const override;
  std::optional<EdgeRead> get_edge(std::string_view key, Edge edge, std::uint64_t length) const override;
  std::optional<std::uint64_t> read_front_into(std::string_view key, std::uint64_t length, void* dst) const override;
  std::optional<Version> version(std::string_view key) const override;  // ETag "", the file's mtime
  std::optional<std::uint64_t> size(std::string_view key) const override;
  bool exists(std::string_view key) const override;
  std::vector<std::string> list_dir(std::string_view prefix) const override;
  std::string describe() const override;
  std::optional<std::filesystem::path> local_path(std::string_view key) const override { return path_of(key); }
  ReadPattern read_pattern() const override { return ReadPattern::RandomRanges; }
  bool writable() const override { return true; }
  void write(std::string_view key, std::span<const std::byte> value) const override;
  void erase(std::string_view key) const override;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path path_of(std::string_view key) const;
  // Opens the file of `key` (nullopt when missing), refusing one that symbolic links lead outside
  // the store unless CUZARR_SYMLINKS=follow.
  std::optional<store::PosixFile> open_file(std::string_view key) const;
  std::filesystem::path root_;
  std::filesystem::path real_root_;  // root_ with every symbolic link resolved
  int root_fd_ = -1;                 // the root directory (O_PATH), for opening files beneath it
  mutable std::atomic<bool> beneath_{true};  // openat2 works here (else every open is checked by path)
};

// Where an S3 store finds its bucket and credentials; unset fields follow the AWS chain (the
// AWS_* environment variables, then the shared credentials and config files' profile). Secrets
// (secret, token) never appear in a message.
struct S3Options {
  std::optional<std::string> key;     // access key id
  std::optional<std::string> secret;  // secret access key
  std::optional<std::string> token;   // session token (temporary credentials)
  bool anon = false;                  // unsigned requests (a public bucket), credentials ignored
  std::optional<std::string> endpoint_url;      // an S3-compatible server ("http://host:9000")
  std::optional<std::string> region;            // signing region (default us-east-1)
  std::optional<std::string> profile;           // profile in the credentials / config files
  std::optional<std::string> addressing_style;  // "path", "virtual" or "auto"

  bool empty() const {
    return !key && !secret && !token && !anon && !endpoint_url && !region && !profile && !addressing_style;
  }
};

// Sets the S3 option `name` ("key", "secret", "token", "anon", "endpoint_url", "region",
// "profile", "addressing_style") from text, as the CLI's --storage-option and Python pass them;
// an unknown name or a bad value is a StoreError that never repeats a secret.
void set_s3_option(S3Options& options, std::string_view name, std::string_view value);

// Where a gs:// store finds its bucket and credentials, as gcsfs users write them; unset fields
// follow GOOGLE_APPLICATION_CREDENTIALS, then gcloud's Application Default Credentials, then
// anonymous requests (docs/stores.md). Secrets (token, secret) never appear in a message.
struct GcsOptions {
  // gcsfs's `token`: "anon" (unsigned requests), "google_default" (the environment's chain), an
  // OAuth2 access token, the path of a JSON credentials file (a service account's key or gcloud's
  // authorized-user credentials), or such a JSON document itself.
  std::optional<std::string> token;
  std::optional<std::string> key;     // HMAC access id (requests signed GOOG4-HMAC-SHA256)
  std::optional<std::string> secret;  // HMAC secret
  bool anon = false;
  std::optional<std::string> project;       // kept for gcsfs's spelling; reads need none
  std::optional<std::string> endpoint_url;  // another server ("http://127.0.0.1:4443"); else STORAGE_EMULATOR_HOST
  bool empty() const { return !token && !key && !secret && !anon && !project && !endpoint_url; }
};

// Where an az:// store finds its account and credentials, as adlfs users write them; unset
// fields follow the AZURE_STORAGE_* variables. Secrets (account_key, sas_token, the key in a
// connection string) never appear in a message.
struct AzureOptions {
  std::optional<std::string> account_name;
  std::optional<std::string> account_key;        // SharedKey signing
  std::optional<std::string> sas_token;          // appended to every request's query
  std::optional<std::string> connection_string;  // "AccountName=...;AccountKey=...;BlobEndpoint=..."
  // Microsoft Entra ID: a service principal's client secret (adlfs's tenant_id, client_id,
  // client_secret), exchanged for OAuth2 access tokens sent as bearer tokens.
  std::optional<std::string> tenant_id;
  std::optional<std::string> client_id;
  std::optional<std::string> client_secret;
  // True: unsigned requests (a public container). False, given: without a key, SAS or service
  // principal, the default Azure credentials (workload identity, managed identity, the Azure CLI's
  // login; adlfs's anon=False). Not given: unsigned when no credentials are found.
  std::optional<bool> anon;
  // The blob endpoint ("https://<account>.blob.core.windows.net", or Azurite's
  // "http://127.0.0.1:10000/<account>"); adlfs's account_host (a host name) is taken too.
  std::optional<std::string> endpoint_url;
  bool empty() const {
    return !account_name && !account_key && !sas_token && !connection_string && !tenant_id && !client_id &&
           !client_secret && !anon.has_value() && !endpoint_url;
  }
};

// Set a gs:// or az:// option from text, as set_s3_option does; an unknown name or a bad value is
// a StoreError that never repeats a secret.
void set_gcs_option(GcsOptions& options, std::string_view name, std::string_view value);
void set_azure_option(AzureOptions& options, std::string_view name, std::string_view value);

// Settings of a network store; unset fields take the CUZARR_HTTP_* configuration.
struct StoreOptions {
  // Extra request headers (e.g. {"Authorization", "Bearer ..."}), added to CUZARR_HTTP_HEADERS;
  // sent with every request, never logged or shown in an error message.
  std::map<std::string, std::string> http_headers;
  std::optional<std::size_t> http_concurrency;  // requests in flight at most
  std::optional<std::size_t> http_retries;      // further attempts after a retryable failure
  std::optional<double> http_timeout;           // seconds without progress before a request fails
  S3Options s3;                                 // s3:// locations only
  GcsOptions gcs;                               // gs:// locations only
  AzureOptions azure;                           // az://, abfs:// and *.blob.core.windows.net only
};

namespace store {
struct Request;
class Response;
}  // namespace store

// The reads that HttpStore and S3Store share, over one request-with-retries (fetch): byte ranges
// checked against Content-Range and Content-Length, the size and existence of a value by HEAD.
class RemoteStore : public Store {
 public:
  std::optional<Buffer> get(std::string_view key) const override;
  std::optional<Buffer> get_metadata(std::string_view key, std::uint64_t max_bytes) const override;
  std::optional<Buffer> get_range(std::string_view key, std::uint64_t offset,
                                  std::uint64_t length) const override;
  std::optional<Buffer> get_suffix(std::string_view key, std::uint64_t length) const override;
  bool read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const override;
  std::optional<EdgeRead> get_edge(std::string_view key, Edge edge, std::uint64_t length) const override;
  std::optional<std::uint64_t> read_front_into(std::string_view key, std::uint64_t length, void* dst) const override;
  std::optional<std::uint64_t> size(std::string_view key) const override;
  bool exists(std::string_view key) const override;
  // A HEAD: its ETag and Last-Modified headers.
  std::optional<Version> version(std::string_view key) const override;

 protected:
  // Runs `request` for `key` (with retries); false when the key does not exist.
  virtual bool fetch(std::string_view key, const store::Request& request, store::Response& response) const = 0;

 private:
  // The whole value in one request; with `metadata_cap`, refused past that size (get_metadata).
  std::optional<Buffer> get_whole(std::string_view key, std::optional<std::uint64_t> metadata_cap) const;
};

// A read-only store over HTTP(S): keys are URLs below `base_url` ("https://host/data.zarr").
// Byte ranges are GET requests with a Range header; 404 and 410 mean a missing key; any other
// failure is a StoreError naming the URL (never a header). Connections are reused; 5xx, 408, 429,
// timeouts, connection failures and short bodies are retried with exponential backoff. HTTP has
// no directory listing: list_dir throws UnsupportedError (use consolidated metadata).
class HttpStore final : public RemoteStore {
 public:
  explicit HttpStore(std::string base_url, const StoreOptions& options = {});
  ~HttpStore() override;
  HttpStore(const HttpStore&) = delete;
  HttpStore& operator=(const HttpStore&) = delete;

  std::vector<std::string> list_dir(std::string_view prefix) const override;
  std::string describe() const override;
  std::size_t preferred_concurrency() const override;

 protected:
  bool fetch(std::string_view key, const store::Request& request, store::Response& response) const override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

namespace store {
class ObjectBackend;  // one cloud's addressing, credentials, errors and listing (store/object_store.hpp)
}  // namespace store

// The object stores (S3Store, GcsStore, AzureStore): RemoteStore's reads over a backend that
// knows its cloud; list_dir lists page by page, so groups without consolidated metadata open.
class ObjectStore : public RemoteStore {
 public:
  ~ObjectStore() override;
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  std::vector<std::string> list_dir(std::string_view prefix) const override;
  std::string describe() const override;
  std::size_t preferred_concurrency() const override;

 protected:
  explicit ObjectStore(std::unique_ptr<store::ObjectBackend> backend);
  bool fetch(std::string_view key, const store::Request& request, store::Response& response) const override;

 private:
  std::unique_ptr<store::ObjectBackend> backend_;
};

// A read-only store over S3 or an S3-compatible server: "s3://bucket/prefix". Requests are
// signed with AWS Signature V4 (by libcurl) unless the options or the absence of credentials make
// them anonymous. Reads are HttpStore's (checked ranges, retries with backoff on 503 SlowDown,
// 5xx and timeouts); S3 error documents become StoreErrors naming the bucket and key (NoSuchKey
// is a missing key). list_dir uses ListObjectsV2, so groups without consolidated metadata open.
// Addressing is virtual-host style on AWS (path style for bucket names with dots) and path style
// on a custom endpoint, unless S3Options::addressing_style says otherwise.
class S3Store final : public ObjectStore {
 public:
  explicit S3Store(const std::string& url, const StoreOptions& options = {});
};

// A read-only store over Google Cloud Storage's XML API: "gs://bucket/prefix" (also "gcs://").
// Requests carry an OAuth2 bearer token (from the options, GOOGLE_APPLICATION_CREDENTIALS or
// gcloud's Application Default Credentials; tokens from a service account's key or a refresh token
// are renewed before they expire), or are signed with an HMAC key (GOOG4-HMAC-SHA256), or go
// anonymous (public buckets). Reads, errors and listing are S3Store's (the XML API answers S3's
// documents and ListObjectsV2).
class GcsStore final : public ObjectStore {
 public:
  explicit GcsStore(const std::string& url, const StoreOptions& options = {});
};

// A read-only store over Azure Blob Storage: "az://container/prefix", "abfs://container/prefix",
// "abfs://container@account.dfs.core.windows.net/prefix" or
// "https://account.blob.core.windows.net/container/prefix". Requests are signed with the account
// key (SharedKey), carry a SAS token, or go anonymous (public containers). Azure ignores suffix
// ranges, so a shard's index at the end costs a HEAD and a range. list_dir is List Blobs.
class AzureStore final : public ObjectStore {
 public:
  explicit AzureStore(const std::string& url, const StoreOptions& options = {});
  std::optional<EdgeRead> get_edge(std::string_view key, Edge edge, std::uint64_t length) const override;
};

// A read-only store inside a .zip archive. The store's root is the archive's root, or its one
// top-level folder when the root holds no Zarr metadata and that folder does. Stored members are
// read by range straight from the archive; deflated members are inflated whole on each read.
class ZipStore final : public Store {
 public:
  // Throws KeyNotFound when `archive` does not exist, StoreError when it is not a readable zip.
  explicit ZipStore(std::filesystem::path archive);
  ~ZipStore() override;
  ZipStore(const ZipStore&) = delete;
  ZipStore& operator=(const ZipStore&) = delete;

  std::optional<Buffer> get(std::string_view key) const override;
  std::optional<Buffer> get_metadata(std::string_view key, std::uint64_t max_bytes) const override;
  std::optional<Buffer> get_range(std::string_view key, std::uint64_t offset,
                                  std::uint64_t length) const override;
  std::optional<Buffer> get_suffix(std::string_view key, std::uint64_t length) const override;
  bool read_into(std::string_view key, std::uint64_t offset, std::uint64_t length, void* dst) const override;
  std::optional<std::uint64_t> size(std::string_view key) const override;
  bool exists(std::string_view key) const override;
  std::vector<std::string> list_dir(std::string_view prefix) const override;
  std::string describe() const override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether `location` is an http:// or https:// URL.
bool is_http_url(std::string_view location);
// Whether `location` is an s3:// URL.
bool is_s3_url(std::string_view location);
// Whether `location` is a gs:// or gcs:// URL.
bool is_gcs_url(std::string_view location);
// Whether `location` is an az://, abfs://, abfss:// URL or an https URL of a host
// "<account>.blob.core.windows.net".
bool is_azure_url(std::string_view location);

// The store for a location: HttpStore for http(s):// URLs, S3Store for s3:// URLs, ZipStore for a
// path ending in ".zip" (a file), FileStore for a directory. S3 options with any other location
// are a StoreError.
std::shared_ptr<const Store> open_store(const std::string& location, const StoreOptions& options = {});

}  // namespace cuzarr
