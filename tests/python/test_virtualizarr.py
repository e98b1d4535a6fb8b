"""VirtualiZarr's virtual datasets (docs/references.md): the NetCDF4 files of test_references.py,
made virtual by VirtualiZarr's own HDF parser, opened by cuzarr straight from the objects it
returns (a Dataset of ManifestArrays, a ManifestStore), nothing written; every variable must equal
xr.open_dataset(nc, engine="h5netcdf"), locally and with the manifests pointed at nginx.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import cuzarr

h5py = pytest.importorskip("h5py")
pytest.importorskip("h5netcdf")
pytest.importorskip("netCDF4")
pytest.importorskip("virtualizarr")

from obspec_utils.registry import ObjectStoreRegistry  # noqa: E402
from obstore.store import LocalStore  # noqa: E402
from virtualizarr import open_virtual_dataset  # noqa: E402
from virtualizarr.parsers import HDFParser  # noqa: E402

from http_fixtures import publish  # noqa: E402
from nginx_server import Nginx, find_nginx  # noqa: E402
from test_references import assert_dataset_equals_h5netcdf, write_h5netcdf, write_netcdf4  # noqa: E402

# VirtualiZarr's arrays carry numcodecs codecs under their v3 names, which zarr-python warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Numcodecs codecs are not in the Zarr version 3 specification")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("virtualizarr")
    out = {"root": root}
    for name, write in (("netcdf4.nc", write_netcdf4), ("h5netcdf.nc", write_h5netcdf)):
        write(root / name)
        out[name] = root / name
    return out


def registry() -> ObjectStoreRegistry:
    return ObjectStoreRegistry({"file://": LocalStore()})


def virtual(nc: Path, **kwargs) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return open_virtual_dataset(f"file://{nc}", registry=registry(), parser=HDFParser(), **kwargs)


@pytest.mark.parametrize("nc", ["netcdf4.nc", "h5netcdf.nc"])
@pytest.mark.parametrize("loadable", [None, []], ids=["coords-loaded", "all-virtual"])
def test_virtual_dataset_equals_h5netcdf(files, nc, loadable):
    """Variables VirtualiZarr left virtual are read through their manifests; those it loaded
    (the dimension coordinates, by default; CF time decoded) come back as they were."""
    vds = virtual(files[nc], loadable_variables=loadable)
    with xr.open_dataset(vds, engine="cuzarr", device="cpu") as ds:
        assert_dataset_equals_h5netcdf(ds, files[nc])
        if nc == "netcdf4.nc":
            assert np.issubdtype(ds.time.dtype, np.datetime64)
            assert ds.attrs["title"] == "cuzarr references test"
            assert ds.packed.encoding["scale_factor"] == pytest.approx(0.01)
            assert np.isnan(ds.sparse.values[-1, -1, -1])  # a chunk never written: _FillValue, masked
    # dask chunks: each task reopens the dataset from the (picklable) virtual dataset.
    with xr.open_dataset(vds, engine="cuzarr", device="cpu", chunks={}) as ds:
        assert_dataset_equals_h5netcdf(ds, files[nc])


def test_manifest_store_and_group_with_subgroups(files):
    """A ManifestStore (what VirtualiZarr's parsers return) keeps the file's groups."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = HDFParser()(f"file://{files['netcdf4.nc']}", registry=registry())
    for obj in (store, store._group):
        root = cuzarr.open(obj)
        assert "sub" in root.group_keys()
        with h5py.File(files["netcdf4.nc"], "r") as f:
            for name in ["plain", "contiguous", "sparse", "packed", "z3s", "z9", "sub/w"]:
                np.testing.assert_array_equal(root[name][...], f[name][...], err_msg=name)
                if root[name].ndim == 3:
                    np.testing.assert_array_equal(root[name][1:5, 3, ::3], f[name][1:5, 3, ::3], err_msg=name)
    with xr.open_dataset(store, engine="cuzarr", device="cpu", group="sub") as ds:
        assert_dataset_equals_h5netcdf(ds, files["netcdf4.nc"], group="sub")
    a = cuzarr.open(virtual(files["h5netcdf.nc"]))["v4"]
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(a))[...], a[...])


def test_missing_and_damaged_manifests_are_errors(files, tmp_path):
    vds = virtual(files["h5netcdf.nc"], loadable_variables=[])
    gone = vds.vz.rename_paths(f"file://{tmp_path / 'gone.nc'}")
    with pytest.raises(cuzarr.StoreError, match="gone.nc"):
        cuzarr.open(gone)["v4"][...]
    # An offset past the file's end: the chunk key and the file are named.
    marr = vds["v4"].data
    manifest = marr.manifest
    past = type(manifest).from_arrays(paths=manifest._paths, offsets=manifest._offsets + 10**9,
                                      lengths=manifest._lengths)
    damaged = vds.assign(v4=vds["v4"].copy(data=type(marr)(metadata=marr.metadata, chunkmanifest=past)))
    with pytest.raises(cuzarr.StoreError, match=r"v4/c/0/0/0"):
        cuzarr.open(damaged)["v4"][...]
    # A loaded variable cuzarr cannot store inline is named.
    strings = virtual(files["h5netcdf.nc"]).assign(label=("lat", np.array(["a", "b", "c", "d", "e"])))
    with pytest.raises(TypeError, match="label"):
        cuzarr.open(strings)
    with pytest.raises(NotImplementedError, match="read-only"):
        cuzarr.open(vds, mode="r+")


needs_nginx = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (scripts/bootstrap installs it)")


@needs_nginx
def test_manifests_pointing_at_http(files, tmp_path_factory):
    """The same manifests with their paths turned into URLs: cuzarr's HTTP store reads the ranges."""
    if not cuzarr._core.http_built():
        pytest.skip("a build without the HTTP store")
    www = tmp_path_factory.mktemp("www-virtualizarr")
    publish(www, "netcdf4.nc", files["netcdf4.nc"])
    with Nginx(www, tmp_path_factory.mktemp("nginx-virtualizarr")) as server:
        # Chunks never written keep no path (missing: the fill value), as VirtualiZarr has them.
        url = f"{server.url}/netcdf4.nc"
        vds = virtual(files["netcdf4.nc"]).vz.rename_paths(lambda path: url if path else path)
        with xr.open_dataset(vds, engine="cuzarr", device="cpu", storage_options={"concurrency": 4}) as ds:
            assert_dataset_equals_h5netcdf(ds, files["netcdf4.nc"])


@pytest.mark.gpu
def test_gpu_reads_equal_host_reads(files):
    if cuzarr._core.cuda_device_count() == 0:
        pytest.skip("no GPU (or a build without CUDA)")
    cupy = pytest.importorskip("cupy")
    vds = virtual(files["netcdf4.nc"], loadable_variables=[])
    cpu, gpu = cuzarr.open(vds, device="cpu"), cuzarr.open(vds, device="cuda")
    for name in [n for n in cpu.array_keys() if cpu[n].dtype.kind in "fiu"]:
        got = gpu[name][...]
        assert isinstance(got, cupy.ndarray), name
        np.testing.assert_array_equal(cupy.asnumpy(got), cpu[name][...], err_msg=name)
