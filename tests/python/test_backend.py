"""The xarray backend (engine="cuzarr" and engine="kvikio") against xarray's own zarr backend.

Stores are written by ``xarray.Dataset.to_zarr`` (zarr-python) from a dataset shaped like the seed
project's demo: ``air`` (time 2920 x lat 25 x lon 53, float32, CF attributes), float32 ``lat``/``lon``
and ``time`` encoded as "hours since 1800-01-01". Every store is opened both ways and compared with
``xr.testing.assert_identical`` plus attributes and encoding keys.

Until the package is reinstalled with the new entry points, the engines are passed as classes.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

xr = pytest.importorskip("xarray")
zarr = pytest.importorskip("zarr")
numcodecs = pytest.importorskip("numcodecs")

import cuzarr  # noqa: E402
from cuzarr import _device, backend  # noqa: E402
from cuzarr.backend import CuzarrBackendEntrypoint, KvikioBackendEntrypoint  # noqa: E402

_CLASSES = {"cuzarr": CuzarrBackendEntrypoint, "kvikio": KvikioBackendEntrypoint}


def engine(name: str):
    """The engine by name once the entry points are installed, else the class itself."""
    registered = xr.backends.list_engines().get(name)
    if registered is not None and isinstance(registered, _CLASSES[name]):
        return name
    return _CLASSES[name]


CUZARR = engine("cuzarr")
KVIKIO = engine("kvikio")

# --------------------------------------------------------------------------------------------
# The seed-shaped dataset and its stores

NT, NY, NX = 2920, 25, 53
AIR_CHUNKS = (365, 13, 27)  # partial chunks at the far edge of lat and lon


def demo_dataset() -> xr.Dataset:
    rng = np.random.default_rng(1948)
    time = pd.date_range("2013-01-01", periods=NT, freq="6h")
    lat = np.linspace(75.0, 15.0, NY, dtype="f4")
    lon = np.linspace(200.0, 330.0, NX, dtype="f4")
    air = (241.2 + 40.0 * rng.random((NT, NY, NX))).astype("f4")
    air[rng.random(air.shape) < 0.001] = np.nan  # a few missing values to mask
    ds = xr.Dataset(
        {
            "air": (
                ("time", "lat", "lon"),
                air,
                {
                    "long_name": "4xDaily Air temperature at sigma level 995",
                    "units": "degK",
                    "precision": 2,
                    "GRIB_id": 11,
                    "GRIB_name": "TMP",
                    "var_desc": "Air temperature",
                    "dataset": "NMC Reanalysis",
                    "level_desc": "Surface",
                    "statistic": "Individual Obs",
                    "parent_stat": "Other",
                    "actual_range": [185.16, 322.1],
                },
            )
        },
        coords={
            "time": ("time", time, {"standard_name": "time", "long_name": "Time"}),
            "lat": ("lat", lat, {"standard_name": "latitude", "long_name": "Latitude",
                                 "units": "degrees_north", "axis": "Y"}),
            "lon": ("lon", lon, {"standard_name": "longitude", "long_name": "Longitude",
                                 "units": "degrees_east", "axis": "X"}),
        },
        attrs={
            "Conventions": "COARDS",
            "title": "4x daily NMC reanalysis (1948)",
            "description": "Data is from NMC initialized reanalysis\n(4x/day).",
            "platform": "Model",
            "references": "http://www.esrl.noaa.gov/psd/data/gridded/data.ncep.reanalysis.html",
        },
    )
    return ds


# How the seed's store encodes time (given to to_zarr: encodings set on an index coordinate of a
# Dataset do not survive).
TIME_ENCODING = {"units": "hours since 1800-01-01", "calendar": "standard", "dtype": "float64"}


def _v2(name, **config):
    return getattr(numcodecs, name)(**config)


def _v3(name, **config):
    return getattr(zarr.codecs, name)(**config)


def _encoding(fmt: int, case: str) -> dict:
    names = ("air", "time", "lat", "lon")
    if case == "raw":
        enc = {n: {"compressors": None} for n in names}
    elif case == "blosc":
        if fmt == 2:
            codec = _v2("Blosc", cname="lz4", clevel=5, shuffle=1)
        else:
            codec = _v3("BloscCodec", cname="lz4", clevel=5, shuffle="shuffle")
        enc = {n: {"compressors": [codec]} for n in names}
    elif case == "zstd":
        codec = _v2("Zstd", level=3) if fmt == 2 else _v3("ZstdCodec", level=3)
        enc = {n: {"compressors": [codec]} for n in names}
    elif case == "sharded":
        enc = {"air": {"chunks": (146, 5, 53), "shards": (730, 25, 53),
                       "compressors": [_v3("ZstdCodec", level=1)]}}
    elif case == "packed":
        enc = {"air": {"dtype": "int16", "scale_factor": 0.01, "add_offset": 260.0, "_FillValue": -32768}}
    else:  # pragma: no cover
        raise ValueError(case)
    enc.setdefault("air", {}).setdefault("chunks", AIR_CHUNKS)
    enc.setdefault("time", {}).update(TIME_ENCODING)
    return enc


# name -> (zarr format, codec case, consolidated)
STORES = {
    "v2_raw": (2, "raw", False),
    "v2_raw_consolidated": (2, "raw", True),
    "v2_blosc": (2, "blosc", True),
    "v2_zstd": (2, "zstd", False),
    "v2_packed": (2, "packed", False),
    "v3_raw": (3, "raw", False),
    "v3_raw_consolidated": (3, "raw", True),
    "v3_blosc": (3, "blosc", False),
    "v3_zstd": (3, "zstd", True),
    "v3_sharded": (3, "sharded", False),
    "v3_packed": (3, "packed", True),
}


class DemoStores:
    def __init__(self, root: Path):
        self.root = root
        self.dataset = demo_dataset()
        self._written: dict[str, Path] = {}

    def path(self, name: str) -> Path:
        if name not in self._written:
            fmt, case, consolidated = STORES[name]
            path = self.root / f"{name}.zarr"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.dataset.to_zarr(path, mode="w", zarr_format=fmt, consolidated=consolidated,
                                     encoding=_encoding(fmt, case))
            self._written[name] = path
        return self._written[name]


@pytest.fixture(scope="session")
def demo_stores(tmp_path_factory) -> DemoStores:
    return DemoStores(tmp_path_factory.mktemp("backend"))


def open_zarr_reference(path, **kwargs) -> xr.Dataset:
    """engine="zarr", told whether the store is consolidated (so it does not warn)."""
    kwargs.setdefault("consolidated", _has_consolidated(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xr.open_dataset(path, engine="zarr", **kwargs)


def _has_consolidated(path) -> bool:
    group = zarr.open_group(str(path), mode="r", use_consolidated=False)
    if group.metadata.zarr_format == 2:
        return (Path(path) / ".zmetadata").exists()
    return group.metadata.consolidated_metadata is not None


@pytest.fixture(autouse=True)
def _host_memory_by_default(monkeypatch):
    """These tests compare with engine="zarr" (NumPy). On a GPU machine device=None would pick the
    GPU (test_gpu.py covers that); here the default stays host memory."""
    monkeypatch.setattr(_device, "_gpu_count", lambda: 0)


def open_cuzarr(path, **kwargs) -> xr.Dataset:
    kwargs.setdefault("device", "cpu")
    return xr.open_dataset(path, engine=CUZARR, **kwargs)


# Encoding entries whose values (not only keys) must match engine="zarr".
VALUE_KEYS = ("chunks", "preferred_chunks", "shards", "dtype", "_FillValue", "scale_factor",
              "add_offset", "fill_value", "units", "calendar", "compressors", "filters", "serializer")


def _same_value(a, b) -> bool:
    if isinstance(a, float | np.floating) and isinstance(b, float | np.floating) and np.isnan(a):
        return bool(np.isnan(b)) and np.asarray(a).dtype == np.asarray(b).dtype
    if isinstance(a, np.generic) or isinstance(b, np.generic):
        return a == b and np.asarray(a).dtype == np.asarray(b).dtype
    return a == b and type(a) is type(b)


def _same_attrs(a: dict, b: dict) -> bool:
    """Attributes equal item by item, value types included, NaN equal to NaN."""
    if list(a) != list(b) and set(a) != set(b):
        return False
    return all(_same_value(a[k], b[k]) if isinstance(a[k], float | np.generic) else a[k] == b[k]
               for k in a)


def assert_parity(got: xr.Dataset, ref: xr.Dataset) -> None:
    xr.testing.assert_identical(got, ref)
    assert _same_attrs(got.attrs, ref.attrs)
    assert set(got.encoding) == set(ref.encoding)
    for name, ref_var in ref.variables.items():
        var = got.variables[name]
        assert _same_attrs(var.attrs, ref_var.attrs), (name, var.attrs, ref_var.attrs)
        assert set(var.encoding) == set(ref_var.encoding), (name, set(var.encoding) ^ set(ref_var.encoding))
        for key in VALUE_KEYS:
            if key in ref_var.encoding:
                got_value, ref_value = var.encoding[key], ref_var.encoding[key]
                assert _same_value(got_value, ref_value), (name, key, got_value, ref_value)


# --------------------------------------------------------------------------------------------
# Parity with engine="zarr"


@pytest.mark.parametrize("name", list(STORES))
def test_full_load_parity(demo_stores, name):
    path = demo_stores.path(name)
    ref = open_zarr_reference(path)
    got = open_cuzarr(path)
    assert isinstance(got.air.variable._data, xr.core.indexing.MemoryCachedArray)  # still lazy
    assert_parity(got, ref)
    assert_parity(got.load(), ref.load())
    assert got.air.dtype == (np.float64 if STORES[name][1] == "packed" else np.float32)
    assert int(got.air.isnull().sum()) == int(demo_stores.dataset.air.isnull().sum())


ISEL_CASES = [
    {"time": 0},
    {"time": -1, "lat": 10},
    {"time": 0, "lat": 10},
    {"lat": 24, "lon": 52},
    {"time": slice(100, 900, 7)},
    {"time": slice(2000, None), "lat": slice(None, None, -3), "lon": slice(5, 50, 4)},
    {"lon": [52, 0, 7, 7]},
    {"time": np.array([5, 2919, 730, 731, 0]), "lat": [3, 1, 24], "lon": slice(10, 40)},
    {"time": slice(None, None, 365), "lat": np.array([True] * 12 + [False] * 13), "lon": -3},
    {"time": xr.DataArray([0, 5, 2919], dims="pt"), "lon": xr.DataArray([1, 52, 30], dims="pt")},
]


@pytest.mark.parametrize("name", list(STORES))
def test_isel_parity(demo_stores, name):
    path = demo_stores.path(name)
    ref = open_zarr_reference(path).load()
    got = open_cuzarr(path, cache=False)  # every selection goes to the backend
    for case in ISEL_CASES:
        selected = got.isel(case)
        assert_parity(selected, ref.isel(case))
        assert_parity(selected.load(), ref.isel(case))


@pytest.mark.parametrize("name", ["v2_raw", "v2_blosc", "v2_packed", "v3_zstd", "v3_sharded", "v3_packed"])
def test_chunks_parity(demo_stores, name):
    path = demo_stores.path(name)
    ref = open_zarr_reference(path, chunks={})
    got = open_cuzarr(path, chunks={})
    assert got.chunks == ref.chunks
    assert got.air.chunks == ref.air.chunks
    assert got.air.encoding["preferred_chunks"] == dict(zip(got.air.dims, got.air.encoding["chunks"]))
    # the dask chunks follow the Zarr chunks (the inner chunks of a sharded array, as zarr-python)
    assert tuple(c[0] for c in got.air.chunks) == got.air.encoding["chunks"]
    assert_parity(got, ref)
    part = {"time": slice(700, 800), "lon": [3, 40]}
    assert_parity(got.isel(part).compute(), ref.isel(part).compute())
    assert_parity(got.compute(), ref.compute())


@pytest.mark.parametrize("options", [
    {"decode_times": False},
    {"mask_and_scale": False},
    {"decode_cf": False},
    {"drop_variables": ["air"]},
    {"drop_variables": "lon"},
    {"decode_coords": "all", "decode_timedelta": False, "use_cftime": False},
    {"concat_characters": False},
])
@pytest.mark.parametrize("name", ["v2_packed", "v3_packed"])
def test_decoder_options_parity(demo_stores, name, options):
    path = demo_stores.path(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # use_cftime's deprecation warning
        ref = open_zarr_reference(path, **options)
        got = open_cuzarr(path, **options)
    assert_parity(got, ref)
    assert_parity(got.isel(time=[0, 9], lat=3).load(), ref.isel(time=[0, 9], lat=3).load())


def test_consolidated_none_true_false(demo_stores):
    consolidated = demo_stores.path("v2_blosc")
    plain = demo_stores.path("v2_zstd")
    ref = open_zarr_reference(consolidated).load()
    for setting in (None, True, False):
        assert_parity(open_cuzarr(consolidated, consolidated=setting).load(), ref)
    ref = open_zarr_reference(plain).load()
    for setting in (None, False):
        assert_parity(open_cuzarr(plain, consolidated=setting).load(), ref)


def test_not_consolidated_warning_names_the_callers_line(demo_stores):
    """The warning for a store without consolidated metadata points at the line that opened the
    dataset, as engine="zarr"'s does, not at cuzarr's or xarray's own files."""
    plain = demo_stores.path("v2_zstd")
    for engine in ("cuzarr", "zarr"):
        with pytest.warns(RuntimeWarning, match="consolidated metadata") as caught:
            xr.open_dataset(plain, engine=engine)  # the line the warning must name
        warning = [w for w in caught if "consolidated metadata" in str(w.message)][0]
        assert (warning.filename, engine) == (__file__, engine)
        assert "xr.open_dataset(plain, engine=engine)" in Path(__file__).read_text().splitlines()[warning.lineno - 1]


