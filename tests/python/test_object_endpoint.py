"""Reads over the object-store test endpoint (tests/endpoint/object_endpoint.cpp): S3, GCS's XML
API and Azure Blob URLs served from one directory with a first-byte latency, as the network
benchmark (bench/object_store.py) uses it. What is pinned down here: the three clouds' stores read
the same bytes as the directory; a shard's inner chunk and a map of a sharded array cost the
requests issue 31 allows; and the request window (cpp/src/store/request_window.hpp) widens for a
server that keeps up, backs off from one that throttles, and does not flood a small HTTP/1.0
server. Signatures are the other cloud tests' business (test_s3, test_gcs, test_azure): the
endpoint checks none.
"""

from __future__ import annotations

import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

import cuzarr
import stores
from object_endpoint import ObjectEndpoint
from stores import assert_remote_array_equals_local, assert_remote_group_equals_local, assert_same_array

pytestmark = pytest.mark.skipif(not cuzarr._core.http_built(), reason="built without the HTTP stores")

BUCKET = "data"
KINDS = ["s3", "gs", "az"]
# A spread of the conformance arrays (every writer, format, byte order and layout appears) and
# the groups, consolidated or listed.
ARRAYS = stores.array_case_names()[::5]
GROUPS = list(stores.GROUP_CASES)


def options(kind: str, ep: ObjectEndpoint, **extra) -> dict:
    if kind == "s3":
        base = {"anon": True, "endpoint_url": ep.url, "region": "us-east-1"}
    elif kind == "gs":
        base = {"token": "anon", "endpoint_url": ep.url}
    else:
        base = {"anon": True, "account_name": "devstoreaccount1", "endpoint_url": ep.azure_endpoint}
    return base | extra


def url(kind: str, name: str) -> str:
    return f"{kind}://{BUCKET}/{name}"


