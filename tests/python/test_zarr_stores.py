"""zarr-python stores (and mappings) as byte sources: cuzarr.open(store) and
xr.open_dataset(store, engine="cuzarr") fetch keys and byte ranges through the store and do the
rest themselves (python/bindings/python_store, cuzarr._zarr_store).

Each hierarchy is written by zarr-python (and xarray) into the store itself; cuzarr's reads must
equal zarr-python's reads of the same store object, and datasets must be identical to
engine="zarr". Stores: MemoryStore, ZipStore, LocalStore (opened as its directory), an
FsspecStore over HTTP (nginx, as in test_http.py), a plain dict of bytes and an fsspec mapper.
"""

from __future__ import annotations

import asyncio
import pickle
import shutil
import threading
import warnings

import numpy as np
import pytest
import xarray as xr

import cuzarr
from cuzarr import _core

zarr = pytest.importorskip("zarr")
from zarr.storage import LocalStore, MemoryStore, ZipStore  # noqa: E402

from http_fixtures import publish  # noqa: E402
from nginx_server import Nginx, find_nginx  # noqa: E402

# name -> (keyword arguments of zarr.create_array, selections to compare)
ARRAYS = {
    "plain": dict(shape=(50, 37), chunks=(10, 8), dtype="f4", compressors=[zarr.codecs.ZstdCodec()]),
    "sharded": dict(shape=(64, 48), chunks=(8, 8), shards=(32, 16), dtype="i2"),
    "gzip_be": dict(shape=(40,), chunks=(7,), dtype=">u4",
                    serializer=zarr.codecs.BytesCodec(endian="big"), compressors=[zarr.codecs.GzipCodec()]),
    "partly_written": dict(shape=(30, 30), chunks=(10, 10), dtype="f8", fill_value=-5.0),
    "text": dict(shape=(9,), chunks=(4,), dtype=str),
}
SELECTIONS = [(), (slice(3, 29, 3),), (slice(None), slice(5, 7)), (2,), ([5, 1, 3],)]


def _data(name: str, spec: dict) -> np.ndarray:
    rng = np.random.default_rng(len(name))
    shape = spec["shape"]
    if spec["dtype"] is str:
        return np.array([f"item {i} " * (i % 3) for i in range(shape[0])], dtype=object)
    return (rng.random(shape) * 1000).astype(spec["dtype"])


def write_hierarchy(store, zarr_format: int = 3) -> dict[str, np.ndarray]:
    """Writes ARRAYS (those the format has) into ``store`` with zarr-python; returns the data."""
    root = zarr.open_group(store, mode="w", zarr_format=zarr_format, attributes={"title": "stores"})
    written = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, spec in ARRAYS.items():
            spec = dict(spec)
            if zarr_format == 2:
                if "shards" in spec or "serializer" in spec:
                    continue
                spec.pop("compressors", None)
            data = _data(name, spec)
            a = root.create_array(name, **spec)
            if name == "partly_written":
                a[:10, 10:20] = data[:10, 10:20]  # the other chunks are missing: fill value
                data = np.full(data.shape, -5.0)
                data[:10, 10:20] = a[:10, 10:20]
            else:
                a[...] = data
            written[name] = a[...]
        zarr.consolidate_metadata(store)
    return written


def assert_reads_equal(store, written: dict[str, np.ndarray]):
    g = cuzarr.open(store)
    assert isinstance(g, cuzarr.Group)
    assert g.attrs["title"] == "stores"
    assert sorted(g.array_keys()) == sorted(written)
    is_store = isinstance(store, zarr.abc.store.Store)
    for name, expected in written.items():
        a = g[name]
        np.testing.assert_array_equal(a[...], expected)
        # zarr-python's reads of the same store object (a dict of bytes is not one zarr opens).
        z = zarr.open_array(store, path=name, mode="r" if store.read_only else "r+") if is_store else expected
        assert a.shape == z.shape and a.dtype.kind == z.dtype.kind
        for sel in SELECTIONS:
            sel = sel[:a.ndim]
            want = z.oindex[sel] if is_store else expected[sel]  # at most one index list: outer = NumPy
            np.testing.assert_array_equal(a[sel], want, err_msg=f"{name}{sel}")


@pytest.fixture(params=[2, 3], ids=["v2", "v3"])
def zarr_format(request):
    return request.param


def test_memory_store(zarr_format):
    store = MemoryStore()
    assert_reads_equal(store, write_hierarchy(store, zarr_format))


def test_zip_store(tmp_path, zarr_format):
    path = tmp_path / "data.zip"
    with ZipStore(path, mode="w") as store:
        written = write_hierarchy(store, zarr_format)
        assert_reads_equal(store, written)  # still open for writing: read through the store
    with ZipStore(path, mode="r") as store:
        assert_reads_equal(store, written)


