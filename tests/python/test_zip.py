"""Stores inside .zip files (written with Python's zipfile: stored, deflated, zip64 forced; keys at
the archive's root or under one folder) read exactly as the same stores on disk."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

import cuzarr
import stores
from stores import assert_same_array, zip_store

pytestmark = pytest.mark.skipif(not cuzarr._core.zip_built(), reason="this build of cuzarr has no zip store (libzip)")

ARRAYS = stores.array_case_names()
LAYOUTS = ["stored", "deflated", "zip64"]


@pytest.fixture(scope="module")
def zip_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("zips")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", ARRAYS)
def test_array_in_zip_equals_local(name, layout, store_factory, zip_dir):
    path = store_factory.path(name)
    archive = zip_store(path, zip_dir / f"{name}-{layout}.zip", layout)
    local = cuzarr.open(path)
    z = cuzarr.open(archive)
    assert z.shape == local.shape and z.dtype == local.dtype and z.attrs == local.attrs
    assert_same_array(z[...], local[...])
    if local.ndim and local.size:
        key = tuple(slice(n // 2, None, 3) for n in local.shape)
        assert_same_array(z[key], local[key])


def test_zip64_is_really_zip64(store_factory, zip_dir):
    archive = zip_store(store_factory.path(ARRAYS[0]), zip_dir / "check64.zip", "zip64")
    raw = archive.read_bytes()
    # The first local header: version 4.5 needed, sizes 0xFFFFFFFF, a zip64 extra field (id 1).
    sig, version, _, _, _, _, _, csize, usize, name_len, _ = struct.unpack("<IHHHHHIIIHH", raw[:30])
    assert sig == 0x04034B50 and version == 45 and csize == usize == 0xFFFFFFFF
    assert raw[30 + name_len:32 + name_len] == b"\x01\x00"


@pytest.mark.parametrize("layout", ["stored", "deflated"])
@pytest.mark.parametrize("name", list(stores.GROUP_CASES))
def test_group_in_zip(name, layout, store_factory, zip_dir):
    path = store_factory.path(name)
    archive = zip_store(path, zip_dir / f"{name}-{layout}-folder.zip", layout, folder="data.zarr")
    local = cuzarr.open(path)
    z = cuzarr.open(archive)  # the single top folder is the store's root
    assert z.attrs == local.attrs
    # A zip can be listed: groups without consolidated metadata list their members too.
    assert sorted(n for n, _ in z.arrays()) == sorted(n for n, _ in local.arrays())
    for array in stores.GROUP_ARRAYS:
        assert_same_array(z[array][...], local[array][...])


@pytest.mark.parametrize("layout", ["stored", "deflated"])
def test_sharded_in_zip(layout, zip_dir, tmp_path):
    zarr = pytest.importorskip("zarr")
    from zarr.codecs import BytesCodec, ShardingCodec, ZstdCodec

    data = stores.sample_data("int32", (40, 30), 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = zarr.create_array(str(tmp_path / "s.zarr"), shape=data.shape, dtype=data.dtype, chunks=(20, 15),
                              serializer=ShardingCodec(chunk_shape=(5, 5), codecs=[BytesCodec(), ZstdCodec()]),
                              compressors=None)
        a[...] = data
    z = cuzarr.open(zip_store(tmp_path / "s.zarr", zip_dir / f"sharded-{layout}.zip", layout))
    assert_same_array(z[...], data)
    assert_same_array(z[3:17, 4:29:2], data[3:17, 4:29:2])


def test_xarray_open_zip(zip_dir, tmp_path):
    xr = pytest.importorskip("xarray")
    import test_backend as tb

    path = tmp_path / "air.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tb.demo_dataset().to_zarr(path, mode="w", zarr_format=3, consolidated=False,
                                  encoding=tb._encoding(3, "zstd"))
    archive = zip_store(path, zip_dir / "air.zip", "deflated")
    local = xr.open_dataset(path, engine="cuzarr", device="cpu")
    z = xr.open_dataset(archive, engine="cuzarr", device="cpu")
    xr.testing.assert_identical(z.load(), local.load())


def test_read_leaves_the_zip_unchanged(store_factory, zip_dir):
    archive = zip_store(store_factory.path(ARRAYS[0]), zip_dir / "same.zip", "stored")
    before = (archive.stat().st_mtime_ns, archive.read_bytes())
    cuzarr.open(archive)[...]
    assert (archive.stat().st_mtime_ns, archive.read_bytes()) == before


def test_not_a_zip(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(cuzarr.StoreError, match="zip"):
        cuzarr.open(bad)


def test_missing_chunk_in_zip_is_fill(tmp_path, zip_dir):
    zarr = pytest.importorskip("zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(str(tmp_path / "h.zarr"), shape=(6, 6), chunks=(3, 3), dtype="f8", fill_value=2.5)
        z[0:3, 0:3] = 1.0
    got = cuzarr.open(zip_store(tmp_path / "h.zarr", zip_dir / "holes.zip", "deflated"))[...]
    want = np.full((6, 6), 2.5)
    want[0:3, 0:3] = 1.0
    assert_same_array(got, want)