# --------------------------------------------------------------------------------------------
# Fill values and data types beyond the demo


def misc_dataset() -> xr.Dataset:
    x = np.arange(6)
    ds = xr.Dataset(
        {
            "i4": ("x", np.array([0, 1, 2, 0, 4, 5], "i4")),
            "i2_fill": ("x", np.array([-1, 1, 2, -1, 4, 5], "i2")),
            "u1": ("x", np.array([0, 255, 3, 0, 9, 1], "u1"), {"flag": "yes"}),
            "f8": ("x", np.array([1.5, np.nan, 3.0, np.inf, -0.0, 6.0])),
            "f4_fill": ("x", np.array([1, 2, -999, 4, 5, -999], "f4")),
            "b": ("x", np.array([True, False, True, True, False, False])),
            "c8": ("x", np.arange(6, dtype="c8") * (1 + 2j)),
            "scalar": ((), 3.25, {"note": "0-d"}),
            "when": ("x", pd.date_range("2000-01-01", periods=6, freq="D").values),
            "span": ("x", np.arange(6).astype("timedelta64[h]").astype("timedelta64[ns]")),
            "grid": (("y", "x"), np.arange(24, dtype="f4").reshape(4, 6)),
        },
        coords={"x": x * 10, "y": np.array([0.5, 1.5, 2.5, 3.5]), "aux": ("x", np.linspace(0, 1, 6))},
        attrs={"history": "made for test_backend", "_nc_hidden": "xarray hides this"},
    )
    ds["when"].values[2] = np.datetime64("NaT")
    ds["i2_fill"].encoding["_FillValue"] = -1
    ds["f4_fill"].encoding["_FillValue"] = -999.0
    return ds


