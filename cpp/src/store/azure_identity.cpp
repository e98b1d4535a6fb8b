#include "store/azure_identity.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cuzarr/error.hpp"
#include "store/curl_transport.hpp"
#include "store/gcs_credentials.hpp"
#include "store/object_store.hpp"
#include "store/plain_request.hpp"

extern char** environ;

namespace cuzarr::store {
namespace {

constexpr const char* kResource = "https://storage.azure.com/";
// IMDS answers at once on an Azure machine; elsewhere the address leads nowhere, and the chain
// moves on after this.
constexpr long kImdsTimeoutMs = 3000;
constexpr long kEndpointTimeoutMs = 10000;
constexpr long kCliTimeoutMs = 60000;

// A non-negative whole number of seconds from a JSON number or a string of digits.
std::optional<double> seconds_of(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    return std::stod(s);
  }
  return std::nullopt;
}

// "2026-12-07 21:13:00.000000" in this machine's local time (what the Azure CLI writes).
std::optional<std::int64_t> local_time_of(const std::string& text) {
  std::tm tm{};
  int y, mo, d, h, mi, s;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<std::int64_t>(t);
}

AwsCredentials from_managed_identity_endpoint(const std::string& endpoint, const std::string& header,
                                              const std::string& client_id) {
  std::string url = endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&") +
                    "api-version=2019-08-01&resource=" + percent_encode(kResource, false);
  if (!client_id.empty()) url += "&client_id=" + percent_encode(client_id, false);
  const std::string from = "the managed identity endpoint " + without_userinfo(endpoint) + " (IDENTITY_ENDPOINT)";
  const PlainAnswer a = plain_request("GET", url, {"X-IDENTITY-HEADER: " + header}, kEndpointTimeoutMs, {}, true);
  if (!a.connected || a.status < 0) throw StoreError(from + " did not answer (" + plain_failure(a) + ")");
  if (a.status != 200) {
    throw StoreError(from + " answered HTTP " + std::to_string(a.status) + ": " + sanitized(a.body.substr(0, 300)));
  }
  return parse_azure_token(a.body, unix_now(), from);
}

AwsCredentials from_imds(const std::string& host, const std::string& client_id) {
  std::string url = host + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" +
                    percent_encode(kResource, false);
  if (!client_id.empty()) url += "&client_id=" + percent_encode(client_id, false);
  const std::string from = "the instance metadata service " + without_userinfo(host);
  const PlainAnswer a = plain_request("GET", url, {"Metadata: true"}, kImdsTimeoutMs, {}, /*direct=*/true);
  if (!a.connected || a.status < 0) {
    throw StoreError(from + " did not answer (" + plain_failure(a) + "): not an Azure machine with a managed identity");
  }
  if (a.status != 200) {
    throw StoreError(from + " answered HTTP " + std::to_string(a.status) + ": " + sanitized(a.body.substr(0, 300)));
  }
  return parse_azure_token(a.body, unix_now(), from);
}

AwsCredentials from_workload_identity(const std::string& authority, const std::string& tenant,
                                      const std::string& client_id, const std::string& token_file) {
  std::ifstream in(token_file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string assertion = text.str();
  while (!assertion.empty() && std::isspace(static_cast<unsigned char>(assertion.back()))) assertion.pop_back();
  if (!in || assertion.empty()) {
    throw StoreError("the federated token file '" + sanitized(token_file) + "' (AZURE_FEDERATED_TOKEN_FILE) cannot be read");
  }
  const std::string url = authority + "/" + tenant + "/oauth2/v2.0/token";
  const std::string form = "grant_type=client_credentials&client_id=" + percent_encode(client_id, false) +
                           "&scope=" + percent_encode("https://storage.azure.com/.default", false) +
                           "&client_assertion_type=" +
                           percent_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", false) +
                           "&client_assertion=" + percent_encode(assertion, false);
  return post_for_token(url, form, "the Microsoft Entra ID token endpoint " + url, unix_now());
}

AwsCredentials from_azure_cli(const std::string& tenant) {
  std::vector<std::string> argv{"az", "account", "get-access-token", "--output", "json", "--resource", kResource};
  if (!tenant.empty()) {
    argv.push_back("--tenant");
    argv.push_back(tenant);
  }
  const std::string out = run_command(argv, kCliTimeoutMs, "the Azure CLI ('az account get-access-token')");
  return parse_azure_token(out, unix_now(), "the Azure CLI");
}

}  // namespace

AwsCredentials parse_azure_token(std::string_view json, std::int64_t now, const std::string& where) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) throw StoreError(where + " answered something that is not a JSON token document");
  if (auto error = doc.find("error"); error != doc.end()) {
    std::string text = error->is_string() ? error->get<std::string>() : std::string("an error");
    if (auto d = doc.find("error_description"); d != doc.end() && d->is_string()) text += ": " + d->get<std::string>();
    throw StoreError(where + " refused: " + sanitized(text));
  }
  AwsCredentials out;
  for (const char* name : {"access_token", "accessToken"}) {
    if (auto t = doc.find(name); t != doc.end() && t->is_string()) out.token = t->get<std::string>();
  }
  if (out.token.empty() || out.token.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    throw StoreError(where + " answered no access token that can go in a header");
  }
  constexpr double year = 365.0 * 86400.0;
  std::optional<double> in, on;
  if (auto v = doc.find("expires_in"); v != doc.end()) in = seconds_of(*v);
  if (auto v = doc.find("expires_on"); v != doc.end()) on = seconds_of(*v);
  if (in && *in > 0) {
    out.expiration = now + static_cast<std::int64_t>(std::min(std::ceil(*in), year));
  } else if (on && *on > 0) {
    out.expiration = static_cast<std::int64_t>(std::min(*on, static_cast<double>(now) + year));
  } else if (auto v = doc.find("expiresOn"); v != doc.end() && v->is_string() && local_time_of(v->get<std::string>())) {
    out.expiration = std::min<std::int64_t>(*local_time_of(v->get<std::string>()), now + static_cast<std::int64_t>(year));
  } else {
    out.expiration = now + 300;
  }
  return out;
}

