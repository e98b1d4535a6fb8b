// libFuzzer target for the AWS shared config and credentials files as the user's machine holds
// them: parse_ini on both, then the whole resolution of an S3 store's access from them (profile
// lookup, region, endpoint and addressing style checks, key pairs, unsupported credential
// sources). Input: config text NUL credentials text [NUL profile name]. No message may repeat
// a secret of the files, and no region or endpoint that passes may change a URL's host.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "secret_check.hpp"
#include "store/s3_credentials.hpp"
#include "store/url.hpp"

namespace {

using cuzarr::store::IniFile;

// The three resolutions of one input (both files, the config alone, the credentials alone with
// the default profile); the message of the first that fails, "" when none does.
std::string error_of(std::string_view input) {
  const std::size_t a = input.find('\0');
  const std::string_view config_text = input.substr(0, a);
  const std::string_view rest = a == std::string_view::npos ? std::string_view() : input.substr(a + 1);
  const std::size_t b = rest.find('\0');
  const std::string_view credentials_text = rest.substr(0, b);
  const std::string profile(b == std::string_view::npos ? std::string_view() : rest.substr(b + 1, 64));
  const IniFile config = cuzarr::store::parse_ini(config_text);
  const IniFile credentials = cuzarr::store::parse_ini(credentials_text);
  cuzarr::Config::Aws env;
  env.config_file = "config";
  env.credentials_file = "credentials";
  cuzarr::S3Options options;
  if (!profile.empty()) options.profile = profile;
  std::string message;
  const auto resolve = [&](const std::optional<IniFile>& c, const std::optional<IniFile>& k, const cuzarr::S3Options& o) {
    try {
      const cuzarr::store::S3Access access = cuzarr::store::resolve_s3_access(o, env, c, k);
      if (access.region.find_first_of("@#/?: .") != std::string::npos) __builtin_trap();
      // No user information in an endpoint that passes ('@' in its path is no such thing).
      const cuzarr::store::Authority authority = cuzarr::store::find_authority(access.endpoint);
      if (authority.valid && authority.host != authority.begin) __builtin_trap();
    } catch (const cuzarr::Error& e) {
      if (message.empty()) message = e.what();
    }
  };
  resolve(config, credentials, options);
  resolve(config, std::nullopt, options);
  resolve(std::nullopt, credentials, {});
  return message;
}

// The secret values written in the two files (not in the profile name, which messages name).
std::vector<std::string> secrets(std::string_view input) {
  std::vector<std::string> out;
  const std::size_t a = input.find('\0');
  const std::size_t b = a == std::string_view::npos ? a : input.find('\0', a + 1);
  const std::string_view files = input.substr(0, b);
  std::size_t start = 0;
  while (start < files.size()) {
    std::size_t end = files.find_first_of(std::string_view("\n\0", 2), start);
    if (end == std::string_view::npos) end = files.size();
    const std::string_view line = files.substr(start, end - start);
    start = end + 1;
    for (std::string_view key : {"aws_secret_access_key", "aws_session_token"}) {
      const std::size_t at = line.find(key);
      const std::size_t eq = line.find('=');
      if (at == std::string_view::npos || eq == std::string_view::npos || eq < at) continue;
      std::string_view value = line.substr(eq + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r')) value.remove_suffix(1);
      if (cuzarr::fuzz::checkable_secret(input, value)) out.emplace_back(value);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string message = error_of(input);
  if (!message.empty()) {
    for (const std::string& secret : secrets(input)) {
      if (cuzarr::fuzz::repeats_secret(input, secret, message, error_of)) __builtin_trap();
    }
  }
  return 0;
}