@pytest.fixture(scope="module", params=[2, 3], ids=["v2", "v3"])
def misc_store(request, tmp_path_factory) -> Path:
    fmt = request.param
    path = tmp_path_factory.mktemp("misc") / f"misc_v{fmt}.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        misc_dataset().to_zarr(path, zarr_format=fmt, consolidated=False)
        # An integer array whose Zarr fill value is 0 (v2 masks it, v3 keeps it in encoding).
        group = zarr.open_group(str(path), mode="a")
        names = {"dimension_names": ["x"]} if fmt == 3 else {"attributes": {"_ARRAY_DIMENSIONS": ["x"]}}
        zeros = group.create_array("zero_fill", shape=(6,), dtype="i8", fill_value=0, chunks=(4,), **names)
        zeros[:] = np.array([0, 1, 2, 0, 4, 5])
        group.create_array("never_written", shape=(6,), dtype="f4", fill_value=np.nan, chunks=(4,),
                           **names)
    return path


def zarr_store_reference(path, use_zarr_fill_value_as_mask) -> xr.Dataset:
    """xarray's ZarrStore with ``use_zarr_fill_value_as_mask`` set. (engine="zarr" accepts the
    parameter but does not pass it on: xarray 2026.9's ZarrBackendEntrypoint.open_dataset hands
    the store None, so it always applies the format's default.)"""
    from xarray.backends.zarr import ZarrStore

    store = ZarrStore.open_group(str(path), mode="r", consolidated=False,
                                 use_zarr_fill_value_as_mask=use_zarr_fill_value_as_mask)
    ds = xr.open_dataset(store, engine="store")
    ds.encoding["source"] = os.path.abspath(path)
    return ds


