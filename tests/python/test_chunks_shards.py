"""Chunk and shard shapes as zarr-python reports them, and a listing that survives bad nodes.

``Array.chunks`` is the inner chunk shape of a sharded array (``sharding_indexed`` its only
codec) and ``Array.shards`` the shard shape; otherwise ``chunks`` is the grid's and ``shards`` is
None. xarray's encoding (``chunks``, ``preferred_chunks``, ``shards``) must match engine="zarr".
``cuzarr info`` must list every node of a hierarchy and mark those it cannot open, with the reason.
"""

from __future__ import annotations

import json
import subprocess
import warnings

import numpy as np
import pytest
import xarray as xr
import zarr
from zarr.codecs import BytesCodec, ShardingCodec, ZstdCodec

import cuzarr


def _write(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(str(path), shape=(12, 20), dtype="int16", fill_value=0, **kwargs)
        z[:] = np.arange(240, dtype="int16").reshape(12, 20)
    return z


LAYOUTS = {
    "v2": dict(chunks=(4, 5), zarr_format=2),
    "v3": dict(chunks=(4, 5)),
    "v3_sharded": dict(chunks=(2, 5), shards=(4, 10)),
    # sharding_indexed followed by another codec: zarr-python does not call this sharded.
    "v3_sharding_then_codec": dict(
        chunks=(4, 10),
        serializer=ShardingCodec(chunk_shape=(2, 5), codecs=[BytesCodec()]),
        compressors=[ZstdCodec(level=1)],
    ),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_chunks_and_shards_match_zarr_python(tmp_path, layout):
    z = _write(tmp_path / "a.zarr", **LAYOUTS[layout])
    a = cuzarr.open(tmp_path / "a.zarr", device="cpu")
    assert a.chunks == tuple(z.chunks)
    assert a.shards == (None if z.shards is None else tuple(z.shards))
    np.testing.assert_array_equal(a[...], z[...])


def test_xarray_encoding_of_a_sharded_variable_matches_engine_zarr(tmp_path):
    path = tmp_path / "ds.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = xr.Dataset({"v": (("y", "x"), np.arange(240, dtype="int16").reshape(12, 20))})
        ds.to_zarr(path, encoding={"v": {"chunks": (2, 5), "shards": (4, 10)}}, consolidated=False)
        ref = xr.open_dataset(path, engine="zarr", consolidated=False)
    got = xr.open_dataset(path, engine="cuzarr", device="cpu")
    for key in ("chunks", "preferred_chunks", "shards"):
        assert got.v.encoding[key] == ref.v.encoding[key], key
    assert got.v.encoding["chunks"] == (2, 5) and got.v.encoding["shards"] == (4, 10)


def test_info_lists_unreadable_nodes_with_the_reason(tmp_path, cuzarr_cli):
    root = tmp_path / "mixed.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = zarr.open_group(str(root), mode="w", zarr_format=3)
        g.create_array("good", shape=(4,), dtype="int8", fill_value=0)
        g.create_array("also_good", shape=(3,), chunks=(1,), shards=(3,), dtype="int8", fill_value=0)
    bad = root / "bad"
    bad.mkdir()
    (bad / "zarr.json").write_text(json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "float64",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4]}},
        "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
        "codecs": [{"name": "numcodecs.pcodec", "configuration": {}}],
    }))
    tree = subprocess.run([cuzarr_cli, "info", root], capture_output=True, text=True, timeout=60)
    assert tree.returncode == 0, tree.stderr
    lines = tree.stdout.splitlines()
    assert any(ln.strip().startswith("good  int8 (4,)") for ln in lines), tree.stdout
    assert any("also_good  int8 (3,) chunks (1,) shards (3,)" in ln for ln in lines), tree.stdout
    bad_line = [ln for ln in lines if ln.strip().startswith("bad  ")]
    assert bad_line and "unreadable" in bad_line[0] and "numcodecs.pcodec" in bad_line[0] and "pcodec library" in bad_line[0]
    doc = json.loads(subprocess.run([cuzarr_cli, "info", "--json", root], capture_output=True, text=True,
                                    timeout=60, check=True).stdout)
    children = doc["children"]
    assert children["good"]["readable"] is True and children["good"]["shards"] is None
    assert children["also_good"]["chunks"] == [1] and children["also_good"]["shards"] == [3]
    assert children["bad"]["readable"] is False and children["bad"]["node_type"] == "array"
    assert "numcodecs.pcodec" in children["bad"]["error"]