def test_local_store_is_opened_as_its_directory(tmp_path, zarr_format):
    store = LocalStore(tmp_path / "data.zarr")
    written = write_hierarchy(store, zarr_format)
    assert_reads_equal(store, written)
    assert cuzarr.open(store)["plain"]._core.display_path.startswith(str(tmp_path))


def test_dict_of_bytes_and_fsspec_mapper(tmp_path, zarr_format):
    fsspec = pytest.importorskip("fsspec")
    folder = tmp_path / "data.zarr"
    written = write_hierarchy(LocalStore(folder), zarr_format)
    mapping = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert_reads_equal(mapping, written)
    mapper = fsspec.get_mapper(str(folder))
    g = cuzarr.open(mapper)
    for name, expected in written.items():
        np.testing.assert_array_equal(g[name][...], expected)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    if find_nginx() is None:
        pytest.skip("nginx is not installed (scripts/bootstrap installs it)")
    www = tmp_path_factory.mktemp("www-stores")
    with Nginx(www, tmp_path_factory.mktemp("nginx-stores")) as server:
        server.www = www
        yield server


def test_fsspec_store_over_http(nginx, tmp_path, zarr_format):
    pytest.importorskip("aiohttp")
    from zarr.storage import FsspecStore

    folder = tmp_path / f"http{zarr_format}.zarr"
    written = write_hierarchy(LocalStore(folder), zarr_format)
    url = f"{nginx.url}/{publish(nginx.www, folder.name, folder)}"
    store = FsspecStore.from_url(url, read_only=True)
    mark = nginx.log_size()
    assert_reads_equal(store, written)
    assert nginx.requests(mark), "the reads went to the server"
    # The sharded array's inner chunks are byte ranges of the shard, not whole shards.
    if zarr_format == 3:
        mark = nginx.log_size()
        got = cuzarr.open(store)["sharded"][0, 0]
        assert got == written["sharded"][0, 0]
        sizes = [r.body_bytes for r in nginx.requests(mark) if "/sharded/" in r.path]
        assert sizes and max(sizes) < 32 * 16 * 2, sizes


class _Counting(zarr.storage.WrapperStore):
    """Counts the gets in flight at once (each waits a little, as on a network)."""

    def __init__(self, store):
        super().__init__(store)
        self.in_flight = 0
        self.most = 0
        self.lock = threading.Lock()

    async def get(self, key, prototype, byte_range=None):
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.02)
            return await self._store.get(key, prototype, byte_range)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_many_requests_in_flight_on_one_loop():
    inner = MemoryStore()
    root = zarr.open_group(inner, mode="w", zarr_format=3)
    a = root.create_array("a", shape=(64, 64), chunks=(8, 8), dtype="u2")
    a[...] = np.arange(64 * 64, dtype="u2").reshape(64, 64)
    store = _Counting(inner)
    got = cuzarr.open(store)["a"][...]
    np.testing.assert_array_equal(got, a[...])
    # 64 chunks read by many threads of the core at once (a non-local store gets
    # CUZARR_HTTP_CONCURRENCY readers): far more than one request at a time.
    assert store.most >= 8, store.most


class _Broken(zarr.storage.WrapperStore):
    async def get(self, key, prototype, byte_range=None):
        if "/c/" in key or key.startswith("c/"):
            raise PermissionError(f"no access to {key}")
        return await self._store.get(key, prototype, byte_range)


def test_store_errors_name_the_store_and_the_key():
    inner = MemoryStore()
    write_hierarchy(inner)
    store = _Broken(inner)
    a = cuzarr.open(store)["plain"]
    with pytest.raises(cuzarr.StoreError, match=r"plain/c/0/0.*PermissionError: no access") as e:
        a[0:5, 0:5]
    assert isinstance(e.value, OSError)


def test_missing_store_content_and_bad_objects():
    with pytest.raises(cuzarr.KeyNotFoundError):
        cuzarr.open(MemoryStore())
    with pytest.raises(TypeError, match="zarr-python store"):
        cuzarr.open(42)
    with pytest.raises(ValueError, match="storage_options"):
        cuzarr.open(MemoryStore(), storage_options={"retries": 2})


