"""The pipelines the harness times: cuzarr, its peers and the machine's limits.

A pipeline is set up once per workload (`setup`, untimed: opening arrays, allocating pinned
buffers) and returns a `run` callable that does the timed work and returns its result; the
harness checks the first result against the expected array before any time counts. Pipelines
whose library is missing, or that cannot do a workload, say why instead of running.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .datasets import ARRAY, DIMS, chunk_files


class Unavailable(Exception):
    """The pipeline cannot run here or cannot do this workload; the message says why."""


@dataclass(frozen=True)
class Workload:
    name: str
    dataset: str
    selection: tuple = ()  # step-1 slices / integers over (time, lat, lon); () = everything
    kind: str = "array"  # array | air-load | air-point | multi-load
    description: str = ""

    @property
    def partial(self) -> bool:
        return self.selection != ()

    def isel(self) -> dict:
        return {dim: s for dim, s in zip(DIMS, self.selection)}


@dataclass(frozen=True)
class Pipeline:
    name: str
    role: str  # cuzarr | peer | limit
    device: str  # cuda | cpu
    setup: Callable  # (workload, store path) -> run callable
    kinds: tuple = ("array",)
    full_only: bool = False
    description: str = ""
    only: tuple = ()  # workload names this pipeline runs on (empty: all it can do)


def _import(name):
    try:
        return __import__(name, fromlist=["_"])
    except Exception as e:  # noqa: BLE001 - any import failure means the pipeline cannot run
        raise Unavailable(f"{name} cannot be imported: {type(e).__name__}: {e}") from None


def _sync():
    _import("cupy").cuda.runtime.deviceSynchronize()


# --- cuzarr -----------------------------------------------------------------------------------

def _read_array(a, sel, device):
    """The timed work of a cuzarr pipeline: a[sel], finished on the GPU before it returns."""
    def run():
        out = a[sel]
        if device != "cpu":
            _sync()
        return out
    return run


def _cuzarr_array(device):
    def setup(w, path):
        cuzarr = _import("cuzarr")
        return _read_array(cuzarr.open(path / ARRAY, device=device), w.selection, device)
    return setup


def _cuzarr_open(device):
    """cuzarr.open(...)[sel] with the open in the timed run, as a script that opens and reads
    once does (the metadata read, the codec chain prepared, the thread pool started)."""
    def setup(w, path):
        cuzarr = _import("cuzarr")

        def run():
            out = cuzarr.open(path / ARRAY, device=device)[w.selection]
            if device != "cpu":
                _sync()
            return out
        return run
    return setup


def _cuzarr_xarray(device, engine="cuzarr"):
    def setup(w, path):
        xr = _import("xarray")
        _import("cuzarr")
        return _xarray_run(lambda: xr.open_dataset(path, engine=engine, device=device), w, device != "cpu")
    return setup


def _xarray_run(open_dataset, w, gpu):
    """Times open + select + load, as a user's script does."""
    def run():
        ds = open_dataset()
        if w.kind == "array":
            out = ds[ARRAY].isel(w.isel()).load().data
        elif w.kind == "multi-load":
            loaded = ds.load()
            out = {name: loaded[name].data for name in loaded.data_vars}
        elif w.kind == "air-load":
            out = ds.air.load().data
        else:
            out = ds.air.isel(time=0, lat=10).load().data
        if gpu:
            _sync()
        ds.close()
        return out
    return run


def _cuzarr_gpus(n):
    """The array split along its first axis into n slabs, each read by its own thread into its
    own GPU at once: the aggregate rate of n GPUs fed by one process."""
    def setup(w, path):
        cuzarr = _import("cuzarr")
        cupy = _import("cupy")
        count = cupy.cuda.runtime.getDeviceCount()
        if count < n:
            raise Unavailable(f"needs {n} GPUs, this machine has {count}")
        if w.partial:
            raise Unavailable("whole arrays only")
        arrays = [cuzarr.open(path / ARRAY, device=d) for d in range(n)]
        length = arrays[0].shape[0]
        bounds = [length * d // n for d in range(n + 1)]
        pool = ThreadPoolExecutor(n)

        def one(d):
            out = arrays[d][bounds[d]:bounds[d + 1]]
            with cupy.cuda.Device(d):
                cupy.cuda.runtime.deviceSynchronize()
            return (slice(bounds[d], bounds[d + 1]),), out

        def run():
            return list(pool.map(one, range(n)))
        run.close = pool.shutdown
        return run
    return setup


def _cuzarr_http(device):
    """The same read over HTTP from a private nginx serving the dataset directory on loopback
    (tests/python/nginx_server.py): the HTTP store's cost against the file store's."""
    def setup(w, path):
        import sys
        import tempfile

        cuzarr = _import("cuzarr")
        if not cuzarr._core.http_built():
            raise Unavailable("this build of cuzarr has no HTTP store")
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "python"))
        nginx_server = _import("nginx_server")
        if nginx_server.find_nginx() is None:
            raise Unavailable("nginx is not installed (scripts/bootstrap installs it)")
        work = tempfile.TemporaryDirectory(prefix="cuzarr-bench-nginx-")
        server = nginx_server.Nginx(path.parent, Path(work.name)).start()
        run = _read_array(cuzarr.open(f"{server.url}/{path.name}/{ARRAY}", device=device), w.selection, device)

        def close():
            server.stop()
            work.cleanup()
        run.close = close
        return run
    return setup


