"""Reading over S3: the conformance stores uploaded to a local S3 (moto's server behind a gateway
that checks every signature, see s3_server.py) read exactly as the local stores, through
cuzarr.open, xarray and the CLI; credentials from storage_options, the environment and profile
files; anonymous reads of a public bucket; groups without consolidated metadata list and open;
one inner chunk of a shard is exactly two range requests; S3 errors and faults are clear."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import cuzarr
import stores
from s3_server import Credential, MotoServer, S3Gateway, moto_available
from stores import assert_remote_array_equals_local, assert_remote_group_equals_local, assert_same_array

pytestmark = [
    pytest.mark.skipif(not cuzarr._core.http_built(), reason="this build of cuzarr has no S3 store (libcurl)"),
    pytest.mark.skipif(not moto_available(), reason="moto[server] and boto3 are not installed (pip install -e .[dev])"),
]

ARRAYS = stores.array_case_names()
KEY, SECRET = "AKIACUZARRTEST000001", "cuzarr/Test+Secret=0001abcdefghijklmnopq"
TEMP_KEY, TEMP_SECRET, TOKEN = "ASIACUZARRTEMP000001", "temporary/secret+0002", "FwoGZXIvYXdzEJr//////////token"
EXPIRED_KEY = "ASIACUZARREXPIRED001"


class LocalS3:
    """Buckets 'private' (signed requests only) and 'public' (anonymous reads allowed)."""

    def __init__(self, moto: MotoServer, gateway: S3Gateway):
        self.moto = moto
        self.gateway = gateway
        self._uploaded: set[tuple[str, str]] = set()

    def upload(self, path: Path, name: str, bucket: str = "private") -> str:
        """Uploads the store at ``path`` once as ``s3://bucket/name``; returns that URL."""
        if (bucket, name) not in self._uploaded:
            assert self.moto.upload_tree(path, bucket, name, public=bucket == "public") > 0
            self._uploaded.add((bucket, name))
        return f"s3://{bucket}/{name}"

    def options(self, **extra) -> dict:
        return {"key": KEY, "secret": SECRET, "endpoint_url": self.gateway.url, **extra}

    def env(self, **extra) -> dict:
        """An environment without any AWS setting of this machine, plus ``extra``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["HOME"] = "/nonexistent-cuzarr-home"
        # Not this machine's instance role, if it runs on EC2 (and no 1 s probe where it does not).
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env.update(extra)
        return env


@pytest.fixture(scope="session")
def s3():
    with MotoServer() as moto:
        gateway = S3Gateway(moto).start()
        gateway.credentials[KEY] = Credential(SECRET)
        gateway.credentials[TEMP_KEY] = Credential(TEMP_SECRET, token=TOKEN)
        gateway.credentials[EXPIRED_KEY] = Credential("expired-secret", token="old-token", expired=True)
        gateway.public_buckets.add("public")
        client = moto.client()
        client.create_bucket(Bucket="private")
        client.create_bucket(Bucket="public")
        client.put_bucket_policy(Bucket="public", Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
                           "Resource": ["arn:aws:s3:::public", "arn:aws:s3:::public/*"]}],
        }))
        try:
            yield LocalS3(moto, gateway)
        finally:
            gateway.stop()


@pytest.fixture()
def gateway(s3):
    """The gateway, back in its normal mode after the test."""
    yield s3.gateway
    s3.gateway.set_mode("ok")
    s3.gateway.page_size = 0


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    """Settings from the environment are tried in a child, whose environment holds only them."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=120)


# --------------------------------------------------------------------------------------------
# Conformance


@pytest.mark.parametrize("name", ARRAYS)
def test_array_over_s3_equals_local(name, store_factory, s3):
    path = store_factory.path(name)
    local = cuzarr.open(path)
    remote = cuzarr.open(s3.upload(path, name), storage_options=s3.options())
    assert_remote_array_equals_local(remote, local)


