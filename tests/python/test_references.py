"""kerchunk references (docs/references.md): NetCDF4/HDF5 files written here by netCDF4 and
h5netcdf, referenced by kerchunk's own SingleHdf5ToZarr and MultiZarrToZarr, read through cuzarr
(locally and over HTTP from nginx); every variable must equal xr.open_dataset(nc,
engine="h5netcdf"). kerchunk refuses fletcher32 datasets, so their references are made here from
h5py's chunk index, as kerchunk would write them, and compared with h5py's reads.
"""

from __future__ import annotations

import json
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import cuzarr

netCDF4 = pytest.importorskip("netCDF4")
h5py = pytest.importorskip("h5py")
h5netcdf = pytest.importorskip("h5netcdf")
kerchunk_hdf = pytest.importorskip("kerchunk.hdf")
kerchunk_combine = pytest.importorskip("kerchunk.combine")

from http_fixtures import publish  # noqa: E402
from nginx_server import Nginx, find_nginx  # noqa: E402

SHAPE = (6, 9, 10)
CHUNKS = (2, 4, 5)


def field(seed: int, shape=SHAPE, dtype="f4") -> np.ndarray:
    rng = np.random.default_rng(seed)
    t, y, x = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    values = 280 + 10 * np.sin(x / 3.0 + seed) * np.cos(y / 4.0) + t + rng.normal(0, 0.5, shape)
    return values.round(2).astype(dtype)


def write_netcdf4(path: Path) -> None:
    """netCDF4: zlib levels 1-9 with and without shuffle, an uncompressed chunked variable, a
    contiguous one, integers with a _FillValue and a chunk never written, CF time, a group."""
    with netCDF4.Dataset(path, "w") as ds:
        ds.title = "cuzarr references test"
        for name, n in zip(("time", "y", "x"), SHAPE):
            ds.createDimension(name, n)
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "hours since 2000-01-01 00:00"
        t.calendar = "standard"
        t[:] = np.arange(SHAPE[0]) * 6.0
        ds.createVariable("y", "f4", ("y",))[:] = np.linspace(-40, 40, SHAPE[1])
        ds.createVariable("x", "f4", ("x",))[:] = np.linspace(0, 90, SHAPE[2])
        for level in range(1, 10):
            for shuffle in (False, True):
                v = ds.createVariable(f"z{level}{'s' if shuffle else ''}", "f4", ("time", "y", "x"), zlib=True,
                                      complevel=level, shuffle=shuffle, chunksizes=CHUNKS)
                v.units = "K"
                v[:] = field(level * 2 + shuffle)
        ds.createVariable("plain", "f8", ("time", "y", "x"), chunksizes=CHUNKS)[:] = field(50, dtype="f8")
        ds.createVariable("contiguous", "i2", ("y", "x"), contiguous=True)[:] = np.arange(90).reshape(9, 10)
        sparse = ds.createVariable("sparse", "i4", ("time", "y", "x"), zlib=True, chunksizes=CHUNKS, fill_value=-99)
        sparse[0:2, 0:4, 0:5] = np.arange(40).reshape(2, 4, 5)  # one chunk; the others are fill
        packed = ds.createVariable("packed", "i2", ("time", "y", "x"), zlib=True, shuffle=True, chunksizes=CHUNKS)
        packed.scale_factor = 0.01
        packed.add_offset = 280.0
        packed.set_auto_maskandscale(True)
        packed[:] = field(60)
        g = ds.createGroup("sub")
        g.createDimension("n", 7)
        g.createVariable("n", "i4", ("n",))[:] = np.arange(7)
        g.createVariable("w", "f4", ("n",), zlib=True, complevel=6, shuffle=True, chunksizes=(3,))[:] = np.arange(7) / 3


def write_h5netcdf(path: Path) -> None:
    """h5netcdf (h5py): gzip levels with and without shuffle, unlimited time, several dtypes."""
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"time": None, "lat": 5, "lon": 8}
        f.resize_dimension("time", 4)
        t = f.create_variable("time", ("time",), "i8")
        t[:] = np.arange(4)
        t.attrs["units"] = "days since 1990-01-01"
        for level, shuffle, dtype in ((1, False, "f4"), (4, True, "f4"), (9, True, "f8"), (5, True, "i4"), (2, False, "u2")):
            v = f.create_variable(f"v{level}", ("time", "lat", "lon"), dtype, chunks=(2, 3, 4), compression="gzip",
                                  compression_opts=level, shuffle=shuffle)
            v[:] = (field(level, (4, 5, 8)) * (1 if dtype[0] == "f" else 10)).astype(dtype)


