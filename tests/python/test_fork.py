"""fork() with open arrays: what PyTorch's DataLoader workers, dask's multiprocessing scheduler and
ProcessPoolExecutor do on Linux. An array opened (and read) in the parent must keep reading right
in the parent and in every forked child, whether the fork came while other threads of the parent
were reading or after: the children must not share the parent's pooled connections, archive
handles, thread pool or locks (docs/reliability.md, "Fork").

Each case runs ROUNDS rounds; in each the parent forks CHILDREN children with os.fork and reads
while they read (each child from two threads); every value is checked. A round is bounded by
ROUND_SECONDS: a child that hangs is killed and fails its round, not the whole run.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import cuzarr
from http_fixtures import publish
from nginx_server import Nginx, find_nginx, self_signed_certificate
from s3_server import Credential, MotoServer, S3Gateway, moto_available
from stores import zip_store

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="fork is only the default on Linux"),
    pytest.mark.skipif(bool(os.environ.get("CUZARR_SANITIZED")),
                       reason="clang 14's ASan allocator is not fork-safe (pthread_atfork handlers came in LLVM 18): "
                              "a child forked while another thread allocates can deadlock inside ASan"),
    # Python 3.12+ warns on every fork of a process with threads: forking such a process is the test.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

ROUNDS = 20
CHILDREN = 4
ROUND_SECONDS = 30.0
FAILED_ROUNDS_TO_STOP = 3  # the case has failed by then; more rounds would only cost time
SHAPE, CHUNKS = (128, 64), (8, 64)  # 16 chunks: a whole read keeps several requests in flight
KEY, SECRET = "AKIACUZARRFORK000001", "cuzarr/Fork+Secret=0001abcdefghijklmnop"

needs_http = pytest.mark.skipif(not cuzarr._core.http_built(), reason="this build of cuzarr has no HTTP store (libcurl)")
needs_zip = pytest.mark.skipif(not cuzarr._core.zip_built(), reason="this build of cuzarr has no zip store (libzip)")


def expected() -> np.ndarray:
    # Every element distinct: a chunk read from another chunk's bytes cannot pass.
    return np.arange(SHAPE[0] * SHAPE[1], dtype="<i4").reshape(SHAPE)


def write_array(path: Path, chunks) -> Path:
    zarr = pytest.importorskip("zarr")
    # No compressor: a chunk read from the wrong bytes decodes without error, so only the value
    # check can catch it (as the review saw: wrong values, no exception).
    a = zarr.create_array(store=str(path), shape=SHAPE, chunks=chunks, dtype="<i4", zarr_format=3, compressors=None)
    a[...] = expected()
    return path


@pytest.fixture(scope="module")
def zarr_path(tmp_path_factory) -> Path:
    return write_array(tmp_path_factory.mktemp("fork") / "a.zarr", CHUNKS)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    """(base URL, the folder it serves)."""
    if not cuzarr._core.http_built():
        pytest.skip("this build of cuzarr has no HTTP store (libcurl)")
    if find_nginx() is None:
        pytest.skip("nginx is not installed (scripts/bootstrap installs it)")
    www = tmp_path_factory.mktemp("fork-www")
    with Nginx(www, tmp_path_factory.mktemp("fork-nginx")) as server:
        yield server.url, www


@pytest.fixture(scope="module")
def nginx_url(nginx, zarr_path) -> str:
    base, www = nginx
    return f"{base}/{publish(www, 'a.zarr', zarr_path)}"


@pytest.fixture(scope="module")
def https_url(zarr_path, tmp_path_factory):
    """(URL over TLS, the certificate to trust): TLS state (sessions in the curl share, the
    connections' encryption state) must not be shared with a child either."""
    if not cuzarr._core.http_built():
        pytest.skip("this build of cuzarr has no HTTP store (libcurl)")
    if find_nginx() is None or shutil.which("openssl") is None:
        pytest.skip("nginx and the openssl command are needed for a local https server")
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("fork-tls"))
    www = tmp_path_factory.mktemp("fork-www-tls")
    with Nginx(www, tmp_path_factory.mktemp("fork-nginx-tls"), tls=(cert, key)) as server:
        yield f"{server.url}/{publish(www, 'a.zarr', zarr_path)}", cert