# --- tensorstore --------------------------------------------------------------------------------

def _tensorstore(gpu):
    def setup(w, path):
        ts = _import("tensorstore")
        driver = "zarr3" if (path / ARRAY / "zarr.json").exists() else "zarr"
        arr = ts.open({"driver": driver, "kvstore": {"driver": "file", "path": str(path / ARRAY) + "/"}},
                      read=True).result()
        cupy = _import("cupy") if gpu else None
        sel = w.selection or (slice(None),)

        def run():
            host = arr[sel].read().result()
            if not gpu:
                return host
            out = cupy.asarray(host)
            _sync()
            return out
        return run
    return setup


# --- zarr-python ----------------------------------------------------------------------------------

def _zarr_store(path, store_kind):
    """zarr-python's LocalStore, or kvikio's GDSStore (cuFile reads into GPU buffers)."""
    zarr = _import("zarr")
    if store_kind == "kvikio":
        return _import("kvikio.zarr").GDSStore(path)
    return zarr.storage.LocalStore(path, read_only=True)


def _zarr(gpu, store_kind="local"):
    def setup(w, path):
        zarr = _import("zarr")
        store = _zarr_store(path, store_kind)
        sel = w.selection or (slice(None),)

        def read():
            a = zarr.open_array(store, path=ARRAY, mode="r")
            return a[sel]

        if not gpu:
            return read

        def run():
            with zarr.config.enable_gpu():
                out = read()
            _sync()
            return out
        return run
    return setup


def _xarray_zarr(gpu, store_kind="local"):
    def setup(w, path):
        xr = _import("xarray")
        zarr = _import("zarr")
        store = _zarr_store(path, store_kind)
        opener = _xarray_run(lambda: xr.open_dataset(store, engine="zarr", consolidated=False, chunks=None),
                             w, gpu)
        if not gpu:
            return opener

        def run():
            with zarr.config.enable_gpu():
                return opener()
        return run
    return setup


# --- the machine's limits -------------------------------------------------------------------------

def _pread(threads, pinned):
    """Parallel pread of every chunk file into one buffer (pinned host memory on a GPU machine):
    what the storage (or page cache) delivers with no decoding and no placement."""
    def setup(w, path):
        files = chunk_files(path)
        sizes = [f.stat().st_size for f in files]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        total = int(offsets[-1])
        if pinned:
            buf = _import("cupyx").empty_pinned((total,), dtype=np.uint8)
        else:
            buf = np.empty(total, dtype=np.uint8)
        view = memoryview(buf).cast("B")

        def one(i):
            fd = os.open(files[i], os.O_RDONLY)
            try:
                got, want = 0, sizes[i]
                while got < want:
                    n = os.preadv(fd, [view[offsets[i] + got:offsets[i + 1]]], got)
                    if n <= 0:
                        raise OSError(f"short read of {files[i]}")
                    got += n
            finally:
                os.close(fd)
            return want

        pool = ThreadPoolExecutor(threads)

        def run():
            return sum(pool.map(one, range(len(files))))
        run.stored_bytes = total
        run.close = pool.shutdown
        return run
    return setup


def _h2d(w, path):
    """Pinned host → device copy of the array's decoded size, in 256 MiB copies on one stream."""
    cupy = _import("cupy")
    cupyx = _import("cupyx")
    nbytes = int(np.prod(_shape(path))) * 4
    piece = min(nbytes, 256 * 2**20)
    host = cupyx.empty_pinned((piece,), dtype=np.uint8)
    host[:] = 7
    dev = cupy.empty((nbytes,), dtype=np.uint8)

    def run():
        for start in range(0, nbytes, piece):
            n = min(piece, nbytes - start)
            dev[start:start + n].set(host[:n])
        _sync()
        return nbytes
    run.close = lambda: None
    return run


def _shape(path: Path):
    import json
    meta = path / ARRAY / "zarr.json"
    if meta.exists():
        return json.loads(meta.read_text())["shape"]
    return json.loads((path / ARRAY / ".zarray").read_text())["shape"]