std::vector<AzureTokenSource> default_azure_sources(const Config::Azure& env, const std::string& authority) {
  std::vector<AzureTokenSource> out;
  if (!env.federated_token_file.empty() && !env.tenant_id.empty() && !env.client_id.empty()) {
    out.push_back({"workload identity (AZURE_FEDERATED_TOKEN_FILE, client_id '" + sanitized(env.client_id) + "')",
                   [=] { return from_workload_identity(authority, env.tenant_id, env.client_id, env.federated_token_file); }});
  }
  if (!env.identity_endpoint.empty() && !env.identity_header.empty()) {
    out.push_back({"managed identity (IDENTITY_ENDPOINT)", [=] {
                     return from_managed_identity_endpoint(env.identity_endpoint, env.identity_header, env.client_id);
                   }});
  } else {
    std::string host = env.imds_host.empty() ? "http://169.254.169.254" : env.imds_host;
    if (host.find("://") == std::string::npos) host = "http://" + host;
    while (!host.empty() && host.back() == '/') host.pop_back();
    out.push_back({"managed identity (IMDS)", [=] { return from_imds(host, env.client_id); }});
  }
  out.push_back({"the Azure CLI login", [tenant = env.tenant_id] { return from_azure_cli(tenant); }});
  return out;
}

std::shared_ptr<CredentialsProvider> first_azure_token(const std::vector<AzureTokenSource>& sources) {
  std::string failures;
  for (const AzureTokenSource& source : sources) {
    try {
      // The first token comes from this call; the provider asks the source again for renewals.
      auto first = std::make_shared<std::optional<AwsCredentials>>(source.fetch());
      CredentialsProvider::Fetch fetch = [first, again = source.fetch] {
        if (*first) {
          AwsCredentials c = std::move(**first);
          first->reset();
          return c;
        }
        return again();
      };
      return std::make_shared<CredentialsProvider>(std::move(fetch), source.name);
    } catch (const StoreError& e) {
      failures += "; " + source.name + ": " + e.what();
    }
  }
  throw StoreError("anon=False without a key, SAS token or service principal, and no default Azure credential gave a "
                   "token" + failures);
}

std::string run_command(const std::vector<std::string>& argv, long timeout_ms, const std::string& what) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw StoreError(what + ": cannot make a pipe");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw StoreError(what + ": cannot make a pipe");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw StoreError(what + ": '" + argv[0] + "' cannot be run (" + std::strerror(rc) + ")");
  }
  std::string out, err;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (pollfd& p : fds) {
      if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t got = ::read(p.fd, buf, sizeof buf);
      if (got > 0) {
        std::string& to = p.fd == out_pipe[0] ? out : err;
        if (to.size() < (std::size_t{1} << 20)) to.append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
        p.fd = -1;
        --open_fds;
      }
    }
  }
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) throw StoreError(what + " did not finish within " + std::to_string(timeout_ms / 1000) + " s");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!err.empty() && std::isspace(static_cast<unsigned char>(err.back()))) err.pop_back();
    const std::string tail = err.size() > 400 ? err.substr(err.size() - 400) : err;
    const std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                              : "was stopped by signal " + std::to_string(WTERMSIG(status));
    // 127: the shell's "command not found" where a wrapper ran it.
    throw StoreError(what + " " + how + (tail.empty() ? "" : ": " + sanitized(tail)));
  }
  return out;
}

}  // namespace cuzarr::store