FLETCHER32_NAMES = ("checked", "checked_raw", "checked_f8")


def write_fletcher32(path: Path) -> None:
    """netCDF-C puts HDF5's fletcher32 filter first (the checksum is shuffled and compressed with
    the data); the f8 variable leaves a 4-byte tail that the shuffle keeps in place."""
    with netCDF4.Dataset(path, "w") as ds:
        for name, n in zip(("time", "y", "x"), SHAPE):
            ds.createDimension(name, n)
        ds.createVariable("checked", "f4", ("time", "y", "x"), zlib=True, complevel=4, shuffle=True, fletcher32=True,
                          chunksizes=CHUNKS)[:] = field(70)
        ds.createVariable("checked_raw", "i4", ("time", "y", "x"), fletcher32=True,
                          chunksizes=CHUNKS)[:] = field(71).astype("i4")
        ds.createVariable("checked_f8", "f8", ("time", "y", "x"), zlib=True, shuffle=True, fletcher32=True,
                          chunksizes=CHUNKS)[:] = field(72, dtype="f8")


def write_fletcher32_h5py(path: Path) -> None:
    """h5py puts it last: the checksum covers the compressed bytes."""
    with h5py.File(path, "w") as f:
        f.create_dataset("checked", data=field(73), chunks=CHUNKS, compression="gzip", shuffle=True, fletcher32=True)
        f.create_dataset("checked_raw", data=field(74).astype("i4"), chunks=CHUNKS, fletcher32=True)
        f.create_dataset("checked_f8", data=field(75, dtype="f8"), chunks=CHUNKS, compression="gzip",
                         compression_opts=7, shuffle=True, fletcher32=True)


def write_multi(folder: Path) -> list[Path]:
    paths = []
    for k in range(3):
        path = folder / f"part{k}.nc"
        with netCDF4.Dataset(path, "w") as ds:
            ds.createDimension("time", 2)
            ds.createDimension("x", 10)
            t = ds.createVariable("time", "f8", ("time",))
            t.units = "days since 2001-01-01"
            t[:] = [2 * k, 2 * k + 1]
            ds.createVariable("x", "f4", ("x",))[:] = np.arange(10)
            ds.createVariable("air", "f4", ("time", "x"), zlib=True, complevel=3, shuffle=True,
                              chunksizes=(1, 10))[:] = field(80 + k, (2, 1, 10))[:, 0, :]
        paths.append(path)
    return paths


def references(nc: Path, url: str | None = None, **kwargs) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kerchunk's notes on what it skips
        with open(nc, "rb") as f:
            return kerchunk_hdf.SingleHdf5ToZarr(f, url or str(nc), **kwargs).translate()


