"""Reading over HTTP: the conformance stores served by a real nginx read exactly as the local
stores; a sharded read of one inner chunk makes at most two range requests (counted in nginx's
access log); retries, timeouts and length checks against a fault-injecting server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import cuzarr
import stores
from http_fixtures import FaultServer, publish
from nginx_server import Nginx, find_nginx, self_signed_certificate
from stores import assert_remote_array_equals_local, assert_same_array, sample_data, seed_of

pytestmark = pytest.mark.skipif(not cuzarr._core.http_built(), reason="this build of cuzarr has no HTTP store (libcurl)")

ARRAYS = stores.array_case_names()
TS_FIXTURES = Path(os.environ.get("CUZARR_TS_FIXTURES", "/work/shared/fixtures/tensorstore"))
TS_NAMES = (
    [e["name"] for e in json.loads((TS_FIXTURES / "manifest.json").read_text())]
    if (TS_FIXTURES / "manifest.json").is_file() else []
)

needs_nginx = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (scripts/bootstrap installs it)")


@pytest.fixture(scope="session")
def www(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("www")


@pytest.fixture(scope="session")
def nginx(www, tmp_path_factory):
    if find_nginx() is None:
        pytest.skip("nginx is not installed (scripts/bootstrap installs it)")
    with Nginx(www, tmp_path_factory.mktemp("nginx")) as server:
        yield server


def url_of(server, www, name, path) -> str:
    return f"{server.url}/{publish(www, name, path)}"


# --------------------------------------------------------------------------------------------
# https: certificates are verified against the bundle the environment names


@pytest.fixture(scope="module")
def https_server(www, tmp_path_factory):
    if find_nginx() is None or shutil.which("openssl") is None:
        pytest.skip("nginx and the openssl command are needed for a local https server")
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    with Nginx(www, tmp_path_factory.mktemp("nginx-tls"), tls=(cert, key)) as server:
        yield server, cert


def test_https_verifies_against_the_bundle_the_environment_names(https_server, store_factory, www, monkeypatch,
                                                                tmp_path):
    server, cert = https_server
    name = "zarr_v3_float64"
    url = url_of(server, www, name, store_factory.path(name))
    assert url.startswith("https://")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    # A self-signed certificate is not in the system's bundle: refused, never read unverified.
    with pytest.raises(OSError, match="certificate"):
        cuzarr.open(url)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    assert_same_array(cuzarr.open(url)[...], store_factory.written(name))
    # CURL_CA_BUNDLE comes first: a bundle without this certificate refuses it again.
    other, _ = self_signed_certificate(tmp_path / "other")
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other))
    with pytest.raises(OSError, match="certificate"):
        cuzarr.open(url)


# --------------------------------------------------------------------------------------------
# Conformance over nginx


@needs_nginx
@pytest.mark.parametrize("name", ARRAYS)
def test_array_over_http_equals_local(name, store_factory, www, nginx):
    path = store_factory.path(name)
    local = cuzarr.open(path)
    remote = cuzarr.open(url_of(nginx, www, name, path))
    assert_remote_array_equals_local(remote, local)


@needs_nginx
@pytest.mark.skipif(not TS_NAMES, reason=f"no tensorstore fixtures at {TS_FIXTURES}")
@pytest.mark.parametrize("name", TS_NAMES)
def test_tensorstore_fixture_over_http_equals_local(name, www, nginx):
    path = TS_FIXTURES / name
    url = url_of(nginx, www, "fixture_" + name, path)
    try:
        want = cuzarr.open(path)[...]
    except cuzarr.UnsupportedError as e:
        with pytest.raises(cuzarr.UnsupportedError) as got:
            cuzarr.open(url)[...]
        assert str(got.value).split(":")[-1] == str(e).split(":")[-1]
        return
    assert_same_array(cuzarr.open(url)[...], want)


@needs_nginx
@pytest.mark.parametrize("name", ["shard_end", "shard_start", "shard_partial"])
def test_sharded_over_http(name, sharded_stores, www, nginx):
    path, want = sharded_stores[name]
    url = url_of(nginx, www, name, path)
    a = cuzarr.open(url)
    assert_same_array(a[...], want)
    assert_same_array(a[3:30, 5:41:3], want[3:30, 5:41:3])
    assert_same_array(a.oindex[[0, 63, 17], [47, 1]] if hasattr(a, "oindex") else a[[0, 63, 17], :][:, [47, 1]],
                      want[[0, 63, 17]][:, [47, 1]])


@needs_nginx
@pytest.mark.parametrize("name", ["shard_end", "shard_start"])
def test_one_inner_chunk_takes_at_most_two_range_requests(name, sharded_stores, www, nginx):
    path, want = sharded_stores[name]
    a = cuzarr.open(url_of(nginx, www, name, path))
    mark = nginx.log_size()
    got = a[40:48, 32:40]  # inner chunk (5, 4): shard (1, 1)
    requests = nginx.requests(mark)
    assert_same_array(got, want[40:48, 32:40])
    assert 1 <= len(requests) <= 2, requests
    assert all(r.method == "GET" and r.range is not None and r.status == 206 for r in requests), requests
    assert all(r.path == f"/{name}/c/1/1" for r in requests), requests
    # Only the index and the inner chunk travel, not the shard.
    shard = (path / "c" / "1" / "1").stat().st_size
    assert sum(r.body_bytes for r in requests) < shard / 4


@needs_nginx
def test_missing_shard_is_one_request_and_fill(sharded_stores, www, nginx):
    path, want = sharded_stores["shard_partial"]
    a = cuzarr.open(url_of(nginx, www, "shard_partial", path))
    mark = nginx.log_size()
    assert_same_array(a[40:48, 32:40], want[40:48, 32:40])
    requests = nginx.requests(mark)
    assert [(r.status, r.path) for r in requests] == [(404, "/shard_partial/c/1/1")]


@needs_nginx
def test_unsharded_chunk_is_one_request(store_factory, www, nginx):
    name = "zarr_v3_float64"
    path = store_factory.path(name)
    a = cuzarr.open(url_of(nginx, www, name, path))
    mark = nginx.log_size()
    a[tuple(0 for _ in a.shape)]
    requests = nginx.requests(mark)
    assert len(requests) == 1 and requests[0].method == "GET", requests


@pytest.fixture(scope="session")
def raw_store(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """Uncompressed v3 chunks (the stored-raw read paths: straight into the output on the host,
    through the pinned staging ring on the GPU)."""
    zarr = pytest.importorskip("zarr")
    data = sample_data("int32", (40, 36), seed_of("raw_store"))
    path = tmp_path_factory.mktemp("raw") / "raw.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = zarr.create_array(str(path), shape=data.shape, dtype=data.dtype, chunks=(10, 12), compressors=None)
        a[...] = data
    return path, data


@needs_nginx
def test_raw_chunks_one_request_each(raw_store, www, nginx):
    path, data = raw_store
    a = cuzarr.open(url_of(nginx, www, "raw_store", path))
    mark = nginx.log_size()
    assert_same_array(a[...], data)
    requests = nginx.requests(mark)
    assert len(requests) == 12, requests  # 4 x 3 chunks, no HEAD
    assert all(r.method == "GET" and r.range == "bytes=0-479" and r.status == 206 for r in requests)


@pytest.mark.gpu
@needs_nginx
@pytest.mark.parametrize("name", ["raw_store", "shard_end", "shard_partial", "zarr_v2_order_F"])
def test_gpu_read_over_http(name, raw_store, sharded_stores, store_factory, www, nginx):
    """HTTP bytes go through the same GPU paths as file bytes (raw chunks: pinned staging ring)."""
    if cuzarr._core.cuda_device_count() == 0:
        pytest.skip("no GPU (or a build without CUDA)")
    cupy = pytest.importorskip("cupy")
    if name == "raw_store":
        path, _ = raw_store
    elif name in sharded_stores:
        path, _ = sharded_stores[name]
    else:
        path = store_factory.path(name)
    want = cuzarr.open(path)[...]
    got = cuzarr.open(url_of(nginx, www, name, path), device="cuda")[...]
    assert isinstance(got, cupy.ndarray)
    assert_same_array(cupy.asnumpy(got), want)


@needs_nginx
@pytest.mark.parametrize("name", list(stores.GROUP_CASES))
def test_group_over_http(name, store_factory, www, nginx):
    path = store_factory.path(name)
    url = url_of(nginx, www, name, path)
    local = cuzarr.open(path)
    remote = cuzarr.open(url)
    assert remote.attrs == local.attrs
    if "consolidated" in name:
        assert remote.consolidated
        assert sorted(n for n, _ in remote.arrays()) == sorted(n for n, _ in local.arrays())
        assert sorted(n for n, _ in remote.groups()) == sorted(n for n, _ in local.groups())
    else:
        with pytest.raises(cuzarr.UnsupportedError, match="consolidated metadata"):
            remote.arrays()
    # Arrays opened by their path read without any listing.
    for array in stores.GROUP_ARRAYS:
        assert_same_array(remote[array][...], local[array][...])
        assert_same_array(cuzarr.open(f"{url}/{array}")[...], local[array][...])


@needs_nginx
@pytest.mark.parametrize("fmt", [2, 3])
def test_xarray_open_dataset_over_http(fmt, www, nginx, tmp_path_factory):
    xr = pytest.importorskip("xarray")
    import test_backend as tb

    root = tmp_path_factory.mktemp(f"air_v{fmt}")
    path = root / "air.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tb.demo_dataset().to_zarr(path, mode="w", zarr_format=fmt, consolidated=True,
                                  encoding=tb._encoding(fmt, "sharded" if fmt == 3 else "zstd"))
    name = f"v{fmt}"
    (Path(www) / name).mkdir(exist_ok=True)
    publish(Path(www) / name, "air.zarr", path)
    url = f"{nginx.url}/{name}/air.zarr"
    local = xr.open_dataset(path, engine="cuzarr", device="cpu")
    remote = xr.open_dataset(url, engine="cuzarr", device="cpu")
    xr.testing.assert_identical(remote.load(), local.load())

    # Without consolidated metadata the group cannot be listed over HTTP: a clear error.
    plain = root / "plain.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tb.demo_dataset().to_zarr(plain, mode="w", zarr_format=fmt, consolidated=False)
    publish(Path(www) / name, "plain.zarr", plain)
    with pytest.raises(NotImplementedError, match="consolidated metadata"):
        xr.open_dataset(f"{nginx.url}/{name}/plain.zarr", engine="cuzarr", device="cpu")


@needs_nginx
def test_cli_over_http(cuzarr_cli, store_factory, www, nginx, tmp_path):
    name = "zarr_v3_group_consolidated"
    path = store_factory.path(name)
    url = url_of(nginx, www, name, path)
    info = subprocess.run([cuzarr_cli, "info", "--json", url], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["children"].keys() >= {"temp", "sub"}
    out = tmp_path / "temp.npy"
    read = subprocess.run([cuzarr_cli, "read", f"{url}/temp", "--select", "1:5", "-o", str(out)],
                          capture_output=True, text=True)
    assert read.returncode == 0, read.stderr
    assert_same_array(np.load(out), cuzarr.open(path)["temp"][1:5])
    verify = subprocess.run([cuzarr_cli, "verify", url], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_missing_store_over_http(nginx):
    with pytest.raises(cuzarr.KeyNotFoundError):
        cuzarr.open(f"{nginx.url}/no-such-store.zarr")


# --------------------------------------------------------------------------------------------
# Faults


@pytest.fixture(scope="module")
def fault_root(tmp_path_factory, store_factory) -> Path:
    root = tmp_path_factory.mktemp("faults")
    publish(root, "raw.zarr", store_factory.path("zarr_v3_float64"))
    publish(root, "v2.zarr", store_factory.path("zarr_v2_order_F"))
    return root


@pytest.fixture()
def faults(fault_root):
    server = FaultServer(fault_root).start()
    yield server
    server.stop()


def want_of(store_factory, name="zarr_v3_float64"):
    return cuzarr.open(store_factory.path(name))[...]


def test_fault_server_ok(faults, store_factory):
    assert_same_array(cuzarr.open(f"{faults.url}/ok/raw.zarr")[...], want_of(store_factory))


def test_500_then_success_is_retried(faults, store_factory):
    a = cuzarr.open(f"{faults.url}/fail-once/raw.zarr", storage_options={"retries": 2})
    assert_same_array(a[...], want_of(store_factory))
    chunk_gets = [r for r in faults.requests("fail-once") if r[1] == "GET" and "/c/" in r[2]]
    keys = {r[2] for r in chunk_gets}
    assert len(chunk_gets) == 2 * len(keys)  # each chunk failed once, then came


def test_persistent_500_names_the_url(faults):
    a = cuzarr.open(f"{faults.url}/fail/raw.zarr", storage_options={"retries": 1})
    with pytest.raises(cuzarr.StoreError) as e:
        a[...]
    msg = str(e.value)
    assert f"{faults.url}/fail/raw.zarr/c/" in msg and "HTTP 500" in msg and "2 attempts" in msg


def test_truncated_body_is_an_error(faults):
    a = cuzarr.open(f"{faults.url}/truncate/raw.zarr", storage_options={"retries": 1})
    with pytest.raises(cuzarr.StoreError, match="truncate|Transferred a partial file|bytes asked"):
        a[...]


def test_wrong_length_is_an_error(faults):
    a = cuzarr.open(f"{faults.url}/short-length/raw.zarr", storage_options={"retries": 0})
    with pytest.raises(cuzarr.StoreError, match="does not match Content-Range"):
        a[...]


def test_timeout_is_honoured(faults):
    # The server would answer after 30 s; a 0.5 s timeout gives up long before (the bound leaves
    # room for a stalled CI host).
    faults.slow_seconds = 30
    a = cuzarr.open(f"{faults.url}/slow/raw.zarr", storage_options={"timeout": 0.5, "retries": 0})
    start = time.monotonic()
    with pytest.raises(cuzarr.StoreError, match="HTTP timeout"):
        a[0, 0]
    assert time.monotonic() - start < 15


def test_redirect_is_followed(faults, store_factory):
    a = cuzarr.open(f"{faults.url}/redirect/raw.zarr")
    assert_same_array(a[...], want_of(store_factory))
    assert faults.requests("ok")


def test_server_without_ranges(faults, store_factory):
    # A 200 answer to a range request: the asked bytes are cut from the whole value.
    a = cuzarr.open(f"{faults.url}/norange/v2.zarr")
    want = want_of(store_factory, "zarr_v2_order_F")
    assert_same_array(a[...], want)


def test_missing_chunk_reads_as_fill(faults, fault_root, tmp_path_factory):
    zarr = pytest.importorskip("zarr")
    path = tmp_path_factory.mktemp("holes") / "holes.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(str(path), shape=(10, 10), chunks=(5, 5), dtype="i4", fill_value=7)
        z[0:5, 0:5] = 1
    publish(fault_root, "holes.zarr", path)
    got = cuzarr.open(f"{faults.url}/ok/holes.zarr")[...]
    want = np.full((10, 10), 7, dtype="i4")
    want[0:5, 0:5] = 1
    assert_same_array(got, want)
    assert any(r[2].startswith("holes.zarr/c/1/1") for r in faults.requests("ok"))


def test_headers_are_sent_and_never_shown(faults, monkeypatch):
    secret = "Bearer s3cr3t-t0ken"
    a = cuzarr.open(f"{faults.url}/fail/raw.zarr",
                    storage_options={"headers": {"Authorization": secret}, "retries": 0})
    with pytest.raises(cuzarr.StoreError) as e:
        a[...]
    assert secret not in str(e.value) and "s3cr3t" not in repr(e.value)
    assert all(r[4].get("Authorization") == secret for r in faults.requests("fail"))


def test_env_headers_and_settings(faults, store_factory, tmp_path):
    """CUZARR_HTTP_* are read once per process: check them in a child process."""
    code = (
        "import cuzarr, sys\n"
        f"a = cuzarr.open('{faults.url}/fail/raw.zarr')\n"
        "try:\n    a[...]\nexcept cuzarr.StoreError as e:\n    print(e)\n"
    )
    env = dict(os.environ, CUZARR_HTTP_HEADERS='{"X-Token": "abc123secret"}', CUZARR_HTTP_RETRIES="2")
    out = subprocess.run([os.sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "3 attempts" in out.stdout and "abc123secret" not in out.stdout + out.stderr
    assert any(r[4].get("X-Token") == "abc123secret" for r in faults.requests("fail"))
    bad = dict(os.environ, CUZARR_HTTP_HEADERS='{"X-Token": 5, "s": "hidden-value"}')
    out = subprocess.run([os.sys.executable, "-c", code], env=bad, capture_output=True, text=True)
    assert "CUZARR_HTTP_HEADERS" in out.stderr and "hidden-value" not in out.stderr


def test_bad_storage_options():
    with pytest.raises(ValueError, match="unknown storage option"):
        cuzarr.open("http://127.0.0.1:9/x.zarr", storage_options={"use_listings_cache": True})
    with pytest.raises(cuzarr.StoreError, match="s3:// URLs only"):
        cuzarr.open("http://127.0.0.1:9/x.zarr", storage_options={"anon": True})
    with pytest.raises(TypeError):
        cuzarr.open("http://127.0.0.1:9/x.zarr", storage_options={"headers": {"a": 1}})


def test_unreachable_server_is_a_store_error():
    port = __import__("nginx_server").free_port()  # nothing listens there
    with pytest.raises(cuzarr.StoreError, match=f"127.0.0.1:{port}"):
        cuzarr.open(f"http://127.0.0.1:{port}/x.zarr", storage_options={"retries": 0})


def test_other_schemes_are_refused():
    with pytest.raises(cuzarr.UnsupportedError, match="s3://"):
        cuzarr.open("hdfs://namenode/x.zarr")
