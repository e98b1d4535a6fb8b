"""Reading over Azure Blob Storage (az://, abfs://, https://<account>.blob.core.windows.net): the
conformance stores served by a local stand-in for the Blob service (cloud_server.AzureServer,
which recomputes SharedKey signatures and SAS tokens with the Azure SDK) read exactly as the local
stores, with each kind of credential: the account key (SharedKey), a SAS token, anonymous reads of
a public container, from storage options, a connection string and the AZURE_STORAGE_* variables.
Wrong credentials are clear errors that never repeat the secret; groups list; xarray opens."""

from __future__ import annotations

import datetime as dt
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
from cloud_server import AzureServer, account_key, sdk_available
from stores import assert_remote_array_equals_local, assert_remote_group_equals_local, assert_same_array

pytestmark = [
    pytest.mark.skipif(not cuzarr._core.http_built(), reason="this build of cuzarr has no Azure store (libcurl)"),
    pytest.mark.skipif(not sdk_available(), reason="azure-storage-blob and cryptography are not installed (dev extra)"),
]

ARRAYS = stores.array_case_names()
ACCOUNT = "cuzarrtest"
KEY = account_key()
CREDENTIALS = ["sharedkey", "sas", "anon"]


def sas_token(container: str = "private", permission: str = "rl", hours: float = 1.0, key: str = KEY) -> str:
    from azure.storage.blob import generate_container_sas

    expiry = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(hours=hours)
    return generate_container_sas(ACCOUNT, container, account_key=key, permission=permission, expiry=expiry)


class LocalAzure:
    def __init__(self, server: AzureServer):
        self.server = server

    def options(self, credential: str = "sharedkey") -> dict:
        base = {"account_name": ACCOUNT, "endpoint_url": self.server.endpoint}
        return {
            "sharedkey": {"account_key": KEY},
            "sas": {"sas_token": sas_token()},
            "anon": {"anon": True},
        }[credential] | base

    def url(self, name: str, credential: str = "sharedkey") -> str:
        return f"az://{'public' if credential == 'anon' else 'private'}/{name}.zarr"

    def connection_string(self, key: str = KEY) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
                f"BlobEndpoint={self.server.endpoint};")

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
        env.update(extra)
        return env


@pytest.fixture(scope="session")
def azure(store_factory):
    server = AzureServer(ACCOUNT, KEY).start()
    server.buckets["private"] = store_factory.root
    server.buckets["public"] = store_factory.root
    server.public.add("public")
    try:
        yield LocalAzure(server)
    finally:
        server.stop()


@pytest.fixture()
def server(azure):
    yield azure.server
    azure.server.page_size = 0


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("name", ARRAYS)
def test_array_over_azure_equals_local(name, credential, store_factory, azure):
    path = store_factory.path(name)
    remote = cuzarr.open(azure.url(name, credential), storage_options=azure.options(credential))
    assert_remote_array_equals_local(remote, cuzarr.open(path))


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("name", list(stores.GROUP_CASES))
def test_group_over_azure_lists_and_opens(name, credential, store_factory, azure):
    local = cuzarr.open(store_factory.path(name))
    remote = cuzarr.open(azure.url(name, credential), storage_options=azure.options(credential))
    assert_remote_group_equals_local(remote, local, name)


def test_listing_follows_next_marker(store_factory, azure, server):
    name = "zarr_v2_group"
    local = cuzarr.open(store_factory.path(name))
    server.page_size = 1
    mark = server.mark()
    remote = cuzarr.open(azure.url(name), storage_options=azure.options())
    assert sorted(n for n, _ in remote.groups()) == sorted(n for n, _ in local.groups())
    assert any("marker=" in r.query for r in server.requests(mark))


def test_each_credential_reaches_the_server_as_itself(store_factory, azure, server):
    name = "zarr_v2_order_F"
    store_factory.path(name)
    for credential, how in [("sharedkey", "sharedkey"), ("sas", "sas"), ("anon", "anon")]:
        mark = server.mark()
        cuzarr.open(azure.url(name, credential), storage_options=azure.options(credential))[...]
        assert {r.auth for r in server.requests(mark)} == {how}, credential


