"""The climate demo (examples/climate_demo.py, `make demo`) at a tiny size: its stores are written
by xarray's to_zarr, its pipeline runs through engine="cuzarr" on the CPU (and on the GPU where
there is one) and engine="zarr", and what it computes holds together."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

import cuzarr  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import climate_data  # noqa: E402
import climate_demo  # noqa: E402

# 19 x 36 points, two years of 6-hourly steps: 8 MiB, written and read in a second or two.
GRID = climate_data.Grid(10.0, 2)


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    paths = climate_data.write_stores(tmp_path_factory.mktemp("climate"), GRID, progress=False)
    return {spec.name: path for spec, path in zip(climate_data.STORES, paths)}


@pytest.fixture(scope="module")
def cpu_results(stores) -> dict[str, climate_demo.Analysis]:
    results = {}
    for name, path in stores.items():
        air, _, _ = climate_demo.read_air(path, "cuzarr", "cpu", GRID, progress=False)
        assert isinstance(air.data, np.ndarray)
        results[name] = climate_demo.analyse(air)
    return results


def test_stores_are_what_the_demo_promises(stores):
    v2 = xr.open_dataset(stores["v2_blosc"], engine="cuzarr", device="cpu")
    v3 = xr.open_dataset(stores["v3_sharded_zstd"], engine="cuzarr", device="cpu")
    assert v2["air"].shape == GRID.shape and v2["air"].dtype == np.float32
    assert v2["air"].attrs["units"] == "K" and v2["lat"].attrs["units"] == "degrees_north"
    assert v2["time"].encoding["units"].startswith("hours since")
    assert [c.codec_id for c in v2["air"].encoding["compressors"]] == ["blosc"]  # numcodecs, as engine="zarr"
    assert v3["air"].encoding["shards"] == GRID.shards
    assert [type(c).__name__ for c in v3["air"].encoding["compressors"]] == ["ZstdCodec"]
    xr.testing.assert_identical(v2.load(), v3.load())
    # Realistic: northern summers warm, southern summers warm, land swings more than sea.
    air = v2["air"]
    july, january = air.sel(time="2021-07").mean("time"), air.sel(time="2021-01").mean("time")
    assert float((july - january).sel(lat=50).mean()) > 10
    assert float((july - january).sel(lat=-50).mean()) < 0
    swing = abs(july - january).sel(lat=60)
    land = v2["lsm"].sel(lat=60) > 0.5
    assert float(swing.where(land).mean()) > 2 * float(swing.where(~land).mean())


def test_pipeline_shapes_and_the_event(cpu_results):
    result = cpu_results["v3_sharded_zstd"]
    days = GRID.shape[0] // climate_data.STEPS_PER_DAY
    assert result.daily.sizes == {"time": days, "lat": GRID.shape[1], "lon": GRID.shape[2]}
    assert result.climatology.sizes["dayofyear"] == 365
    assert result.hovmoller.sizes == {"time": days, "lat": GRID.shape[1]}
    # The warmest anomaly is the largest value of the anomalies, and it is the planted heat dome.
    event = result.event
    assert event["value"] == pytest.approx(float(result.anomalies.max()))
    assert event["time"] == np.datetime64("2021-06-29")
    assert abs(event["lat"] - climate_data.HEAT_DOME["lat"]) <= GRID.resolution
    assert event["value"] > 8


@pytest.mark.parametrize("name", [spec.name for spec in climate_data.STORES])
def test_anomalies_sum_to_zero_per_day_of_year(cpu_results, name):
    anomalies = cpu_results[name].anomalies
    per_doy = anomalies.groupby(anomalies["time"].dt.dayofyear).sum("time")
    assert float(abs(per_doy).max()) < 1e-3  # K, float32 sums of two values near +-20
    assert climate_demo.check_closure(anomalies) < 1e-3


def test_cuzarr_and_zarr_engines_agree(stores, cpu_results):
    for name, path in stores.items():
        air, _, _ = climate_demo.read_air(path, "zarr", None, GRID, progress=False)
        result = climate_demo.analyse(air)
        np.testing.assert_array_equal(result.anomalies.values, cpu_results[name].anomalies.values)


def test_the_whole_demo_runs(stores, capsys):
    pytest.importorskip("matplotlib")
    directory = next(iter(stores.values())).parent
    png = directory / "demo.png"
    code = climate_demo.main(["--dir", str(directory), "--resolution", str(GRID.resolution),
                              "--years", str(GRID.years), "--repeat", "1", "--no-progress", "--no-compare",
                              "--device", "cpu", "--png", str(png)])
    out = capsys.readouterr().out
    assert code == 0 and "demo OK" in out
    assert "the planted Pacific Northwest heat dome" in out
    assert png.stat().st_size > 10_000


class DeviceArray(np.ndarray):
    """Stands in for a GPU array on machines without one: NumPy functions applied to it give
    DeviceArrays again (as CuPy's give CuPy arrays), while np.asarray -- which would copy a GPU
    array to the host, or refuse -- gives a plain ndarray."""

    def __array_function__(self, func, types, args, kwargs):
        return _as_device(func._implementation(*args, **kwargs))


def _as_device(x):
    if type(x) is np.ndarray:
        return x.view(DeviceArray)
    if isinstance(x, (tuple, list)):
        return type(x)(_as_device(v) for v in x)
    return x


def test_data_stays_in_the_memory_the_backend_reads_into(stores, monkeypatch):
    """The GPU path, checked without a GPU: when the backend returns device arrays, the demo's
    read and every step of its analysis keep them (no conversion to NumPy on the way)."""
    from cuzarr import backend

    read = backend._read
    monkeypatch.setattr(backend, "_read", lambda array, key, device: read(array, key, device).view(DeviceArray))
    air, _, _ = climate_demo.read_air(stores["v3_sharded_zstd"], "cuzarr", "cpu", GRID, progress=False)
    assert type(air.data) is DeviceArray
    result = climate_demo.analyse(air)
    for name in ("daily", "climatology", "anomalies"):
        assert type(getattr(result, name).data) is DeviceArray, name
    assert type(result.hovmoller.data) is np.ndarray  # the small results come to the host


@pytest.mark.gpu
def test_gpu_and_cpu_results_agree(stores, cpu_results):
    if cuzarr._core.cuda_device_count() == 0:
        pytest.skip("no GPU (or a build without CUDA)")
    cupy = pytest.importorskip("cupy")
    for name, path in stores.items():
        air, _, _ = climate_demo.read_air(path, "cuzarr", "cuda", GRID, progress=False)
        assert isinstance(air.data, cupy.ndarray)
        result = climate_demo.analyse(air)
        assert isinstance(result.anomalies.data, cupy.ndarray)  # computed on the GPU
        cpu = cpu_results[name]
        for field in ("daily", "climatology", "anomalies"):
            np.testing.assert_allclose(cupy.asnumpy(getattr(result, field).data), getattr(cpu, field).values,
                                       rtol=0, atol=1e-3, err_msg=field)
        np.testing.assert_allclose(result.hovmoller.values, cpu.hovmoller.values, rtol=0, atol=1e-3)
        assert result.event["index"] == cpu.event["index"]
        assert result.event["value"] == pytest.approx(cpu.event["value"], abs=1e-3)
        assert climate_demo.check_closure(result.anomalies) < 1e-3


def test_progress_bars_only_on_a_terminal(monkeypatch):
    """Piped into a log, the demo draws no bars (each would be a long run of carriage returns)."""
    pytest.importorskip("tqdm")

    class Stream:
        def __init__(self, tty: bool):
            self.tty = tty

        def isatty(self):
            return self.tty

        def write(self, text):
            return len(text)

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stderr", Stream(False))
    assert isinstance(climate_data.progress_bar(total=3), climate_data._NoBar)
    monkeypatch.setattr(sys, "stderr", Stream(True))
    bar = climate_data.progress_bar(total=3, file=sys.stderr)
    assert not isinstance(bar, climate_data._NoBar)
    bar.close()
    assert isinstance(climate_data.progress_bar(total=3, disable=True), climate_data._NoBar)