@pytest.mark.parametrize("mask", [None, True, False])
def test_misc_dtypes_and_fill_values(misc_store, mask):
    if mask is None:
        ref = open_zarr_reference(misc_store)
    else:
        ref = zarr_store_reference(misc_store, mask)
    got = open_cuzarr(misc_store, use_zarr_fill_value_as_mask=mask)
    assert_parity(got, ref)
    assert_parity(got.isel(x=[5, 0, 2]).load(), ref.isel(x=[5, 0, 2]).load())
    assert "_nc_hidden" not in got.attrs


# --------------------------------------------------------------------------------------------
# engine="kvikio" and the seed's own demo


@pytest.mark.parametrize("name", ["v2_raw", "v3_raw", "v2_blosc", "v3_zstd"])
def test_seed_demo(demo_stores, name):
    """The seed's exact calls: open with engine="kvikio", consolidated=False, then one column."""
    path = demo_stores.path(name)
    ds = xr.open_dataset(path, engine=KVIKIO, consolidated=False)
    column = ds.air.isel(time=0, lat=10).load()
    ref = open_zarr_reference(path).air.isel(time=0, lat=10).load()
    xr.testing.assert_identical(column, ref)
    assert isinstance(column.data, np.ndarray) and column.shape == (NX,)
    assert isinstance(ds.lat.to_index(), pd.Index) and isinstance(ds.time.to_index(), pd.DatetimeIndex)


@pytest.mark.parametrize("consolidated", [False, True])
def test_kvikio_engine_consolidated(demo_stores, consolidated):
    path = demo_stores.path("v2_raw_consolidated")
    got = xr.open_dataset(path, engine=KVIKIO, consolidated=consolidated)
    assert_parity(got.load(), open_zarr_reference(path).load())
    path = demo_stores.path("v3_zstd")
    got = xr.open_dataset(path, engine=KVIKIO, consolidated=consolidated)
    assert_parity(got.isel(time=slice(0, 40)).load(), open_zarr_reference(path).isel(time=slice(0, 40)).load())


def test_entrypoint_attributes():
    for cls in (CuzarrBackendEntrypoint, KvikioBackendEntrypoint):
        entry = cls()
        assert entry.description and entry.url
        assert entry.supports_groups
        params = set(entry.open_dataset_parameters)
        assert {"filename_or_obj", "drop_variables", "mask_and_scale", "decode_times", "decode_timedelta",
                "use_cftime", "concat_characters", "decode_coords", "device", "group", "consolidated"} <= params


def test_entry_points_declared():
    """pyproject.toml registers both names (they take effect once the package is installed)."""
    tomllib = pytest.importorskip("tomllib")
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("not run from a source checkout")
    entry_points = tomllib.loads(pyproject.read_text())["project"]["entry-points"]["xarray.backends"]
    assert entry_points == {"cuzarr": "cuzarr.backend:CuzarrBackendEntrypoint",
                            "kvikio": "cuzarr.backend:KvikioBackendEntrypoint"}