def fletcher32_references(nc: Path, target: str) -> dict:
    """Version 0 references to the fletcher32 datasets, made from h5py's chunk index: HDF5's
    filters as Zarr v2 filters in the file's pipeline order (the order it encoded with)."""
    codecs = {h5py.h5z.FILTER_FLETCHER32: lambda d, v: {"id": "fletcher32"},
              h5py.h5z.FILTER_SHUFFLE: lambda d, v: {"id": "shuffle", "elementsize": d.dtype.itemsize},
              h5py.h5z.FILTER_DEFLATE: lambda d, v: {"id": "zlib", "level": v[0]}}
    refs = {".zgroup": json.dumps({"zarr_format": 2})}
    with h5py.File(nc, "r") as f:
        for name in FLETCHER32_NAMES:
            d = f[name]
            plist = d.id.get_create_plist()
            filters = []
            for i in range(plist.get_nfilters()):
                code, _, values, _ = plist.get_filter(i)
                filters.append(codecs[code](d, values))
            refs[f"{name}/.zarray"] = json.dumps({
                "zarr_format": 2, "shape": list(d.shape), "chunks": list(d.chunks), "dtype": d.dtype.str,
                "fill_value": None, "order": "C", "filters": filters, "compressor": None})
            refs[f"{name}/.zattrs"] = json.dumps({"_ARRAY_DIMENSIONS": ["time", "y", "x"]})
            for i in range(d.id.get_num_chunks()):
                info = d.id.get_chunk_info(i)
                key = ".".join(str(o // c) for o, c in zip(info.chunk_offset, d.chunks))
                refs[f"{name}/{key}"] = [target, info.byte_offset, info.size]
    return refs


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("references")
    out = {"root": root}
    for name, write in (("netcdf4.nc", write_netcdf4), ("h5netcdf.nc", write_h5netcdf), ("fletcher.nc", write_fletcher32),
                        ("fletcher_h5py.h5", write_fletcher32_h5py)):
        write(root / name)
        out[name] = root / name
    out["multi"] = write_multi(root)
    return out


def write_json(path: Path, refs: dict) -> Path:
    path.write_text(json.dumps(refs))
    return path


def assert_dataset_equals_h5netcdf(got: xr.Dataset, nc: Path, group: str | None = None) -> None:
    with xr.open_dataset(nc, engine="h5netcdf", group=group) as want:
        assert set(got.variables) == set(want.variables)
        for name, var in want.variables.items():
            # kerchunk names a group's own dimensions by their HDF5 path ("sub/n").
            assert tuple(d.rsplit("/", 1)[-1] for d in got[name].dims) == var.dims, name
            assert got[name].dtype == var.dtype, (name, got[name].dtype, var.dtype)
            np.testing.assert_array_equal(np.asarray(got[name].values), var.values, err_msg=name)


# --------------------------------------------------------------------------------------------
# Local files


@pytest.mark.parametrize("nc", ["netcdf4.nc", "h5netcdf.nc"])
@pytest.mark.parametrize("inline", [0, 300])
def test_single_file_references_equal_h5netcdf(files, nc, inline, tmp_path):
    refs = write_json(tmp_path / "refs.json", references(files[nc], inline_threshold=inline))
    with xr.open_dataset(refs, engine="cuzarr", device="cpu") as ds:
        assert_dataset_equals_h5netcdf(ds, files[nc])
        if nc == "netcdf4.nc":
            assert np.issubdtype(ds.time.dtype, np.datetime64)
            assert ds.attrs["title"] == "cuzarr references test"
            assert ds.sparse.values[0, 0, 0] == 0
    if nc == "netcdf4.nc":
        with xr.open_dataset(refs, engine="cuzarr", device="cpu", group="sub") as ds:
            assert_dataset_equals_h5netcdf(ds, files[nc], group="sub")


def test_every_array_equals_h5py(files, tmp_path):
    """cuzarr.open on the references: each array, read whole and in parts, is h5py's."""
    refs = write_json(tmp_path / "refs.json", references(files["netcdf4.nc"], inline_threshold=0))
    root = cuzarr.open(refs)
    with h5py.File(files["netcdf4.nc"], "r") as f:
        for name in ["time", "plain", "contiguous", "sparse", "packed"] + [f"z{k}{s}" for k in range(1, 10) for s in ("", "s")]:
            a = root[name]
            np.testing.assert_array_equal(a[...], f[name][...], err_msg=name)
            if a.ndim == 3:
                np.testing.assert_array_equal(a[1:5, 3, ::3], f[name][1:5, 3, ::3], err_msg=name)
        np.testing.assert_array_equal(root["sub/w"][...], f["sub/w"][...])


def test_dict_and_reference_url_forms(files, tmp_path):
    refs = references(files["h5netcdf.nc"])
    path = write_json(tmp_path / "refs.json", refs)
    with xr.open_dataset(refs, engine="cuzarr", device="cpu") as ds:
        assert_dataset_equals_h5netcdf(ds, files["h5netcdf.nc"])
    with xr.open_dataset("reference://", engine="cuzarr", device="cpu", storage_options={"fo": str(path)}) as ds:
        assert_dataset_equals_h5netcdf(ds, files["h5netcdf.nc"])
    # Version 0: the refs alone; values as kerchunk may leave them in memory (bytes, objects).
    v0 = dict(refs["refs"])
    v0[".zgroup"] = {"zarr_format": 2}
    with xr.open_dataset("reference://", engine="cuzarr", device="cpu", storage_options={"fo": v0}) as ds:
        assert_dataset_equals_h5netcdf(ds, files["h5netcdf.nc"])
    a = cuzarr.open(refs)["v4"]
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(a))[...], a[...])