ALL_KINDS = ("array", "air-load", "air-point", "multi-load")


def gpu_pipelines() -> list[Pipeline]:
    return [
        Pipeline("cuzarr", "cuzarr", "cuda", _cuzarr_array("cuda"), description="cuzarr.open(device='cuda')[sel]"),
        Pipeline("cuzarr-open", "cuzarr", "cuda", _cuzarr_open("cuda"),
                 description="cuzarr.open(device='cuda')[sel], the open timed too"),
        Pipeline("cuzarr-2gpu", "cuzarr", "cuda", _cuzarr_gpus(2), full_only=True,
                 description="the array in 2 slabs read at once into GPUs 0 and 1"),
        Pipeline("cuzarr-4gpu", "cuzarr", "cuda", _cuzarr_gpus(4), full_only=True,
                 description="the array in 4 slabs read at once into GPUs 0-3"),
        Pipeline("cuzarr-http", "cuzarr", "cuda", _cuzarr_http("cuda"),
                 description="cuzarr.open('http://127.0.0.1:PORT/...', device='cuda') from a local nginx",
                 only=("raw", "zstd-v3", "sharded", "partial-sharded")),
        Pipeline("cuzarr-xarray", "cuzarr", "cuda", _cuzarr_xarray("cuda"), kinds=ALL_KINDS,
                 description="xr.open_dataset(engine='cuzarr', device='cuda') + load"),
        Pipeline("zarr-gpu-kvikio", "peer", "cuda", _zarr(True, "kvikio"),
                 description="zarr-python 3 enable_gpu() over kvikio GDSStore (the seed's stack)"),
        Pipeline("xarray-zarr-gpu-kvikio", "peer", "cuda", _xarray_zarr(True, "kvikio"), kinds=ALL_KINDS,
                 description="xr.open_dataset(GDSStore, engine='zarr') under enable_gpu() + load",
                 only=("raw", "blosc-lz4", "partial", "air-load", "air-point")),
        Pipeline("xarray-zarr-gpu-local", "peer", "cuda", _xarray_zarr(True, "local"), kinds=ALL_KINDS,
                 description="xr.open_dataset(LocalStore, engine='zarr') under enable_gpu() + load",
                 only=("multi-load",)),
        Pipeline("zarr-gpu-local", "peer", "cuda", _zarr(True, "local"),
                 description="zarr-python 3 enable_gpu() over LocalStore"),
        Pipeline("tensorstore-cupy", "peer", "cuda", _tensorstore(True),
                 description="tensorstore read, then cupy.asarray"),
        Pipeline("limit-pread-4", "limit", "cuda", _pread(4, True), full_only=True,
                 description="4 threads pread the chunk files into pinned memory"),
        Pipeline("limit-pread-16", "limit", "cuda", _pread(16, True), full_only=True,
                 description="16 threads pread the chunk files into pinned memory"),
        Pipeline("limit-h2d", "limit", "cuda", _h2d, full_only=True,
                 description="pinned host to device copy of the decoded size"),
    ]


def cpu_pipelines() -> list[Pipeline]:
    cores = os.cpu_count() or 2
    return [
        Pipeline("cuzarr", "cuzarr", "cpu", _cuzarr_array("cpu"), description="cuzarr.open(device='cpu')[sel]"),
        Pipeline("cuzarr-open", "cuzarr", "cpu", _cuzarr_open("cpu"),
                 description="cuzarr.open(device='cpu')[sel], the open timed too"),
        Pipeline("cuzarr-xarray", "cuzarr", "cpu", _cuzarr_xarray("cpu"), kinds=ALL_KINDS,
                 description="xr.open_dataset(engine='cuzarr', device='cpu') + load"),
        Pipeline("cuzarr-http", "cuzarr", "cpu", _cuzarr_http("cpu"),
                 description="cuzarr.open('http://127.0.0.1:PORT/...', device='cpu') from a local nginx",
                 only=("raw", "zstd-v3", "sharded", "partial-sharded")),
        Pipeline("tensorstore", "peer", "cpu", _tensorstore(False), description="tensorstore read to NumPy"),
        Pipeline("zarr", "peer", "cpu", _zarr(False), description="zarr.open_array()[sel]"),
        Pipeline("xarray-zarr", "peer", "cpu", _xarray_zarr(False), kinds=ALL_KINDS,
                 description="xr.open_dataset(engine='zarr') + load"),
        Pipeline(f"limit-pread-{cores}", "limit", "cpu", _pread(cores, False), full_only=True,
                 description=f"{cores} threads pread the chunk files into host memory"),
    ]
