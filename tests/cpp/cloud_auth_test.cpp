// The gs:// and az:// stores' signing and parsing without the network: SHA-256 and HMAC against
// published vectors, base64, Azure's SharedKey string-to-sign and signature against the Azure
// SDK's (azure-storage-blob 12.31, Azurite's well-known development key), a service account's
// JWT verified with the public half of a key made here, token answers, credentials documents,
// connection strings and the locations az://, abfs:// and https://<account>.blob.core.windows.net name.
#include <gtest/gtest.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/azure_auth.hpp"
#include "store/azure_identity.hpp"
#include "store/gcs_credentials.hpp"
#include "store/signing.hpp"

#if CUZARR_TEST_OPENSSL
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#endif

namespace {

using namespace cuzarr::store;

std::string hex(const Digest& d) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : d) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

constexpr const char* kDevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const std::map<std::string, std::string> kMsHeaders{{"x-ms-version", "2021-08-06"},
                                                    {"x-ms-date", "Mon, 07 Dec 2026 13:00:00 GMT"}};

TEST(Signing, Sha256Vectors) {
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex(sha256(std::string(1000000, 'a'))), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Lengths around the padding boundary (55, 56, 63, 64 bytes) agree with each other's prefixes.
  EXPECT_EQ(hex(sha256(std::string(64, 'a'))), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Signing, HmacSha256Rfc4231) {
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Case 6: a key longer than a block is hashed first.
  EXPECT_EQ(hex(hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Signing, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64_decode("Zm9vYg==").value(), "foob");
  EXPECT_FALSE(base64_decode("not base64!").has_value());
}

TEST(AzureSharedKey, StringToSignMatchesTheSdk) {
  const std::string blob = shared_key_string_to_sign(
      "GET", "http://127.0.0.1:10000/devstoreaccount1/cont/data.zarr/a%20b/c/0", "bytes=0-99", kMsHeaders,
      "devstoreaccount1");
  EXPECT_EQ(blob,
            "GET\n\n\n\n\n\n\n\n\n\n\nbytes=0-99\nx-ms-date:Mon, 07 Dec 2026 13:00:00 GMT\nx-ms-version:2021-08-06\n"
            "/devstoreaccount1/devstoreaccount1/cont/data.zarr/a%20b/c/0");
  EXPECT_EQ(shared_key_authorization("devstoreaccount1", base64_decode(kDevKey).value(), blob),
            "SharedKey devstoreaccount1:jd0BCgpL1O7q0z+5diVsOyePARvur6gGmOr38PcsXR8=");
  // A listing: query parameters lower case, sorted, decoded.
  const std::string list = shared_key_string_to_sign(
      "GET", "http://127.0.0.1:10000/devstoreaccount1/cont?restype=container&comp=list&delimiter=%2F&prefix=data.zarr%2F&marker=x%2Fy",
      "", kMsHeaders, "devstoreaccount1");
  EXPECT_EQ(list,
            "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Mon, 07 Dec 2026 13:00:00 GMT\nx-ms-version:2021-08-06\n"
            "/devstoreaccount1/devstoreaccount1/cont\ncomp:list\ndelimiter:/\nmarker:x/y\nprefix:data.zarr/\nrestype:container");
  EXPECT_EQ(shared_key_authorization("devstoreaccount1", base64_decode(kDevKey).value(), list),
            "SharedKey devstoreaccount1:PDGxR2sAShe43hLFYockVOziJm7ynb8esBTOQ53PCfo=");
}

TEST(AzureSharedKey, HttpDate) {
  EXPECT_EQ(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(http_date(1796648400), "Mon, 07 Dec 2026 13:00:00 GMT");
}

TEST(AzureUrl, Forms) {
  AzureLocation a = parse_azure_url("az://cont/data.zarr/group/");
  EXPECT_EQ(a.container, "cont");
  EXPECT_EQ(a.prefix, "data.zarr/group");
  EXPECT_EQ(a.account, "");
  a = parse_azure_url("abfss://cont@myaccount.dfs.core.windows.net/data.zarr");
  EXPECT_EQ(a.container, "cont");
  EXPECT_EQ(a.prefix, "data.zarr");
  EXPECT_EQ(a.account, "myaccount");
  a = parse_azure_url("https://MyAccount.blob.core.windows.net/cont/x/y.zarr");
  EXPECT_EQ(a.account, "myaccount");
  EXPECT_EQ(a.container, "cont");
  EXPECT_EQ(a.prefix, "x/y.zarr");
  a = parse_azure_url("abfs://cont");
  EXPECT_EQ(a.prefix, "");
  EXPECT_THROW(parse_azure_url("az://Bad_Name/x"), cuzarr::StoreError);
  EXPECT_THROW(parse_azure_url("az://ab/x"), cuzarr::StoreError);
  EXPECT_THROW(parse_azure_url("az://cont/../x"), cuzarr::StoreError);
  EXPECT_THROW(parse_azure_url("az://cont/x?sv=1&sig=abc"), cuzarr::UnsupportedError);
  EXPECT_THROW(parse_azure_url("abfs://cont@example.com/x"), cuzarr::StoreError);
  EXPECT_TRUE(cuzarr::is_azure_url("AZ://c/x"));
  EXPECT_TRUE(cuzarr::is_azure_url("abfss://c@a.dfs.core.windows.net/x"));
  EXPECT_TRUE(cuzarr::is_azure_url("https://acct.blob.core.windows.net/c"));
  EXPECT_FALSE(cuzarr::is_azure_url("https://blob.core.windows.net.evil.example/c"));
  EXPECT_FALSE(cuzarr::is_azure_url("https://u@acct.blob.core.windows.net/c"));
  EXPECT_TRUE(cuzarr::is_gcs_url("gs://b/x"));
  EXPECT_TRUE(cuzarr::is_gcs_url("GCS://b/x"));
  EXPECT_FALSE(cuzarr::is_gcs_url("gsx://b/x"));
}

TEST(AzureAccess, Precedence) {
  const AzureLocation loc = parse_azure_url("az://cont/x");
  cuzarr::Config::Azure env;
  env.account_name = "envaccount";
  env.account_key = kDevKey;
  cuzarr::AzureOptions options;
  AzureAccess a = resolve_azure_access(options, env, loc);
  EXPECT_EQ(a.account, "envaccount");
  EXPECT_EQ(a.endpoint, "https://envaccount.blob.core.windows.net");
  EXPECT_FALSE(a.anonymous);
  EXPECT_EQ(a.source, "AZURE_STORAGE_ACCOUNT_KEY");
  options.sas_token = "?sv=2021&sig=abc%3D";
  a = resolve_azure_access(options, env, loc);
  EXPECT_EQ(a.sas, "sv=2021&sig=abc%3D");
  EXPECT_TRUE(a.account_key.empty());
  options = {};
  options.connection_string = std::string("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=") +
                              kDevKey + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";
  a = resolve_azure_access(options, {}, loc);
  EXPECT_EQ(a.account, "devstoreaccount1");
  EXPECT_EQ(a.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_EQ(a.account_key, base64_decode(kDevKey).value());
  options = {};
  options.anon = true;
  options.account_name = "p_b";
  EXPECT_THROW(resolve_azure_access(options, {}, loc), cuzarr::StoreError);  // "p_b": not an account name
  options.account_name = "public1";
  a = resolve_azure_access(options, env, loc);
  EXPECT_TRUE(a.anonymous);
  EXPECT_EQ(a.account, "public1");
  EXPECT_THROW(resolve_azure_access({}, {}, loc), cuzarr::StoreError);  // no account at all
  cuzarr::AzureOptions bad;
  bad.account_name = "acct1";
  bad.account_key = "not base64!";
  try {
    resolve_azure_access(bad, {}, loc);
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("not base64!"), std::string::npos);
  }
}

// Microsoft Entra ID: a service principal from the options or the environment, after keys and
// SAS of the same level; its three parts go together; the authority is https (or this machine).
TEST(AzureAccess, ServicePrincipal) {
  const AzureLocation loc = parse_azure_url("az://cont/x");
  cuzarr::AzureOptions options;
  options.account_name = "acct1";
  options.tenant_id = "contoso.onmicrosoft.com";
  options.client_id = "app-id";
  options.client_secret = "s3cret~value";
  AzureAccess a = resolve_azure_access(options, {}, loc);
  ASSERT_TRUE(a.entra.has_value());
  EXPECT_FALSE(a.anonymous);
  EXPECT_EQ(a.entra->authority, "https://login.microsoftonline.com");
  EXPECT_EQ(a.source.find("s3cret"), std::string::npos);
  cuzarr::Config::Azure env;
  env.authority_host = "http://127.0.0.1:8080/";
  EXPECT_EQ(resolve_azure_access(options, env, loc).entra->authority, "http://127.0.0.1:8080");
  env.authority_host = "http://login.example.com";
  EXPECT_THROW(resolve_azure_access(options, env, loc), cuzarr::StoreError);
  options.client_secret.reset();
  try {
    resolve_azure_access(options, {}, loc);
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("client_secret is missing"), std::string::npos) << e.what();
  }
  options.client_secret = "x";
  options.tenant_id = "bad/tenant";
  EXPECT_THROW(resolve_azure_access(options, {}, loc), cuzarr::StoreError);
  // The environment's principal comes after its account key.
  cuzarr::AzureOptions plain;
  plain.account_name = "acct1";
  env = {};
  env.tenant_id = "t1";
  env.client_id = "c1";
  env.client_secret = "s1";
  EXPECT_TRUE(resolve_azure_access(plain, env, loc).entra.has_value());
  env.account_key = kDevKey;
  EXPECT_FALSE(resolve_azure_access(plain, env, loc).entra.has_value());
}

TEST(AzureAccess, ConnectionStringParts) {
  const auto parts = parse_connection_string(" AccountName=a1b2c;AccountKey=abc==; EndpointSuffix=core.chinacloudapi.cn ;");
  EXPECT_EQ(parts.at("AccountName"), "a1b2c");
  EXPECT_EQ(parts.at("AccountKey"), "abc==");
  EXPECT_EQ(parts.at("EndpointSuffix"), "core.chinacloudapi.cn");
  try {
    parse_connection_string("AccountName=x;SecretWithoutEquals");
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("SecretWithoutEquals"), std::string::npos);
  }
}

TEST(GoogleCredentials, Documents) {
  const GoogleCredentials user = parse_google_credentials(
      R"({"type": "authorized_user", "client_id": "id", "client_secret": "s3cr3t", "refresh_token": "1//r"})", "doc");
  EXPECT_EQ(user.type, GoogleCredentials::AuthorizedUser);
  EXPECT_EQ(user.token_uri, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(token_request_body(user, 0, "doc"), "grant_type=refresh_token&client_id=id&client_secret=s3cr3t&refresh_token=1%2F%2Fr");
  EXPECT_THROW(parse_google_credentials(R"({"type": "authorized_user", "client_id": "id"})", "doc"), cuzarr::StoreError);
  EXPECT_THROW(parse_google_credentials(R"({"type": "external_account"})", "doc"), cuzarr::UnsupportedError);
  EXPECT_THROW(parse_google_credentials("[1, 2]", "doc"), cuzarr::StoreError);
  // Plain http only to this machine.
  EXPECT_THROW(parse_google_credentials(R"({"type": "authorized_user", "client_id": "i", "client_secret": "s",
                                            "refresh_token": "r", "token_uri": "http://example.com/token"})", "doc"),
               cuzarr::StoreError);
  EXPECT_NO_THROW(parse_google_credentials(R"({"type": "authorized_user", "client_id": "i", "client_secret": "s",
                                               "refresh_token": "r", "token_uri": "http://127.0.0.1:8080/token"})", "doc"));
}

TEST(GoogleCredentials, TokenAnswers) {
  const cuzarr::store::AwsCredentials t =
      parse_token_answer(R"({"access_token": "ya29.x", "expires_in": 3599, "token_type": "Bearer"})", 1000, "ep");
  EXPECT_EQ(t.token, "ya29.x");
  EXPECT_EQ(t.expiration.value(), 4599);
  // Lifetimes are whole seconds rounded up (a token never arrives expired) and at most a year.
  const auto expiry = [](const char* json) { return parse_token_answer(json, 1000, "ep").expiration.value(); };
  EXPECT_EQ(expiry(R"({"access_token": "a", "expires_in": 0.25})"), 1001);
  EXPECT_EQ(expiry(R"({"access_token": "a", "expires_in": 5.5})"), 1006);
  EXPECT_EQ(expiry(R"({"access_token": "a", "expires_in": 542511181023894007607750})"), 1000 + 365 * 86400);
  EXPECT_EQ(expiry(R"({"access_token": "a", "expires_in": -5})"), 4600);
  try {
    parse_token_answer(R"({"error": "invalid_grant", "error_description": "Bad\nRequest"})", 0, "ep");
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("invalid_grant: Bad Request"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_token_answer(R"({"access_token": "a\r\nb"})", 0, "ep"), cuzarr::StoreError);
  EXPECT_THROW(parse_token_answer("not json", 0, "ep"), cuzarr::StoreError);
}

TEST(AzureIdentity, TokenAnswersOfManagedIdentitiesAndTheCli) {
  const auto expiry = [](const char* json) { return parse_azure_token(json, 1000, "ep").expiration.value(); };
  // IMDS writes its numbers as strings; App Service gives the end as seconds since the epoch.
  EXPECT_EQ(expiry(R"({"access_token": "a", "expires_in": "3599", "expires_on": "99999"})"), 4599);
  EXPECT_EQ(expiry(R"({"access_token": "a", "expires_on": "5000"})"), 5000);
  EXPECT_EQ(expiry(R"({"access_token": "a", "expires_on": 5000})"), 5000);
  EXPECT_EQ(expiry(R"({"access_token": "a", "expires_in": 542511181023894007607750})"), 1000 + 365 * 86400);
  EXPECT_EQ(expiry(R"({"access_token": "a", "expires_on": "99999999999999"})"), 1000 + 365 * 86400);
  EXPECT_EQ(expiry(R"({"access_token": "a", "expires_in": "soon"})"), 1300);  // unreadable: five minutes
  // The Azure CLI: accessToken, and expires_on (newer) or expiresOn in local time (older).
  EXPECT_EQ(parse_azure_token(R"({"accessToken": "cli", "expires_on": 7000})", 1000, "ep").token, "cli");
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 11;
  tm.tm_mday = 7;
  tm.tm_hour = 21;
  tm.tm_min = 13;
  tm.tm_isdst = -1;
  const std::int64_t local = static_cast<std::int64_t>(std::mktime(&tm));
  EXPECT_EQ(parse_azure_token(R"({"accessToken": "cli", "expiresOn": "2026-12-07 21:13:00.000000"})", local - 60, "ep")
                .expiration.value(),
            local);
  try {
    parse_azure_token(R"({"error": "invalid_request", "error_description": "Identity not found"})", 0, "the IMDS");
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("the IMDS refused: invalid_request: Identity not found"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_azure_token(R"({"expires_in": 5})", 0, "ep"), cuzarr::StoreError);
  EXPECT_THROW(parse_azure_token(R"({"access_token": "a\nb"})", 0, "ep"), cuzarr::StoreError);
  EXPECT_THROW(parse_azure_token("[]", 0, "ep"), cuzarr::StoreError);
}

TEST(AzureIdentity, TheChainKeepsTheFirstSourceThatGivesATokenAndSaysWhyTheOthersFailed) {
  int asked_second = 0;
  const std::vector<AzureTokenSource> sources{
      {"first", [] () -> AwsCredentials { throw cuzarr::StoreError("no such thing here"); }},
      {"second", [&] {
         AwsCredentials c;
         c.token = "t" + std::to_string(++asked_second);
         c.expiration = unix_now() + 3600;
         return c;
       }},
      {"third", [] () -> AwsCredentials { throw cuzarr::StoreError("never asked"); }},
  };
  const auto provider = first_azure_token(sources);
  EXPECT_EQ(provider->source(), "second");
  EXPECT_EQ(provider->current().token, "t1");  // the token the chain got, not a second fetch
  EXPECT_EQ(asked_second, 1);
  try {
    first_azure_token({sources[0], sources[2]});
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("first: no such thing here"), std::string::npos) << m;
    EXPECT_NE(m.find("third: never asked"), std::string::npos) << m;
  }
  try {
    run_command({"/nonexistent/az"}, 1000, "the Azure CLI");
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be run"), std::string::npos) << e.what();
  }
  EXPECT_EQ(run_command({"sh", "-c", "echo out; echo err >&2"}, 5000, "sh"), "out\n");
  try {
    run_command({"sh", "-c", "echo 'Please run az login' >&2; exit 1"}, 5000, "the Azure CLI");
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("exited with status 1: Please run az login"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_command({"sh", "-c", "sleep 5"}, 200, "sleep"), cuzarr::StoreError);
}

TEST(GoogleCredentials, AccessResolution) {
  cuzarr::GcsOptions options;
  options.token = "anon";
  GcsAccess a = resolve_gcs_access(options, {});
  EXPECT_EQ(a.kind, GcsAccess::Anonymous);
  EXPECT_EQ(a.endpoint, "https://storage.googleapis.com");
  options.token = "ya29.token";
  cuzarr::Config::Gcs env;
  env.emulator_host = "127.0.0.1:4443";
  a = resolve_gcs_access(options, env);
  EXPECT_EQ(a.kind, GcsAccess::Bearer);
  EXPECT_EQ(a.tokens->current().token, "ya29.token");
  EXPECT_EQ(a.endpoint, "http://127.0.0.1:4443");
  options.token = "/no/such/credentials.json";
  EXPECT_THROW(resolve_gcs_access(options, {}), cuzarr::StoreError);
  options = {};
  options.key = "GOOG1E";
  EXPECT_THROW(resolve_gcs_access(options, {}), cuzarr::StoreError);
  options.secret = "s";
  EXPECT_EQ(resolve_gcs_access(options, {}).kind, GcsAccess::Hmac);
  options = {};
  options.endpoint_url = "http://user:pw@127.0.0.1:1";
  try {
    resolve_gcs_access(options, {});
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("pw"), std::string::npos);
  }
  // token='cloud': the metadata server (here one that is not there, and a malformed host).
  options = {};
  options.token = "cloud";
  env = {};
  env.metadata_host = "127.0.0.1:9";
  try {
    resolve_gcs_access(options, env).tokens->current();
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("metadata server http://127.0.0.1:9"), std::string::npos) << e.what();
  }
  env.metadata_host = "evil.example/x";
  EXPECT_THROW(resolve_gcs_access(options, env), cuzarr::StoreError);
  // Nothing anywhere: anonymous, saying so.
  env = {};
  env.default_credentials_file = "/nonexistent/application_default_credentials.json";
  a = resolve_gcs_access({}, env);
  EXPECT_EQ(a.kind, GcsAccess::Anonymous);
  EXPECT_NE(a.anonymous_why.find("no credentials were found"), std::string::npos);
}

TEST(GcsOptions, Setters) {
  cuzarr::GcsOptions g;
  cuzarr::set_gcs_option(g, "token", "anon");
  cuzarr::set_gcs_option(g, "anon", "true");
  EXPECT_TRUE(g.anon);
  EXPECT_THROW(cuzarr::set_gcs_option(g, "region", "x"), cuzarr::StoreError);
  cuzarr::AzureOptions az;
  cuzarr::set_azure_option(az, "account_host", "acct.blob.core.windows.net");
  EXPECT_EQ(az.endpoint_url.value(), "https://acct.blob.core.windows.net");
  try {
    cuzarr::set_azure_option(az, "account_key", "abc\ndef");
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("abc"), std::string::npos);
  }
}

#if CUZARR_TEST_OPENSSL
// A fresh RSA key: (private PEM, public PEM).
std::pair<std::string, std::string> make_key() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* priv = BIO_new(BIO_s_mem());
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_PUBKEY(pub, key);
  char* data = nullptr;
  const long np = BIO_get_mem_data(priv, &data);
  std::string private_pem(data, static_cast<std::size_t>(np));
  const long nq = BIO_get_mem_data(pub, &data);
  std::string public_pem(data, static_cast<std::size_t>(nq));
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(key);
  return {private_pem, public_pem};
}

