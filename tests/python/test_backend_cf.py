"""CF decoding and data placement of the xarray backend against xarray's own zarr backend.

The dataset has what users of the kvikio experiment tripped on: string dimension coordinates
(fixed-width "U" and variable-length), a noleap calendar time axis, a 360_day and a standard
calendar time variable, a timedelta variable, packed int16 with _FillValue + scale_factor /
add_offset, an int32 with missing_value, fixed-width bytes, and 2-d lat/lon coordinates. Stores
are written by ``Dataset.to_zarr`` (Zarr v2 and v3) and must open with engine="cuzarr" and
engine="kvikio" identical to engine="zarr". The tests marked ``gpu`` repeat this with
device="cuda" and check dask's CuPy ``_meta`` and reductions on the GPU machine.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
pytest.importorskip("cftime")

import cuzarr  # noqa: E402
from cuzarr import backend  # noqa: E402
from cuzarr.backend import CuzarrBackendEntrypoint, KvikioBackendEntrypoint  # noqa: E402

ENGINES = {"cuzarr": CuzarrBackendEntrypoint, "kvikio": KvikioBackendEntrypoint}
NT, NSITE, NSTATION = 48, 4, 5

needs_gpu = pytest.mark.skipif(cuzarr._core.cuda_device_count() == 0, reason="no GPU (or a build without CUDA)")


def cf_dataset() -> xr.Dataset:
    rng = np.random.default_rng(12)
    time = xr.date_range("2001-01-01", periods=NT, freq="7D", calendar="noleap", use_cftime=True)
    station = np.array(["alpha", "beta", "gamma", "delta", "eps"], dtype="<U5")
    site = np.array(["north", "south-east", "w", "日本"], dtype=object)
    lat = np.linspace(-30, 30, NSITE * NSTATION).reshape(NSITE, NSTATION)
    lon = np.linspace(100, 160, NSITE * NSTATION).reshape(NSITE, NSTATION).astype("f4")
    temp = rng.normal(280, 5, (NT, NSITE, NSTATION))
    temp[rng.random(temp.shape) < 0.05] = np.nan
    temp[:, 1, 1] = np.nan  # all missing along time: sum(min_count=1) gives NaN there
    count = rng.integers(0, 100, (NT, NSITE)).astype("f8")
    count[3, 2] = np.nan
    ds = xr.Dataset(
        {
            "temp": (("time", "site", "station"), temp, {"units": "K", "long_name": "temperature"}),
            "count": (("time", "site"), count),
            "lead": (("time",), pd.to_timedelta(np.arange(NT) * 3, "h").to_numpy()),
            "issued": (("time",), xr.date_range("2000-02-01", periods=NT, freq="D", calendar="360_day",
                                                use_cftime=True).values),
            "valid": (("time",), pd.date_range("2001-01-01", periods=NT, freq="6h").to_numpy()),
            "label": (("site",), np.array(["a", "bb", "", "dddd"], dtype=object)),
            "code": (("station",), np.array([b"x1", b"y22", b"z", b"", b"q"], dtype="S3")),
        },
        coords={"time": time, "site": site, "station": station,
                "lat": (("site", "station"), lat, {"units": "degrees_north"}),
                "lon": (("site", "station"), lon, {"units": "degrees_east"})},
        attrs={"title": "CF parity"},
    )
    ds.temp.encoding = {"dtype": "int16", "scale_factor": 0.01, "add_offset": 280.0, "_FillValue": -32768,
                        "chunks": (16, 2, 5)}
    ds["count"].encoding = {"dtype": "int32", "missing_value": -1, "chunks": (10, 4)}
    ds.issued.encoding = {"units": "days since 2000-01-01", "calendar": "360_day"}
    ds.valid.encoding = {"units": "hours since 2001-01-01", "calendar": "standard"}
    return ds


@pytest.fixture(scope="module", params=[2, 3], ids=["v2", "v3"])
def cf_store(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("cf") / f"cf{request.param}.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr warns that v3 string types are not in the spec yet
        cf_dataset().to_zarr(path, zarr_format=request.param, consolidated=False)
    return path


def open_zarr(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xr.open_dataset(path, engine="zarr", consolidated=False, **kwargs)


def open_engine(path, engine, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xr.open_dataset(path, engine=ENGINES[engine], **kwargs)


def assert_same_encoding(got: xr.Dataset, want: xr.Dataset):
    """CF keys of the encoding as engine="zarr" sets them (codec objects differ in form: cuzarr
    gives JSON dicts, see docs/xarray.md)."""
    for name, var in want.variables.items():
        for key in ("dtype", "units", "calendar", "_FillValue", "missing_value", "scale_factor", "add_offset",
                    "chunks", "preferred_chunks", "coordinates"):
            a, b = got[name].encoding.get(key), var.encoding.get(key)
            same = a == b or (np.isscalar(b) and np.isscalar(a) and pd.isna(a) and pd.isna(b))
            assert same and type(a) is type(b), (name, key, a, b)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_cf_decoding_identical_to_zarr(cf_store, engine):
    want = open_zarr(cf_store)
    got = open_engine(cf_store, engine, device="cpu")
    xr.testing.assert_identical(got, want)
    assert_same_encoding(got, want)
    # The types users tripped on.
    assert got.indexes["time"].calendar == "noleap"
    assert got.issued.values[0].calendar == "360_day"
    assert got.valid.dtype.kind == "M" and got.lead.dtype.kind == "m"
    assert got.site.dtype == want.site.dtype and got.station.dtype == np.dtype("<U5")
    assert got.code.dtype == np.dtype("S3")
    assert got.temp.dtype == np.float64 and np.isnan(got.temp.values[:, 1, 1]).all()
    assert np.isnan(got["count"].values[3, 2])
    assert set(got.coords) == {"time", "site", "station", "lat", "lon"}
    assert got.sel(site="日本", station="gamma").temp.shape == (NT,)


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("decoders", ["decode_times=False", "mask_and_scale=False", "decode_timedelta=False",
                                      "decode_coords=False", "use_cftime", "concat_characters=False"])
def test_decoder_options_identical_to_zarr(cf_store, engine, decoders):
    if decoders == "use_cftime":
        decoders = {"decode_times": xr.coders.CFDatetimeCoder(use_cftime=True)}
    else:
        key, value = decoders.split("=")
        decoders = {key: value == "True"}
    xr.testing.assert_identical(open_engine(cf_store, engine, device="cpu", **decoders), open_zarr(cf_store, **decoders))


@pytest.mark.parametrize("engine", list(ENGINES))
def test_dask_identical_to_zarr(cf_store, engine):
    want = open_zarr(cf_store, chunks={})
    got = open_engine(cf_store, engine, device="cpu", chunks={})
    assert got.temp.chunks == want.temp.chunks
    xr.testing.assert_identical(got.compute(), want.compute())
    # On the host the dask arrays' meta is NumPy, as every backend's.
    assert type(got.temp.data._meta) is np.ndarray
    xr.testing.assert_allclose(got.temp.sum("time", min_count=1).compute(),
                               want.temp.sum("time", min_count=1).compute())
    xr.testing.assert_allclose(got.temp.groupby("time.month").mean().compute(),
                               want.temp.groupby("time.month").mean().compute())


def test_coords_argument_is_checked(cf_store):
    for bad in ("gpu", None, True, "HOST"):
        with pytest.raises(ValueError, match="coords must be 'host' or 'device'"):
            open_engine(cf_store, "cuzarr", device="cpu", coords=bad)
    # On the host both placements are NumPy and give the same dataset.
    xr.testing.assert_identical(open_engine(cf_store, "cuzarr", device="cpu", coords="device"),
                                open_engine(cf_store, "cuzarr", device="cpu", coords="host"))


# --------------------------------------------------------------------------------------------
# Placement on a GPU store, checked without a GPU: the store is given a GPU number and CuPy's
# meta is replaced by a marker array type. Nothing is read (a read would need the GPU); what is
# checked is which variables are meant for the device and which dask arrays carry the device meta.


class _MarkerArray(np.ndarray):
    """Stands in for a CuPy array as the dask meta."""


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(backend, "resolve_device", lambda device: 0 if device not in (None, "cpu") else "cpu")
    monkeypatch.setattr(backend, "_device_meta",
                        lambda ndim, dtype: np.empty((0,) * ndim, dtype=dtype).view(_MarkerArray))


def _backend_devices(ds: xr.Dataset) -> dict:
    """The device of each variable's lazy CuzarrBackendArray (None where the data is in memory)."""
    out = {}
    for name, var in ds.variables.items():
        data = var._data
        while not isinstance(data, backend.CuzarrBackendArray) and hasattr(data, "array"):
            data = data.array
        out[name] = data.device if isinstance(data, backend.CuzarrBackendArray) else None
    return out


