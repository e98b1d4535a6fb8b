// Process-wide settings read once from CUZARR_* environment variables. This is the only global
// state in the library; everything else is owned by the objects that use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace cuzarr {

struct Config {
  // Worker threads for chunk reads and decodes (CUZARR_THREADS, default: hardware cores).
  std::size_t threads = 1;
  // Shard reads merge inner-chunk byte ranges separated by at most this many bytes into one
  // read (CUZARR_COALESCE_BYTES, default 1 MiB; 0 merges only adjacent ranges).
  std::size_t coalesce_bytes = std::size_t{1} << 20;
  // GPU reads: size of each pinned staging buffer (CUZARR_STAGING_BYTES, default 8 MiB) and how
  // many there are at most per GPU (CUZARR_STAGING_BUFFERS, default 16, allocated as reads need
  // them): the bound on staging memory.
  std::size_t staging_bytes = std::size_t{8} << 20;
  std::size_t staging_buffers = 16;
  // Bytes a read holds in flight on the host beyond the output and the GPU staging rings: fetched
  // chunks and shard ranges, and decoded chunks that cannot be decoded in place
  // (CUZARR_MEMORY_BUDGET, default 192 MiB). Reads wait for room rather than exceed it; one
  // chunk larger than the budget is still read, alone.
  std::size_t memory_budget = std::size_t{192} << 20;
  // CUZARR_LOG=debug: reads say on stderr how their chunks were read and decoded (how many went
  // to the GPU, how many to the CPU and why) and where the time of their GPU decoding went.
  bool log_debug = false;
  // GPUDirect Storage (CUZARR_GDS): Auto uses cuFile where the system accepts it, On makes a
  // refusal an error, Off never tries.
  enum class Gds { Auto, On, Off } gds = Gds::Auto;
  // Symbolic links in a FileStore (CUZARR_SYMLINKS): Inside follows a link only when its target
  // lies inside the store's directory (a read of anything else is a StoreError); Follow follows
  // every link, e.g. for git-annex / DataLad stores whose files link into the repository.
  enum class Symlinks { Inside, Follow } symlinks = Symlinks::Inside;
  // Where compressed chunks of GPU reads are decompressed (CUZARR_DECODE): Auto decides per
  // array from the codec and chunk size (docs/gpu.md), Cpu always on the host, Gpu on the device
  // wherever a GPU decoder exists (anything else still falls back to the host).
  enum class Decode { Auto, Cpu, Gpu } decode = Decode::Auto;
  // Under Decode::Auto, each read's chunks are split between the reader threads and the device by
  // a cost model of the rates this process has measured (cuda/decode_rates.hpp, docs/gpu.md);
  // CUZARR_DECODE_SHARE=auto sizes the threads' share by the read's own rates instead (off, the
  // default: the cost model).
  bool decode_share = false;
  // nvCOMP shared library to load (CUZARR_NVCOMP_LIBRARY); empty: libnvcomp.so.6 from the
  // loader's path (the Python package sets this to the nvidia-libnvcomp wheel's copy).
  std::string nvcomp_library;
  // Which LZ4 decoder GPU reads use (CUZARR_GPU_LZ4): Auto, with nvCOMP loaded, takes per batch
  // whichever of the two the process has measured faster on batches like it (docs/gpu.md), else
  // cuzarr's own kernel; Own and Nvcomp force one (Nvcomp falls back to Own without it).
  enum class GpuLz4 { Auto, Own, Nvcomp } gpu_lz4 = GpuLz4::Auto;
  // Which zstd decoder GPU reads use (CUZARR_GPU_ZSTD): Auto, with nvCOMP loaded, takes per batch
  // whichever of the two the process has measured faster on batches like it, else cuzarr's own
  // kernels (cuda/zstd_kernels.hpp); Own and Nvcomp force one (Nvcomp without nvCOMP leaves zstd
  // to the CPU).
  enum class GpuZstd { Auto, Own, Nvcomp } gpu_zstd = GpuZstd::Auto;
  // HTTP stores: requests in flight at most, the ceiling of the request window that widens from
  // 16 while the server keeps up (CUZARR_HTTP_CONCURRENCY, default 64; docs/stores.md), further
  // attempts after a retryable failure (CUZARR_HTTP_RETRIES, default 10, within 20 s of waiting
  // per request: store/retry_policy.hpp), seconds a request may
  // go without progress before it fails (CUZARR_HTTP_TIMEOUT, default 30), and headers sent with
  // every request (CUZARR_HTTP_HEADERS, a JSON object of strings, e.g. {"Authorization": "..."}).
  std::size_t http_concurrency = 64;
  bool http_concurrency_given = false;  // CUZARR_HTTP_CONCURRENCY was set
  std::size_t http_retries = 10;
  double http_timeout = 30.0;
  // Sent to HTTP stores only: never to S3 (its requests carry a signature instead), and not past
  // a redirect to another origin (docs/stores.md).
  std::map<std::string, std::string> http_headers;
  // The largest metadata document (zarr.json, .zarray, .zgroup, .zattrs, .zmetadata) any store
  // reads (CUZARR_MAX_METADATA_BYTES, default 64 MiB): a larger one, a longer Content-Length or a
  // body that goes on past it is a StoreError before the memory is taken (docs/reliability.md).
  std::uint64_t max_metadata_bytes = std::uint64_t{64} << 20;
  // S3 stores: the AWS settings of the environment, read here as the AWS SDKs read them (each
  // empty when unset); storage options override them (docs/stores.md). The secrets are never
  // shown. Files: AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE, else ~/.aws/credentials and
  // ~/.aws/config below HOME.
  struct Aws {
    std::string access_key_id;      // AWS_ACCESS_KEY_ID
    std::string secret_access_key;  // AWS_SECRET_ACCESS_KEY
    std::string session_token;      // AWS_SESSION_TOKEN
    std::string region;             // AWS_REGION, else AWS_DEFAULT_REGION
    std::string endpoint_url;       // AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL
    std::string profile;            // AWS_PROFILE, else AWS_DEFAULT_PROFILE
    std::string credentials_file;   // AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials
    std::string config_file;        // AWS_CONFIG_FILE, else $HOME/.aws/config
    // The credential endpoints that come after the profile in the chain (docs/stores.md).
    std::string container_full_uri;          // AWS_CONTAINER_CREDENTIALS_FULL_URI
    std::string container_relative_uri;      // AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2)
    std::string container_token;             // AWS_CONTAINER_AUTHORIZATION_TOKEN (a secret)
    std::string container_token_file;        // AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
    bool ec2_metadata_disabled = false;      // AWS_EC2_METADATA_DISABLED=true
    std::string ec2_metadata_endpoint;       // AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254
  } aws;
  // gs:// stores: where Google credentials are found (docs/stores.md), each empty when unset.
  struct Gcs {
    std::string application_credentials;  // GOOGLE_APPLICATION_CREDENTIALS (a JSON file's path)
    // Application Default Credentials of gcloud: $CLOUDSDK_CONFIG, else $HOME/.config/gcloud, +
    // /application_default_credentials.json
    std::string default_credentials_file;
    std::string emulator_host;  // STORAGE_EMULATOR_HOST ("http://127.0.0.1:4443" or "host:port")
    // GCE_METADATA_HOST: the metadata server token='cloud' asks ("host[:port]"; empty:
    // metadata.google.internal)
    std::string metadata_host;
  } gcs;
  // az:// stores: the AZURE_STORAGE_* variables adlfs reads (each empty when unset; secrets never
  // shown).
  struct Azure {
    std::string account_name;       // AZURE_STORAGE_ACCOUNT_NAME (else AZURE_STORAGE_ACCOUNT)
    std::string account_key;        // AZURE_STORAGE_ACCOUNT_KEY (else AZURE_STORAGE_KEY)
    std::string sas_token;          // AZURE_STORAGE_SAS_TOKEN
    std::string connection_string;  // AZURE_STORAGE_CONNECTION_STRING
    // Microsoft Entra ID, as azure-identity's EnvironmentCredential reads it: AZURE_TENANT_ID,
    // AZURE_CLIENT_ID, AZURE_CLIENT_SECRET; AZURE_AUTHORITY_HOST (default
    // https://login.microsoftonline.com) is where tokens come from.
    std::string tenant_id, client_id, client_secret, authority_host;
    // The default credentials of anon=False (store/azure_identity.hpp): workload identity's
    // AZURE_FEDERATED_TOKEN_FILE; a managed identity's IDENTITY_ENDPOINT and IDENTITY_HEADER (App
    // Service), else the instance metadata service at AZURE_POD_IDENTITY_AUTHORITY_HOST (default
    // http://169.254.169.254).
    std::string federated_token_file, identity_endpoint, identity_header, imds_host;
  } azure;
};

// The configuration, parsed from the environment on first use. An invalid value raises
// cuzarr::Error naming the variable.
const Config& config();

// Parse a configuration from an explicit lookup (used by config() and by tests).
Config parse_config(const char* (*getenv_fn)(const char*));

// The AWS settings of the environment as they are now: an S3 store reads them when it is opened,
// so that credentials set or rotated after the first cuzarr call are used (config().aws keeps
// the values of the first call). Never throws for a value; empty fields are unset variables.
Config::Aws aws_environment();
// The same for gs:// and az:// stores, read when such a store is opened.
Config::Gcs gcs_environment();
Config::Azure azure_environment();

// Library version string, e.g. "0.1.0".
const char* version();

// Whether this build can read into GPU memory, and how many CUDA devices the process sees (0
// without a CUDA build, a driver or a GPU).
bool cuda_built();
int cuda_device_count();

}  // namespace cuzarr
