"""The ready-made stores written by tensorstore in ../shared/fixtures/tensorstore.

Each store either reads exactly as its expected.npy, or (for codecs cuzarr does not support yet)
raises cuzarr.UnsupportedError naming the codec. Uncompressed stores must always read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import cuzarr
from stores import assert_same_array, outer_index, seed_of

FIXTURES = Path(os.environ.get("CUZARR_TS_FIXTURES", "/work/shared/fixtures/tensorstore"))
MANIFEST = FIXTURES / "manifest.json"

if not MANIFEST.is_file():
    pytest.skip(f"no tensorstore fixtures at {FIXTURES}", allow_module_level=True)

ENTRIES = json.loads(MANIFEST.read_text())
NAMES = [e["name"] for e in ENTRIES]
# Codecs that only lay bytes out (no compression, no checksum).
LAYOUT_CODECS = {"bytes", "transpose"}


def codec_names(path: Path) -> set[str]:
    """Every codec named in the store's metadata: v2 compressor and filters ids, v3 codec names
    (inside sharding too, index codecs included)."""
    names: set[str] = set()
    if (path / ".zarray").is_file():
        meta = json.loads((path / ".zarray").read_text())
        if meta.get("compressor"):
            names.add(meta["compressor"]["id"])
        for f in meta.get("filters") or []:
            names.add(f["id"])
        return names

    def walk(codecs):
        for c in codecs:
            c = {"name": c} if isinstance(c, str) else c
            names.add(c["name"])
            conf = c.get("configuration") or {}
            walk(conf.get("codecs", []))
            walk(conf.get("index_codecs", []))

    walk(json.loads((path / "zarr.json").read_text())["codecs"])
    return names


def is_uncompressed(path: Path) -> bool:
    return codec_names(path) <= LAYOUT_CODECS


def random_key(rng, shape):
    key = []
    for n in shape:
        r = rng.integers(4)
        if r == 0:
            key.append(int(rng.integers(-n, n)))
        elif r == 1:
            key.append(slice(int(rng.integers(-n - 2, n + 2)), int(rng.integers(-n - 2, n + 2)),
                             int(rng.choice([1, 2, 3, -1, -2]))))
        elif r == 2:
            key.append(rng.integers(-n, n, size=int(rng.integers(0, 8))))
        else:
            key.append(rng.random(n) < 0.4)
    return tuple(key)


def read_or_unsupported(path: Path):
    """("read", array) or ("unsupported", error); anything else propagates."""
    try:
        a = cuzarr.open(path)
        return "read", a, a[...]
    except cuzarr.UnsupportedError as e:
        return "unsupported", None, e


@pytest.mark.parametrize("entry", ENTRIES, ids=NAMES)
def test_fixture_reads_or_is_unsupported(entry):
    path = FIXTURES / entry["name"]
    expected = np.load(path / "expected.npy")
    outcome, a, result = read_or_unsupported(path)
    if outcome == "unsupported":
        assert not is_uncompressed(path), f"{entry['name']} is uncompressed but unsupported: {result}"
        assert isinstance(result, NotImplementedError)
        message = str(result)
        unknown = codec_names(path) - LAYOUT_CODECS
        assert any(f"'{name}'" in message for name in unknown), (
            f"message does not name any of the codecs {sorted(unknown)}: {message}"
        )
        assert entry["name"] in message, f"message does not name the array: {message}"
        return

    got = result
    assert a.dtype == np.dtype(entry["dtype"])
    assert a.shape == tuple(entry["shape"])
    assert got.shape == tuple(entry["shape"])
    assert_same_array(got.reshape(expected.shape), expected)
    # A few outer selections against NumPy on the expected data.
    if a.ndim:
        full = expected.reshape(a.shape)
        rng = np.random.default_rng(seed_of("ts-fixture/" + entry["name"]))
        for _ in range(10):
            key = random_key(rng, a.shape)
            assert_same_array(a[key], outer_index(full, key))


def test_uncompressed_fixtures_all_read():
    uncompressed = [n for n in NAMES if is_uncompressed(FIXTURES / n)]
    assert len(uncompressed) >= 44, f"only {len(uncompressed)} uncompressed fixtures found"
    read_ok = 0
    for name in uncompressed:
        path = FIXTURES / name
        got = cuzarr.open(path)[...]
        expected = np.load(path / "expected.npy")
        assert_same_array(got.reshape(expected.shape), expected)
        read_ok += 1
    assert read_ok == len(uncompressed) >= 44


def test_fixture_metadata_details():
    """A few fixtures whose metadata says more than shape and dtype."""
    if "v3_dimnames" in NAMES:
        a = cuzarr.open(FIXTURES / "v3_dimnames")
        meta = json.loads((FIXTURES / "v3_dimnames" / "zarr.json").read_text())
        assert a.dimension_names == tuple(meta["dimension_names"])
        assert a.attrs == meta.get("attributes", {})
    for name in ("v2_missing_nan", "v3_missing_nan"):
        if name in NAMES:
            a = cuzarr.open(FIXTURES / name)
            assert np.isnan(a.fill_value)
    if "v2_order_F" in NAMES:
        a = cuzarr.open(FIXTURES / "v2_order_F")
        assert a.codecs["order"] == "F"