@pytest.mark.parametrize("form", [
    "abfs://private/{name}.zarr",
    "abfss://private@cuzarrtest.dfs.core.windows.net/{name}.zarr",
    "https://cuzarrtest.blob.core.windows.net/private/{name}.zarr",
])
def test_url_forms(form, store_factory, azure):
    name = "zarr_v3_float64"
    want = cuzarr.open(store_factory.path(name))[...]
    options = {"account_key": KEY, "endpoint_url": azure.server.endpoint}
    if form.startswith("abfs://"):
        options["account_name"] = ACCOUNT
    assert_same_array(cuzarr.open(form.format(name=name), storage_options=options)[...], want)


def test_connection_string(store_factory, azure):
    name = "zarr_v2_group"
    local = cuzarr.open(store_factory.path(name))
    g = cuzarr.open(azure.url(name), storage_options={"connection_string": azure.connection_string()})
    assert_same_array(g["temp"][...], local["temp"][...])


def test_shard_index_at_the_end_reads_without_suffix_ranges(sharded_stores, azure, server):
    """The Blob service ignores "bytes=-N": the index is found from the size (HEAD), then read by range."""
    path, want = sharded_stores["shard_end"]
    server.buckets["sharded"] = path.parent
    a = cuzarr.open(f"az://sharded/{path.name}", storage_options=azure.options())
    mark = server.mark()
    assert_same_array(a[40:48, 32:40], want[40:48, 32:40])
    requests = server.requests(mark)
    assert [r.method for r in requests] == ["HEAD", "GET", "GET"], requests
    assert all(not (r.range or "").startswith("bytes=-") for r in requests)
    assert_same_array(a[...], want)


@pytest.mark.parametrize("fmt", [2, 3])
def test_xarray_open_dataset_over_azure(fmt, azure, tmp_path_factory):
    xr = pytest.importorskip("xarray")
    import test_backend as tb

    root = tmp_path_factory.mktemp(f"azure_xarray_v{fmt}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tb.demo_dataset().to_zarr(root / "air.zarr", mode="w", zarr_format=fmt, consolidated=fmt == 2,
                                  encoding=tb._encoding(fmt, "sharded" if fmt == 3 else "zstd"))
    azure.server.buckets[f"xarray-v{fmt}"] = root
    local = xr.open_dataset(root / "air.zarr", engine="cuzarr", device="cpu")
    remote = xr.open_dataset(f"az://xarray-v{fmt}/air.zarr", engine="cuzarr", device="cpu",
                             storage_options=azure.options())
    xr.testing.assert_identical(remote.load(), local.load())


def test_credentials_from_environment(store_factory, azure):
    name = "zarr_v3_group"
    want = cuzarr.open(store_factory.path(name))
    expect = f"{sorted(n for n, _ in want.arrays())} {hashlib.sha256(want['temp'][...].tobytes()).hexdigest()}"
    code = f"""
        import cuzarr, hashlib
        g = cuzarr.open("az://private/{name}.zarr", storage_options={{"endpoint_url": {azure.server.endpoint!r}}})
        print(sorted(n for n, _ in g.arrays()), hashlib.sha256(g["temp"][...].tobytes()).hexdigest())
    """
    for extra in [{"AZURE_STORAGE_ACCOUNT_NAME": ACCOUNT, "AZURE_STORAGE_ACCOUNT_KEY": KEY},
                  {"AZURE_STORAGE_ACCOUNT_NAME": ACCOUNT, "AZURE_STORAGE_SAS_TOKEN": sas_token()},
                  {"AZURE_STORAGE_CONNECTION_STRING": azure.connection_string()}]:
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=azure.env(**extra),
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, (extra.keys(), out.stderr)
        assert out.stdout.strip() == expect


def test_wrong_credentials_are_clear_errors_without_the_secret(store_factory, azure):
    store_factory.path("zarr_v2_order_F")
    store_factory.path("zarr_v2_group")
    url = azure.url("zarr_v2_order_F")
    base = {"account_name": ACCOUNT, "endpoint_url": azure.server.endpoint}
    other = account_key()
    expired = sas_token(hours=-1)
    read_only = sas_token(permission="r")
    foreign = sas_token(key=other)
    cases = [
        ({"account_key": other}, "AuthenticationFailed", other),
        ({"sas_token": foreign}, "AuthorizationFailure", foreign.split("sig=")[1]),
        ({"sas_token": expired}, "AuthorizationFailure", expired.split("sig=")[1]),
        ({"connection_string": azure.connection_string(other)}, "AuthenticationFailed", other),
    ]
    for options, code, secret in cases:
        with pytest.raises(cuzarr.StoreError) as e:
            cuzarr.open(url, storage_options=options | base)
        message = str(e.value)
        assert code in message and "container 'private'" in message, message
        assert secret not in message and "sig=" not in message, message
    # A SAS without list permission reads a named array, and its listing is refused clearly.
    g = cuzarr.open(azure.url("zarr_v2_group"), storage_options={"sas_token": read_only} | base, consolidated=False)
    with pytest.raises(cuzarr.StoreError, match="SAS token from storage option 'sas_token' was refused"):
        g.arrays()
    with pytest.raises(cuzarr.StoreError, match="not signed"):
        cuzarr.open(url, storage_options={"anon": True} | base)
    with pytest.raises(cuzarr.StoreError, match="not base64"):
        cuzarr.open(url, storage_options={"account_key": "not base64!"} | base)


