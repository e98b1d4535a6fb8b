"""Text and object data types: fixed-width "S<n>"/"U<n>" (either byte order), v2 object arrays
with the vlen-utf8 / vlen-bytes / vlen-array codecs and v3 "string" / "variable_length_bytes",
read with cuzarr and compared with zarr-python (numcodecs for vlen-array, which zarr-python 3
cannot read). Malformed variable-length chunks must fail with a CodecError naming the array and
the chunk."""

from __future__ import annotations

import json
import struct
import warnings

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")
numcodecs = pytest.importorskip("numcodecs")

import cuzarr  # noqa: E402
from zarr.core.dtype import VariableLengthBytes, VariableLengthUTF8  # noqa: E402

WORDS = ["", "a", "ab", "héllo", "日本語", "x" * 40, "tab\tsep", "end"]


def _text(shape, seed):
    rng = np.random.default_rng(seed)
    return np.array(rng.choice(WORDS, size=shape), dtype=object)


def _bytes(shape, seed):
    rng = np.random.default_rng(seed)
    pool = [b"", b"\x00", b"ab\x00c", b"\xff\xfe", b"bytes" * 9]
    return np.array([pool[i] for i in rng.integers(0, len(pool), size=int(np.prod(shape)))],
                    dtype=object).reshape(shape)


# name -> (zarr dtype, data builder, fixed-width NumPy dtype or None)
KINDS = {
    "S": (lambda: "S6", lambda shape: _bytes(shape, 1).astype("S6"), "S6"),
    "U-little": (lambda: "<U5", lambda shape: _text(shape, 2).astype("<U5"), "<U5"),
    "U-big": (lambda: ">U5", lambda shape: _text(shape, 3).astype(">U5"), ">U5"),
    "vlen-utf8": (VariableLengthUTF8, lambda shape: _text(shape, 4), None),
    "vlen-bytes": (VariableLengthBytes, lambda shape: _bytes(shape, 5), None),
}


def _write(path, kind, zarr_format, *, shape=(7, 5), chunks=(3, 2), compressors="auto",
           partial=True, shards=None, order=None):
    make_dtype, build, _ = KINDS[kind]
    data = build(shape)
    kwargs = {"zarr_format": zarr_format, "chunks": chunks, "compressors": compressors}
    if shards is not None:
        kwargs["shards"] = shards
    if order is not None:
        kwargs["order"] = order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr warns that v3 string types are not yet in the spec
        a = zarr.create_array(str(path), shape=shape, dtype=make_dtype(), **kwargs)
        if partial:
            a[: shape[0] - 2, :] = data[: shape[0] - 2, :]  # the last chunk row stays missing: fill
        else:
            a[...] = data
    return path


def _zarr_read(path, key=...):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zarr.open_array(str(path), mode="r").oindex[key] if key is not ... else zarr.open_array(
            str(path), mode="r")[...]


def _assert_same(got, want):
    """Same shape, dtype and items; cuzarr gives "U" text in native byte order, as all its results."""
    if want.dtype.kind == "U":
        want = want.astype(want.dtype.newbyteorder("="))
    assert got.shape == want.shape
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert isinstance(got, np.ndarray)
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("compressors", ["auto", None])
def test_whole_array_matches_zarr(tmp_path, kind, zarr_format, compressors):
    path = _write(tmp_path / "a.zarr", kind, zarr_format, compressors=compressors)
    got = cuzarr.open(path)[...]
    _assert_same(got, _zarr_read(path))