def test_multi_file_references_equal_h5netcdf(files, tmp_path):
    singles = [references(p, inline_threshold=0) for p in files["multi"]]
    combined = kerchunk_combine.MultiZarrToZarr(singles, concat_dims=["time"], identical_dims=["x"]).translate()
    refs = write_json(tmp_path / "combined.json", combined)
    with xr.open_dataset(refs, engine="cuzarr", device="cpu") as ds, \
            xr.open_mfdataset(files["multi"], engine="h5netcdf", combine="by_coords") as want:
        assert ds.air.shape == (6, 10)
        for name in want.variables:
            np.testing.assert_array_equal(ds[name].values, want[name].values, err_msg=name)


@pytest.mark.filterwarnings("ignore:The 'fastparquet' engine is deprecated")  # fsspec's writer asks for it
@pytest.mark.parametrize("record_size", [7, 64])
def test_parquet_references_equal_h5netcdf(files, record_size, tmp_path):
    """kerchunk.df writes the Parquet form (records of `record_size` chunks; small chunks inline)."""
    kerchunk_df = pytest.importorskip("kerchunk.df")
    pytest.importorskip("pyarrow")
    pytest.importorskip("fastparquet")  # fsspec writes the records with it
    refs = references(files["netcdf4.nc"], inline_threshold=200)
    kerchunk_df.refs_to_dataframe(refs, str(tmp_path / "refs.parq"), record_size=record_size)
    with xr.open_dataset(tmp_path / "refs.parq", engine="cuzarr", device="cpu") as ds:
        assert_dataset_equals_h5netcdf(ds, files["netcdf4.nc"])
    with xr.open_dataset("reference://", engine="cuzarr", device="cpu", group="sub",
                         storage_options={"fo": str(tmp_path / "refs.parq")}) as ds:
        assert_dataset_equals_h5netcdf(ds, files["netcdf4.nc"], group="sub")
    singles = [references(p, inline_threshold=0) for p in files["multi"]]
    combined = kerchunk_combine.MultiZarrToZarr(singles, concat_dims=["time"], identical_dims=["x"]).translate()
    kerchunk_df.refs_to_dataframe(combined, str(tmp_path / "multi.parq"), record_size=record_size)
    with xr.open_dataset(tmp_path / "multi.parq", engine="cuzarr", device="cpu") as ds, \
            xr.open_mfdataset(files["multi"], engine="h5netcdf", combine="by_coords") as want:
        for name in want.variables:
            np.testing.assert_array_equal(ds[name].values, want[name].values, err_msg=name)


def test_relative_targets_resolve_against_the_references_file(files, tmp_path):
    shutil.copy(files["h5netcdf.nc"], tmp_path / "data.nc")
    refs = references(tmp_path / "data.nc", url="data.nc")
    (tmp_path / "elsewhere").mkdir()
    path = write_json(tmp_path / "refs.json", refs)
    np.testing.assert_array_equal(cuzarr.open(path)["v9"][...], h5py.File(files["h5netcdf.nc"])["v9"][...])


@pytest.mark.parametrize("nc", ["fletcher.nc", "fletcher_h5py.h5"])
def test_fletcher32_is_verified_and_stripped(files, nc, tmp_path):
    refs = write_json(tmp_path / "refs.json", fletcher32_references(files[nc], str(files[nc])))
    root = cuzarr.open(refs)
    with h5py.File(files[nc], "r") as f:
        for name in FLETCHER32_NAMES:
            np.testing.assert_array_equal(root[name][...], f[name][...], err_msg=name)


