"""Device selection and the one-worker-per-GPU dask cluster (cuzarr.dask over dask-cuda).

The device-selection tests run everywhere. Tests marked `gpu` check that reads into device N
land on device N and that dask-cuda's cluster reads each chunk on its worker's GPU (they skip
without dask-cuda); those needing two GPUs skip on one.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import xarray as xr

import cuzarr
from cuzarr import _core
from cuzarr._device import gpu_count, resolve_device
from cuzarr.dask import gpu_cluster, visible_gpus


def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(3)
    air = rng.normal(280, 10, size=(96, 6, 8)).astype("f4")
    return xr.Dataset({"air": (("time", "lat", "lon"), air)},
                      coords={"time": np.arange(96), "lat": np.linspace(60, 10, 6), "lon": np.arange(8.0)})


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("multi") / "air.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _dataset().to_zarr(path, zarr_format=3, consolidated=False,
                           encoding={"air": {"chunks": (16, 6, 8)}})
    return path


# --- device selection ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cuda:-1", -1, 1.0, True, "cpu:0"])
def test_device_spelling_errors(bad):
    with pytest.raises(ValueError, match="device must be"):
        resolve_device(bad)


@pytest.mark.skipif(gpu_count() > 0, reason="checks the answer of a machine without a usable GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", 0, 3, "cuda:1"])
def test_gpu_device_without_gpu_is_a_clear_error(store, device):
    err = _core.UnsupportedError if not _core.cuda_built() else _core.CudaError
    with pytest.raises(err, match="device=|GPU"):
        cuzarr.open(store / "air", device=device)
    assert resolve_device(None) == "cpu"  # None picks the CPU here


@pytest.mark.parametrize("device", ["cpu", "CPU", " cpu "])
def test_cpu_device_names(device):
    assert resolve_device(device) == "cpu"


# --- which GPUs the workers get -----------------------------------------------------------------

def test_visible_gpus_from_the_environment(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2, 3,GPU-abc")
    assert visible_gpus() == ["2", "3", "GPU-abc"]
    assert visible_gpus(2) == ["2", "3"]
    assert visible_gpus([5, "7"]) == ["5", "7"]
    with pytest.raises(ValueError, match="3 GPU"):
        visible_gpus(4)
    with pytest.raises(ValueError, match="twice"):
        visible_gpus([1, 1])
    with pytest.raises(TypeError):
        visible_gpus("0,1")


def test_visible_gpus_without_the_variable(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    if gpu_count() == 0:
        with pytest.raises(ValueError, match="no GPU"):
            visible_gpus()
        with pytest.raises(ValueError, match="0 GPU"):
            visible_gpus(1)
    else:
        assert visible_gpus() == [str(i) for i in range(gpu_count())]


def test_gpu_cluster_needs_dask_cuda(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "dask_cuda", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"cuzarr\[dask-cuda\]"):
        gpu_cluster(gpus=["0"])


@pytest.mark.gpu
def test_cluster_workers_see_their_gpu_first_and_read_correctly(store):
    """A worker per GPU (dask-cuda): each runs with its own GPU first in CUDA_VISIBLE_DEVICES,
    and a chunked dataset computes there (device="cpu" here) equal to a serial read."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask_cuda")
    gpus = visible_gpus()
    expected = _dataset().air.mean("time")
    with gpu_cluster(silence_logs=40) as cluster, distributed.Client(cluster) as client:
        seen = client.run(lambda: (os.getpid(), os.environ.get("CUDA_VISIBLE_DEVICES")))
        assert sorted(v.split(",")[0] for _, v in seen.values()) == sorted(gpus)
        assert len({pid for pid, _ in seen.values()} | {os.getpid()}) == len(gpus) + 1
        ds = xr.open_dataset(store, engine="cuzarr", device="cpu", chunks={"time": 16})
        got = ds.air.mean("time").compute()
        np.testing.assert_allclose(got.values, expected.values, rtol=1e-6)
        # the chunk reads ran in the workers: both imported the backend
        loaded = client.run(lambda: "cuzarr.backend" in __import__("sys").modules)
        assert all(loaded.values())