@pytest.mark.parametrize("name", list(stores.GROUP_CASES))
def test_group_over_s3_lists_and_opens(name, store_factory, s3):
    """Consolidated or not: S3 lists, so groups without consolidated metadata open too."""
    path = store_factory.path(name)
    local = cuzarr.open(path)
    remote = cuzarr.open(s3.upload(path, name), storage_options=s3.options())
    assert_remote_group_equals_local(remote, local, name)


def test_listing_follows_continuation_tokens(store_factory, s3, gateway):
    name = "zarr_v3_group"
    path = store_factory.path(name)
    url = s3.upload(path, name)
    gateway.page_size = 1
    mark = gateway.mark()
    remote = cuzarr.open(url, storage_options=s3.options())
    local = cuzarr.open(path)
    assert sorted(n for n, _ in remote.arrays()) == sorted(n for n, _ in local.arrays())
    assert sorted(n for n, _ in remote.groups()) == sorted(n for n, _ in local.groups())
    lists = [r for r in gateway.requests(mark) if "list-type=2" in r.query]
    assert any("continuation-token=" in r.query for r in lists), lists


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("consolidated", [True, False])
def test_xarray_open_dataset_over_s3(fmt, consolidated, s3, tmp_path_factory):
    xr = pytest.importorskip("xarray")
    import test_backend as tb

    path = tmp_path_factory.mktemp(f"air_s3_v{fmt}") / "air.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tb.demo_dataset().to_zarr(path, mode="w", zarr_format=fmt, consolidated=consolidated,
                                  encoding=tb._encoding(fmt, "sharded" if fmt == 3 else "zstd"))
    url = s3.upload(path, f"xarray/v{fmt}-{consolidated}/air.zarr")
    local = xr.open_dataset(path, engine="cuzarr", device="cpu")
    # As fsspec users write it: s3fs's client_kwargs for the endpoint and region.
    options = {"key": KEY, "secret": SECRET, "client_kwargs": {"endpoint_url": s3.gateway.url, "region_name": "us-east-1"}}
    remote = xr.open_dataset(url, engine="cuzarr", device="cpu", storage_options=options)
    xr.testing.assert_identical(remote.load(), local.load())


# --------------------------------------------------------------------------------------------
# Shards


@pytest.mark.parametrize("name", ["shard_end", "shard_start", "shard_partial"])
def test_sharded_over_s3(name, sharded_stores, s3):
    path, want = sharded_stores[name]
    a = cuzarr.open(s3.upload(path, name), storage_options=s3.options())
    assert_same_array(a[...], want)
    assert_same_array(a[3:30, 5:41:3], want[3:30, 5:41:3])


@pytest.mark.parametrize("name", ["shard_end", "shard_start"])
def test_one_inner_chunk_is_exactly_two_range_requests(name, sharded_stores, s3, gateway):
    path, want = sharded_stores[name]
    a = cuzarr.open(s3.upload(path, name), storage_options=s3.options())
    mark = gateway.mark()
    got = a[40:48, 32:40]  # inner chunk (5, 4) of shard (1, 1)
    requests = gateway.requests(mark)
    assert_same_array(got, want[40:48, 32:40])
    assert len(requests) == 2, requests  # the shard index, then the inner chunk
    assert all(r.method == "GET" and r.range and r.status == 206 for r in requests), requests
    assert all(r.key == f"{name}/c/1/1" for r in requests), requests


def test_missing_chunks_and_shards_are_fill(sharded_stores, s3, gateway):
    path, want = sharded_stores["shard_partial"]
    a = cuzarr.open(s3.upload(path, "shard_partial"), storage_options=s3.options())
    mark = gateway.mark()
    assert_same_array(a[40:48, 32:40], want[40:48, 32:40])
    assert [(r.status, r.key) for r in gateway.requests(mark)] == [(404, "shard_partial/c/1/1")]


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["shard_end", "zarr_v3_float64"])
def test_gpu_read_over_s3(name, sharded_stores, store_factory, s3):
    if cuzarr._core.cuda_device_count() == 0:
        pytest.skip("no GPU (or a build without CUDA)")
    cupy = pytest.importorskip("cupy")
    path = sharded_stores[name][0] if name in sharded_stores else store_factory.path(name)
    want = cuzarr.open(path)[...]
    got = cuzarr.open(s3.upload(path, name), device="cuda", storage_options=s3.options())[...]
    assert isinstance(got, cupy.ndarray)
    assert_same_array(cupy.asnumpy(got), want)


