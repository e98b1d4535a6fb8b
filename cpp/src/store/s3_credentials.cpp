#include "store/s3_credentials.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "cuzarr/error.hpp"
#include "store/url.hpp"

namespace cuzarr::store {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The file's sections, or nothing when it does not exist. A file that exists but cannot be read
// is an error: silently skipping it would send the requests unsigned.
std::optional<IniFile> read_ini(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return std::nullopt;
    throw StoreError("cannot read the AWS file '" + path + "'");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_ini(text.str());
}

struct Profile {
  std::map<std::string, std::string> values;  // credentials file entries over config file ones
  bool found = false;
  std::string where;  // "profile 'x' in /path/credentials"
};

Profile load_profile(const std::string& name, const Config::Aws& env, const std::optional<IniFile>& config,
                     const std::optional<IniFile>& credentials) {
  Profile p;
  // The config file names a profile "[profile x]", except "[default]"; the credentials file "[x]".
  if (config) {
    auto it = config->find(name == "default" ? "default" : "profile " + name);
    if (it == config->end() && name == "default") it = config->find("profile default");
    if (it != config->end()) {
      p.values = it->second;
      p.found = true;
      p.where = "profile '" + name + "' in " + env.config_file;
    }
  }
  if (credentials) {
    if (auto it = credentials->find(name); it != credentials->end()) {
      for (const auto& [k, v] : it->second) p.values[k] = v;
      p.found = true;
      p.where = "profile '" + name + "' in " + env.credentials_file;
    }
  }
  return p;
}

std::string get(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? std::string() : it->second;
}

// An endpoint URL: http or https, a host (name, IPv4 or [IPv6]) and port, and an optional path.
// A user name or password in it is refused rather than stripped: S3 takes its credentials from
// key/secret, and a URL that carries a password is a mistake worth saying (without repeating it).
std::string check_endpoint(std::string url, const std::string& from) {
  const std::string shown = "the S3 endpoint URL from " + from;
  if (!is_http_url(url)) throw StoreError(shown + " is not an http:// or https:// URL");
  // find_authority also sees a password holding '/' ("https://u:pa/ss@host"), as messages do.
  const Authority where = find_authority(url);
  const std::string_view authority = std::string_view(url).substr(where.host, where.end - where.host);
  if (where.host != where.begin) {
    throw StoreError(shown + " holds a user name or password ('user:password@'), which S3 does not take; give the "
                     "credentials as key and secret (storage options, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)");
  }
  if (url.find_first_of("?#") != std::string::npos) throw StoreError(shown + " holds a query string or fragment");
  if (url.find_first_of(" \\\"<>^`{|}") != std::string::npos ||
      std::any_of(url.begin(), url.end(), [](unsigned char c) { return c < 0x20 || c >= 0x7F; })) {
    throw StoreError(shown + " holds characters a URL cannot hold");
  }
  // The host: a DNS name or IPv4 address, or an IPv6 address in brackets; then ":port".
  std::string_view name = authority, port;
  if (!name.empty() && name.front() == '[') {
    const std::size_t close = name.find(']');
    if (close == std::string_view::npos ||
        name.substr(1, close - 1).find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      throw StoreError(shown + " has a malformed IPv6 host");
    }
    port = name.substr(close + 1);
    name = name.substr(0, close + 1);
    if (!port.empty() && port.front() != ':') throw StoreError(shown + " has a malformed host");
  } else {
    const std::size_t colon = name.find(':');
    if (colon != std::string_view::npos) {
      port = name.substr(colon);
      name = name.substr(0, colon);
    }
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
                            std::string_view::npos) {
      throw StoreError(shown + " has no host, or a host that is not a name or an address");
    }
  }
  if (!port.empty()) {
    port.remove_prefix(1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
      throw StoreError(shown + " has a port that is not a number");
    }
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// Fills key_id / secret / token from a profile; false when it holds none.
bool take_profile_keys(const Profile& p, S3Access& access) {
  const std::string key = get(p.values, "aws_access_key_id");
  const std::string secret = get(p.values, "aws_secret_access_key");
  if (key.empty() && secret.empty()) {
    for (const char* unsupported : {"credential_process", "role_arn", "sso_session", "sso_start_url", "web_identity_token_file"}) {
      if (p.values.count(unsupported) != 0) {
        throw UnsupportedError(p.where + " gets its credentials through '" + unsupported +
                               "', which cuzarr does not support; give a key and secret (storage options key/secret, "
                               "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or aws_access_key_id/aws_secret_access_key "
                               "in the profile)");
      }
    }
    return false;
  }
  if (key.empty() || secret.empty()) {
    throw StoreError(p.where + " has " + (key.empty() ? "aws_secret_access_key but no aws_access_key_id"
                                                      : "aws_access_key_id but no aws_secret_access_key"));
  }
  access.key_id = key;
  access.secret = secret;
  access.token = get(p.values, "aws_session_token");
  access.source = p.where;
  return true;
}

}  // namespace

void check_s3_region(const std::string& region) {
  // The region becomes part of the host name (s3.<region>.amazonaws.com) and of the signature's
  // scope, so it may hold only what a DNS label holds.
  if (region.empty() || region.size() > 63 ||
      region.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != std::string::npos ||
      region.front() == '-' || region.back() == '-') {
    std::string shown;
    for (unsigned char c : region.substr(0, 80)) shown += (c < 0x20 || c >= 0x7F) ? '?' : static_cast<char>(c);
    throw StoreError("invalid S3 region '" + shown + "': a region holds only letters, digits and '-' (e.g. eu-west-1)");
  }
}

IniFile parse_ini(std::string_view text) {
  IniFile out;
  std::map<std::string, std::string>* section = nullptr;
  std::string parent;  // the last key whose value was empty: the head of a nested block
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    const bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      const std::size_t close = line.find(']');
      if (close == std::string_view::npos) continue;  // the SDKs skip a broken header too
      std::string name(trim(line.substr(1, close - 1)));
      // "[profile   x]" names profile "x".
      if (name.starts_with("profile ")) name = "profile " + std::string(trim(std::string_view(name).substr(8)));
      section = &out[name];
      parent.clear();
      continue;
    }
    const std::size_t eq = line.find('=');
    if (section == nullptr || eq == std::string_view::npos) continue;
    const std::string key = lower(trim(line.substr(0, eq)));
    const std::string value(trim(line.substr(eq + 1)));
    if (indented && !parent.empty()) {
      (*section)[parent + "." + key] = value;
      continue;
    }
    (*section)[key] = value;
    parent = value.empty() ? key : std::string();
  }
  return out;
}

