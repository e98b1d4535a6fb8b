#include "store/aws_credential_endpoints.hpp"

#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "cuzarr/error.hpp"
#include "store/plain_request.hpp"
#include "store/curl_transport.hpp"
#include "store/url.hpp"

namespace cuzarr::store {
namespace {

constexpr long kContainerTimeoutMs = 5000;
// The instance metadata service answers in milliseconds where it exists; elsewhere the
// connection attempt is what costs, so it is kept short (as the AWS SDKs do: 1 s).
constexpr long kImdsTimeoutMs = 1000;
constexpr const char* kContainerHost = "http://169.254.170.2";
constexpr const char* kImdsDefault = "http://169.254.169.254";

using Answer = PlainAnswer;

// The metadata addresses are link-local and the answers are credentials: never through a proxy.
Answer request(const char* method, const std::string& url, const std::vector<std::string>& headers, long timeout_ms) {
  return plain_request(method, url, headers, timeout_ms, {}, /*direct=*/true);
}

std::string failed(const Answer& a) { return plain_failure(a); }

bool header_safe(const std::string& value) { return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos; }

// The host of an http(s) URL without userinfo and port, lower case; "" when there is none.
std::string host_of(const std::string& url) {
  const Authority a = find_authority(url);
  if (!a.valid) return {};
  std::string rest = url.substr(a.host, a.end - a.host);
  if (!rest.empty() && rest.front() == '[') return rest.substr(0, rest.find(']') + 1);
  rest = rest.substr(0, rest.find(':'));
  for (char& c : rest) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return rest;
}

// The full URI may name any https host, but plain http only to this machine or the addresses
// ECS and EKS serve credentials on: credentials must not cross a network in clear text.
void check_container_uri(const std::string& url) {
  const std::string shown = without_userinfo(url);
  if (!is_http_url(url)) {
    throw StoreError("AWS_CONTAINER_CREDENTIALS_FULL_URI '" + shown + "' is not an http:// or https:// URL");
  }
  if (url.compare(0, 8, "https://") == 0 || url.compare(0, 8, "HTTPS://") == 0) return;
  const std::string host = host_of(url);
  const bool allowed = host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "169.254.170.2" ||
                       host == "169.254.170.23" || host == "[fd00:ec2::23]";
  if (!allowed) {
    throw StoreError("AWS_CONTAINER_CREDENTIALS_FULL_URI '" + shown +
                     "' is plain http to a host that is neither this machine nor the container credential "
                     "address (169.254.170.2, 169.254.170.23); use https");
  }
}

// The authorization header's value, read again on each fetch: EKS rotates the token file.
std::string container_token(const Config::Aws& env) {
  std::string token = env.container_token;
  if (!env.container_token_file.empty()) {
    std::ifstream in(env.container_token_file, std::ios::binary);
    if (!in) throw StoreError("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '" + env.container_token_file + "'");
    std::ostringstream text;
    text << in.rdbuf();
    token = text.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  }
  if (!header_safe(token)) throw StoreError("the container authorization token holds a line break or NUL");
  return token;
}

AwsCredentials fetch_container(const Config::Aws& env, const std::string& url) {
  const std::string where = "the container credential endpoint " + without_userinfo(url);
  std::vector<std::string> headers;
  const std::string token = container_token(env);
  if (!token.empty()) headers.push_back("Authorization: " + token);
  const Answer a = request("GET", url, headers, kContainerTimeoutMs);
  if (!a.connected || a.status != 200) throw StoreError(where + " did not answer with credentials: " + failed(a));
  return parse_credentials_json(a.body, where);
}

std::string imds_endpoint(const Config::Aws& env) {
  std::string base = env.ec2_metadata_endpoint.empty() ? std::string(kImdsDefault) : env.ec2_metadata_endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!is_http_url(base)) {
    throw StoreError("AWS_EC2_METADATA_SERVICE_ENDPOINT '" + without_userinfo(base) + "' is not an http:// or https:// URL");
  }
  return base;
}

// The instance's credentials. IMDSv2: a session token first (PUT), then the role's name, then
// its credentials. When `probing` (the chain's last guess at open), anything short of a
// credentials document -- nothing listening, a proxy or firewall answering 403, no role -- is
// nullopt: the machine is just not an EC2 instance with a role. Otherwise (a renewal) it is a
// StoreError saying what failed.
std::optional<AwsCredentials> fetch_imds(const std::string& base, bool probing) {
  const std::string where = "the EC2 instance metadata service " + without_userinfo(base);
  const auto give_up = [&](const std::string& why) -> std::optional<AwsCredentials> {
    if (probing) return std::nullopt;
    throw StoreError(where + " " + why);
  };
  const Answer session = request("PUT", base + "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds: 21600"},
                                 kImdsTimeoutMs);
  if (!session.connected || session.status != 200) return give_up("gave no session token (IMDSv2): " + failed(session));
  std::string token = session.body;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (token.empty() || token.size() > 4096 || !header_safe(token)) return give_up("answered a malformed session token");
  const std::vector<std::string> auth{"X-aws-ec2-metadata-token: " + token};
  const std::string roles_url = base + "/latest/meta-data/iam/security-credentials/";
  const Answer roles = request("GET", roles_url, auth, kImdsTimeoutMs);
  if (!roles.connected || roles.status != 200) return give_up("named no role for the instance: " + failed(roles));
  std::string role = roles.body.substr(0, roles.body.find('\n'));
  while (!role.empty() && (role.back() == '\r' || role.back() == ' ')) role.pop_back();
  // IAM role names: letters, digits and +=,.@_- (at most 64).
  if (role.empty() || role.size() > 64 ||
      role.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-") != std::string::npos) {
    return give_up("answered a role name that is not one");
  }
  const Answer creds = request("GET", roles_url + role, auth, kImdsTimeoutMs);
  if (!creds.connected || creds.status != 200) {
    return give_up("did not answer the credentials of role '" + role + "': " + failed(creds));
  }
  // A document that is not credentials is an error even when probing: the service is there and
  // named a role, so the user expects its credentials.
  return parse_credentials_json(creds.body, where + " (role '" + role + "')");
}

}  // namespace

