"""GPU reads (marked `gpu`; `make test-gpu` runs them on a machine with a GPU, elsewhere they skip).

Every read with device="cuda" must equal the host read bit for bit: the same stores as the CPU
suites (every dtype and layout), the tensorstore fixtures (every codec, sharding), random outer
selections, strided CuPy outputs, and the xarray backend's GPU branch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import cuzarr
from cuzarr import _core
from stores import array_case_names, assert_same_array
from test_conformance import random_selection

pytestmark = pytest.mark.gpu

if _core.cuda_device_count() == 0:
    pytest.skip("no GPU (or a build without CUDA): GPU tests skipped", allow_module_level=True)
cupy = pytest.importorskip("cupy")

FIXTURES = Path(os.environ.get("CUZARR_TS_FIXTURES", Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "tensorstore"))
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.npy").exists()) if FIXTURES.is_dir() else []


def assert_gpu_equals_cpu(gpu_result, cpu_result):
    assert isinstance(gpu_result, cupy.ndarray), type(gpu_result)
    assert_same_array(cupy.asnumpy(gpu_result), cpu_result)


def check_store(path, seed, selections):
    cpu = cuzarr.open(path, device="cpu")
    gpu = cuzarr.open(path, device="cuda")
    if cpu.dtype.kind in "mM":
        # CuPy has no datetime arrays: a clear error, or the int64 storage through read_into.
        with pytest.raises(cuzarr.UnsupportedError, match="CuPy has no"):
            gpu[...]
        out = cupy.empty(cpu.shape, dtype=np.int64)
        gpu.read_into(out)
        np.testing.assert_array_equal(cupy.asnumpy(out), cpu[...].view(np.int64))
        return
    assert_gpu_equals_cpu(gpu[...], cpu[...])
    rng = np.random.default_rng(seed)
    for _ in range(selections):
        key = random_selection(rng, cpu.shape)
        assert_gpu_equals_cpu(gpu[key], cpu[key])


@pytest.mark.parametrize("name", array_case_names())
def test_every_cpu_suite_store_reads_the_same_on_the_gpu(store_factory, name):
    check_store(store_factory.path(name), seed=hash(name) % 2**32, selections=3)


@pytest.mark.skipif(not FIXTURE_NAMES, reason="tensorstore fixtures not present")
@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_tensorstore_fixture_reads_the_same_on_the_gpu(name):
    check_store(FIXTURES / name, seed=len(name), selections=3)


def test_two_hundred_random_selections(store_factory):
    path = store_factory.path("v3-zarr-4d-float32") if "v3-zarr-4d-float32" in array_case_names() else None
    path = path or store_factory.path(array_case_names()[0])
    check_store(path, seed=7, selections=200)


@pytest.mark.parametrize("layout", ["fortran", "transposed", "strided", "reversed"])
def test_into_non_contiguous_cupy_views(store_factory, layout):
    name = next(n for n in array_case_names() if "float64" in n and "2d" in n) if any(
        "float64" in n and "2d" in n for n in array_case_names()) else array_case_names()[0]
    path = store_factory.path(name)
    cpu = cuzarr.open(path, device="cpu")
    gpu = cuzarr.open(path, device="cuda")
    want = cpu[...]
    shape = want.shape
    if len(shape) < 2:
        pytest.skip("needs a 2-d array")
    if layout == "fortran":
        out = cupy.empty(shape, dtype=want.dtype, order="F")
    elif layout == "transposed":
        out = cupy.empty(shape[::-1], dtype=want.dtype).T
    elif layout == "strided":
        out = cupy.zeros((shape[0] * 2, shape[1] * 3), dtype=want.dtype)[::2, 1::3]
    else:
        out = cupy.empty(shape, dtype=want.dtype)[::-1, ::-1]
    gpu.read_into(out)
    assert_same_array(cupy.asnumpy(out), want)
    # A host-device array reads into CuPy too (the GPU comes from the pointer).
    out2 = cupy.zeros(shape, dtype=want.dtype, order="F")
    cpu.read_into(out2)
    assert_same_array(cupy.asnumpy(out2), want)


def test_compressed_and_sharded_zarr_stores(tmp_path):
    zarr = pytest.importorskip("zarr")
    from zarr.codecs import BloscCodec, BytesCodec, ShardingCodec, ZstdCodec, GzipCodec, Crc32cCodec
    from numcodecs import Blosc, Zstd, GZip, LZ4

    rng = np.random.default_rng(3)
    data = rng.normal(size=(70, 33, 20)).astype("f4")
    stores = []
    for i, comp in enumerate([Blosc("lz4", 5, Blosc.SHUFFLE), Blosc("zstd", 3, Blosc.BITSHUFFLE), Zstd(1), GZip(5), LZ4()]):
        p = tmp_path / f"v2_{i}.zarr"
        z = zarr.create_array(str(p), shape=data.shape, chunks=(16, 10, 20), dtype="f4", zarr_format=2, compressors=comp)
        z[:] = data
        stores.append(p)
    for i, kw in enumerate([dict(compressors=[ZstdCodec(level=1)], shards=(32, 20, 20)),
                            dict(compressors=[BloscCodec(cname="lz4", shuffle="shuffle"), Crc32cCodec()]),
                            dict(compressors=[GzipCodec()], serializer=BytesCodec(endian="big"))]):
        p = tmp_path / f"v3_{i}.zarr"
        z = zarr.create_array(str(p), shape=data.shape, chunks=(16, 10, 20), dtype="f4", **kw)
        z[:] = data
        stores.append(p)
    for i, p in enumerate(stores):
        check_store(p, seed=i, selections=10)
        np.testing.assert_array_equal(cupy.asnumpy(cuzarr.open(p, device="cuda")[...]), data)


def test_gpu_memory_exhaustion_is_a_clear_error_and_reads_go_on(store_factory):
    path = store_factory.path(array_case_names()[0])
    free, _ = cupy.cuda.runtime.memGetInfo()
    with pytest.raises(cupy.cuda.memory.OutOfMemoryError):
        cupy.empty(int(free) * 2, dtype=np.uint8)
    cpu = cuzarr.open(path, device="cpu")
    assert_gpu_equals_cpu(cuzarr.open(path, device="cuda")[...], cpu[...])


def _run_child(code: str, env_extra: dict) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.parametrize("mode", ["off", "auto", "on"])
def test_gds_modes(store_factory, mode):
    """off: staging only. auto: cuFile where the system accepts it, else the staging path (on the
    test machine GDS is inactive, so auto must fall back). on: a refusal is an error."""
    name = next(n for n in array_case_names() if "float32" in n)
    path = store_factory.path(name)
    code = f"""
        import numpy as np, cupy, cuzarr
        a = cuzarr.open({str(path)!r}, device="cuda")
        got = cupy.asnumpy(a[...])
        want = cuzarr.open({str(path)!r}, device="cpu")[...]
        assert np.array_equal(got, want, equal_nan=True)
        print("EQUAL")
    """
    r = _run_child(code, {"CUZARR_GDS": mode, "CUZARR_LOG": "debug"})
    if mode == "on" and r.returncode != 0:
        assert "GPUDirect Storage" in r.stderr or "CUZARR_GDS=on" in r.stderr, r.stderr
        return
    assert r.returncode == 0, r.stderr
    assert "EQUAL" in r.stdout
    assert "GPU read of" in r.stderr, r.stderr
    if mode == "off":
        assert "0 chunks via cuFile" in r.stderr


def test_xarray_backend_returns_cupy(tmp_path):
    xr = pytest.importorskip("xarray")
    import pandas as pd

    ds = xr.Dataset(
        {"air": (("time", "lat", "lon"), np.random.default_rng(0).normal(280, 10, (40, 25, 53)).astype("f4"),
                 {"units": "degK"})},
        coords={"time": pd.date_range("2013-01-01", periods=40, freq="6h"),
                "lat": np.linspace(75, 15, 25, dtype="f4"), "lon": np.linspace(200, 330, 53, dtype="f4")},
    )
    path = tmp_path / "air.zarr"
    ds.to_zarr(path, zarr_format=2, consolidated=True)
    for engine, consolidated in (("kvikio", False), ("cuzarr", True)):
        g = xr.open_dataset(path, engine=engine, consolidated=consolidated)
        point = g["air"].isel(time=0, lat=10).load()
        assert type(point.data) is cupy.ndarray
        assert isinstance(g["lat"].data, np.ndarray)
        np.testing.assert_array_equal(cupy.asnumpy(point.data), ds["air"].isel(time=0, lat=10).values)
        full = g["air"].load()
        np.testing.assert_array_equal(cupy.asnumpy(full.data), ds["air"].values)


def test_xarray_cf_decoding_stays_on_the_gpu(tmp_path):
    """mask_and_scale on a packed int16 variable with _FillValue produces CuPy, equal to the host
    decoding of the same store."""
    xr = pytest.importorskip("xarray")
    values = np.random.default_rng(1).normal(280, 10, (12, 25, 53)).astype("f4")
    values[0, 0, :5] = np.nan
    ds = xr.Dataset({"air": (("time", "lat", "lon"), values)},
                    coords={"lat": np.arange(25, dtype="f4"), "lon": np.arange(53, dtype="f4")})
    path = tmp_path / "packed.zarr"
    ds.to_zarr(path, zarr_format=3, consolidated=False,
               encoding={"air": {"dtype": "int16", "scale_factor": 0.01, "add_offset": 280.0, "_FillValue": -32768}})
    gpu = xr.open_dataset(path, engine="cuzarr", device="cuda", consolidated=False)["air"].load()
    cpu = xr.open_dataset(path, engine="cuzarr", device="cpu", consolidated=False)["air"].load()
    assert type(gpu.data) is cupy.ndarray
    assert gpu.dtype == cpu.dtype
    np.testing.assert_array_equal(cupy.asnumpy(gpu.data), cpu.values)
    assert np.isnan(cupy.asnumpy(gpu.data)[0, 0, :5]).all()


def test_staging_allocation_failure_is_a_clear_error_and_reads_go_on(store_factory):
    """With the GPU's memory taken, the staging ring cannot be allocated: a clear CudaError, and
    once memory is free again the same open array reads correctly."""
    name = next(n for n in array_case_names() if "float32" in n)
    path = store_factory.path(name)
    code = f"""
        import numpy as np, cupy, cuzarr
        cupy.cuda.runtime.setDevice(0)
        a = cuzarr.open({str(path)!r}, device=0)
        small = cupy.empty(a.shape, dtype=a.dtype)  # the output itself still fits
        free, _ = cupy.cuda.runtime.memGetInfo()
        hog = None
        for spare in (48 << 20, 96 << 20, 192 << 20):
            try:
                hog = cupy.cuda.runtime.malloc(free - spare)
                break
            except cupy.cuda.runtime.CUDARuntimeError:
                continue
        assert hog is not None
        try:
            a.read_into(small)
            print("NO ERROR")
        except cuzarr.CudaError as e:
            print("CUDAERROR", e)
        cupy.cuda.runtime.free(hog)
        got = cupy.asnumpy(a[...])
        want = cuzarr.open({str(path)!r}, device="cpu")[...]
        print("AFTER", np.array_equal(got, want, equal_nan=True))
    """
    r = _run_child(code, {"CUZARR_STAGING_BYTES": str(64 << 20), "CUZARR_STAGING_BUFFERS": "8"})
    assert r.returncode == 0, r.stderr
    assert "CUDAERROR" in r.stdout and "out of memory" in r.stdout, r.stdout
    assert "AFTER True" in r.stdout, r.stdout


# Every store of the codec suite (every v2 compressor and filter, every v3 codec, sharding in all
# its forms, both writers) read on the GPU equals the host read.
import test_codecs  # noqa: E402


@pytest.fixture(scope="module")
def codec_stores(tmp_path_factory):
    return test_codecs.CodecStores(tmp_path_factory.mktemp("gpu_codec_stores"))


@pytest.mark.parametrize("name", test_codecs.NAMES)
def test_every_codec_suite_store_reads_the_same_on_the_gpu(codec_stores, name):
    check_store(codec_stores.path(name), seed=len(name), selections=2)
