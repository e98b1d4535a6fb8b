"""Reading over Google Cloud Storage (gs://): the conformance stores served by a local stand-in
for GCS's XML API (cloud_server.GcsServer, which checks bearer tokens, GOOG4 HMAC signatures and
runs an OAuth2 token endpoint) read exactly as the local stores, with each kind of credential:
anonymous (public bucket), HMAC key, access token, a service account's key (an RS256 JWT
exchanged for a token), gcloud's authorized-user credentials (a refresh token exchanged), the
metadata server's token (token='cloud'), from
storage options, GOOGLE_APPLICATION_CREDENTIALS and the Application Default Credentials file.
Wrong credentials are clear errors that never repeat the secret; groups list; xarray opens."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

import cuzarr
import stores
from cloud_server import GcsServer, rsa_key_pair, sdk_available
from s3_server import Credential
from stores import assert_remote_array_equals_local, assert_remote_group_equals_local, assert_same_array

pytestmark = [
    pytest.mark.skipif(not cuzarr._core.http_built(), reason="this build of cuzarr has no GCS store (libcurl)"),
    pytest.mark.skipif(not sdk_available(), reason="cryptography and azure-storage-blob are not installed (dev extra)"),
]

ARRAYS = stores.array_case_names()
HMAC_ID, HMAC_SECRET = "GOOG1ECUZARRTESTHMACKEY0001", "cuzarr/hmac+Secret=0001abcdefgh"
ACCESS_TOKEN = "ya29.cuzarr-fixed-access-token-0001"
SA_EMAIL = "reader@cuzarr-test.iam.gserviceaccount.com"
CLIENT_ID, CLIENT_SECRET, REFRESH = "cuzarr-client.apps.googleusercontent.com", "client-Secret-0001", "1//refresh-Token-0001"
needs_openssl = pytest.mark.skipif(not cuzarr._core.openssl_built(),
                                   reason="this build has no OpenSSL (CUZARR_OPENSSL=OFF): no service-account keys")
CREDENTIALS = ["anon", "hmac", "token", pytest.param("service_account", marks=needs_openssl), "authorized_user"]


class LocalGcs:
    """Bucket 'private' (credentials needed) and 'public' (anonymous reads), both serving the
    conformance stores' directory."""

    def __init__(self, server: GcsServer, key_dir):
        self.server = server
        private_key, public_key = rsa_key_pair()
        server.service_accounts[SA_EMAIL] = public_key
        server.users[REFRESH] = (CLIENT_ID, CLIENT_SECRET)
        server.hmac_keys[HMAC_ID] = Credential(HMAC_SECRET)
        server.tokens[ACCESS_TOKEN] = time.time() + 10 * 365 * 86400
        self.private_key = private_key
        self.service_account_file = key_dir / "service-account.json"
        self.service_account_file.write_text(json.dumps(self.service_account()))

    def service_account(self) -> dict:
        return {"type": "service_account", "project_id": "cuzarr-test", "private_key_id": "0123abcd",
                "private_key": self.private_key, "client_email": SA_EMAIL, "client_id": "1234",
                "token_uri": self.server.token_uri}

    def authorized_user(self) -> dict:
        return {"type": "authorized_user", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH, "token_uri": self.server.token_uri}

    def serve(self, root) -> None:
        self.server.buckets["private"] = root
        self.server.buckets["public"] = root
        self.server.public.add("public")

    def options(self, credential: str = "token") -> dict:
        base = {"endpoint_url": self.server.url}
        return {
            "anon": {"token": "anon"},
            "hmac": {"key": HMAC_ID, "secret": HMAC_SECRET},
            "token": {"token": ACCESS_TOKEN},
            "service_account": {"token": str(self.service_account_file)},
            "authorized_user": {"token": self.authorized_user()},
        }[credential] | base

    def url(self, name: str, credential: str = "token") -> str:
        return f"gs://{'public' if credential == 'anon' else 'private'}/{name}.zarr"

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_", "STORAGE_EMULATOR"))}
        env["HOME"] = "/nonexistent-cuzarr-home"
        env.update(extra)
        return env