KEYS = [
    (slice(None), slice(None)),
    (2, slice(None)),
    (slice(1, 6, 2), 3),
    (slice(None, None, -1), slice(4, 0, -3)),
    (np.array([6, 0, 3]), slice(None)),
    (np.array([True, False, True, False, True, False, True]), np.array([4, 1])),
    (5, 4),
]


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("kind", list(KINDS))
def test_selections_match_zarr(tmp_path, kind, zarr_format):
    path = _write(tmp_path / "a.zarr", kind, zarr_format)
    array = cuzarr.open(path)
    whole = _zarr_read(path)
    for key in KEYS:
        want = whole[np.ix_(*[np.arange(n)[k].reshape(-1) for k, n in zip(key, whole.shape)])]
        want = want.reshape(tuple(len(np.arange(n)[k].reshape(-1)) for k, n in zip(key, whole.shape)
                                  if not isinstance(k, int)))
        got = array[key]
        if want.ndim == 0:
            assert got.shape == () and got.item() == want.item()
        else:
            _assert_same(np.asarray(got), want)


@pytest.mark.parametrize("kind", ["vlen-utf8", "vlen-bytes", "U-little", "S"])
def test_sharded_v3(tmp_path, kind):
    path = _write(tmp_path / "a.zarr", kind, 3, shape=(8, 6), chunks=(2, 3), shards=(4, 6))
    array = cuzarr.open(path)
    _assert_same(array[...], _zarr_read(path))
    _assert_same(array[1:7:3, ::-2], _zarr_read(path)[1:7:3, ::-2])


def test_v2_order_f(tmp_path):
    path = _write(tmp_path / "a.zarr", "vlen-utf8", 2, order="F", partial=False)
    assert json.loads((path / ".zarray").read_text())["order"] == "F"
    _assert_same(cuzarr.open(path)[...], _zarr_read(path))


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_fill_values(tmp_path, zarr_format):
    cases = {"S4": b"ab", "<U3": "hé", ">U3": "hé", VariableLengthUTF8(): "füll",
             VariableLengthBytes(): b"\x00fill"}
    for i, (dtype, fill) in enumerate(cases.items()):
        path = tmp_path / f"f{i}.zarr"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zarr.create_array(str(path), shape=(3, 2), chunks=(2, 2), dtype=dtype, fill_value=fill,
                              zarr_format=zarr_format)
        array = cuzarr.open(path)
        _assert_same(array[...], _zarr_read(path))
        assert array.fill_value == fill


def test_dtypes_and_metadata(tmp_path):
    expect = {"S": np.dtype("S6"), "U-little": np.dtype("=U5"), "U-big": np.dtype("=U5"),
              "vlen-utf8": np.dtypes.StringDType(), "vlen-bytes": np.dtype(object)}
    for kind, dtype in expect.items():
        for fmt in (2, 3):
            array = cuzarr.open(_write(tmp_path / f"{kind}{fmt}.zarr", kind, fmt))
            assert array.dtype == dtype
            assert array.shape == (7, 5)


def test_read_into_fixed_width_output(tmp_path):
    path = _write(tmp_path / "a.zarr", "U-big", 2, partial=False)
    out = np.empty((5, 7), dtype="U5").T  # F-ordered view
    cuzarr.open(path).read_into(out)
    _assert_same(np.ascontiguousarray(out), _zarr_read(path).astype("U5"))
    with pytest.raises(TypeError, match="variable-length"):
        cuzarr.open(_write(tmp_path / "b.zarr", "vlen-utf8", 2)).read_into(np.empty((7, 5), dtype=object))