def test_guess_can_open(demo_stores, tmp_path):
    """Only a cuzarr Group is claimed: xarray tries engines in name order ("cuzarr" and "kvikio"
    before "zarr"), so claiming paths would change what code that never names cuzarr gets."""
    entry = CuzarrBackendEntrypoint()
    path = demo_stores.path("v2_raw")
    bare = tmp_path / "store_without_suffix"
    shutil.copytree(demo_stores.path("v3_raw"), bare)
    for other in (path, str(path) + "/", tmp_path / "not-written-yet.zarr", bare, bare / "air", tmp_path,
                  tmp_path / "data.nc", b"\x89HDF", zarr.storage.MemoryStore()):
        assert not entry.guess_can_open(other), other
    assert entry.guess_can_open(cuzarr.open(bare))
    xr.testing.assert_identical(xr.open_dataset(cuzarr.open(bare), engine=CUZARR).load(),
                                open_cuzarr(bare).drop_encoding().load().drop_encoding())
    if isinstance(CUZARR, str):
        assert "cuzarr" in xr.backends.list_engines()
        # Without an engine xarray still picks its zarr backend: NumPy, engine="zarr"'s dataset.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            guessed = xr.open_dataset(path)
        assert type(guessed.air.variable._data).__module__.startswith("xarray.")
        xr.testing.assert_identical(guessed, xr.open_dataset(path, engine="zarr"))


def test_encoding_holds_zarr_pythons_codec_objects(demo_stores):
    """Code written for engine="zarr" reads codec attributes (.cname, .level): the same objects."""
    v2 = open_cuzarr(demo_stores.path("v2_blosc")).air.encoding
    (blosc,) = v2["compressors"]
    assert type(blosc).__module__.startswith("numcodecs") and blosc.cname
    v3 = open_cuzarr(demo_stores.path("v3_sharded")).air.encoding
    assert all(type(c).__module__.startswith("zarr") for c in (*v3["compressors"], v3["serializer"]))
    assert type(v3["serializer"]).__name__ == "BytesCodec"


def test_codec_objects_fall_back_to_json_without_zarr(monkeypatch, demo_stores):
    import sys

    for module in ("numcodecs", "zarr", "zarr.registry", "zarr.core.array_spec"):
        monkeypatch.setitem(sys.modules, module, None)  # as if they were not installed
    enc = backend.as_zarr_objects({"chunks": (2,), "compressors": ({"id": "zlib", "level": 1},), "filters": ()},
                                  2, np.dtype("f4"), (2,))
    assert enc["compressors"] == ({"id": "zlib", "level": 1},)


