"""Icechunk repositories read natively (docs/references.md): repositories written here by icechunk
with zarr-python (native, inline and missing chunks, a sharded array, branches,
tags and snapshots) and by VirtualiZarr (virtual chunks in a NetCDF4 file); every read through
cuzarr must equal icechunk's own, and damaged repositories must give errors naming what is wrong.
"""

from __future__ import annotations

import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import cuzarr

icechunk = pytest.importorskip("icechunk")
zarr = pytest.importorskip("zarr")

if not cuzarr._core.icechunk_built():
    pytest.skip("a build without Icechunk support (CUZARR_ICECHUNK)", allow_module_level=True)

pytestmark = pytest.mark.filterwarnings("ignore:Numcodecs codecs are not in the Zarr version 3 specification")

SHAPE = (6, 40, 50)


def field(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t, y, x = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    return (280 + 10 * np.sin(x / 7 + seed) * np.cos(y / 5) + t + rng.normal(0, 0.5, SHAPE)).round(2).astype("f4")


def storage(path: Path):
    return icechunk.local_filesystem_storage(str(path))


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> dict:
    """main: two commits (tag v1 at the first); dev: a branch from the first with its own change."""
    root = tmp_path_factory.mktemp("icechunk") / "repo"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = icechunk.Repository.create(storage(root))
        s = r.writable_session("main")
        g = zarr.group(store=s.store, zarr_format=3, attributes={"title": "cuzarr icechunk test"})
        temp = g.create_array("temp", shape=SHAPE, chunks=(2, 20, 25), dtype="f4", dimension_names=["time", "y", "x"],
                              fill_value=np.nan, attributes={"units": "K"})
        temp[:4] = field(1)[:4]  # the last two time steps are never written: missing chunks
        g.create_array("time", shape=(SHAPE[0],), dtype="i8", dimension_names=["time"],
                       attributes={"units": "hours since 2000-01-01", "calendar": "standard"})[:] = np.arange(6) * 6
        g.create_array("y", shape=(SHAPE[1],), dtype="f4", dimension_names=["y"])[:] = np.linspace(-40, 40, SHAPE[1])
        g.create_array("x", shape=(SHAPE[2],), dtype="f4", dimension_names=["x"])[:] = np.linspace(0, 90, SHAPE[2])
        sub = g.create_group("sub")
        sub.create_array("sharded", shape=(64, 64), chunks=(8, 8), shards=(32, 32), dtype="i4",
                         dimension_names=["a", "b"])[:] = np.arange(64 * 64).reshape(64, 64)
        sub.create_array("small", shape=(30, 30), chunks=(10, 10), dtype="u2",
                         dimension_names=["a2", "b2"])[:] = np.arange(900).reshape(30, 30)  # inline chunks
        first = s.commit("first")
        r.create_tag("v1", first)
        s = r.writable_session("main")
        zarr.open_group(store=s.store)["temp"][0] = -1.0
        second = s.commit("second")
        r.create_branch("dev", first)
        s = r.writable_session("dev")
        zarr.open_group(store=s.store)["sub/sharded"][0:8, 0:8] = 7
        dev = s.commit("on dev")
    return {"root": root, "repo": r, "first": first, "second": second, "dev": dev}


def icechunk_group(r, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zarr.open_group(store=r.readonly_session(**kwargs).store, mode="r")


ARRAYS = ["temp", "time", "y", "x", "sub/sharded", "sub/small"]


def assert_same_as_icechunk(got, want) -> None:
    for name in ARRAYS:
        np.testing.assert_array_equal(got[name][...], want[name][...], err_msg=name)
        if got[name].ndim == 3:
            np.testing.assert_array_equal(got[name][1:5, 3, ::3], want[name][1:5, 3, ::3], err_msg=name)


@pytest.mark.parametrize("which", ["main", "tag", "snapshot", "dev"])
def test_branches_tags_and_snapshots_equal_icechunk(repo, which):
    kwargs = {"main": {}, "tag": {"tag": "v1"}, "snapshot": {"snapshot_id": repo["first"]}, "dev": {"branch": "dev"}}[which]
    want = icechunk_group(repo["repo"], **({"branch": "main"} if not kwargs else
                                           {"snapshot_id": repo["first"]} if which == "snapshot" else kwargs))
    got = cuzarr.open_icechunk(repo["root"], **kwargs)
    assert_same_as_icechunk(got, want)
    assert got.attrs["title"] == "cuzarr icechunk test"
    assert np.isnan(got["temp"][5]).all()  # never written: the fill value
    if which == "main":
        assert (got["temp"][0] == -1).all()
        assert repo["second"] in repr(got)


def test_xarray_and_dask_read_the_snapshot_they_opened(repo, tmp_path):
    root = tmp_path / "moving"
    shutil.copytree(repo["root"], root)
    with xr.open_dataset(root, engine="cuzarr", device="cpu", chunks={}) as ds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = xr.open_zarr(icechunk.Repository.open(storage(root)).readonly_session(branch="main").store,
                                consolidated=False)
        xr.testing.assert_identical(ds.load(), want.load())
        assert np.issubdtype(ds.time.dtype, np.datetime64)
        a = cuzarr.open(root)["temp"]
        before = a[...]
        # The branch moves on; what was opened (and its pickles, and dask's tasks) stays put.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = icechunk.Repository.open(storage(root)).writable_session("main")
            zarr.open_group(store=s.store)["temp"][1] = 99.0
            s.commit("third")
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(a))[...], before)
        np.testing.assert_array_equal(ds.temp.values, want.temp.values)
    assert (cuzarr.open(root)["temp"][1] == 99).all()