def test_reads_from_many_python_threads_with_dask():
    """dask's threads each call the core, whose readers each call back into Python: no deadlock,
    right values."""
    store = MemoryStore()
    ds = xr.Dataset({"v": (("t", "x"), np.arange(4000.0).reshape(100, 40))}, coords={"t": np.arange(100)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr-python's note on v3 consolidated metadata
        ds.to_zarr(store, encoding={"v": {"chunks": (10, 10)}}, zarr_format=3, consolidated=True)
    opened = xr.open_dataset(store, engine="cuzarr", device="cpu", chunks={"t": 10})
    xr.testing.assert_identical(opened.compute(), ds)


def test_pickled_arrays_reopen_through_the_store():
    store = MemoryStore()
    written = write_hierarchy(store)
    a = cuzarr.open(store)["plain"]
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again[...], written["plain"])


# --- xarray ------------------------------------------------------------------------------------

def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(7)
    temp = rng.normal(280, 10, size=(12, 5, 6)).astype("f4")
    temp[0, 0, 0] = np.nan
    return xr.Dataset(
        {"temp": (("time", "lat", "lon"), temp, {"units": "K"}),
         "flag": (("lat", "lon"), rng.integers(0, 3, size=(5, 6)).astype("i1"))},
        coords={"time": np.arange("2000-01", "2001-01", dtype="datetime64[M]").astype("datetime64[ns]"),
                "lat": np.linspace(-60, 60, 5), "lon": np.arange(6.0)},
        attrs={"source": "test"},
    )


def _write_dataset(store, zarr_format):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _dataset().to_zarr(store, zarr_format=zarr_format, consolidated=True,
                           encoding={"temp": {"chunks": (4, 5, 3)}})


def _assert_same_as_zarr(store):
    with xr.open_dataset(store, engine="zarr") as expected:
        got = xr.open_dataset(store, engine="cuzarr", device="cpu")
        xr.testing.assert_identical(got, expected)
        for name in expected.variables:
            e, g = expected[name].encoding, got[name].encoding
            for key in ("chunks", "preferred_chunks", "compressors", "filters", "dtype"):
                assert g.get(key) == e.get(key), (name, key, g.get(key), e.get(key))


def test_dataset_from_memory_store(zarr_format):
    store = MemoryStore()
    _write_dataset(store, zarr_format)
    _assert_same_as_zarr(store)


def test_dataset_from_zip_store(tmp_path, zarr_format):
    path = tmp_path / "ds.zip"
    with ZipStore(path, mode="w") as store:
        _write_dataset(store, zarr_format)
    with ZipStore(path, mode="r") as store:
        _assert_same_as_zarr(store)


def test_dataset_from_local_store(tmp_path, zarr_format):
    store = LocalStore(tmp_path / "ds.zarr")
    _write_dataset(store, zarr_format)
    _assert_same_as_zarr(store)


def test_dataset_from_fsspec_store_over_http(nginx, tmp_path, zarr_format):
    pytest.importorskip("aiohttp")
    from zarr.storage import FsspecStore

    folder = tmp_path / f"ds{zarr_format}.zarr"
    _write_dataset(LocalStore(folder), zarr_format)
    url = f"{nginx.url}/{publish(nginx.www, folder.name, folder)}"
    _assert_same_as_zarr(FsspecStore.from_url(url, read_only=True))


def test_datatree_from_memory_store():
    store = MemoryStore()
    tree = xr.DataTree.from_dict({"/": _dataset(), "/sub": _dataset().isel(time=0)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree.to_zarr(store, zarr_format=3, consolidated=True)
    with xr.open_datatree(store, engine="zarr") as expected:
        xr.testing.assert_identical(xr.open_datatree(store, engine="cuzarr", device="cpu"), expected)


def test_store_copied_from_disk_reads_like_the_directory(tmp_path):
    folder = tmp_path / "ds.zarr"
    _write_dataset(LocalStore(folder), 3)
    copy = tmp_path / "copy.zarr"
    shutil.copytree(folder, copy)
    store = MemoryStore({p.relative_to(copy).as_posix(): zarr.core.buffer.cpu.Buffer.from_bytes(p.read_bytes())
                         for p in copy.rglob("*") if p.is_file()})
    xr.testing.assert_identical(xr.open_dataset(store, engine="cuzarr", device="cpu"),
                                xr.open_dataset(folder, engine="cuzarr", device="cpu"))


@pytest.mark.gpu
def test_gpu_reads_through_a_store_object():
    """The GPU path (staging ring, GPU decode, scatter) takes its bytes from the store too."""
    cupy = pytest.importorskip("cupy")
    from cuzarr._device import gpu_count

    if not _core.cuda_built() or gpu_count() == 0:
        pytest.skip("needs a CUDA build and a GPU")
    store = MemoryStore()
    written = write_hierarchy(store)
    g = cuzarr.open(store, device="cuda")
    for name in ("plain", "sharded", "gzip_be", "partly_written"):
        got = g[name][...]
        assert isinstance(got, cupy.ndarray)
        np.testing.assert_array_equal(cupy.asnumpy(got), written[name])
    ds = xr.Dataset({"v": (("t", "x"), np.arange(400.0).reshape(10, 40))})
    ds.to_zarr(store, group="ds", zarr_format=3, consolidated=False)
    opened = xr.open_dataset(store, engine="cuzarr", device="cuda", group="ds", consolidated=False).load()
    assert isinstance(opened.v.data, cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(opened.v.data), ds.v.values)