@pytest.fixture(scope="session")
def gcs(store_factory, tmp_path_factory):
    server = GcsServer().start()
    try:
        local = LocalGcs(server, tmp_path_factory.mktemp("gcs_keys"))
        local.serve(store_factory.root)
        yield local
    finally:
        server.stop()


@pytest.fixture()
def server(gcs):
    yield gcs.server
    gcs.server.page_size = 0
    gcs.server.token_lifetime = 3600


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("name", ARRAYS)
def test_array_over_gcs_equals_local(name, credential, store_factory, gcs):
    path = store_factory.path(name)
    remote = cuzarr.open(gcs.url(name, credential), storage_options=gcs.options(credential))
    assert_remote_array_equals_local(remote, cuzarr.open(path))


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("name", list(stores.GROUP_CASES))
def test_group_over_gcs_lists_and_opens(name, credential, store_factory, gcs):
    """Consolidated or not: the XML API lists, so groups without consolidated metadata open too."""
    local = cuzarr.open(store_factory.path(name))
    remote = cuzarr.open(gcs.url(name, credential), storage_options=gcs.options(credential))
    assert_remote_group_equals_local(remote, local, name)


def test_listing_follows_continuation_tokens(store_factory, gcs, server):
    name = "zarr_v3_group"
    local = cuzarr.open(store_factory.path(name))
    server.page_size = 1
    mark = server.mark()
    remote = cuzarr.open(gcs.url(name), storage_options=gcs.options())
    assert sorted(n for n, _ in remote.arrays()) == sorted(n for n, _ in local.arrays())
    assert any("continuation-token=" in r.query for r in server.requests(mark))


@needs_openssl
def test_each_credential_reaches_the_server_as_itself(store_factory, gcs, server):
    name = "zarr_v2_order_F"
    store_factory.path(name)
    for credential, how in [("anon", "anon"), ("hmac", "hmac"), ("token", "bearer"), ("service_account", "bearer"),
                            ("authorized_user", "bearer")]:
        mark = server.mark()
        cuzarr.open(gcs.url(name, credential), storage_options=gcs.options(credential))[...]
        assert {r.auth for r in server.requests(mark) if r.path.startswith("/p")} == {how}, credential
    grants = server.issued[-2:]
    assert grants == ["urn:ietf:params:oauth:grant-type:jwt-bearer", "refresh_token"]


@needs_openssl
def test_token_is_renewed_before_it_expires(store_factory, gcs, server):
    """A service account's token that lasts 4 s is fetched again (at half its lifetime) while the
    store is in use; reads go on with the new one."""
    name = "zarr_v3_float64"
    want = cuzarr.open(store_factory.path(name))[...]
    server.token_lifetime = 4
    issued = len(server.issued)
    a = cuzarr.open(gcs.url(name), storage_options=gcs.options("service_account"))
    assert len(server.issued) == issued + 1
    time.sleep(2.5)
    assert_same_array(a[...], want)
    assert len(server.issued) == issued + 2


@needs_openssl
@pytest.mark.parametrize("fmt", [2, 3])
def test_xarray_open_dataset_over_gcs(fmt, gcs, tmp_path_factory):
    xr = pytest.importorskip("xarray")
    import test_backend as tb

    root = tmp_path_factory.mktemp(f"gcs_xarray_v{fmt}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tb.demo_dataset().to_zarr(root / "air.zarr", mode="w", zarr_format=fmt, consolidated=fmt == 2,
                                  encoding=tb._encoding(fmt, "sharded" if fmt == 3 else "zstd"))
    gcs.server.buckets[f"xarray-v{fmt}"] = root
    local = xr.open_dataset(root / "air.zarr", engine="cuzarr", device="cpu")
    remote = xr.open_dataset(f"gs://xarray-v{fmt}/air.zarr", engine="cuzarr", device="cpu",
                             storage_options={"token": gcs.service_account(), "endpoint_url": gcs.server.url,
                                              "project": "cuzarr-test"})
    xr.testing.assert_identical(remote.load(), local.load())