std::shared_ptr<CredentialsProvider> endpoint_credentials(const Config::Aws& env) {
  if (!env.container_full_uri.empty() || !env.container_relative_uri.empty()) {
    std::string url;
    if (!env.container_relative_uri.empty()) {
      // The relative form wins, as in the SDKs; it is always the ECS address.
      url = kContainerHost + (env.container_relative_uri.front() == '/' ? "" : std::string("/")) +
            env.container_relative_uri;
    } else {
      url = env.container_full_uri;
      check_container_uri(url);
    }
    if (!header_safe(url)) throw StoreError("the container credential URI holds a line break or NUL");
    const Config::Aws settings = env;
    return std::make_shared<CredentialsProvider>([settings, url] { return fetch_container(settings, url); },
                                                 "the container credential endpoint " + without_userinfo(url));
  }
  if (env.ec2_metadata_disabled) return nullptr;
  const std::string base = imds_endpoint(env);
  std::optional<AwsCredentials> first = fetch_imds(base, /*probing=*/true);
  if (!first) return nullptr;
  // The first answer is used as it is; later ones come from the same service, where a missing
  // role or a silent service is now an error.
  auto pending = std::make_shared<std::optional<AwsCredentials>>(std::move(first));
  return std::make_shared<CredentialsProvider>(
      [pending, base] {
        if (*pending) {
          AwsCredentials c = std::move(**pending);
          pending->reset();
          return c;
        }
        return *fetch_imds(base, /*probing=*/false);
      },
      "the EC2 instance metadata service " + without_userinfo(base));
}

}  // namespace cuzarr::store
