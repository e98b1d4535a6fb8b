// The cryptography the cloud stores sign with, without the network: SHA-256 and HMAC-SHA256
// (Azure SharedKey; our own, so that they need no library), base64 (standard and URL-safe), and
// RS256 signatures (a service account's JWT; OpenSSL's libcrypto, when the build has it).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cuzarr::store {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::string_view data);
Digest hmac_sha256(std::string_view key, std::string_view data);

// Standard base64 with '=' padding; base64url without padding (JWT).
std::string base64_encode(std::string_view bytes);
std::string base64url_encode(std::string_view bytes);
// Standard base64 (padding required); nullopt for text that is not.
std::optional<std::string> base64_decode(std::string_view text);

// Whether RS256 signing is built in (CUZARR_OPENSSL).
bool rs256_available();
// The RSASSA-PKCS1-v1_5 SHA-256 signature of `data` with the PEM private key (PKCS#8 "BEGIN PRIVATE
// KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY"). Throws StoreError naming `where` for a key that is not
// one (never showing it); UnsupportedError when the build has no OpenSSL.
std::string rs256_sign(std::string_view pem_key, std::string_view data, const std::string& where);
// Whether `signature` is the RS256 signature of `data` by the PEM public key (the tests).
bool rs256_verify(std::string_view pem_public_key, std::string_view data, std::string_view signature);

}  // namespace cuzarr::store
