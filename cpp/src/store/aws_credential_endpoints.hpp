// The end of the AWS credential chain: a container's credential endpoint (ECS, EKS Pod
// Identity: AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI) and the EC2 instance metadata
// service (IMDSv2). Each answers temporary credentials, which a CredentialsProvider fetches again
// before they expire. Short timeouts, so that a machine with neither does not stall an open.
#pragma once

#include <memory>
#include <string>

#include "cuzarr/config.hpp"
#include "store/aws_credentials.hpp"

namespace cuzarr::store {

// The provider for the first of the two that `env` makes available and that answers: the
// container endpoint when one is configured (its failure is a StoreError: it was asked for),
// else the instance metadata service unless AWS_EC2_METADATA_DISABLED (nothing listening, a
// refusal or no role attached: nullptr). Throws StoreError for an endpoint URL that may not carry credentials
// (plain http to a host that is neither loopback nor the container link-local address).
std::shared_ptr<CredentialsProvider> endpoint_credentials(const Config::Aws& env);

}  // namespace cuzarr::store