@pytest.fixture(scope="module")
def served(tmp_path_factory, store_factory, sharded_stores):
    """The endpoint (10 ms, unpaced) over a folder whose bucket holds the conformance stores and
    the sharded ones."""
    root = tmp_path_factory.mktemp("endpoint")
    bucket = root / BUCKET
    bucket.mkdir()
    for name in ARRAYS + GROUPS:
        (bucket / f"{name}.zarr").symlink_to(store_factory.path(name))
    for name, (path, _) in sharded_stores.items():
        (bucket / f"{name}.zarr").symlink_to(path)
    with ObjectEndpoint(root, latency_ms=10, rate_mb=0) as ep:
        yield ep


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ARRAYS)
def test_arrays_read_over_each_cloud_equal_the_directory(kind, name, served, store_factory):
    remote = cuzarr.open(url(kind, f"{name}.zarr"), storage_options=options(kind, served))
    assert_remote_array_equals_local(remote, cuzarr.open(store_factory.path(name)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", GROUPS)
def test_groups_list_and_read_over_each_cloud(kind, name, served, store_factory):
    remote = cuzarr.open(url(kind, f"{name}.zarr"), storage_options=options(kind, served))
    assert_remote_group_equals_local(remote, cuzarr.open(store_factory.path(name)), name)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["shard_end", "shard_start", "shard_partial"])
def test_sharded_arrays_over_each_cloud(kind, name, served, sharded_stores):
    _, want = sharded_stores[name]
    a = cuzarr.open(url(kind, f"{name}.zarr"), storage_options=options(kind, served))
    assert_same_array(a[...], want)
    assert_same_array(a[3:30, 5:41:3], want[3:30, 5:41:3])


def requests_for(ep: ObjectEndpoint, read) -> tuple[object, dict]:
    before = ep.stats()
    got = read()
    after = ep.stats()
    return got, {k: after[k] - before[k] for k in ("requests", "gets", "heads", "lists")}


@pytest.mark.parametrize("kind", ["s3", "gs"])
@pytest.mark.parametrize("name", ["shard_end", "shard_start"])
def test_one_inner_chunk_costs_two_requests(kind, name, served, sharded_stores):
    _, want = sharded_stores[name]
    a = cuzarr.open(url(kind, f"{name}.zarr"), storage_options=options(kind, served))
    got, n = requests_for(served, lambda: a[40:48, 32:40])  # inner chunk (5, 4) of shard (1, 1)
    assert_same_array(got, want[40:48, 32:40])
    assert n == {"requests": 2, "gets": 2, "heads": 0, "lists": 0}, n


def test_one_inner_chunk_over_azure_costs_a_size_and_two_ranges(served, sharded_stores):
    """Azure ignores suffix ranges, so an index at the end needs the blob's size first (HEAD): the
    known cost that docs/stores.md states."""
    _, want = sharded_stores["shard_end"]
    a = cuzarr.open(url("az", "shard_end.zarr"), storage_options=options("az", served))
    got, n = requests_for(served, lambda: a[40:48, 32:40])
    assert_same_array(got, want[40:48, 32:40])
    assert n == {"requests": 3, "gets": 2, "heads": 1, "lists": 0}, n


@pytest.mark.parametrize("kind", ["s3", "gs"])
def test_a_row_of_shards_costs_one_index_per_shard_and_one_run_each(kind, served, sharded_stores):
    """A band through every shard of one row of shards (shards of 32 x 24, two shards touched by
    rows 8..16 of columns 0..48): per shard its index and one run of the inner chunks it needs."""
    _, want = sharded_stores["shard_end"]
    a = cuzarr.open(url(kind, "shard_end.zarr"), storage_options=options(kind, served))
    got, n = requests_for(served, lambda: a[8:16, :])
    assert_same_array(got, want[8:16, :])
    assert n["requests"] <= 2 * 2, n
    assert n["gets"] == n["requests"], n


# --- the request window -----------------------------------------------------------------------

def many_chunks_store(folder: Path, chunks: int = 192) -> tuple[Path, np.ndarray]:
    import zarr

    data = np.arange(chunks * 256, dtype="f4").reshape(chunks, 256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = zarr.create_array(str(folder), shape=data.shape, chunks=(1, 256), dtype="f4", compressors=None)
        a[...] = data
    return folder, data


def test_the_window_widens_past_its_first_width_for_a_server_that_keeps_up(tmp_path):
    path, data = many_chunks_store(tmp_path / BUCKET / "many.zarr")
    with ObjectEndpoint(tmp_path, latency_ms=20, rate_mb=0) as ep:
        a = cuzarr.open(url("s3", "many.zarr"), storage_options=options("s3", ep))
        assert_same_array(a[...], data)
        most = ep.stats()["max_open_connections"]
    # It starts at 16 requests in flight and opens toward the concurrency setting (64).
    assert 16 < most <= 64 + 1, most


def test_a_throttling_server_gets_fewer_requests_and_the_read_is_right(tmp_path):
    path, data = many_chunks_store(tmp_path / BUCKET / "many.zarr")
    with ObjectEndpoint(tmp_path, latency_ms=5, rate_mb=0, max_rps=40) as ep:
        a = cuzarr.open(url("s3", "many.zarr"), storage_options=options("s3", ep))
        assert_same_array(a[...], data)
        stats = ep.stats()
    assert stats["slowdowns"] > 0, stats  # the endpoint did throttle; every chunk still came


class _Http10Handler(BaseHTTPRequestHandler):
    """python -m http.server's manner (HTTP/1.0: one answer per connection), counting the requests
    served at once."""

    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        # Counted until the answer starts: the client cannot have started another request in this
        # one's place before it has the whole answer.
        with srv.lock:
            srv.now += 1
            srv.most = max(srv.most, srv.now)
        time.sleep(0.01)  # long enough for requests to overlap
        with srv.lock:
            srv.now -= 1
        path = srv.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Http10Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the test counts overlap; it does not want dropped SYNs

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _Http10Handler)
        self.root, self.lock, self.now, self.most = root, threading.Lock(), 0, 0
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.mark.parametrize("given", [None, 16])
def test_a_server_answering_over_http10_gets_at_most_four_requests_at_once(tmp_path, given):
    """`python -m http.server` queues 5 connections and closes each after one answer: more than a
    few at once overflow its listen queue (each dropped connection costs a 1 s retry). A concurrency
    the user sets is kept."""
    path, data = many_chunks_store(tmp_path / "many.zarr", chunks=96)
    server = _Http10Server(tmp_path)
    try:
        opts = {} if given is None else {"concurrency": given}
        a = cuzarr.open(f"http://127.0.0.1:{server.server_address[1]}/many.zarr", storage_options=opts)
        assert_same_array(a[...], data)
    finally:
        server.shutdown()
        server.server_close()
    if given is None:
        assert 1 <= server.most <= 4, server.most
    else:
        assert 4 < server.most <= given, server.most