@pytest.mark.parametrize("name", ["v2_raw", "v3_raw"])
def test_missing_consolidated_metadata_warns_as_xarray(demo_stores, name):
    path = demo_stores.path(name)
    with pytest.warns(RuntimeWarning, match="Failed to open Zarr store with consolidated metadata"):
        open_cuzarr(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_cuzarr(path, consolidated=False)  # told to ignore it: no warning


# --------------------------------------------------------------------------------------------
# Laziness


def _touched_chunks(key: tuple, shape: tuple, chunks: tuple) -> set[tuple[int, ...]]:
    """The chunk coordinates that an outer selection ``key`` (one item per dimension) touches."""
    per_dim = []
    for item, size, chunk in zip(key, shape, chunks):
        if isinstance(item, slice):
            indices = np.arange(size)[item]
        else:
            indices = np.atleast_1d(np.arange(size)[item])
        per_dim.append(sorted(set((indices // chunk).tolist())))
    result = {()}
    for options in per_dim:
        result = {r + (c,) for r in result for c in options}
    return result


@pytest.fixture()
def read_log(monkeypatch):
    """Every read the backend makes, as (array path, key, device)."""
    log = []
    real = backend._read

    def counting_read(array, key, device):
        log.append((array.path, key, device))
        return real(array, key, device)

    monkeypatch.setattr(backend, "_read", counting_read)
    return log


@pytest.mark.parametrize("name", ["v2_blosc", "v3_sharded"])
def test_open_reads_only_dimension_coordinates(demo_stores, read_log, name):
    path = demo_stores.path(name)
    ds = open_cuzarr(path)
    assert sorted(p for p, _, _ in read_log) == ["lat", "lon", "time"]
    assert all(device == "cpu" for _, _, device in read_log)
    read_log.clear()

    column = ds.air.isel(time=0).load()
    assert [p for p, _, _ in read_log] == ["air"]
    (_, key, _), = read_log
    assert key[0] == 0  # only the first time step was asked for
    touched = _touched_chunks(key, ds.air.shape, ds.air.encoding["chunks"])
    assert {c[0] for c in touched} == {0}
    xr.testing.assert_identical(column, open_zarr_reference(path).air.isel(time=0).load())

    read_log.clear()
    lazy = open_cuzarr(path, chunks={})
    assert sorted(p for p, _, _ in read_log) == ["lat", "lon", "time"]  # dask wrapping reads nothing
    read_log.clear()
    lazy.air.isel(time=slice(0, 3)).compute()
    assert {p for p, _, _ in read_log} == {"air"}
    for _, key, _ in read_log:  # one read per dask chunk, all in the first time chunk
        assert {c[0] for c in _touched_chunks(key, lazy.air.shape, lazy.air.encoding["chunks"])} == {0}

    read_log.clear()
    ds.air.isel(time=slice(400, 410), lat=[2, 20], lon=7).load()
    (_, key, _), = read_log
    touched = _touched_chunks(key, ds.air.shape, ds.air.encoding["chunks"])
    c = ds.air.encoding["chunks"]
    assert touched == {(400 // c[0], 2 // c[1], 7 // c[2]), (400 // c[0], 20 // c[1], 7 // c[2])}


@pytest.mark.parametrize("name", ["v2_zstd", "v3_blosc", "v3_sharded"])
def test_unneeded_chunks_are_never_read(demo_stores, tmp_path, name):
    """Overwrite every chunk (shard) of ``air`` outside the first time chunk with garbage: opening
    and ``isel(time=0)`` still work, so those files are never read; reading them fails."""
    source = demo_stores.path(name)
    path = tmp_path / source.name
    shutil.copytree(source, path)
    corrupted = 0
    air_dir = path / "air"
    for file in air_dir.rglob("*"):
        if not file.is_file() or file.name in (".zarray", ".zattrs", "zarr.json"):
            continue
        parts = file.relative_to(air_dir).parts
        coords = parts[0].split(".") if STORES[name][0] == 2 else parts[1:]  # v3: c/i/j/k
        if int(coords[0]) != 0:
            file.write_bytes(b"not a chunk\x00" * 7)
            corrupted += 1
    assert corrupted > 0

    ds = open_cuzarr(path)
    ref = open_zarr_reference(source)
    xr.testing.assert_identical(ds.air.isel(time=0).load(), ref.air.isel(time=0).load())
    xr.testing.assert_identical(ds.air.isel(time=slice(0, 100), lat=3).load(),
                                ref.air.isel(time=slice(0, 100), lat=3).load())
    with pytest.raises(cuzarr.Error):
        ds.air.isel(time=-1).load()


# --------------------------------------------------------------------------------------------
# Pickling, threads, dask


def test_backend_array_pickles_by_location(demo_stores):
    ds = open_cuzarr(demo_stores.path("v3_sharded"), cache=False)
    wrapped = ds.air.variable._data
    while not isinstance(wrapped, backend.CuzarrBackendArray):
        wrapped = wrapped.array
    payload = pickle.dumps(wrapped)
    assert len(payload) < 2000  # a location, not data
    again = pickle.loads(payload)
    assert isinstance(again, backend.CuzarrBackendArray)
    assert (again.shape, again.dtype, again.device) == (wrapped.shape, wrapped.dtype, "cpu")
    assert not hasattr(again, "array")  # xarray's array-type checks follow a public .array
    assert again._array.path == "air" and again._array.name == "/air"
    key = xr.core.indexing.OuterIndexer((np.array([3, 2900]), slice(0, 25, 6), 9))
    np.testing.assert_array_equal(again[key], wrapped[key])

    lazy = pickle.loads(pickle.dumps(ds))
    xr.testing.assert_identical(lazy.isel(time=7).load(), ds.isel(time=7).load())


def test_group_pickle_reopens_inside_group(tmp_path):
    path = _nested_store(tmp_path)
    ds = open_cuzarr(path, group="a/b", cache=False)
    again = pickle.loads(pickle.dumps(ds))
    xr.testing.assert_identical(again.load(), open_zarr_reference(path, group="a/b").load())


def test_concurrent_reads_from_threads(demo_stores):
    path = demo_stores.path("v2_blosc")
    ref = open_zarr_reference(path).air.load().values
    air = open_cuzarr(path, cache=False).air
    rng = np.random.default_rng(7)
    selections = []
    for _ in range(48):
        t0 = int(rng.integers(0, NT - 50))
        selections.append((slice(t0, t0 + int(rng.integers(1, 50))),
                           np.sort(rng.choice(NY, size=int(rng.integers(1, NY)), replace=False)),
                           slice(int(rng.integers(0, 20)), None, int(rng.integers(1, 4)))))

    def read(sel):
        t, y, x = sel
        return air.isel(time=t, lat=y, lon=x).values

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(read, selections))
    for (t, y, x), got in zip(selections, results):
        np.testing.assert_array_equal(got, ref[t][:, y][:, :, x])


def test_load_async(demo_stores):
    ds = open_cuzarr(demo_stores.path("v3_zstd"), cache=False)
    if not hasattr(ds, "load_async"):
        pytest.skip("this xarray has no load_async")
    got = asyncio.run(ds.air.isel(time=[0, 1000], lat=4).load_async())
    ref = open_zarr_reference(demo_stores.path("v3_zstd")).air.isel(time=[0, 1000], lat=4).load()
    xr.testing.assert_identical(got, ref)


def test_dask_distributed_mean(demo_stores):
    distributed = pytest.importorskip("distributed")
    paths = [demo_stores.path("v2_zstd"), demo_stores.path("v3_sharded")]
    expected = [open_zarr_reference(p, chunks={}).air.mean("time").compute(scheduler="synchronous")
                for p in paths]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        for path, ref in zip(paths, expected):
            ds = open_cuzarr(path, chunks={})
            assert ds.air.chunks[0][0] == ds.air.encoding["chunks"][0]
            mean = ds.air.mean("time").compute()
            xr.testing.assert_identical(mean, ref)
        # the reads ran in the worker processes, which imported the backend to unpickle arrays
        imported = client.run(lambda: (os.getpid(), "cuzarr.backend" in __import__("sys").modules))
        assert any(flag for pid, flag in imported.values() if pid != os.getpid())


# --------------------------------------------------------------------------------------------
# Groups and DataTree


def _nested_store(root: Path) -> Path:
    path = root / "nested.zarr"
    if path.exists():
        return path
    top = demo_dataset().isel(time=slice(0, 48))
    child = xr.Dataset(
        {"v": (("x", "y"), np.arange(12, dtype="i2").reshape(3, 4), {"units": "m"})},
        coords={"x": [10.0, 20.0, 30.0], "y": np.arange(4, dtype="i8")},
        attrs={"level": "a/b"},
    )
    middle = xr.Dataset({"w": ("z", np.array([1.5, 2.5]))}, coords={"z": [1, 2]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        top.to_zarr(path, mode="w", zarr_format=3, consolidated=False)
        middle.to_zarr(path, group="a", mode="a", zarr_format=3, consolidated=False)
        child.to_zarr(path, group="a/b", mode="a", zarr_format=3, consolidated=False)
    return path


@pytest.mark.parametrize("group", ["a/b", "/a/b", "a", "/"])
def test_group_parity(tmp_path, group):
    path = _nested_store(tmp_path)
    ref = open_zarr_reference(path, group=group).load()
    assert_parity(open_cuzarr(path, group=group).load(), ref)


def test_open_datatree_parity(tmp_path):
    path = _nested_store(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = xr.open_datatree(path, engine="zarr", consolidated=False)
    got = xr.open_datatree(path, engine=CUZARR, device="cpu")
    assert set(got.groups) == set(ref.groups) == {"/", "/a", "/a/b"}
    xr.testing.assert_identical(got.load(), ref.load())
    groups = xr.open_groups(path, engine=CUZARR)
    assert set(groups) == {"/", "/a", "/a/b"}
    xr.testing.assert_identical(groups["/a/b"].load(), ref["a/b"].to_dataset(inherit=False).load())
    sub = xr.open_datatree(path, engine=CUZARR, group="a")
    assert set(sub.groups) == {"/", "/b"}
    xr.testing.assert_identical(sub["b"].to_dataset(inherit=False).load(),
                                ref["a/b"].to_dataset(inherit=False).load())


# --------------------------------------------------------------------------------------------
# Devices and bad input


def test_default_device_is_cpu_without_a_gpu(demo_stores, read_log):
    if _device.gpu_count() > 0:
        pytest.skip("a GPU is usable here")
    assert backend.resolve_device(None) == "cpu"
    ds = xr.open_dataset(demo_stores.path("v3_raw"), engine=CUZARR)
    ds.air.isel(time=3).load()
    assert {device for _, _, device in read_log} == {"cpu"}


def test_device_cuda_without_gpu_fails_at_open(demo_stores, read_log):
    """Without a GPU: UnsupportedError (NotImplementedError) from a build without CUDA, CudaError
    (RuntimeError) from a CUDA build on a machine with no usable GPU; before anything is read."""
    if _device.gpu_count() > 0:
        pytest.skip("a GPU is usable here")
    path = demo_stores.path("v2_raw")
    cuda_built = cuzarr._core.cuda_built()
    for device in ("cuda", 0, "cuda:0"):
        with pytest.raises(cuzarr.Error, match="CUDA build and a GPU|no usable GPU") as info:
            open_cuzarr(path, device=device)
        assert isinstance(info.value, cuzarr.CudaError if cuda_built else cuzarr.UnsupportedError)
        assert isinstance(info.value, RuntimeError if cuda_built else NotImplementedError)
    with pytest.raises(cuzarr.Error):
        xr.open_dataset(path, engine=KVIKIO, consolidated=False, device="cuda")
    assert read_log == []  # nothing was read
    with pytest.raises(cuzarr.Error, match="CUDA build and a GPU|no usable GPU"):
        backend._read(cuzarr.open(path)["air"], (0, 0, 0), 0)
    for bad in ("gpu", "cuda:x", -1, 1.5, True):
        with pytest.raises(ValueError, match="device"):
            open_cuzarr(path, device=bad)


def test_device_resolution(monkeypatch):
    """The rules for each combination of build and GPU count (shared with cuzarr.open)."""
    monkeypatch.setattr(_device, "_cuda_built", lambda: False)
    monkeypatch.setattr(_device, "_gpu_count", lambda: 0)
    assert backend.resolve_device(None) == "cpu"
    with pytest.raises(cuzarr.UnsupportedError, match="needs a CUDA build"):
        backend.resolve_device("cuda")
    monkeypatch.setattr(_device, "_cuda_built", lambda: True)
    assert backend.resolve_device(None) == "cpu"
    with pytest.raises(RuntimeError, match="no usable GPU"):
        backend.resolve_device("cuda")
    monkeypatch.setattr(_device, "_gpu_count", lambda: 2)
    monkeypatch.setattr(_device, "_current_gpu", lambda: 1)
    assert backend.resolve_device(None) == 1  # CuPy's current GPU
    assert backend.resolve_device("cuda") == 1
    assert backend.resolve_device("CUDA:1") == 1 and backend.resolve_device(np.int64(0)) == 0
    assert backend.resolve_device("cpu") == "cpu"
    with pytest.raises(RuntimeError, match="only 2 GPUs"):
        backend.resolve_device(2)


def test_not_a_zarr_store(tmp_path):
    (tmp_path / "notes.txt").write_text("not zarr")
    # As engine="zarr" (the same exception type and message); cuzarr's reason is the cause.
    with pytest.raises(FileNotFoundError) as expected:
        xr.open_dataset(tmp_path, engine="zarr")
    with pytest.raises(FileNotFoundError) as info:
        open_cuzarr(tmp_path)
    assert type(info.value) is type(expected.value) and str(info.value) == str(expected.value)
    assert "no Zarr array or group" in str(info.value.__cause__)
    # A path that does not exist: zarr-python's message, with any consolidated=.
    for consolidated in (None, True, False):
        with pytest.raises(FileNotFoundError, match=f"^{tmp_path / 'missing.zarr'} does not exist$"):
            open_cuzarr(tmp_path / "missing.zarr", consolidated=consolidated)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        xr.open_dataset(tmp_path / "missing.zarr", engine="zarr")
    with pytest.raises(FileNotFoundError, match="No group found|No such file"):
        open_cuzarr(tmp_path, consolidated=True)
    with pytest.raises(TypeError, match="pass a path|zarr-python store"):
        open_cuzarr(b"\x89HDF\r\n")


def test_array_path_is_not_a_dataset(demo_stores):
    with pytest.raises(ValueError, match="is a Zarr array, not a group"):
        open_cuzarr(demo_stores.path("v2_raw") / "air")
    with pytest.raises(ValueError, match="is a Zarr array, not a group"):
        open_cuzarr(demo_stores.path("v2_raw"), group="air")


@pytest.mark.parametrize("name", ["v2_raw", "v3_raw"])
def test_consolidated_required_but_missing(demo_stores, name):
    with pytest.raises(ValueError, match="no consolidated metadata") as info:
        open_cuzarr(demo_stores.path(name), consolidated=True)
    assert isinstance(info.value, cuzarr.MetadataError)
    with pytest.raises(ValueError, match="consolidated must be"):
        open_cuzarr(demo_stores.path(name), consolidated="yes")


def test_unknown_group(tmp_path):
    path = _nested_store(tmp_path)
    with pytest.raises(FileNotFoundError, match="group 'a/nope' not found") as info:
        open_cuzarr(path, group="a/nope")
    assert isinstance(info.value, cuzarr.KeyNotFoundError)
    with pytest.raises(FileNotFoundError, match="group 'nope' not found"):
        xr.open_datatree(path, engine=CUZARR, group="nope")


def test_missing_dimension_names(tmp_path):
    for fmt in (2, 3):
        path = tmp_path / f"nodims_v{fmt}.zarr"
        group = zarr.open_group(str(path), mode="w", zarr_format=fmt)
        group.create_array("plain", shape=(3, 2), dtype="f4")
        # KeyError with xarray's message, as engine="zarr" raises.
        with pytest.raises(KeyError, match="_ARRAY_DIMENSIONS" if fmt == 2 else "dimension_names"):
            open_cuzarr(path)
        with pytest.raises(KeyError, match="_ARRAY_DIMENSIONS" if fmt == 2 else "dimension_names"):
            xr.open_dataset(path, engine="zarr")


def test_roundtrip_to_zarr(demo_stores, tmp_path):
    """The encoding cuzarr reports (zarr-python's codec objects) can be written back by zarr-python."""
    for name in ("v2_blosc", "v3_sharded", "v3_packed"):
        got = open_cuzarr(demo_stores.path(name))
        out = tmp_path / f"copy_{name}.zarr"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got.to_zarr(out, zarr_format=STORES[name][0], consolidated=False)
        again = open_zarr_reference(out)
        assert_parity(got.load(), again.load())


@pytest.mark.parametrize("attrs", [
    {"_FillValue": np.int16(-32768), "scale_factor": 0.01, "add_offset": 280.0},
    {"_FillValue": np.int16(-1)},
    {"missing_value": np.int16(7), "scale_factor": np.float32(2.0)},
    {"scale_factor": 0.5},
    {"_FillValue": np.int16(0), "units": "hours since 2000-01-01"},
])
def test_device_mask_and_scale_matches_xarray(attrs):
    """The GPU branch's CF decoding (xarray's coders with a device-safe masking kernel) gives the
    same values, dtype and encoding as xarray's own decoding; checked here on NumPy data."""
    raw = np.array([[-32768, 0, 7, 12345], [-1, 3, 100, -5]], dtype="i2")
    var = xr.Variable(("y", "x"), raw, dict(attrs), {"chunks": (2, 4)})
    want = xr.conventions.decode_cf_variable("v", var.copy(deep=True), mask_and_scale=True, decode_times=True)
    got = backend._mask_and_scale_on_device(var.copy(deep=True), "v", {"mask_and_scale": True, "decode_times": True})
    got = xr.conventions.decode_cf_variable("v", got, mask_and_scale=True, decode_times=True)
    xr.testing.assert_identical(got.load() if hasattr(got, "load") else got, want.load())
    assert got.encoding == want.encoding