def virtual_repository(folder: Path):
    """A new repository at folder/repo whose virtual chunks may point at files in `folder`."""
    prefix = f"file://{folder}/"
    config = icechunk.RepositoryConfig.default()
    config.set_virtual_chunk_container(icechunk.VirtualChunkContainer(prefix, icechunk.local_filesystem_store(str(folder))))
    return icechunk.Repository.create(storage(folder / "repo"), config=config,
                                      authorize_virtual_chunk_access=icechunk.containers_credentials({prefix: None}))


def test_virtual_chunks_from_virtualizarr(tmp_path):
    """A NetCDF4 file's chunks committed as virtual chunks (VirtualiZarr's to_icechunk)."""
    pytest.importorskip("virtualizarr")
    pytest.importorskip("h5netcdf")
    from test_references import write_netcdf4
    from test_virtualizarr import virtual

    nc = tmp_path / "data.nc"
    write_netcdf4(nc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = virtual_repository(tmp_path).writable_session("main")
        virtual(nc).vz.to_icechunk(s.store)
        s.commit("virtual")
    with xr.open_dataset(tmp_path / "repo", engine="cuzarr", device="cpu") as ds, \
            xr.open_dataset(nc, engine="h5netcdf") as want:
        assert set(ds.variables) == set(want.variables)
        for name, var in want.variables.items():
            np.testing.assert_array_equal(ds[name].values, var.values, err_msg=name)
    # A virtual chunk whose file is gone is an error naming the chunk and the file, never zeros.
    nc.rename(tmp_path / "moved.nc")
    with pytest.raises(cuzarr.StoreError, match=r"z3s/c/.*data\.nc"):
        cuzarr.open(tmp_path / "repo")["z3s"][...]


def test_virtual_chunks_of_a_file_changed_since_are_errors(tmp_path):
    """Icechunk keeps what a virtual chunk's file was (its last modification, or ETag) when the
    reference was written; a file modified after that is an error naming the chunk, as icechunk's
    own reader makes it, never the file's new bytes."""
    import datetime as dt

    import zarr

    data = np.arange(64, dtype="<f4")
    raw = tmp_path / "raw.bin"
    raw.write_bytes(data.tobytes())
    prefix = f"file://{tmp_path}/"
    mtime = dt.datetime.fromtimestamp(raw.stat().st_mtime, tz=dt.timezone.utc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = virtual_repository(tmp_path).writable_session("main")
        g = zarr.group(store=s.store)
        for name in ["fresh", "stale"]:
            g.create_array(name, shape=(64,), chunks=(32,), dtype="<f4", compressors=None, fill_value=0)
        for k in range(2):
            where = dict(offset=128 * k, length=128)
            s.store.set_virtual_ref(f"fresh/c/{k}", f"{prefix}raw.bin", checksum=mtime + dt.timedelta(hours=1), **where)
            s.store.set_virtual_ref(f"stale/c/{k}", f"{prefix}raw.bin", checksum=mtime - dt.timedelta(hours=1), **where)
        s.commit("virtual with checksums")
    root = cuzarr.open(tmp_path / "repo")
    np.testing.assert_array_equal(root["fresh"][...], data)
    with pytest.raises(cuzarr.StoreError, match=r"stale/c/0.*raw\.bin.*modified .*after the reference was written"):
        root["stale"][:32]
    with pytest.raises(cuzarr.StoreError, match=r"stale/c/1.*modified"):
        root["stale"][32:]
    # Icechunk's reader refuses the same chunk.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session = icechunk.Repository.open(storage(tmp_path / "repo"), authorize_virtual_chunk_access=
                                           icechunk.containers_credentials({prefix: None})).readonly_session("main")
        with pytest.raises(Exception):
            zarr.open_array(session.store, path="stale", mode="r")[...]


def test_damaged_repositories_are_errors(repo, tmp_path):
    root = tmp_path / "damaged"
    shutil.copytree(repo["root"], root)
    with pytest.raises(cuzarr.KeyNotFoundError, match="no tag 'nope'"):
        cuzarr.open_icechunk(root, tag="nope")
    with pytest.raises(cuzarr.KeyNotFoundError, match="no branch 'gone'"):
        cuzarr.open_icechunk(root, branch="gone")
    with pytest.raises(cuzarr.KeyNotFoundError, match="no such snapshot"):
        cuzarr.open_icechunk(root, snapshot_id="0" * 20)
    with pytest.raises(cuzarr.MetadataError, match="not a snapshot id"):
        cuzarr.open_icechunk(root, snapshot_id="not-an-id")
    with pytest.raises(ValueError, match="one of"):
        cuzarr.open_icechunk(root, tag="v1", branch="main")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        icechunk.Repository.open(storage(root)).delete_tag("v1")
    with pytest.raises(cuzarr.KeyNotFoundError, match="tag 'v1' was deleted"):
        cuzarr.open_icechunk(root, tag="v1")
    with pytest.raises(cuzarr.KeyNotFoundError, match="not an Icechunk repository"):
        cuzarr.open_icechunk(tmp_path)
    # A snapshot file with a damaged body, then one that is not an Icechunk file at all.
    snapshot = root / "snapshots" / repo["second"]
    good = snapshot.read_bytes()
    snapshot.write_bytes(good[:60] + bytes(b ^ 0x55 for b in good[60:90]) + good[90:])
    with pytest.raises(cuzarr.MetadataError, match=f"snapshots/{repo['second']}"):
        cuzarr.open_icechunk(root)
    snapshot.write_bytes(b"PK\x03\x04" + good[4:])
    with pytest.raises(cuzarr.MetadataError, match="not an Icechunk file"):
        cuzarr.open_icechunk(root)
    snapshot.write_bytes(good)
    # A manifest the snapshot needs, missing.
    for manifest in (root / "manifests").iterdir():
        manifest.unlink()
    with pytest.raises(cuzarr.KeyNotFoundError, match="manifests/"):
        cuzarr.open_icechunk(root)
    with pytest.raises(NotImplementedError, match="mode='r'"):
        cuzarr.open(repo["root"], mode="r+")


def test_base32_ids_match_file_names(repo):
    """Icechunk names files by Crockford base32 of their ids: ours must spell them the same."""
    names = {p.name for p in (repo["root"] / "snapshots").iterdir()}
    assert {repo["first"], repo["second"], repo["dev"]} <= names
    for name in names:
        assert len(name) == 20 and set(name) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
