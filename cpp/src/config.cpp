#include "cuzarr/config.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <utility>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "cuzarr/error.hpp"

#ifndef CUZARR_VERSION
#define CUZARR_VERSION "0.0.0"
#endif

namespace cuzarr {
namespace {

std::size_t parse_size(const char* name, std::string_view text, std::size_t min, std::size_t max) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw Error(std::string(name) + " must be an integer in [" + std::to_string(min) + ", " +
                std::to_string(max) + "], got '" + std::string(text) + "'");
  }
  return value;
}

// One of a few spellings, e.g. "auto", "on" or "off"; anything else is an Error listing them.
template <typename E>
E parse_choice(const char* name, std::string_view text, std::initializer_list<std::pair<const char*, E>> choices) {
  std::string listed;
  std::size_t i = 0;
  for (const auto& [spelling, value] : choices) {
    if (text == spelling) return value;
    if (i > 0) listed += i + 1 == choices.size() ? " or " : ", ";
    listed += spelling;
    ++i;
  }
  throw Error(std::string(name) + " must be " + listed + ", got '" + std::string(text) + "'");
}

double parse_seconds(const char* name, std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value > 0) || value > 86400) {
    throw Error(std::string(name) + " must be a number of seconds in (0, 86400], got '" + std::string(text) + "'");
  }
  return value;
}

// The value is a secret (a token): an error names the variable, never its text.
std::map<std::string, std::string> parse_headers(const char* name, std::string_view text) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) throw Error(std::string(name) + " must be a JSON object of header names to strings");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : doc.items()) {
    if (!value.is_string()) throw Error(std::string(name) + ": the value of header '" + key + "' is not a string");
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

const char* system_getenv(const char* name) { return std::getenv(name); }

// The first of `names` that is set and not empty, else "".
std::string first_set(const char* (*getenv_fn)(const char*), std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (const char* v = getenv_fn(name); v != nullptr && *v != '\0') return v;
  }
  return {};
}