std::string b64url_decode(std::string text) {
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (text.size() % 4 != 0) text += '=';
  return base64_decode(text).value();
}

TEST(ServiceAccountJwt, SignedAndVerified) {
  ASSERT_TRUE(rs256_available());
  const auto [private_pem, public_pem] = make_key();
  GoogleCredentials c;
  c.client_email = "reader@project.iam.gserviceaccount.com";
  c.private_key = private_pem;
  c.private_key_id = "kid-1";
  c.token_uri = "https://oauth2.googleapis.com/token";
  const std::string jwt = service_account_jwt(c, 1700000000, "test");
  const std::size_t dot1 = jwt.find('.'), dot2 = jwt.rfind('.');
  ASSERT_NE(dot1, dot2);
  const auto header = nlohmann::json::parse(b64url_decode(jwt.substr(0, dot1)));
  const auto claims = nlohmann::json::parse(b64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1)));
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(header["typ"], "JWT");
  EXPECT_EQ(header["kid"], "kid-1");
  EXPECT_EQ(claims["iss"], c.client_email);
  EXPECT_EQ(claims["aud"], c.token_uri);
  EXPECT_EQ(claims["scope"], "https://www.googleapis.com/auth/devstorage.read_only");
  EXPECT_EQ(claims["iat"], 1700000000);
  EXPECT_EQ(claims["exp"], 1700003600);
  const std::string signature = b64url_decode(jwt.substr(dot2 + 1));
  EXPECT_TRUE(rs256_verify(public_pem, jwt.substr(0, dot2), signature));
  EXPECT_FALSE(rs256_verify(public_pem, jwt.substr(0, dot2) + "x", signature));
  EXPECT_FALSE(rs256_verify(make_key().second, jwt.substr(0, dot2), signature));
  const std::string body = token_request_body(c, 1700000000, "test");
  EXPECT_EQ(body.rfind("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=", 0), 0u);
  c.private_key = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  try {
    service_account_jwt(c, 0, "the file");
    FAIL();
  } catch (const cuzarr::StoreError& e) {
    EXPECT_EQ(std::string(e.what()), "the file: \"private_key\" is not a PEM RSA private key");
  }
}
#endif

}  // namespace