def test_zero_d_and_empty(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = zarr.create_array(str(tmp_path / "s.zarr"), shape=(), dtype=VariableLengthUTF8(), zarr_format=3)
        a[...] = "only"
        zarr.create_array(str(tmp_path / "e.zarr"), shape=(0, 3), chunks=(2, 2), dtype=VariableLengthUTF8(),
                          zarr_format=2)
    assert cuzarr.open(tmp_path / "s.zarr")[...].item() == "only"
    empty = cuzarr.open(tmp_path / "e.zarr")[...]
    assert empty.shape == (0, 3) and empty.dtype == np.dtypes.StringDType()


# --------------------------------------------------------------------------------------------
# vlen-array (v2 only; zarr-python 3 does not read it): numcodecs encodes the chunks.


def _write_vlen_array(path, items, item_dtype, chunk):
    path.mkdir()
    (path / ".zarray").write_text(json.dumps({
        "zarr_format": 2, "shape": [len(items)], "chunks": [chunk], "dtype": "|O",
        "fill_value": None, "order": "C", "compressor": {"id": "zlib", "level": 1},
        "filters": [{"id": "vlen-array", "dtype": item_dtype}]}))
    codec = numcodecs.VLenArray(item_dtype)
    zlib = numcodecs.Zlib(1)
    for c in range(0, len(items), chunk):
        block = np.empty(chunk, dtype=object)
        for i in range(chunk):
            block[i] = np.asarray(items[c + i] if c + i < len(items) else [], dtype=item_dtype)
        (path / str(c // chunk)).write_bytes(zlib.encode(codec.encode(block)))


@pytest.mark.parametrize("item_dtype", ["<i4", ">i2", "<f8"])
def test_vlen_array(tmp_path, item_dtype):
    items = [[1, 2, 3], [], [7], [4, 5], [6] * 10]
    _write_vlen_array(tmp_path / "a.zarr", items, item_dtype, 2)
    array = cuzarr.open(tmp_path / "a.zarr")
    assert array.dtype == np.dtype(object)
    got = array[...]
    codec = numcodecs.VLenArray(item_dtype)
    want = []
    for c in range(3):
        raw = numcodecs.Zlib().decode((tmp_path / "a.zarr" / str(c)).read_bytes())
        want.extend(codec.decode(raw))
    want = want[: len(items)]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.dtype(item_dtype) and g.tolist() == w.tolist()
    assert [x.tolist() for x in array[::-2]] == [w.tolist() for w in want[::-2]]


# --------------------------------------------------------------------------------------------
# Malformed chunks and metadata


def _raw_vlen_store(path, chunk: bytes, *, shape=(3,), object_codec="vlen-utf8"):
    path.mkdir()
    (path / ".zarray").write_text(json.dumps({
        "zarr_format": 2, "shape": list(shape), "chunks": list(shape), "dtype": "|O", "fill_value": None,
        "order": "C", "compressor": None, "filters": [{"id": object_codec}]}))
    (path / ".zattrs").write_text("{}")
    (path / "0").write_bytes(chunk)
    return path


def _items(*parts: bytes, count=None) -> bytes:
    out = struct.pack("<I", len(parts) if count is None else count)
    for p in parts:
        out += struct.pack("<I", len(p)) + p
    return out


BAD_CHUNKS = {
    "empty": (b"", "too short for the item count"),
    "short-count": (b"\x03\x00", "too short for the item count"),
    "wrong-count": (_items(b"a", b"b"), "holds 2 items, expected 3"),
    "too-many": (_items(b"a", b"b", b"c", b"d"), "holds 4 items, expected 3"),
    "truncated-length": (_items(b"a", b"b", count=3) + b"\x01\x00", "chunk ends inside its length"),
    "overrun": (_items(b"a", b"b", count=3) + struct.pack("<I", 1000) + b"xyz", "has length 1000 but only 3"),
    "trailing": (_items(b"a", b"b", b"c") + b"junk", "4 bytes follow the last item"),
    "bad-utf8": (_items(b"a", b"\xff\xfe", b"c"), "item 1 is not valid UTF-8"),
    "surrogate": (_items(b"a", b"b", b"\xed\xa0\x80"), "item 2 is not valid UTF-8"),
}


@pytest.mark.parametrize("case", list(BAD_CHUNKS))
def test_malformed_vlen_chunk(tmp_path, case):
    chunk, message = BAD_CHUNKS[case]
    path = _raw_vlen_store(tmp_path / "bad.zarr", chunk)
    with pytest.raises(cuzarr.CodecError) as info:
        cuzarr.open(path)[...]
    text = str(info.value)
    assert message in text
    assert "bad.zarr" in text and "chunk '0'" in text and "vlen-utf8" in text


def test_invalid_utf8_is_fine_as_bytes(tmp_path):
    path = _raw_vlen_store(tmp_path / "b.zarr", _items(b"a", b"\xff\xfe", b""), object_codec="vlen-bytes")
    assert cuzarr.open(path)[...].tolist() == [b"a", b"\xff\xfe", b""]


def test_vlen_array_length_not_multiple(tmp_path):
    path = tmp_path / "a.zarr"
    path.mkdir()
    (path / ".zarray").write_text(json.dumps({
        "zarr_format": 2, "shape": [2], "chunks": [2], "dtype": "|O", "fill_value": None, "order": "C",
        "compressor": None, "filters": [{"id": "vlen-array", "dtype": "<i4"}]}))
    (path / "0").write_bytes(_items(b"\x01\x00\x00\x00", b"\x01\x00"))
    with pytest.raises(cuzarr.CodecError, match="item 1 has length 2, not a multiple of its element size 4"):
        cuzarr.open(path)[...]


def _meta_store(path, zarray):
    path.mkdir()
    base = {"zarr_format": 2, "shape": [3], "chunks": [3], "fill_value": None, "order": "C",
            "compressor": None, "filters": None}
    base.update(zarray)
    (path / ".zarray").write_text(json.dumps(base))
    return path


def test_object_metadata_errors(tmp_path):
    with pytest.raises(cuzarr.MetadataError, match="needs an object codec"):
        cuzarr.open(_meta_store(tmp_path / "a.zarr", {"dtype": "|O"}))
    with pytest.raises(cuzarr.UnsupportedError, match="object codec \"pickle\" is not supported"):
        cuzarr.open(_meta_store(tmp_path / "b.zarr", {"dtype": "|O", "filters": [{"id": "pickle"}]}))
    with pytest.raises(cuzarr.MetadataError, match="needs a string 'dtype'"):
        cuzarr.open(_meta_store(tmp_path / "c.zarr", {"dtype": "|O", "filters": [{"id": "vlen-array"}]}))
    with pytest.raises(cuzarr.MetadataError, match="fill_value"):
        cuzarr.open(_meta_store(tmp_path / "d.zarr", {"dtype": "<U2", "fill_value": "abc"}))
    with pytest.raises(cuzarr.MetadataError, match="unknown dtype"):
        cuzarr.open(_meta_store(tmp_path / "e.zarr", {"dtype": "|S0"}))


def test_v3_codec_mismatch(tmp_path):
    def store(name, data_type, codecs):
        path = tmp_path / name
        path.mkdir()
        (path / "zarr.json").write_text(json.dumps({
            "zarr_format": 3, "node_type": "array", "shape": [2], "data_type": data_type,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
            "chunk_key_encoding": {"name": "default"}, "fill_value": "", "codecs": codecs}))
        return path

    with pytest.raises(cuzarr.MetadataError, match="needs a variable-length codec"):
        cuzarr.open(store("a.zarr", "string", [{"name": "bytes"}]))
    with pytest.raises(cuzarr.MetadataError, match="cannot encode data type"):
        cuzarr.open(store("b.zarr", "variable_length_bytes", [{"name": "vlen-utf8"}]))
    with pytest.raises(cuzarr.MetadataError, match="length_bytes"):
        cuzarr.open(store("c.zarr", {"name": "fixed_length_utf32", "configuration": {"length_bytes": 6}},
                          [{"name": "bytes", "configuration": {"endian": "little"}}]))


@pytest.mark.gpu
@pytest.mark.skipif(cuzarr._core.cuda_device_count() == 0, reason="no GPU (or a build without CUDA)")
@pytest.mark.parametrize("kind", list(KINDS))
def test_gpu_request_returns_host(tmp_path, kind):
    """A string variable asked for on the GPU comes back as NumPy, equal to the CPU read."""
    path = _write(tmp_path / "a.zarr", kind, 3)
    got = cuzarr.open(path, device="cuda")[1:, ::2]
    assert isinstance(got, np.ndarray)
    _assert_same(got, _zarr_read(path)[1:, ::2])