Config::Aws parse_aws(const char* (*getenv_fn)(const char*)) {
  Config::Aws aws;
  aws.access_key_id = first_set(getenv_fn, {"AWS_ACCESS_KEY_ID"});
  aws.secret_access_key = first_set(getenv_fn, {"AWS_SECRET_ACCESS_KEY"});
  aws.session_token = first_set(getenv_fn, {"AWS_SESSION_TOKEN"});
  aws.region = first_set(getenv_fn, {"AWS_REGION", "AWS_DEFAULT_REGION"});
  aws.endpoint_url = first_set(getenv_fn, {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"});
  aws.profile = first_set(getenv_fn, {"AWS_PROFILE", "AWS_DEFAULT_PROFILE"});
  const std::string home = first_set(getenv_fn, {"HOME"});
  aws.credentials_file = first_set(getenv_fn, {"AWS_SHARED_CREDENTIALS_FILE"});
  if (aws.credentials_file.empty() && !home.empty()) aws.credentials_file = home + "/.aws/credentials";
  aws.config_file = first_set(getenv_fn, {"AWS_CONFIG_FILE"});
  if (aws.config_file.empty() && !home.empty()) aws.config_file = home + "/.aws/config";
  aws.container_full_uri = first_set(getenv_fn, {"AWS_CONTAINER_CREDENTIALS_FULL_URI"});
  aws.container_relative_uri = first_set(getenv_fn, {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"});
  aws.container_token = first_set(getenv_fn, {"AWS_CONTAINER_AUTHORIZATION_TOKEN"});
  aws.container_token_file = first_set(getenv_fn, {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"});
  // The SDKs take "true" in any case as disabled, and anything else as enabled.
  std::string disabled = first_set(getenv_fn, {"AWS_EC2_METADATA_DISABLED"});
  for (char& c : disabled) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  aws.ec2_metadata_disabled = disabled == "true";
  aws.ec2_metadata_endpoint = first_set(getenv_fn, {"AWS_EC2_METADATA_SERVICE_ENDPOINT"});
  return aws;
}

Config::Gcs parse_gcs(const char* (*getenv_fn)(const char*)) {
  Config::Gcs gcs;
  gcs.application_credentials = first_set(getenv_fn, {"GOOGLE_APPLICATION_CREDENTIALS"});
  std::string dir = first_set(getenv_fn, {"CLOUDSDK_CONFIG"});
  if (dir.empty()) {
    const std::string home = first_set(getenv_fn, {"HOME"});
    if (!home.empty()) dir = home + "/.config/gcloud";
  }
  if (!dir.empty()) gcs.default_credentials_file = dir + "/application_default_credentials.json";
  gcs.emulator_host = first_set(getenv_fn, {"STORAGE_EMULATOR_HOST"});
  gcs.metadata_host = first_set(getenv_fn, {"GCE_METADATA_HOST"});
  return gcs;
}

Config::Azure parse_azure(const char* (*getenv_fn)(const char*)) {
  Config::Azure azure;
  azure.account_name = first_set(getenv_fn, {"AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT"});
  azure.account_key = first_set(getenv_fn, {"AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY"});
  azure.sas_token = first_set(getenv_fn, {"AZURE_STORAGE_SAS_TOKEN"});
  azure.connection_string = first_set(getenv_fn, {"AZURE_STORAGE_CONNECTION_STRING"});
  azure.tenant_id = first_set(getenv_fn, {"AZURE_TENANT_ID"});
  azure.client_id = first_set(getenv_fn, {"AZURE_CLIENT_ID"});
  azure.client_secret = first_set(getenv_fn, {"AZURE_CLIENT_SECRET"});
  azure.authority_host = first_set(getenv_fn, {"AZURE_AUTHORITY_HOST"});
  azure.federated_token_file = first_set(getenv_fn, {"AZURE_FEDERATED_TOKEN_FILE"});
  azure.identity_endpoint = first_set(getenv_fn, {"IDENTITY_ENDPOINT"});
  azure.identity_header = first_set(getenv_fn, {"IDENTITY_HEADER"});
  azure.imds_host = first_set(getenv_fn, {"AZURE_POD_IDENTITY_AUTHORITY_HOST"});
  return azure;
}

}  // namespace

Config parse_config(const char* (*getenv_fn)(const char*)) {
  Config cfg;
  unsigned hw = std::thread::hardware_concurrency();
  cfg.threads = hw == 0 ? 1 : hw;
  if (const char* v = getenv_fn("CUZARR_THREADS"); v != nullptr && *v != '\0') {
    cfg.threads = parse_size("CUZARR_THREADS", v, 1, 4096);
  }
  if (const char* v = getenv_fn("CUZARR_COALESCE_BYTES"); v != nullptr && *v != '\0') {
    cfg.coalesce_bytes = parse_size("CUZARR_COALESCE_BYTES", v, 0, std::size_t{1} << 40);
  }
  if (const char* v = getenv_fn("CUZARR_STAGING_BYTES"); v != nullptr && *v != '\0') {
    cfg.staging_bytes = parse_size("CUZARR_STAGING_BYTES", v, std::size_t{64} << 10, std::size_t{1} << 34);
  }
  if (const char* v = getenv_fn("CUZARR_MEMORY_BUDGET"); v != nullptr && *v != '\0') {
    cfg.memory_budget = parse_size("CUZARR_MEMORY_BUDGET", v, std::size_t{1} << 20, std::size_t{1} << 44);
  }
  if (const char* v = getenv_fn("CUZARR_LOG"); v != nullptr && *v != '\0') {
    cfg.log_debug = parse_choice<bool>("CUZARR_LOG", v, {{"debug", true}, {"info", false}, {"warning", false}, {"off", false}});
  }
  if (const char* v = getenv_fn("CUZARR_STAGING_BUFFERS"); v != nullptr && *v != '\0') {
    cfg.staging_buffers = parse_size("CUZARR_STAGING_BUFFERS", v, 2, 1024);
  }
  if (const char* v = getenv_fn("CUZARR_GDS"); v != nullptr && *v != '\0') {
    cfg.gds = parse_choice<Config::Gds>("CUZARR_GDS", v, {{"auto", Config::Gds::Auto}, {"on", Config::Gds::On}, {"off", Config::Gds::Off}});
  }
  if (const char* v = getenv_fn("CUZARR_SYMLINKS"); v != nullptr && *v != '\0') {
    cfg.symlinks = parse_choice<Config::Symlinks>("CUZARR_SYMLINKS", v,
                                                  {{"inside", Config::Symlinks::Inside}, {"follow", Config::Symlinks::Follow}});
  }
  if (const char* v = getenv_fn("CUZARR_DECODE"); v != nullptr && *v != '\0') {
    cfg.decode = parse_choice<Config::Decode>(
        "CUZARR_DECODE", v, {{"auto", Config::Decode::Auto}, {"cpu", Config::Decode::Cpu}, {"gpu", Config::Decode::Gpu}});
  }
  if (const char* v = getenv_fn("CUZARR_DECODE_SHARE"); v != nullptr && *v != '\0') {
    cfg.decode_share = parse_choice<bool>("CUZARR_DECODE_SHARE", v, {{"auto", true}, {"off", false}});
  }
  if (const char* v = getenv_fn("CUZARR_NVCOMP_LIBRARY"); v != nullptr) cfg.nvcomp_library = v;
  if (const char* v = getenv_fn("CUZARR_GPU_LZ4"); v != nullptr && *v != '\0') {
    cfg.gpu_lz4 = parse_choice<Config::GpuLz4>(
        "CUZARR_GPU_LZ4", v, {{"auto", Config::GpuLz4::Auto}, {"own", Config::GpuLz4::Own}, {"nvcomp", Config::GpuLz4::Nvcomp}});
  }
  if (const char* v = getenv_fn("CUZARR_GPU_ZSTD"); v != nullptr && *v != '\0') {
    cfg.gpu_zstd = parse_choice<Config::GpuZstd>(
        "CUZARR_GPU_ZSTD", v, {{"auto", Config::GpuZstd::Auto}, {"own", Config::GpuZstd::Own}, {"nvcomp", Config::GpuZstd::Nvcomp}});
  }
  if (const char* v = getenv_fn("CUZARR_HTTP_CONCURRENCY"); v != nullptr && *v != '\0') {
    cfg.http_concurrency = parse_size("CUZARR_HTTP_CONCURRENCY", v, 1, 4096);
    cfg.http_concurrency_given = true;
  }
  if (const char* v = getenv_fn("CUZARR_HTTP_RETRIES"); v != nullptr && *v != '\0') {
    cfg.http_retries = parse_size("CUZARR_HTTP_RETRIES", v, 0, 100);
  }
  if (const char* v = getenv_fn("CUZARR_HTTP_TIMEOUT"); v != nullptr && *v != '\0') {
    cfg.http_timeout = parse_seconds("CUZARR_HTTP_TIMEOUT", v);
  }
  if (const char* v = getenv_fn("CUZARR_HTTP_HEADERS"); v != nullptr && *v != '\0') {
    cfg.http_headers = parse_headers("CUZARR_HTTP_HEADERS", v);
  }
  if (const char* v = getenv_fn("CUZARR_MAX_METADATA_BYTES"); v != nullptr && *v != '\0') {
    cfg.max_metadata_bytes = parse_size("CUZARR_MAX_METADATA_BYTES", v, std::size_t{1} << 10, std::size_t{1} << 40);
  }
  cfg.aws = parse_aws(getenv_fn);
  cfg.gcs = parse_gcs(getenv_fn);
  cfg.azure = parse_azure(getenv_fn);
  return cfg;
}

const Config& config() {
  static const Config cfg = parse_config(&system_getenv);
  return cfg;
}

Config::Aws aws_environment() { return parse_aws(&system_getenv); }
Config::Gcs gcs_environment() { return parse_gcs(&system_getenv); }
Config::Azure azure_environment() { return parse_azure(&system_getenv); }

const char* version() { return CUZARR_VERSION; }

#if !CUZARR_WITH_CUDA
bool cuda_built() { return false; }
int cuda_device_count() { return 0; }
#endif

}  // namespace cuzarr