@pytest.mark.parametrize("coords", ["host", "device"])
def test_device_placement(cf_store, fake_gpu, coords):
    ds = open_engine(cf_store, "cuzarr", device="cuda", coords=coords)
    devices = _backend_devices(ds)
    on_gpu = {name for name, d in devices.items() if d not in (None, "cpu")}
    expected = {"temp", "count"} | ({"lat", "lon"} if coords == "device" else set())
    assert on_gpu == expected, devices
    # Index coordinates are read at open, into NumPy.
    for name in ("time", "site", "station"):
        assert isinstance(ds.variables[name].to_index_variable().to_index(), pd.Index)
        assert devices[name] is None


@pytest.mark.parametrize("coords", ["host", "device"])
def test_dask_meta_on_device_variables(cf_store, fake_gpu, coords):
    ds = open_engine(cf_store, "cuzarr", device="cuda", coords=coords, chunks={})
    metas = {name: type(var.data._meta) for name, var in ds.variables.items() if hasattr(var.data, "dask")}
    device = {"temp", "count"} | ({"lat", "lon"} if coords == "device" else set())
    assert {n for n, t in metas.items() if t is _MarkerArray} == device, metas
    assert ds.temp.data._meta.dtype == ds.temp.dtype == np.float64 and ds.temp.data._meta.ndim == 3
    assert ds.temp.chunks == ((16, 16, 16), (2, 2), (5,))  # the Zarr chunks, as engine="zarr"
    # The graph is dask's own: the same keys as a host open of the same store.
    host = open_engine(cf_store, "cuzarr", device="cpu", chunks={})
    assert set(ds.temp.data.__dask_graph__().keys()) >= set(ds.temp.data.__dask_keys__()[0][0])
    assert ds.temp.data.chunks == host.temp.data.chunks
    # Rechunking later keeps the device meta.
    assert type(ds.temp.chunk({"time": 8}).data._meta) is _MarkerArray
    # Opened lazily and chunked afterwards, too.
    lazy = open_engine(cf_store, "cuzarr", device="cuda", coords=coords)
    assert type(lazy.chunk({"time": 12}).temp.data._meta) is _MarkerArray


