"""Arrays and groups pickle by location (root + path) and read the same data after unpickling,
also in another process."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

import cuzarr
import stores
from stores import assert_same_array

PICKLE_ARRAYS = ["zarr_v2_float64_be", "zarr_v3_transpose", "ts_v3_complex64_be", "zarr_v3_0d",
                 "zarr_v2_missing_nan", "zarr_v3_dimnames"]


@pytest.mark.parametrize("name", PICKLE_ARRAYS)
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_array_roundtrip(store_factory, name, protocol):
    a = cuzarr.open(store_factory.path(name))
    b = pickle.loads(pickle.dumps(a, protocol=protocol))
    assert isinstance(b, cuzarr.Array)
    assert (b.shape, b.chunks, b.dtype, b.zarr_format) == (a.shape, a.chunks, a.dtype, a.zarr_format)
    assert b.attrs == a.attrs and b.dimension_names == a.dimension_names
    assert b.fill_value.tobytes() == a.fill_value.tobytes()
    assert_same_array(b[...], a[...])
    if a.ndim:
        key = (slice(None, None, -2),) + (np.array([0, 0, 1]),) * (a.ndim > 1)
        assert_same_array(b[key], a[key])


@pytest.mark.parametrize("name", list(stores.GROUP_CASES))
def test_group_and_children_roundtrip(store_factory, name):
    path = store_factory.path(name)
    g = cuzarr.open(path)
    g2 = pickle.loads(pickle.dumps(g))
    assert isinstance(g2, cuzarr.Group)
    assert g2.keys() == g.keys() and g2.attrs == g.attrs
    assert g2.consolidated == g.consolidated
    for member in stores.GROUP_ARRAYS:
        child = g[member]
        child2 = pickle.loads(pickle.dumps(child))
        assert isinstance(child2, cuzarr.Array)
        assert child2.path == child.path == member
        assert child2.attrs == child.attrs
        assert_same_array(child2[...], child[...])
        assert_same_array(g2[member][...], child[...])
    # A subgroup, and a child reached through it.
    sub = pickle.loads(pickle.dumps(g["sub"]))
    assert sub.path == "sub" and sub.keys() == ["c", "deeper"]
    b = pickle.loads(pickle.dumps(g["sub"]["deeper"]["b"]))
    assert b.path == "sub/deeper/b"
    assert_same_array(b[...], g["sub/deeper/b"][...])


def test_array_opened_inside_store_roundtrip(store_factory):
    path = store_factory.path("zarr_v3_group_consolidated") / "sub" / "deeper"
    g = cuzarr.open(path)
    b = g["b"]
    b2 = pickle.loads(pickle.dumps(b))
    assert_same_array(b2[...], b[...])
    direct = cuzarr.open(path / "b")
    assert_same_array(pickle.loads(pickle.dumps(direct))[...], b[...])


def test_consolidated_choice_survives_pickle(store_factory, tmp_path):
    """An array that only the consolidated metadata describes still opens after unpickling; a
    group opened with consolidated=False stays so."""
    import shutil

    copy = tmp_path / "c.zarr"
    shutil.copytree(store_factory.path("zarr_v3_group_consolidated"), copy)
    want = cuzarr.open(copy)["temp"][...]
    (copy / "temp" / "zarr.json").unlink()
    temp = pickle.loads(pickle.dumps(cuzarr.open(copy)["temp"]))
    assert_same_array(temp[...], want)
    plain = pickle.loads(pickle.dumps(cuzarr.open(copy, consolidated=False)))
    assert not plain.consolidated
    assert "temp" not in plain


def test_unpickle_in_another_process(store_factory, tmp_path):
    g = cuzarr.open(store_factory.path("zarr_v2_group"))
    blob = tmp_path / "arr.pkl"
    blob.write_bytes(pickle.dumps(g["sub/c"]))
    out = tmp_path / "out.npy"
    code = (
        "import pickle, sys, numpy as np\n"
        f"a = pickle.loads(open({str(blob)!r}, 'rb').read())\n"
        f"np.save({str(out)!r}, a[...])\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert_same_array(np.load(out), g["sub/c"][...])