@pytest.mark.parametrize("nc, name", [("fletcher.nc", "checked_raw"), ("fletcher_h5py.h5", "checked")])
def test_fletcher32_mismatch_names_array_chunk_and_codec(files, nc, name, tmp_path):
    """One flipped byte in a chunk of a copy (whose checksum covers the stored bytes)."""
    broken = tmp_path / "broken.nc"
    shutil.copy(files[nc], broken)
    refs = fletcher32_references(broken, str(broken))
    _, offset, size = refs[f"{name}/1.1.0"]
    data = bytearray(broken.read_bytes())
    data[offset + size // 3] ^= 0x10
    broken.write_bytes(bytes(data))
    a = cuzarr.open(write_json(tmp_path / "broken.json", refs))[name]
    with pytest.raises(cuzarr.CodecError, match=rf"(?s){name}.*'1\.1\.0'.*fletcher32.*checksum"):
        a[...]
    with h5py.File(files[nc], "r") as f:
        np.testing.assert_array_equal(a[0:2, 0:4, :], f[name][0:2, 0:4, :])


def test_missing_and_damaged_references_are_errors(files, tmp_path):
    refs = references(files["h5netcdf.nc"], inline_threshold=0)
    key = next(k for k in refs["refs"] if k.startswith("v4/") and not k.split("/")[-1].startswith("."))
    gone = dict(refs, refs={**refs["refs"], key: [str(tmp_path / "gone.nc"), 0, 100]})
    with pytest.raises(cuzarr.StoreError, match=f"reference '{key}'.*does not exist"):
        cuzarr.open(write_json(tmp_path / "gone.json", gone))["v4"][...]
    past = dict(refs, refs={**refs["refs"], key: [str(files["h5netcdf.nc"]), 10**9, 100]})
    with pytest.raises(cuzarr.StoreError, match=f"reference '{key}'"):
        cuzarr.open(write_json(tmp_path / "past.json", past))["v4"][...]
    # A key the references lack is a missing chunk: the fill value, as Zarr says.
    absent = dict(refs, refs={k: v for k, v in refs["refs"].items() if k != key})
    got = cuzarr.open(write_json(tmp_path / "absent.json", absent))["v4"][...]
    assert np.isnan(got).any() or (got == 0).any()
    with pytest.raises(cuzarr.MetadataError, match="bad.json"):
        cuzarr.open(write_json(tmp_path / "bad.json", {"version": 1, "refs": {"a": ["f", 0, -1]}}))
    with pytest.raises(FileNotFoundError):
        xr.open_dataset(tmp_path / "none.json", engine="cuzarr")
    with pytest.raises(ValueError, match="reference://"):
        cuzarr.open("reference://")


# --------------------------------------------------------------------------------------------
# Over HTTP (nginx): targets are URLs, or the references file itself is served


needs_nginx = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (scripts/bootstrap installs it)")


@pytest.fixture(scope="module")
def nginx(files, tmp_path_factory):
    if find_nginx() is None or not cuzarr._core.http_built():
        pytest.skip("needs nginx and a build with the HTTP store")
    www = tmp_path_factory.mktemp("www-references")
    for name in ("netcdf4.nc", "h5netcdf.nc"):
        publish(www, name, files[name])
    with Nginx(www, tmp_path_factory.mktemp("nginx-references")) as server:
        server.www = www
        yield server


@needs_nginx
def test_http_targets_equal_h5netcdf_and_merge_ranges(files, nginx, tmp_path):
    refs = references(files["netcdf4.nc"], url=f"{nginx.url}/netcdf4.nc", inline_threshold=0)
    path = write_json(tmp_path / "refs.json", refs)
    with xr.open_dataset(path, engine="cuzarr", device="cpu",
                         storage_options={"remote_protocol": "http", "remote_options": {"concurrency": 8}}) as ds:
        assert_dataset_equals_h5netcdf(ds, files["netcdf4.nc"])
    # The chunks of one variable lie together in the file: far fewer requests than chunks.
    chunks = sum(1 for k in refs["refs"] if k.startswith("z5s/") and not k.endswith((".zarray", ".zattrs")))
    a = cuzarr.open(path, storage_options={"remote_protocol": "http"})["z5s"]
    mark = nginx.log_size()
    a[...]
    requests = [r for r in nginx.requests(mark) if r.path == "/netcdf4.nc"]
    assert 1 <= len(requests) < chunks, (len(requests), chunks)


@needs_nginx
@pytest.mark.filterwarnings("ignore:The 'fastparquet' engine is deprecated")
def test_parquet_references_served_over_http(files, nginx, tmp_path):
    """The Parquet form behind a URL: .zmetadata and the records fetched by cuzarr's HTTP store."""
    kerchunk_df = pytest.importorskip("kerchunk.df")
    pytest.importorskip("pyarrow")
    pytest.importorskip("fastparquet")
    refs = references(files["netcdf4.nc"], inline_threshold=200)
    kerchunk_df.refs_to_dataframe(refs, str(tmp_path / "refs.parq"), record_size=16)
    publish(nginx.www, "http-refs.parq", tmp_path / "refs.parq")
    with xr.open_dataset(f"{nginx.url}/http-refs.parq", engine="cuzarr", device="cpu") as ds:
        assert_dataset_equals_h5netcdf(ds, files["netcdf4.nc"])
    with pytest.raises(FileNotFoundError, match="no-such.parq"):
        cuzarr.open(f"{nginx.url}/no-such.parq")


@needs_nginx
def test_references_file_served_over_http(files, nginx):
    refs = references(files["h5netcdf.nc"], url="h5netcdf.nc", inline_threshold=0)  # relative targets
    write_json(nginx.www / "h5refs.json", refs)
    with xr.open_dataset(f"{nginx.url}/h5refs.json", engine="cuzarr", device="cpu") as ds:
        assert_dataset_equals_h5netcdf(ds, files["h5netcdf.nc"])
    with pytest.raises(FileNotFoundError):
        cuzarr.open(f"{nginx.url}/none.json")


def test_gcs_targets_with_their_cloud_options(files, tmp_path):
    """remote_protocol "gs" sends remote_options to the targets as GCS options (a bearer token)."""
    import time

    from cloud_server import GcsServer

    bucket = tmp_path / "bucket"
    bucket.mkdir()
    shutil.copyfile(files["netcdf4.nc"], bucket / "netcdf4.nc")
    token = "ya29.cuzarr-references-token"
    server = GcsServer().start()
    try:
        server.buckets["data"] = bucket
        server.tokens[token] = time.time() + 3600
        refs = references(files["netcdf4.nc"], url="gs://data/netcdf4.nc", inline_threshold=0)
        path = write_json(tmp_path / "refs.json", refs)
        good = {"remote_protocol": "gs", "remote_options": {"token": token, "endpoint_url": server.url}}
        with xr.open_dataset(path, engine="cuzarr", device="cpu", storage_options=good) as ds:
            assert_dataset_equals_h5netcdf(ds, files["netcdf4.nc"])
        bad = {"remote_protocol": "gs", "remote_options": {"token": "ya29.wrong", "endpoint_url": server.url}}
        with pytest.raises(cuzarr.StoreError) as e:
            cuzarr.open(path, storage_options=bad)["z5s"][...]
        assert "gs://data" in str(e.value) and "ya29.wrong" not in str(e.value)
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------
# GPU reads (make test-gpu; skipped without a GPU, and where netCDF4/kerchunk are not installed)


@pytest.mark.gpu
def test_gpu_reads_equal_host_reads(files, tmp_path):
    if cuzarr._core.cuda_device_count() == 0:
        pytest.skip("no GPU (or a build without CUDA)")
    cupy = pytest.importorskip("cupy")
    cases = [(write_json(tmp_path / "n.json", references(files["netcdf4.nc"], inline_threshold=300)), None),
             (write_json(tmp_path / "h.json", references(files["h5netcdf.nc"], inline_threshold=0)), None)]
    for nc in ("fletcher.nc", "fletcher_h5py.h5"):
        cases.append((write_json(tmp_path / f"{nc}.json", fletcher32_references(files[nc], str(files[nc]))),
                      FLETCHER32_NAMES))
    for path, names in cases:
        cpu, gpu = cuzarr.open(path, device="cpu"), cuzarr.open(path, device="cuda")
        for name in names or [n for n in cpu.array_keys() if cpu[n].dtype.kind in "fiu"]:
            got = gpu[name][...]
            assert isinstance(got, cupy.ndarray), (path, name)
            np.testing.assert_array_equal(cupy.asnumpy(got), cpu[name][...], err_msg=f"{path}::{name}")
            if cpu[name].ndim == 3:
                np.testing.assert_array_equal(cupy.asnumpy(gpu[name][1:5, ::2, 3]), cpu[name][1:5, ::2, 3])