@pytest.fixture(scope="module")
def s3_store(tmp_path_factory):
    if not cuzarr._core.http_built():
        pytest.skip("this build of cuzarr has no S3 store (libcurl)")
    if not moto_available():
        pytest.skip("moto[server] and boto3 are not installed (pip install -e .[dev])")
    # Through test_s3's gateway, which checks the signatures and, unlike moto's own server, keeps
    # connections alive: the pooled connections a child must not share. It answers from this
    # process, so 6 chunks instead of 16 keep the rounds short.
    path = write_array(tmp_path_factory.mktemp("fork-s3") / "a.zarr", (24, 64))
    with MotoServer() as moto:
        gateway = S3Gateway(moto).start()
        gateway.credentials[KEY] = Credential(SECRET)
        try:
            moto.client().create_bucket(Bucket="fork")
            assert moto.upload_tree(path, "fork", "a.zarr") > 0
            yield "s3://fork/a.zarr", {"key": KEY, "secret": SECRET, "endpoint_url": gateway.url}
        finally:
            gateway.stop()


def open_case(kind: str, request) -> cuzarr.Array:
    path = request.getfixturevalue("zarr_path")
    if kind == "file":
        return cuzarr.open(path)
    if kind.startswith("zip"):
        if not cuzarr._core.zip_built():
            pytest.skip("this build of cuzarr has no zip store (libzip)")
        layout = kind.split("-")[1]
        archive = zip_store(path, path.parent / f"a-{layout}.zip", layout)
        return cuzarr.open(archive)
    if kind == "references":
        # kerchunk references (version 1) to the store's own files: metadata inline, chunks by path.
        refs = {}
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            key = f.relative_to(path).as_posix()
            is_metadata = key.rsplit("/", 1)[-1] in (".zarray", ".zattrs", ".zgroup", "zarr.json")
            refs[key] = f.read_text() if is_metadata else [str(f)]
        doc = path.parent / "refs.json"
        doc.write_text(json.dumps({"version": 1, "refs": refs}))
        return cuzarr.open(doc)
    if kind == "http":
        return cuzarr.open(request.getfixturevalue("nginx_url"))
    if kind == "https":
        url, cert = request.getfixturevalue("https_url")
        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        return cuzarr.open(url)
    url, options = request.getfixturevalue("s3_store")
    return cuzarr.open(url, storage_options=options)


def check(got: np.ndarray, want: np.ndarray, what: str) -> str | None:
    if got.shape != want.shape:
        return f"{what}: shape {got.shape}, expected {want.shape}"
    wrong = np.count_nonzero(got != want)
    return f"{what}: {wrong} of {want.size} values wrong" if wrong else None


def read_and_check(a, want: np.ndarray, k: int, whole: bool = True) -> str | None:
    """A whole read, or a block of rows and a column (starting at other chunks for each k)."""
    try:
        if whole:
            return check(a[...], want, "whole read")
        start = (k * 3) % (SHAPE[0] - 40)
        return (check(a[start:start + 40], want[start:start + 40], f"rows {start}:{start + 40}")
                or check(a[:, k % 64], want[:, k % 64], f"column {k % 64}"))
    except Exception as e:  # noqa: BLE001 -- any error is a failed read
        return f"{type(e).__name__}: {e}"