# --- on a GPU machine ------------------------------------------------------------------------------

@pytest.mark.gpu
def test_reads_land_on_the_named_device(store):
    cupy = pytest.importorskip("cupy")
    n = gpu_count()
    ref = _dataset().air.values
    for dev in range(min(n, 2)):
        for spelling in (dev, f"cuda:{dev}"):
            got = cuzarr.open(store / "air", device=spelling)[:]
            assert got.device.id == dev
            np.testing.assert_array_equal(cupy.asnumpy(got), ref)
    with pytest.raises(_core.CudaError, match=f"only {n} GPU"):
        cuzarr.open(store / "air", device=n)


@pytest.mark.gpu
def test_output_on_another_device_is_refused(store):
    cupy = pytest.importorskip("cupy")
    if gpu_count() < 2:
        pytest.skip("needs two GPUs")
    a = cuzarr.open(store / "air", device=0)
    with cupy.cuda.Device(1):
        out = cupy.empty(a.shape, a.dtype)
    with pytest.raises(_core.CudaError, match="lives on GPU 1"):
        a.read_into(out)


@pytest.mark.gpu
def test_concurrent_reads_into_every_gpu_agree_with_the_cpu(store):
    cupy = pytest.importorskip("cupy")
    from concurrent.futures import ThreadPoolExecutor

    ref = cuzarr.open(store / "air", device="cpu")[:]
    devices = list(range(gpu_count())) * 4

    def read(dev):
        out = cuzarr.open(store / "air", device=dev)[:]
        with cupy.cuda.Device(dev):
            return dev, out.device.id, cupy.asnumpy(out)

    with ThreadPoolExecutor(len(devices)) as pool:
        for dev, landed, got in pool.map(read, devices):
            assert landed == dev
            np.testing.assert_array_equal(got, ref)


@pytest.mark.gpu
def test_gpu_cluster_reads_chunks_on_each_workers_gpu(store):
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("cupy")
    pytest.importorskip("dask_cuda")
    expected = _dataset().air.mean("time")
    with gpu_cluster(silence_logs=40) as cluster, distributed.Client(cluster) as client:
        ds = xr.open_dataset(store, engine="cuzarr", device="cuda", chunks={"time": 16})
        kinds = ds.air.data.map_blocks(lambda b: np.array([type(b).__module__.split(".")[0]]),
                                       dtype=object, chunks=(1,), drop_axis=[1, 2]).compute()
        assert set(kinds) == {"cupy"}
        got = ds.air.mean("time").compute()
        values = got.data.get() if hasattr(got.data, "get") else got.values
        np.testing.assert_allclose(values, expected.values, rtol=1e-6)
        assert len(client.scheduler_info()["workers"]) == gpu_count()


@pytest.mark.gpu
def test_a_read_into_gpu_1_creates_no_context_on_gpu_0(store):
    """In a fresh process, a read into GPU 1 (driven by cuzarr's pool threads, which had no
    CUDA context) leaves GPU 0's primary context inactive."""
    import subprocess
    import sys

    if gpu_count() < 2:
        pytest.skip("needs two GPUs")
    code = f"""
import ctypes, cupy, cuzarr
cuda = ctypes.CDLL("libcuda.so.1")
a = cuzarr.open({str(store / "air")!r}, device=1)
cupy.cuda.runtime.setDevice(1)  # (cupy.cuda.Device(1) would make GPU 0 current again on exit)
out = cupy.empty(a.shape, a.dtype)
a.read_into(out)
flags, active = ctypes.c_uint(), ctypes.c_int()
dev = ctypes.c_int()
assert cuda.cuDeviceGet(ctypes.byref(dev), 0) == 0
assert cuda.cuDevicePrimaryCtxGetState(dev, ctypes.byref(flags), ctypes.byref(active)) == 0
print(active.value)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0", out.stdout + out.stderr