@needs_openssl
def test_credentials_from_environment(store_factory, gcs, tmp_path):
    name = "zarr_v3_group"
    store_factory.path(name)
    want = cuzarr.open(store_factory.path(name))
    expect = f"{sorted(n for n, _ in want.arrays())} {hashlib.sha256(want['temp'][...].tobytes()).hexdigest()}"
    code = f"""
        import cuzarr, hashlib
        g = cuzarr.open("gs://private/{name}.zarr")
        print(sorted(n for n, _ in g.arrays()), hashlib.sha256(g["temp"][...].tobytes()).hexdigest())
    """
    # GOOGLE_APPLICATION_CREDENTIALS, and STORAGE_EMULATOR_HOST (host:port) as the endpoint.
    host = gcs.server.url[len("http://"):]
    out = run_python(code, gcs.env(GOOGLE_APPLICATION_CREDENTIALS=str(gcs.service_account_file),
                                   STORAGE_EMULATOR_HOST=host))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expect
    # gcloud's Application Default Credentials (CLOUDSDK_CONFIG/application_default_credentials.json).
    (tmp_path / "application_default_credentials.json").write_text(json.dumps(gcs.authorized_user()))
    out = run_python(code, gcs.env(CLOUDSDK_CONFIG=str(tmp_path), STORAGE_EMULATOR_HOST=gcs.server.url))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expect
    # Nothing: anonymous, and a private bucket says that no credentials were found.
    out = run_python(code, gcs.env(STORAGE_EMULATOR_HOST=gcs.server.url))
    assert out.returncode != 0
    assert "AccessDenied" in out.stderr and "no credentials were found" in out.stderr, out.stderr


def test_token_cloud_asks_the_metadata_server(store_factory, gcs):
    """token='cloud' (gcsfs's name): the machine's service-account token from the metadata server
    (GCE_METADATA_HOST here, metadata.google.internal on Google Cloud), sent as a bearer token."""
    name = "zarr_v3_group"
    want = cuzarr.open(store_factory.path(name))
    code = f"""
        import cuzarr, hashlib
        g = cuzarr.open("gs://private/{name}.zarr", storage_options={{"token": "cloud", "endpoint_url": "{gcs.server.url}"}})
        print(hashlib.sha256(g["temp"][...].tobytes()).hexdigest())
    """
    issued = len(gcs.server.issued)
    out = run_python(code, gcs.env(GCE_METADATA_HOST=gcs.server.url[len("http://"):]))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == hashlib.sha256(want["temp"][...].tobytes()).hexdigest()
    assert gcs.server.issued[issued:] == ["metadata"]
    # Not on Google Cloud (nothing answers): a clear error saying so.
    out = run_python(code, gcs.env(GCE_METADATA_HOST="127.0.0.1:9"))
    assert out.returncode != 0
    assert "metadata server" in out.stderr and "did not answer" in out.stderr, out.stderr


