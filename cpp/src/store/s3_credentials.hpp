// Where an S3 store sends its requests and with which credentials: the storage options first,
// then the AWS chain (environment variables as aws_environment() read them when the store was
// opened, then a profile in the shared credentials and config files), as the AWS SDKs resolve
// them. Only the files are read here; no environment variable is. The credential endpoints that
// end the chain (container, EC2 instance metadata) need the network: aws_credential_endpoints.hpp.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cuzarr/config.hpp"
#include "cuzarr/store.hpp"

namespace cuzarr::store {

struct S3Access {
  std::string region;            // signing region
  std::string endpoint;          // custom endpoint URL without a trailing '/', or "" for AWS
  std::string addressing_style;  // "path", "virtual" or "auto"
  bool anonymous = false;        // requests are not signed
  std::string anonymous_why;     // for messages: "anon=True" or where no credentials were found
  std::string key_id, secret, token;
  std::string source;  // where the credentials came from, for messages ("the environment")
};

// Throws StoreError for half a key pair, a named profile that no file has, or a bad endpoint or
// addressing style; UnsupportedError for a profile that needs what cuzarr does not do (SSO, a
// role to assume, a credential process). Messages never hold a secret.
S3Access resolve_s3_access(const S3Options& options, const Config::Aws& environment);

// The sections of an AWS-style INI file: "[name]" headers, "key = value" lines, '#' and ';'
// comments; an indented "sub = value" after "key =" (the config file's nested "s3 =" block) is
// stored as "key.sub". Names are lower case; values are trimmed.
using IniFile = std::map<std::string, std::map<std::string, std::string>>;
IniFile parse_ini(std::string_view text);

// The same with the two files already read (nullopt: the file does not exist); for the tests
// and the fuzz target, which have no files.
S3Access resolve_s3_access(const S3Options& options, const Config::Aws& environment,
                           const std::optional<IniFile>& config_file, const std::optional<IniFile>& credentials_file);

// Throws StoreError unless `region` holds only letters, digits and '-' (a DNS label).
void check_s3_region(const std::string& region);

}  // namespace cuzarr::store
