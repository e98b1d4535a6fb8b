// Microsoft Entra ID tokens for an az:// store opened with anon=False and no key, SAS or service
// principal (adlfs's meaning: use DefaultAzureCredential). The part of azure-identity's chain that
// applies to a process, tried in this order on first use:
//   1. workload identity: AZURE_FEDERATED_TOKEN_FILE's token exchanged at the authority for
//      AZURE_TENANT_ID / AZURE_CLIENT_ID (Kubernetes with workload identity);
//   2. managed identity: IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service, Functions, Arc), else
//      the instance metadata service (IMDS, http://169.254.169.254, or
//      AZURE_POD_IDENTITY_AUTHORITY_HOST), AZURE_CLIENT_ID choosing a user-assigned identity;
//   3. the Azure CLI's login: `az account get-access-token --resource https://storage.azure.com`.
// The first that gives a token is kept and asked again for each renewal. When none does, the error
// says what each one answered. Tokens never reach a message.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/config.hpp"
#include "store/aws_credentials.hpp"

namespace cuzarr::store {

// A token answer of a managed identity endpoint or of the Azure CLI: the token in "access_token"
// (or the CLI's "accessToken"); its end from "expires_in" (seconds, a number or a string: IMDS
// writes "3599"), else "expires_on" (seconds since the epoch, number or string), else the CLI's
// "expiresOn" (local time, "2026-12-07 21:13:00.000000"), else five minutes from `now`. An
// {"error", "error_description"} answer is a StoreError with its words.
AwsCredentials parse_azure_token(std::string_view json, std::int64_t now, const std::string& where);

// One way to a token, for the chain: `name` for messages ("managed identity (IMDS)"); `fetch`
// gives a token or throws StoreError saying why not.
struct AzureTokenSource {
  std::string name;
  std::function<AwsCredentials()> fetch;
};

// The chain's sources for this environment (`authority`: the resolved Entra ID authority, for
// workload identity). Sources whose variables are missing are left out; managed identity and the
// CLI are always there (they find out by asking).
std::vector<AzureTokenSource> default_azure_sources(const Config::Azure& env, const std::string& authority);

// A provider of the first source in `sources` that gives a token (asked now), renewing from that
// source. Throws StoreError listing each source's failure when none gives one.
std::shared_ptr<CredentialsProvider> first_azure_token(const std::vector<AzureTokenSource>& sources);

// Runs `argv` (argv[0] looked up in PATH) with no input and returns its standard output; throws
// StoreError with its exit status and the end of its standard error (sanitized) when it fails,
// cannot start, or runs past `timeout_ms`. For the Azure CLI.
std::string run_command(const std::vector<std::string>& argv, long timeout_ms, const std::string& what);

}  // namespace cuzarr::store