# --------------------------------------------------------------------------------------------
# Credentials and addressing


def test_session_token_is_sent_and_signed(store_factory, s3, gateway):
    name = "zarr_v2_order_F"
    path = store_factory.path(name)
    url = s3.upload(path, name)
    a = cuzarr.open(url, storage_options={"key": TEMP_KEY, "secret": TEMP_SECRET, "token": TOKEN,
                                          "endpoint_url": gateway.url})
    assert_same_array(a[...], cuzarr.open(path)[...])
    with pytest.raises(cuzarr.StoreError, match="InvalidToken") as e:
        cuzarr.open(url, storage_options={"key": TEMP_KEY, "secret": TEMP_SECRET, "endpoint_url": gateway.url})
    assert TEMP_SECRET not in str(e.value)


def test_credentials_from_environment(store_factory, s3):
    name = "zarr_v3_group"
    url = s3.upload(store_factory.path(name), name)
    code = f"""
        import cuzarr, hashlib
        g = cuzarr.open({url!r})
        print(sorted(n for n, _ in g.arrays()), hashlib.sha256(g["temp"][...].tobytes()).hexdigest())
    """
    want = cuzarr.open(store_factory.path(name))
    expect = f"{sorted(n for n, _ in want.arrays())} {hashlib.sha256(want['temp'][...].tobytes()).hexdigest()}"
    env = s3.env(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_ENDPOINT_URL=s3.gateway.url,
                 AWS_DEFAULT_REGION="us-east-1")
    out = run_python(code, env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expect
    # A session token from AWS_SESSION_TOKEN.
    env = s3.env(AWS_ACCESS_KEY_ID=TEMP_KEY, AWS_SECRET_ACCESS_KEY=TEMP_SECRET, AWS_SESSION_TOKEN=TOKEN,
                 AWS_ENDPOINT_URL_S3=s3.gateway.url)
    out = run_python(code, env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expect


def test_credentials_from_profile_files(store_factory, s3, tmp_path):
    name = "zarr_v2_group"
    url = s3.upload(store_factory.path(name), name)
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[default]\naws_access_key_id = AKIAWRONGDEFAULT0001\naws_secret_access_key = nope\n\n"
                           f"[cuzarr-test]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
    config = tmp_path / "config"
    config.write_text(f"[profile cuzarr-test]\nregion = us-east-1\nendpoint_url = {s3.gateway.url}\n"
                      f"[default]\nendpoint_url = {s3.gateway.url}\n")
    code = f"""
        import cuzarr, os
        options = {{"profile": "cuzarr-test"}} if os.environ.get("VIA_OPTION") else {{}}
        g = cuzarr.open({url!r}, storage_options=options)
        print(sorted(n for n, _ in g.groups()), g["sub/c"][...].sum())
    """
    want = cuzarr.open(store_factory.path(name))
    expect = f"{sorted(n for n, _ in want.groups())} {want['sub/c'][...].sum()}"
    files = {"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_CONFIG_FILE": str(config)}
    for extra in ({"AWS_PROFILE": "cuzarr-test"}, {"VIA_OPTION": "1"}):
        out = run_python(code, s3.env(**files, **extra))
        assert out.returncode == 0, (extra, out.stderr)
        assert out.stdout.strip() == expect
    # The default profile's wrong key: a clear error that names the bucket and never the secret.
    out = run_python(code, s3.env(**files))
    assert out.returncode != 0
    assert "InvalidAccessKeyId" in out.stderr and "bucket 'private'" in out.stderr
    assert "profile 'default'" in out.stderr and SECRET not in out.stderr


def test_anonymous_public_bucket(store_factory, s3):
    name = "zarr_v3_group"
    path = store_factory.path(name)
    url = s3.upload(path, name, bucket="public")
    remote = cuzarr.open(url, storage_options={"anon": True, "endpoint_url": s3.gateway.url})
    assert_same_array(remote["temp"][...], cuzarr.open(path)["temp"][...])
    assert sorted(remote.keys()) == sorted(cuzarr.open(path).keys())
    # No credentials anywhere: requests go unsigned, which the public bucket allows and the
    # private one refuses with a message saying why.
    private = s3.upload(path, name)
    code = f"""
        import cuzarr
        print(sorted(cuzarr.open({url!r}).keys()))
        cuzarr.open({private!r})
    """
    out = run_python(code, s3.env(AWS_ENDPOINT_URL=s3.gateway.url))
    assert out.stdout.strip() == str(sorted(cuzarr.open(path).keys()))
    assert out.returncode != 0 and "AccessDenied" in out.stderr and "no credentials were found" in out.stderr


def test_anon_on_a_private_bucket_is_access_denied(store_factory, s3):
    name = "zarr_v3_float64"
    url = s3.upload(store_factory.path(name), name)
    with pytest.raises(cuzarr.StoreError) as e:
        cuzarr.open(url, storage_options={"anon": True, "endpoint_url": s3.gateway.url})
    msg = str(e.value)
    assert "AccessDenied" in msg and "bucket 'private'" in msg and f"key '{name}/" in msg and "anon" in msg


@pytest.mark.parametrize("key,secret,code", [
    ("AKIANOSUCHKEY0000001", SECRET, "InvalidAccessKeyId"),
    (KEY, "a-wrong-secret-value", "SignatureDoesNotMatch"),
])
def test_wrong_credentials_are_a_clear_error(key, secret, code, store_factory, s3):
    name = "zarr_v3_float64"
    url = s3.upload(store_factory.path(name), name)
    with pytest.raises(cuzarr.StoreError) as e:
        cuzarr.open(url, storage_options={"key": key, "secret": secret, "endpoint_url": s3.gateway.url})
    msg = str(e.value)
    assert code in msg and "bucket 'private'" in msg and f"key '{name}/" in msg, msg
    assert secret not in msg and SECRET not in msg


def test_expired_token_is_not_retried(store_factory, s3, gateway):
    name = "zarr_v3_float64"
    url = s3.upload(store_factory.path(name), name)
    mark = gateway.mark()
    with pytest.raises(cuzarr.StoreError, match="ExpiredToken.*has expired") as e:
        cuzarr.open(url, storage_options={"key": EXPIRED_KEY, "secret": "expired-secret", "token": "old-token",
                                          "endpoint_url": gateway.url, "retries": 3})
    assert "expired-secret" not in str(e.value) and "old-token" not in str(e.value)
    assert len(gateway.requests(mark)) == 1


def test_virtual_host_addressing(store_factory, s3, gateway):
    name = "zarr_v2_group_consolidated"
    path = store_factory.path(name)
    url = s3.upload(path, name)
    mark = gateway.mark()
    remote = cuzarr.open(url, storage_options={"key": KEY, "secret": SECRET, "endpoint_url": gateway.virtual_host_url,
                                               "config_kwargs": {"s3": {"addressing_style": "virtual"}}})
    assert_same_array(remote["sub/c"][...], cuzarr.open(path)["sub/c"][...])
    requests = gateway.requests(mark)
    assert requests and all(r.virtual_host and r.bucket == "private" for r in requests), requests


def test_missing_bucket_and_missing_store(s3):
    with pytest.raises(cuzarr.StoreError, match="NoSuchBucket.*bucket 'no-such-bucket'.*does not exist"):
        cuzarr.open("s3://no-such-bucket/data.zarr", storage_options=s3.options())
    with pytest.raises(cuzarr.KeyNotFoundError):
        cuzarr.open("s3://private/no-such-store.zarr", storage_options=s3.options())


def test_secrets_stay_out_of_repr_and_errors(store_factory, s3):
    name = "zarr_v3_group"
    g = cuzarr.open(s3.upload(store_factory.path(name), name), storage_options=s3.options())
    assert SECRET not in repr(g) and SECRET not in repr(g["temp"])
    with pytest.raises(cuzarr.StoreError) as e:
        cuzarr.open("s3://private/x", storage_options={"secret": SECRET})
    assert SECRET not in str(e.value) and "'secret' needs 'key'" in str(e.value)


def test_bad_s3_storage_options(s3):
    with pytest.raises(TypeError):
        cuzarr.open("s3://private/x", storage_options={"anon": "yes"})
    with pytest.raises(ValueError, match="client_kwargs"):
        cuzarr.open("s3://private/x", storage_options={"client_kwargs": {"verify": False}})
    with pytest.raises(cuzarr.StoreError, match="addressing style|addressing_style"):
        cuzarr.open("s3://private/x", storage_options={"addressing_style": "sideways", "anon": True})
    with pytest.raises(cuzarr.StoreError, match="not a bucket name"):
        cuzarr.open("s3://bad*bucket/x", storage_options={"anon": True})


def test_pickled_array_reopens_over_s3(store_factory, s3):
    import pickle

    name = "zarr_v3_float64"
    a = cuzarr.open(s3.upload(store_factory.path(name), name), storage_options=s3.options())
    b = pickle.loads(pickle.dumps(a))
    assert_same_array(b[...], a[...])


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_over_s3(cuzarr_cli, store_factory, s3, tmp_path):
    name = "zarr_v3_group"
    path = store_factory.path(name)
    url = s3.upload(path, name)
    opts = ["-S", f"endpoint_url={s3.gateway.url}", "--storage-option", f"key={KEY}", "-S", f"secret={SECRET}"]
    env = s3.env()
    info = subprocess.run([cuzarr_cli, "info", "--json", url, *opts], capture_output=True, text=True, env=env)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["children"].keys() >= {"temp", "sub"}
    out = tmp_path / "temp.npy"
    read = subprocess.run([cuzarr_cli, "read", *opts, f"{url}/temp", "--select", "1:5", "-o", str(out)],
                          capture_output=True, text=True, env=env)
    assert read.returncode == 0, read.stderr
    assert_same_array(np.load(out), cuzarr.open(path)["temp"][1:5])
    # Credentials from the environment; `verify` lists the unconsolidated group itself.
    env = s3.env(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_ENDPOINT_URL=s3.gateway.url)
    verify = subprocess.run([cuzarr_cli, "verify", url], capture_output=True, text=True, env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    bad = subprocess.run([cuzarr_cli, "info", url, "-S", f"endpoint_url={s3.gateway.url}", "-S", f"key={KEY}",
                          "-S", "secret=not-the-secret"], capture_output=True, text=True, env=s3.env())
    assert bad.returncode == 2 and "SignatureDoesNotMatch" in bad.stderr and "not-the-secret" not in bad.stderr
    unknown = subprocess.run([cuzarr_cli, "info", url, "-S", "colour=blue"], capture_output=True, text=True, env=env)
    assert unknown.returncode == 2 and "unknown S3 storage option 'colour'" in unknown.stderr


# --------------------------------------------------------------------------------------------
# Faults


def test_slowdown_is_retried(store_factory, s3, gateway):
    name = "zarr_v3_float64"
    path = store_factory.path(name)
    a = cuzarr.open(s3.upload(path, name), storage_options=s3.options(retries=2))
    gateway.set_mode("slowdown-once")
    mark = gateway.mark()
    assert_same_array(a[...], cuzarr.open(path)[...])
    gets = [r for r in gateway.requests(mark) if "/c/" in r.key]
    assert [r.status for r in gets].count(503) == len({r.key for r in gets})
    assert len(gets) == 2 * len({r.key for r in gets})


def test_internal_error_is_retried(store_factory, s3, gateway):
    name = "zarr_v2_order_F"
    path = store_factory.path(name)
    a = cuzarr.open(s3.upload(path, name), storage_options=s3.options(retries=1))
    gateway.set_mode("internal-once")
    assert_same_array(a[...], cuzarr.open(path)[...])


def test_persistent_slowdown_names_the_key(store_factory, s3, gateway):
    name = "zarr_v3_float64"
    a = cuzarr.open(s3.upload(store_factory.path(name), name), storage_options=s3.options(retries=1))
    gateway.set_mode("slowdown")
    with pytest.raises(cuzarr.StoreError) as e:
        a[...]
    msg = str(e.value)
    assert f"s3://private/{name}/c/" in msg and "503 SlowDown" in msg and "2 attempts" in msg


@pytest.mark.parametrize("mode,expect", [
    ("truncate", "truncate|partial file|bytes asked"),  # the promised length, half the body
    ("short-length", "does not match Content-Range|bytes asked"),  # a length short of the range
])
def test_broken_bodies_are_errors(mode, expect, store_factory, s3, gateway):
    name = "zarr_v3_float64"
    a = cuzarr.open(s3.upload(store_factory.path(name), name), storage_options=s3.options(retries=1))
    gateway.set_mode(mode)
    with pytest.raises(cuzarr.StoreError, match=expect):
        a[...]


# --------------------------------------------------------------------------------------------
# kerchunk references (docs/references.md) to NetCDF4 files on S3


def test_kerchunk_references_to_s3_targets(s3, tmp_path):
    netCDF4 = pytest.importorskip("netCDF4")
    kerchunk_hdf = pytest.importorskip("kerchunk.hdf")
    xr = pytest.importorskip("xarray")
    folder = tmp_path / "nc"
    folder.mkdir()
    with netCDF4.Dataset(folder / "data.nc", "w") as ds:
        ds.createDimension("t", 8)
        ds.createDimension("x", 30)
        ds.createVariable("v", "f4", ("t", "x"), zlib=True, complevel=5, shuffle=True,
                          chunksizes=(2, 10))[:] = np.arange(240, dtype="f4").reshape(8, 30) / 7
    s3.upload(folder, "refs-nc")

    def references(url):
        with warnings.catch_warnings(), open(folder / "data.nc", "rb") as f:
            warnings.simplefilter("ignore")
            return kerchunk_hdf.SingleHdf5ToZarr(f, url, inline_threshold=0).translate()

    want = xr.open_dataset(folder / "data.nc", engine="h5netcdf")
    # s3:// targets, with the targets' options as fsspec's remote_options.
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(references("s3://private/refs-nc/data.nc")))
    with xr.open_dataset(path, engine="cuzarr", device="cpu", storage_options={"remote_options": s3.options()}) as ds:
        np.testing.assert_array_equal(ds.v.values, want.v.values)
    # Targets without a scheme and remote_protocol="s3".
    path.write_text(json.dumps(references("private/refs-nc/data.nc")))
    got = cuzarr.open(path, storage_options={"remote_protocol": "s3", "remote_options": s3.options()})["v"][...]
    np.testing.assert_array_equal(got, want.v.values)
    # The references file itself on S3, its targets relative to it.
    (folder / "refs.json").write_text(json.dumps(references("data.nc")))
    s3.upload(folder, "refs-nc2")
    got = cuzarr.open("s3://private/refs-nc2/refs.json", storage_options=s3.options())["v"][...]
    np.testing.assert_array_equal(got, want.v.values)
    # Without credentials the private bucket refuses: an error naming the reference, never zeros.
    with pytest.raises(cuzarr.StoreError, match=r"reference 'v/\d\.\d'"):
        cuzarr.open(path, storage_options={"remote_protocol": "s3",
                                           "remote_options": {"endpoint_url": s3.gateway.url, "anon": True}})["v"][...]