@needs_openssl
def test_wrong_credentials_are_clear_errors_without_the_secret(store_factory, gcs, tmp_path):
    url = gcs.url("zarr_v2_order_F")
    store_factory.path("zarr_v2_order_F")
    endpoint = {"endpoint_url": gcs.server.url}
    cases = [
        ({"key": HMAC_ID, "secret": "wrong-Secret-9"}, "SignatureDoesNotMatch", "wrong-Secret-9"),
        ({"key": "GOOG1EUNKNOWNKEY", "secret": HMAC_SECRET}, "InvalidAccessKeyId", HMAC_SECRET),
        ({"token": "ya29.not-a-token-9"}, "401 AuthenticationRequired", "ya29.not-a-token-9"),
        ({"token": gcs.authorized_user() | {"client_secret": "wrong-Client-9"}}, "invalid_grant", "wrong-Client-9"),
        ({"token": gcs.authorized_user() | {"refresh_token": "1//wrong-Refresh-9"}}, "invalid_grant", "1//wrong-Refresh-9"),
    ]
    other_key, _ = rsa_key_pair()
    cases.append(({"token": gcs.service_account() | {"private_key": other_key}}, "Invalid JWT Signature",
                  other_key.splitlines()[5]))
    for options, expect, secret in cases:
        with pytest.raises(cuzarr.StoreError) as e:
            cuzarr.open(url, storage_options=options | endpoint)
        message = str(e.value)
        assert expect in message, message
        assert secret not in message, message
        assert "private" in message
    with pytest.raises(cuzarr.StoreError, match="AccessDenied.*token='anon'"):
        cuzarr.open(url, storage_options={"token": "anon"} | endpoint)
    with pytest.raises(cuzarr.StoreError, match="does not exist"):
        cuzarr.open(url, storage_options={"token": str(tmp_path / "missing.json")} | endpoint)
    with pytest.raises(cuzarr.StoreError, match="go together"):
        cuzarr.open(url, storage_options={"key": HMAC_ID} | endpoint)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "service_account", "client_email": SA_EMAIL, "private_key": "not a key",
                               "token_uri": gcs.server.token_uri}))
    with pytest.raises(cuzarr.StoreError, match="not a PEM RSA private key") as e:
        cuzarr.open(url, storage_options={"token": str(bad)} | endpoint)
    with pytest.raises(cuzarr.UnsupportedError, match="external_account"):
        cuzarr.open(url, storage_options={"token": {"type": "external_account"}} | endpoint)
    with pytest.raises(cuzarr.StoreError, match="not an https URL"):
        cuzarr.open(url, storage_options={"token": gcs.authorized_user() | {"token_uri": "http://example.com/token"}})


def test_missing_keys_and_buckets(gcs):
    with pytest.raises(cuzarr.KeyNotFoundError):
        cuzarr.open("gs://private/no-such-store.zarr", storage_options=gcs.options())
    with pytest.raises(cuzarr.StoreError, match="NoSuchBucket.*does not exist"):
        cuzarr.open("gs://no-such-bucket/x.zarr", storage_options=gcs.options())


def test_options_are_checked(gcs):
    with pytest.raises(ValueError, match="unknown storage option 'region'.*gs://"):
        cuzarr.open("gs://private/x.zarr", storage_options={"region": "x"})
    with pytest.raises(ValueError, match="unknown storage option 'project'.*s3://"):
        cuzarr.open("s3://bucket/x.zarr", storage_options={"project": "p"})
    with pytest.raises(cuzarr.StoreError, match="apply to gs:// URLs only"):
        cuzarr._core.open("s3://bucket/x.zarr", gcs={"project": "p"})
    with pytest.raises(cuzarr.StoreError, match="not a bucket name"):
        cuzarr.open("gs://Bad_Bucket!/x.zarr", storage_options={"token": "anon"})


def test_cli_reads_gcs(store_factory, gcs, cuzarr_cli):
    name = "zarr_v3_group"
    store_factory.path(name)
    out = subprocess.run([cuzarr_cli, "info", gcs.url(name, "anon"), "-S", "token=anon", "-S",
                          f"endpoint_url={gcs.server.url}"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "temp" in out.stdout


@pytest.mark.parametrize("credential", [pytest.param("service_account", marks=needs_openssl), "authorized_user"])
def test_pickled_array_reopens_over_gcs(credential, store_factory, gcs):
    """dask workers reopen a pickled array with its storage options (a dict token included)."""
    import pickle

    name = "zarr_v3_float64"
    store_factory.path(name)
    a = cuzarr.open(gcs.url(name), storage_options=gcs.options(credential))
    b = pickle.loads(pickle.dumps(a))
    assert_same_array(b[...], a[...])
    assert HMAC_SECRET not in repr(b) and CLIENT_SECRET not in repr(b)