# --------------------------------------------------------------------------------------------
# On the GPU machine (`make test-gpu`)


def _cupy():
    return pytest.importorskip("cupy")


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("coords", ["host", "device"])
@pytest.mark.parametrize("chunks", [None, {}], ids=["lazy", "dask"])
def test_gpu_identical_to_zarr(cf_store, engine, coords, chunks):
    cupy = _cupy()
    got = open_engine(cf_store, engine, device="cuda", coords=coords, chunks=chunks).compute()
    assert isinstance(got.temp.data, cupy.ndarray) and isinstance(got["count"].data, cupy.ndarray)
    for name in ("lat", "lon"):
        assert isinstance(got[name].data, cupy.ndarray if coords == "device" else np.ndarray), name
    for name in ("time", "site", "station", "label", "code", "lead", "issued", "valid"):
        assert isinstance(got[name].data, np.ndarray), name
    xr.testing.assert_identical(got.as_numpy(), open_zarr(cf_store))


def _gpu_reductions(ds):
    temp = ds.temp
    return {
        "mean": temp.mean("time"),
        "sum-min-count": temp.sum("time", min_count=1),
        "max": temp.max(),
        "count-sum": ds["count"].sum("site", min_count=1),
        "groupby-month": temp.groupby("time.month").mean(),
        "resample": temp.resample(time="1MS").mean(),
    }


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("coords", ["host", "device"])
def test_gpu_dask_meta_and_reductions(cf_store, coords):
    cupy = _cupy()
    ds = open_engine(cf_store, "cuzarr", device="cuda", coords=coords, chunks={"time": 10})
    for name in ("temp", "count"):
        meta = ds[name].data._meta
        assert isinstance(meta, cupy.ndarray) and meta.dtype == ds[name].dtype and meta.ndim == ds[name].ndim
    if coords == "device":
        assert isinstance(ds.lat.data._meta, cupy.ndarray)
    cpu = open_engine(cf_store, "cuzarr", device="cpu", chunks={"time": 10})
    want = {k: v.compute() for k, v in _gpu_reductions(cpu).items()}
    for key, result in _gpu_reductions(ds).items():
        if hasattr(result.data, "_meta"):
            assert isinstance(result.data._meta, cupy.ndarray), key  # stays on the GPU
        computed = result.compute()
        assert isinstance(computed.data, cupy.ndarray), key
        xr.testing.assert_allclose(computed.as_numpy(), want[key])
    assert bool(np.isnan(want["sum-min-count"].values[1, 1]))