TENANT, CLIENT_ID, CLIENT_SECRET = "cuzarr-tenant", "11111111-2222-3333-4444-555555555555", "entra~Secret.0001+/="


def test_service_principal_tokens(store_factory, azure, server, monkeypatch):
    """Microsoft Entra ID: a service principal's client secret (storage options, or
    AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET) exchanged at AZURE_AUTHORITY_HOST for
    a token that reaches the Blob service as a bearer token."""
    server.principals[(TENANT, CLIENT_ID)] = CLIENT_SECRET
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", server.url)
    name = "zarr_v3_group"
    local = cuzarr.open(store_factory.path(name))
    base = {"account_name": ACCOUNT, "endpoint_url": server.endpoint}
    principal = {"tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    mark = server.mark()
    remote = cuzarr.open(azure.url(name), storage_options=principal | base)
    assert_remote_group_equals_local(remote, local, name)
    assert {r.auth for r in server.requests(mark) if r.path.startswith(f"/{ACCOUNT}/")} == {"bearer"}
    assert any(r.path == f"/{TENANT}/oauth2/v2.0/token" for r in server.requests(mark))
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", CLIENT_SECRET)
    assert_remote_group_equals_local(cuzarr.open(azure.url(name), storage_options=base), local, name)
    # A wrong secret: the endpoint's words, never the secret; half a principal: what is missing.
    with pytest.raises(cuzarr.StoreError, match="invalid_client") as e:
        cuzarr.open(azure.url(name), storage_options=principal | base | {"client_secret": "wrong~Secret.9999"})
    assert "wrong~Secret" not in str(e.value)
    with pytest.raises(cuzarr.StoreError, match="client_secret is missing"):
        cuzarr.open(azure.url(name), storage_options={"tenant_id": TENANT, "client_id": CLIENT_ID} | base)
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "http://example.com")
    with pytest.raises(cuzarr.StoreError, match="not an https URL"):
        cuzarr.open(azure.url(name), storage_options=principal | base)


AZURE_VARIABLES = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                   "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST",
                   "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN",
                   "AZURE_STORAGE_CONNECTION_STRING"]


def fake_az(folder, token: str, expires_on: int) -> str:
    """A folder holding an `az` that answers `account get-access-token` as the Azure CLI does."""
    folder.mkdir(exist_ok=True)
    script = folder / "az"
    answer = {"accessToken": token, "expiresOn": "2099-01-01 00:00:00.000000", "expires_on": expires_on,
              "subscription": "0000", "tenant": TENANT, "tokenType": "Bearer"}
    script.write_text("#!/bin/sh\n"
                      "case \"$*\" in *'get-access-token'*'--resource https://storage.azure.com/'*) ;;\n"
                      "  *) echo \"unexpected: $*\" >&2; exit 2;; esac\n"
                      f"printf '%s\\n' '{json.dumps(answer)}'\n")  # a shell builtin: PATH holds only this folder
    script.chmod(0o755)
    return str(folder)