def child_main(a, want: np.ndarray, out: int, k: int) -> int:
    """The forked child: two threads read and check. Returns the exit code (0: all right)."""
    problems: list[str] = []

    def work(j: int) -> None:
        problem = read_and_check(a, want, k, whole=j == 0)
        if problem:
            problems.append(problem)

    threads = [threading.Thread(target=work, args=(j,)) for j in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if problems:
        os.write(out, "; ".join(problems).encode()[:4000])
        return 1
    return 0


def fork_round(a, want: np.ndarray, r: int) -> list[str]:
    """One round: CHILDREN children forked, the parent reading while they read. Returns failures."""
    children = []
    for c in range(CHILDREN):
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 3
            try:
                os.close(rd)
                code = child_main(a, want, wr, r * CHILDREN + c)
            finally:
                os._exit(code)
        os.close(wr)
        children.append((pid, rd))
    failures = []
    problem = read_and_check(a, want, r)
    if problem:
        failures.append(f"round {r}, parent: {problem}")
    deadline = time.monotonic() + ROUND_SECONDS
    for c, (pid, rd) in enumerate(children):
        status = None
        while True:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.005)
        text = b""
        while chunk := os.read(rd, 4096):
            text += chunk
        os.close(rd)
        if status is None:
            failures.append(f"round {r}, child {c}: hung (killed after {ROUND_SECONDS:g} s)")
        elif not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            failures.append(f"round {r}, child {c}: exit status {status}: {text.decode(errors='replace')}")
    return failures


class BackgroundReaders:
    """Threads of the parent reading (and checking) in a loop, so that forks come mid-read."""

    def __init__(self, a, want: np.ndarray, threads: int = 2):
        self.a, self.want = a, want
        self.stop = threading.Event()
        self.reads = 0
        self.problems: list[str] = []
        self.threads = [threading.Thread(target=self._loop, args=(k,), daemon=True) for k in range(threads)]

    def _loop(self, k: int) -> None:
        while not self.stop.is_set():
            problem = read_and_check(self.a, self.want, k, whole=k % 2 == 0)
            if problem:
                self.problems.append(problem)
            self.reads += 1
            k += 2

    def __enter__(self):
        for t in self.threads:
            t.start()
        deadline = time.monotonic() + 30
        while self.reads == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


KINDS = [
    "file",
    "references",
    pytest.param("zip-stored", marks=needs_zip),
    pytest.param("zip-deflated", marks=needs_zip),
    pytest.param("http", marks=needs_http),
    pytest.param("https", marks=needs_http),
    pytest.param("s3", marks=needs_http),
]


@pytest.mark.parametrize("when", ["after-reads", "during-reads"])
@pytest.mark.parametrize("kind", KINDS)
def test_fork_with_open_array(kind, when, request):
    a = open_case(kind, request)
    want = expected()
    assert check(a[...], want, "first read in the parent") is None  # pools, connections, handles made
    failures: list[str] = []
    failed_rounds = 0
    readers = BackgroundReaders(a, want) if when == "during-reads" else None
    if readers:
        readers.__enter__()
    try:
        for r in range(ROUNDS):
            round_failures = fork_round(a, want, r)
            failures += round_failures
            failed_rounds += bool(round_failures)
            if failed_rounds >= FAILED_ROUNDS_TO_STOP:
                break
    finally:
        if readers:
            readers.__exit__()
    if readers:
        failures += [f"parent's reader thread: {p}" for p in readers.problems[:5]]
        assert readers.reads > 0
    assert not failures, f"{len(failures)} failures, the first: " + " | ".join(failures[:6])
    # The parent still reads right after all its children.
    assert check(a[...], want, "last read in the parent") is None


# --------------------------------------------------------------------------------------------
# The DataLoader pattern: a dataset object holding an open array, inherited by forked workers
# that index it (torch.utils.data's worker loop, emulated: torch is not a dependency).


class RowBlocks:
    """A map-style dataset: item i is rows [8 i, 8 i + 8) of the array."""

    def __init__(self, array):
        self.array = array

    def __len__(self) -> int:
        return SHAPE[0] // 8

    def __getitem__(self, i: int) -> np.ndarray:
        return self.array[8 * i:8 * i + 8]


def loader_worker(dataset: RowBlocks, indices, results) -> None:
    while (i := indices.get()) is not None:
        try:
            results.put((i, dataset[i], None))
        except Exception as e:  # noqa: BLE001 -- sent back to the main process, as DataLoader does
            results.put((i, None, f"{type(e).__name__}: {e}"))