S3Access resolve_s3_access(const S3Options& options, const Config::Aws& env) {
  return resolve_s3_access(options, env, read_ini(env.config_file), read_ini(env.credentials_file));
}

S3Access resolve_s3_access(const S3Options& options, const Config::Aws& env, const std::optional<IniFile>& config_file,
                           const std::optional<IniFile>& credentials_file) {
  S3Access access;
  // The profile whose region and endpoint apply, and whose keys do when nothing comes first.
  const bool profile_named = options.profile.has_value() || !env.profile.empty();
  const std::string profile_name = options.profile.value_or(env.profile.empty() ? "default" : env.profile);
  const Profile profile = load_profile(profile_name, env, config_file, credentials_file);
  if (profile_named && !profile.found) {
    throw StoreError("AWS profile '" + profile_name + "' is in neither " +
                     (env.credentials_file.empty() ? std::string("the credentials file") : env.credentials_file) +
                     " nor " + (env.config_file.empty() ? std::string("the config file") : env.config_file) +
                     (options.profile ? " (storage option 'profile')" : " (AWS_PROFILE)"));
  }

  if (options.region) {
    access.region = *options.region;
  } else if (!env.region.empty()) {
    access.region = env.region;
  } else {
    access.region = get(profile.values, "region");
  }
  if (access.region.empty()) access.region = "us-east-1";
  check_s3_region(access.region);

  if (options.endpoint_url) {
    access.endpoint = check_endpoint(*options.endpoint_url, "storage option 'endpoint_url'");
  } else if (!env.endpoint_url.empty()) {
    access.endpoint = check_endpoint(env.endpoint_url, "AWS_ENDPOINT_URL");
  } else if (std::string e = get(profile.values, "s3.endpoint_url"); !e.empty()) {
    access.endpoint = check_endpoint(e, profile.where);
  } else if (std::string e2 = get(profile.values, "endpoint_url"); !e2.empty()) {
    access.endpoint = check_endpoint(e2, profile.where);
  }

  access.addressing_style = options.addressing_style.value_or(get(profile.values, "s3.addressing_style"));
  if (access.addressing_style.empty()) access.addressing_style = "auto";
  if (access.addressing_style != "path" && access.addressing_style != "virtual" && access.addressing_style != "auto") {
    throw StoreError("S3 addressing style must be path, virtual or auto, got '" + access.addressing_style + "'");
  }

  if (options.anon) {
    access.anonymous = true;
    access.anonymous_why = "anonymous access was asked for (anon)";
    return access;
  }
  if (options.key || options.secret) {
    if (!options.key || !options.secret) {
      throw StoreError(std::string("storage option '") + (options.key ? "key" : "secret") + "' needs '" +
                       (options.key ? "secret" : "key") + "' too");
    }
    access.key_id = *options.key;
    access.secret = *options.secret;
    access.token = options.token.value_or("");
    access.source = "the storage options";
    return access;
  }
  if (options.token) throw StoreError("storage option 'token' needs 'key' and 'secret' too");
  // An explicitly chosen profile wins over the environment's keys, as in the AWS SDKs.
  if (options.profile && take_profile_keys(profile, access)) return access;
  if (!env.access_key_id.empty() || !env.secret_access_key.empty()) {
    if (env.access_key_id.empty() || env.secret_access_key.empty()) {
      throw StoreError(env.access_key_id.empty() ? "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"
                                                 : "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    }
    access.key_id = env.access_key_id;
    access.secret = env.secret_access_key;
    access.token = env.session_token;
    access.source = "the environment (AWS_ACCESS_KEY_ID)";
    return access;
  }
  if (profile.found && take_profile_keys(profile, access)) return access;
  access.anonymous = true;
  access.anonymous_why =
      "no credentials were found (storage options key/secret, AWS_ACCESS_KEY_ID, a profile in " +
      (env.credentials_file.empty() ? std::string("~/.aws/credentials") : env.credentials_file) +
      ", a container credential endpoint or the EC2 instance metadata service), so the request was not signed";
  return access;
}

}  // namespace cuzarr::store