def test_anon_false_uses_the_default_azure_credentials(store_factory, azure, server, monkeypatch, tmp_path):
    """adlfs's anon=False without a key, SAS or service principal: workload identity, then managed
    identity (App Service's endpoint, else IMDS), then the Azure CLI's login, as
    DefaultAzureCredential tries them; each reaches the Blob service as a bearer token."""
    from local_server import free_port

    for v in AZURE_VARIABLES:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no Azure CLI unless a test puts one there
    name = "zarr_v3_group"
    local = cuzarr.open(store_factory.path(name))
    options = {"account_name": ACCOUNT, "endpoint_url": server.endpoint, "anon": False}

    def read_with(expect_path: str):
        mark = server.mark()
        assert_remote_group_equals_local(cuzarr.open(azure.url(name), storage_options=options), local, name)
        log = server.requests(mark)
        assert {r.auth for r in log if r.path.startswith(f"/{ACCOUNT}/")} == {"bearer"}
        assert [r.path for r in log if not r.path.startswith(f"/{ACCOUNT}/")] == [expect_path]

    # IMDS (a Virtual Machine's managed identity); AZURE_POD_IDENTITY_AUTHORITY_HOST points at it.
    server.imds = True
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", server.url)
    read_with("/metadata/identity/oauth2/token")
    # App Service's endpoint wins over IMDS where it is set.
    server.identity_header = "msi-secret-0001"
    monkeypatch.setenv("IDENTITY_ENDPOINT", server.url + "/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "msi-secret-0001")
    read_with("/msi/token")
    # Workload identity comes first of all.
    server.federated[(TENANT, CLIENT_ID)] = "eyJhbGciOi.federated.0001"
    token_file = tmp_path / "federated-token"
    token_file.write_text("eyJhbGciOi.federated.0001\n")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", server.url)
    read_with(f"/{TENANT}/oauth2/v2.0/token")
    # The Azure CLI, where no managed identity answers (IMDS on a closed port).
    for v in ["AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"]:
        monkeypatch.delenv(v)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("PATH", fake_az(tmp_path / "bin", server.issue_token(), int(time.time()) + 3600))
    mark = server.mark()
    assert_remote_group_equals_local(cuzarr.open(azure.url(name), storage_options=options), local, name)
    assert {r.auth for r in server.requests(mark)} == {"bearer"}
    # Nothing answers: the error says what each source said; without anon=False nothing is asked.
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(cuzarr.StoreError, match=r"no default Azure credential.*managed identity \(IMDS\).*did not answer"
                                                r".*Azure CLI.*cannot be run") as e:
        cuzarr.open(azure.url(name), storage_options=options)
    assert "federated" not in str(e.value)
    monkeypatch.delenv("AZURE_TENANT_ID")
    monkeypatch.delenv("AZURE_CLIENT_ID")
    mark = server.mark()
    with pytest.raises(cuzarr.StoreError, match="no credentials were found"):
        cuzarr.open(azure.url(name), storage_options={k: v for k, v in options.items() if k != "anon"})
    assert {r.auth for r in server.requests(mark)} == {"anon"}
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT_ID)
    # A workload identity the authority refuses: its words, never the assertion.
    server.federated[(TENANT, CLIENT_ID)] = "something-else"
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    with pytest.raises(cuzarr.StoreError, match="workload identity.*AADSTS700024") as e:
        cuzarr.open(azure.url(name), storage_options=options)
    assert "federated.0001" not in str(e.value)


def test_missing_keys_and_containers(azure):
    with pytest.raises(cuzarr.KeyNotFoundError):
        cuzarr.open("az://private/no-such-store.zarr", storage_options=azure.options())
    with pytest.raises(cuzarr.StoreError, match="ContainerNotFound.*does not exist"):
        cuzarr.open("az://no-such-container/x.zarr", storage_options=azure.options())


def test_options_are_checked(azure):
    with pytest.raises(ValueError, match="unknown storage option 'token'.*az://"):
        cuzarr.open("az://private/x.zarr", storage_options={"token": "x"})
    with pytest.raises(cuzarr.StoreError, match="no storage account"):
        cuzarr.open("az://private/x.zarr", storage_options={"anon": True})
    with pytest.raises(cuzarr.StoreError, match="not a container name"):
        cuzarr.open("az://Bad_Container/x.zarr", storage_options=azure.options())
    with pytest.raises(cuzarr.StoreError, match="apply to az:// and abfs:// URLs only"):
        cuzarr._core.open("gs://bucket/x.zarr", azure={"account_name": "x"})


def test_cli_reads_azure(store_factory, azure, cuzarr_cli):
    name = "zarr_v2_group"
    store_factory.path(name)
    out = subprocess.run([cuzarr_cli, "info", azure.url(name, "anon"), "-S", "anon=true", "-S",
                          f"account_name={ACCOUNT}", "-S", f"endpoint_url={azure.server.endpoint}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "temp" in out.stdout


def test_pickled_array_reopens_over_azure(store_factory, azure):
    import pickle

    name = "zarr_v3_float64"
    store_factory.path(name)
    a = cuzarr.open(azure.url(name), storage_options=azure.options("sas"))
    b = pickle.loads(pickle.dumps(a))
    assert_same_array(b[...], a[...])
    assert KEY not in repr(b) and "sig=" not in repr(b)