@pytest.mark.parametrize("kind", [pytest.param("http", marks=needs_http), pytest.param("zip-deflated", marks=needs_zip)])
def test_dataloader_pattern(kind, request):
    dataset = RowBlocks(open_case(kind, request))
    want = expected()
    assert check(dataset.array[...], want, "parent") is None  # the parent has read before the workers start
    ctx = multiprocessing.get_context("fork")
    indices, results = ctx.Queue(), ctx.Queue()
    workers = [ctx.Process(target=loader_worker, args=(dataset, indices, results), daemon=True) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        epochs = 3
        for _ in range(epochs):
            for i in range(len(dataset)):
                indices.put(i)
        got = {}
        for _ in range(epochs * len(dataset)):
            try:
                i, block, error = results.get(timeout=60)
            except queue.Empty:
                pytest.fail("a forked loader worker did not answer within 60 s")
            assert error is None, f"item {i}: {error}"
            assert check(block, want[8 * i:8 * i + 8], f"item {i}") is None
            got[i] = True
        assert len(got) == len(dataset)
        for _ in workers:
            indices.put(None)
    finally:
        for w in workers:
            w.join(timeout=10)
            if w.is_alive():
                w.kill()
                w.join()


# --------------------------------------------------------------------------------------------
# dask's multiprocessing scheduler (its default start method is spawn; fork is what the issue is
# about, and what ``multiprocessing.context: fork`` asks for) on a dataset opened with xarray.


@pytest.mark.parametrize("kind", ["file", pytest.param("http", marks=needs_http)])
def test_dask_processes_scheduler_with_fork(kind, request, tmp_path_factory):
    xr = pytest.importorskip("xarray")
    dask = pytest.importorskip("dask")
    path = tmp_path_factory.mktemp("fork-ds") / "ds.zarr"
    data = expected().astype("<f8")
    xr.Dataset({"v": (("y", "x"), data)}, coords={"y": np.arange(SHAPE[0])}).to_zarr(
        path, zarr_format=3, consolidated=True, encoding={"v": {"chunks": CHUNKS}})
    where = str(path)
    if kind == "http":
        base, www = request.getfixturevalue("nginx")
        where = f"{base}/{publish(www, 'ds.zarr', path)}"
    ds = xr.open_dataset(where, engine="cuzarr", device="cpu", chunks={"y": 32})
    # A first compute in the parent's threads: its pools and connections exist before the fork.
    np.testing.assert_array_equal(ds["v"].compute().values, data)
    with dask.config.set({"scheduler": "processes", "multiprocessing.context": "fork", "num_workers": 2}):
        for _ in range(3):  # compute() leaves ds lazy: each round reads again in new children
            np.testing.assert_array_equal(ds.compute()["v"].values, data)
            np.testing.assert_array_equal(ds["v"].mean(dim="x").compute().values, data.mean(axis=1))
        np.testing.assert_array_equal(ds.load()["v"].values, data)


# --------------------------------------------------------------------------------------------
# CUDA: a child forked after the parent used the GPU gets a clear error for GPU reads, and its
# host reads work. Needs a CUDA build, a GPU and CuPy (the lead's GPU runs).


def test_gpu_read_in_a_child_forked_after_cuda_is_a_clear_error(zarr_path):
    if not cuzarr._core.cuda_built() or cuzarr._core.cuda_device_count() == 0:
        pytest.skip("needs a CUDA build of cuzarr and a GPU")
    pytest.importorskip("cupy")
    gpu = cuzarr.open(zarr_path, device=0)
    want = expected()
    np.testing.assert_array_equal(gpu[...].get(), want)  # the parent has initialised CUDA
    host = cuzarr.open(zarr_path, device="cpu")
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.close(rd)
            code = 1
            if check(host[...], want, "host read in the child") is None:
                try:
                    gpu[...]
                    code = 2
                except cuzarr.CudaError as e:
                    os.write(wr, str(e).encode()[:4000])
                    code = 0
        finally:
            os._exit(code)
    os.close(wr)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)
    message = b""
    while chunk := os.read(rd, 4096):
        message += chunk
    os.close(rd)
    status = done[1]
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (
        f"status {status}: 1 = the host read failed, 2 = the GPU read did not raise CudaError")
    assert "forked after CUDA was initialised" in message.decode() and "spawn" in message.decode()
    np.testing.assert_array_equal(gpu[...].get(), want)  # the parent's GPU reads go on
