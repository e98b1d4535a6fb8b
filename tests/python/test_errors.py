"""Bad input gives a clear cuzarr error naming the file/array (and chunk key), never a crash;
rare fill-value forms read right; reading never changes the store."""

from __future__ import annotations

import base64
import json
import pickle
import struct
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr

import cuzarr
import stores

META = {2: ".zarray", 3: "zarr.json"}
CHUNK = {2: "1.2", 3: "c/1/2"}  # a full interior chunk of the (10, 12) / (4, 5) array below
FORMATS = [2, 3]


def valid_store(tmp_path: Path, fmt: int, name: str = "a.zarr") -> Path:
    """A small valid uncompressed float32 array (10, 12) in (4, 5) chunks, every chunk written."""
    path = tmp_path / name
    stores.zarr_array(path, np.arange(120, dtype=np.float32).reshape(10, 12), zarr_format=fmt,
                      chunks=(4, 5), fill_value=0)
    return path


def edit_meta(path: Path, fmt: int, change) -> Path:
    meta = path / META[fmt]
    doc = json.loads(meta.read_text())
    change(doc)
    meta.write_text(json.dumps(doc, indent=2))
    return meta


def set_chunks(doc, chunks):
    if "chunk_grid" in doc:
        doc["chunk_grid"]["configuration"]["chunk_shape"] = chunks
    else:
        doc["chunks"] = chunks


def open_and_read(path):
    a = cuzarr.open(path)
    return a[...]


def test_error_hierarchy():
    assert issubclass(cuzarr.MetadataError, ValueError)
    assert issubclass(cuzarr.CodecError, ValueError)
    assert issubclass(cuzarr.StoreError, OSError)
    assert issubclass(cuzarr.KeyNotFoundError, FileNotFoundError)
    assert issubclass(cuzarr.KeyNotFoundError, cuzarr.StoreError)
    assert issubclass(cuzarr.UnsupportedError, NotImplementedError)
    assert issubclass(cuzarr.SelectionError, IndexError)
    assert issubclass(cuzarr.CudaError, RuntimeError)
    for cls in (cuzarr.MetadataError, cuzarr.CodecError, cuzarr.StoreError, cuzarr.KeyNotFoundError,
                cuzarr.UnsupportedError, cuzarr.SelectionError, cuzarr.CudaError):
        assert issubclass(cls, cuzarr.Error)


# --------------------------------------------------------------------------------------------
# Malformed and mistyped metadata


@pytest.mark.parametrize("fmt", FORMATS)
def test_malformed_json(tmp_path, fmt):
    path = valid_store(tmp_path, fmt)
    meta = path / META[fmt]
    meta.write_text('{\n  "shape": [10, 12],\n  "chunks": [4 5],\n  "zarr_format": %d\n}\n' % fmt)
    with pytest.raises(cuzarr.MetadataError) as info:
        cuzarr.open(path)
    message = str(info.value)
    assert str(meta) in message
    assert "line 3" in message and "column" in message


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_json(tmp_path, fmt):
    path = valid_store(tmp_path, fmt)
    meta = path / META[fmt]
    meta.write_text(meta.read_text()[:40])
    with pytest.raises(cuzarr.MetadataError, match="line") as info:
        cuzarr.open(path)
    assert str(meta) in str(info.value) and "column" in str(info.value)


@pytest.mark.parametrize("doc", ['{"shape": [10, 12],,}', '{"a": tru}', "[1, 2"])
def test_malformed_json_message_is_clean(tmp_path, doc):
    """The message gives cuzarr's own 'line L, column C: what' without the JSON library's internal
    '[json.exception.parse_error.101] parse error at ...' prefix (json_util.cpp means to drop it)
    and without losing the description."""
    path = valid_store(tmp_path, 2)
    (path / ".zarray").write_text(doc)
    with pytest.raises(cuzarr.MetadataError) as info:
        cuzarr.open(path)
    message = str(info.value)
    assert "json.exception" not in message, message
    assert message.count("line ") == 1, message
    assert "syntax error" in message or "invalid literal" in message, message


@pytest.mark.parametrize("fmt", FORMATS)
def test_malformed_attributes_and_group_documents(tmp_path, fmt):
    g = tmp_path / "g.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.open_group(str(g), mode="w", zarr_format=fmt)
    bad = g / (".zgroup" if fmt == 2 else "zarr.json")
    bad.write_text("{oops")
    with pytest.raises(cuzarr.MetadataError) as info:
        cuzarr.open(g)
    assert str(bad) in str(info.value) and "line 1" in str(info.value)
    if fmt == 2:
        path = valid_store(tmp_path, 2)
        (path / ".zattrs").write_text('{"units": }')
        with pytest.raises(cuzarr.MetadataError) as info:
            cuzarr.open(path)
        assert str(path / ".zattrs") in str(info.value)


WRONG_TYPES = [
    ("shape is a string", lambda d: d.__setitem__("shape", "10,12"), "shape"),
    ("shape holds a float", lambda d: d.__setitem__("shape", [10.0, 12]), "shape"),
    ("shape is missing", lambda d: d.pop("shape"), "shape"),
    ("chunks hold a float", lambda d: set_chunks(d, [4, 5.5]), "5.5"),
    ("chunks hold a string", lambda d: set_chunks(d, [4, "5"]), "5"),
    ("chunks are an object", lambda d: set_chunks(d, {"a": 1}), "chunk"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("label, change, fragment", WRONG_TYPES, ids=[w[0] for w in WRONG_TYPES])
def test_wrong_json_types(tmp_path, fmt, label, change, fragment):
    path = valid_store(tmp_path, fmt)
    meta = edit_meta(path, fmt, change)
    with pytest.raises(cuzarr.MetadataError) as info:
        cuzarr.open(path)
    assert str(meta) in str(info.value)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "fmt, field, value",
    [
        (2, "dtype", "<x4"),
        (2, "dtype", "<i3"),
        (2, "dtype", "float32"),
        (2, "dtype", 7),
        (3, "data_type", "float99"),
        (3, "data_type", "int"),
        (3, "data_type", 4),
    ],
)
def test_unknown_dtype(tmp_path, fmt, field, value):
    path = valid_store(tmp_path, fmt)
    meta = edit_meta(path, fmt, lambda d: d.__setitem__(field, value))
    with pytest.raises(cuzarr.MetadataError) as info:
        cuzarr.open(path)
    assert str(meta) in str(info.value)
    if isinstance(value, str):
        assert value in str(info.value)


@pytest.mark.parametrize(
    "fmt, change",
    [
        (2, lambda d: d.__setitem__("compressor", {"id": "frobnicate", "level": 1})),
        (2, lambda d: d.__setitem__("filters", [{"id": "frobnicate"}])),
        (3, lambda d: d["codecs"].append({"name": "frobnicate", "configuration": {}})),
        (3, lambda d: d["codecs"].insert(0, {"name": "frobnicate"})),
    ],
    ids=["v2-compressor", "v2-filter", "v3-bytes-to-bytes", "v3-first"],
)
def test_unknown_codec(tmp_path, fmt, change):
    path = valid_store(tmp_path, fmt)
    edit_meta(path, fmt, change)
    with pytest.raises(cuzarr.UnsupportedError) as info:
        open_and_read(path)
    assert isinstance(info.value, NotImplementedError)
    assert "frobnicate" in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_rank_mismatch(tmp_path, fmt):
    path = valid_store(tmp_path, fmt)
    meta = edit_meta(path, fmt, lambda d: set_chunks(d, [4, 5, 6]))
    with pytest.raises(cuzarr.MetadataError, match="dimensions") as info:
        cuzarr.open(path)
    assert str(meta) in str(info.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_negative_shape(tmp_path, fmt):
    path = valid_store(tmp_path, fmt)
    meta = edit_meta(path, fmt, lambda d: d.__setitem__("shape", [10, -12]))
    with pytest.raises(cuzarr.MetadataError, match="-12") as info:
        cuzarr.open(path)
    assert str(meta) in str(info.value)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("chunks", [[0, 5], [4, -5]])
def test_non_positive_chunk_size(tmp_path, fmt, chunks):
    path = valid_store(tmp_path, fmt)
    meta = edit_meta(path, fmt, lambda d: set_chunks(d, chunks))
    with pytest.raises(cuzarr.MetadataError) as info:
        cuzarr.open(path)
    assert str(meta) in str(info.value)


@pytest.mark.parametrize("fmt, value", [(2, 3), (2, "2"), (3, 4), (3, 2), (3, None)])
def test_unknown_zarr_format(tmp_path, fmt, value):
    path = valid_store(tmp_path, fmt)
    meta = edit_meta(path, fmt, lambda d: d.__setitem__("zarr_format", value))
    with pytest.raises(cuzarr.MetadataError) as info:
        cuzarr.open(path)
    assert str(meta) in str(info.value)
    assert "zarr_format" in str(info.value)


def test_storage_transformers(tmp_path):
    path = valid_store(tmp_path, 3)
    meta = edit_meta(path, 3, lambda d: d.__setitem__("storage_transformers", [{"name": "foo"}]))
    with pytest.raises(cuzarr.UnsupportedError) as info:
        cuzarr.open(path)
    assert str(meta) in str(info.value) and "storage transformer" in str(info.value)
    # An empty list is fine.
    edit_meta(path, 3, lambda d: d.__setitem__("storage_transformers", []))
    assert cuzarr.open(path)[...].shape == (10, 12)


def test_unknown_v3_fields(tmp_path):
    path = valid_store(tmp_path, 3)
    meta = edit_meta(path, 3, lambda d: d.__setitem__("frobnicator", {"x": 1}))
    with pytest.raises(cuzarr.UnsupportedError, match="frobnicator") as info:
        cuzarr.open(path)
    assert str(meta) in str(info.value)
    # An extension that does not have to be understood is ignored.
    edit_meta(path, 3, lambda d: d.__setitem__("frobnicator", {"must_understand": False}))
    assert cuzarr.open(path)[...].shape == (10, 12)


@pytest.mark.parametrize(
    "fmt, change, fragment",
    [
        (2, lambda d: d.__setitem__("order", "X"), "order"),
        (2, lambda d: d.__setitem__("dimension_separator", "-"), "dimension_separator"),
        (3, lambda d: d.__setitem__("codecs", []), "codecs"),
        (3, lambda d: d.__setitem__("codecs", [{"name": "transpose", "configuration": {"order": [0, 0]}}, d["codecs"][0]]), "order"),
        (3, lambda d: d.__setitem__("chunk_key_encoding", {"name": "default", "configuration": {"separator": "-"}}), "separator"),
        (3, lambda d: d.__setitem__("dimension_names", ["x"]), "dimension_names"),
        (3, lambda d: d.__setitem__("node_type", "tree"), "node_type"),
        (3, lambda d: d["codecs"][0].__setitem__("configuration", {"endian": "middle"}), "endian"),
    ],
    ids=["v2-order", "v2-separator", "v3-no-codecs", "v3-bad-transpose", "v3-bad-separator",
         "v3-dimension-names", "v3-node-type", "v3-endian"],
)
def test_other_invalid_fields(tmp_path, fmt, change, fragment):
    path = valid_store(tmp_path, fmt)
    edit_meta(path, fmt, change)
    with pytest.raises(cuzarr.MetadataError) as info:
        open_and_read(path)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


# --------------------------------------------------------------------------------------------
# Broken chunks


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("delta", [-3, -80, 2, 4000])
def test_chunk_of_wrong_size(tmp_path, fmt, delta):
    path = valid_store(tmp_path, fmt)
    chunk = path / CHUNK[fmt]
    data = chunk.read_bytes()
    assert len(data) == 4 * 5 * 4
    chunk.write_bytes(data[:delta] if delta < 0 else data + b"\x01" * delta)
    actual = len(data) + delta
    a = cuzarr.open(path)
    # Chunks the selection does not touch are not read.
    assert a[0:4, 0:10].shape == (4, 10)
    with pytest.raises(cuzarr.CodecError) as info:
        a[...]
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert f"'{CHUNK[fmt]}'" in message, message
    assert str(path) in message
    assert str(actual) in message and "80" in message, message
    with pytest.raises(cuzarr.CodecError):
        a[5, 10]  # only the broken chunk


def test_chunk_key_of_member_names_its_path(tmp_path):
    g = tmp_path / "g.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.open_group(str(g), mode="w", zarr_format=3).create_group("sub")
    stores.zarr_array(g / "sub" / "v", np.ones((6, 6), "i4"), zarr_format=3, chunks=(3, 3))
    (g / "sub" / "v" / "c" / "1" / "0").write_bytes(b"\x00" * 7)
    with pytest.raises(cuzarr.CodecError) as info:
        cuzarr.open(g)["sub/v"][...]
    # The member's path in the array's name, the key as within the array (as when it is opened
    # directly, and as `cuzarr verify` says it).
    assert "g.zarr/sub/v', chunk 'c/1/0'" in str(info.value)
    with pytest.raises(cuzarr.CodecError) as direct:
        cuzarr.open(g / "sub" / "v")[...]
    assert str(direct.value) == str(info.value)


def test_chunk_that_is_a_directory_reads_as_missing_or_errors_cleanly(tmp_path):
    path = valid_store(tmp_path, 2)
    (path / "0.0").unlink()
    (path / "0.0").mkdir()
    try:
        got = cuzarr.open(path)[0:4, 0:5]
    except cuzarr.Error:
        return
    assert np.all(got == 0)


# --------------------------------------------------------------------------------------------
# Missing paths and selections


def test_missing_array_path(tmp_path):
    missing = tmp_path / "nope.zarr"
    with pytest.raises(cuzarr.KeyNotFoundError) as info:
        cuzarr.open(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert str(missing) in str(info.value)
    empty = tmp_path / "empty.zarr"
    empty.mkdir()
    with pytest.raises(cuzarr.KeyNotFoundError) as info:
        cuzarr.open(empty)
    assert str(empty) in str(info.value)
    path = valid_store(tmp_path, 3)
    with pytest.raises(cuzarr.KeyNotFoundError):
        cuzarr.open(path / "inner")


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_group_member(store_factory, fmt):
    path = store_factory.path(f"zarr_v{fmt}_group")
    g = cuzarr.open(path)
    with pytest.raises(cuzarr.KeyNotFoundError) as info:
        g["sub/nope"]
    assert "nope" in str(info.value) and str(path) in str(info.value)
    with pytest.raises(FileNotFoundError):
        g["temp2"]
    with pytest.raises(TypeError):
        g[0]


@pytest.mark.parametrize("key", ["../outside", "sub/../temp", "sub//c", "a\\b", "sub/./c"])
def test_member_keys_cannot_escape(store_factory, key):
    g = cuzarr.open(store_factory.path("zarr_v3_group"))
    with pytest.raises(cuzarr.StoreError) as info:
        g[key]
    assert isinstance(info.value, OSError)


OUT_OF_RANGE = [
    ((10, 0), "10"),
    ((0, -13), "-13"),
    ((np.array([0, 12]),), None),
    ((slice(None), [3, -13]), None),
    ((0, 0, 0), None),
    ((np.ones(3, dtype=bool),), None),
    ((np.zeros((2, 2), dtype=np.int64),), None),
    ((np.array([0.5]),), None),
    (("a",), None),
    ((Ellipsis, 0, Ellipsis), None),
]


@pytest.mark.parametrize("key, fragment", OUT_OF_RANGE, ids=[f"sel{i}" for i in range(len(OUT_OF_RANGE))])
def test_selection_errors(tmp_path, key, fragment):
    a = cuzarr.open(valid_store(tmp_path, 3))
    with pytest.raises(cuzarr.SelectionError) as info:
        a[key]
    assert isinstance(info.value, IndexError)
    if fragment:
        assert fragment in str(info.value)
    with pytest.raises(cuzarr.SelectionError):
        a.oindex[key]


def test_slice_step_zero(tmp_path):
    a = cuzarr.open(valid_store(tmp_path, 2))
    with pytest.raises((ValueError, IndexError)):
        a[::0]


@pytest.mark.parametrize("key", [(10, 0), (0, np.array([0, 12]))], ids=["int", "index-array"])
def test_selection_error_names_the_array(tmp_path, key):
    """README: 'Messages name the file or array path'; DESIGN.md: 'Every message names the array
    path'. An out-of-range index says which array it was out of range for."""
    path = valid_store(tmp_path, 3)
    with pytest.raises(cuzarr.SelectionError) as info:
        cuzarr.open(path)[key]
    assert str(path) in str(info.value), str(info.value)


# --------------------------------------------------------------------------------------------
# Fill values in forms no writer produces


FILL_CASES = [
    # (format, dtype/data_type, JSON fill value, expected element as bytes in native order)
    (3, "float32", "0x7fc00000", struct.pack("=I", 0x7FC00000)),
    (3, "float32", "0x7fc00001", struct.pack("=I", 0x7FC00001)),
    (3, "float32", "0xFF800000", struct.pack("=f", -np.inf)),
    (3, "float16", "0x3c00", struct.pack("=H", 0x3C00)),
    (3, "float16", "0x7e01", struct.pack("=H", 0x7E01)),
    (3, "float64", "0x7ff8000000000001", struct.pack("=Q", 0x7FF8000000000001)),
    (3, "float64", "Infinity", struct.pack("=d", np.inf)),
    (3, "float64", "-Infinity", struct.pack("=d", -np.inf)),
    (3, "float32", "-Infinity", struct.pack("=f", -np.inf)),
    (3, "float16", "Infinity", struct.pack("=H", 0x7C00)),
    (3, "float64", "NaN", struct.pack("=Q", 0x7FF8000000000000)),
    (3, "complex64", ["NaN", 1.0], struct.pack("=I", 0x7FC00000) + struct.pack("=f", 1.0)),
    (3, "complex128", ["0x7ff8000000000000", "-Infinity"],
     struct.pack("=Q", 0x7FF8000000000000) + struct.pack("=d", -np.inf)),
    (3, "complex64", [2.5, "0x3f800000"], struct.pack("=ff", 2.5, 1.0)),
    (3, "bool", True, b"\x01"),
    (3, "uint64", 18446744073709551615, struct.pack("=Q", 2**64 - 1)),
    (3, "int64", -9223372036854775808, struct.pack("=q", -(2**63))),
    (3, "int8", -128, struct.pack("=b", -128)),
    (3, "float16", 65504.0, struct.pack("=e", 65504.0)),
    (2, "<f8", base64.b64encode(struct.pack("<d", 1.5)).decode(), struct.pack("=d", 1.5)),
    (2, ">f8", base64.b64encode(struct.pack(">d", -2.25)).decode(), struct.pack("=d", -2.25)),
    (2, "<i4", base64.b64encode(struct.pack("<i", -7)).decode(), struct.pack("=i", -7)),
    (2, "<f4", "NaN", struct.pack("=I", 0x7FC00000)),
    (2, ">f8", "NaN", struct.pack("=Q", 0x7FF8000000000000)),
    (2, "<f4", "Infinity", struct.pack("=f", np.inf)),
    (2, ">f2", "-Infinity", struct.pack("=H", 0xFC00)),
    (2, "<c16", [1.0, "NaN"], struct.pack("=d", 1.0) + struct.pack("=Q", 0x7FF8000000000000)),
    (2, "<i2", None, struct.pack("=h", 0)),
    (2, "|b1", True, b"\x01"),
    (2, ">u2", 513, struct.pack("=H", 513)),
    (2, ">c8", base64.b64encode(struct.pack(">ff", 1.0, -2.0)).decode(), struct.pack("=ff", 1.0, -2.0)),
    (3, "float32", 3, struct.pack("=f", 3.0)),
    (3, "bool", 0, b"\x00"),
    (2, "<M8[ns]", "NaT", struct.pack("=q", -(2**63))),
]


def _write_fill_store(tmp_path, fmt, dtype, fill):
    if fmt == 3:
        return stores.write_v3_metadata(tmp_path / "f.zarr", shape=(6, 7), chunks=(4, 3),
                                        data_type=dtype, fill_value=fill)
    return stores.write_v2_metadata(tmp_path / "f.zarr", shape=(6, 7), chunks=(4, 3), dtype=dtype,
                                    fill_value=fill)


@pytest.mark.parametrize("fmt, dtype, fill, element", FILL_CASES,
                         ids=[f"v{c[0]}-{c[1]}-{c[2]}"[:60] for c in FILL_CASES])
def test_rare_fill_values(tmp_path, fmt, dtype, fill, element):
    path = _write_fill_store(tmp_path, fmt, dtype, fill)
    a = cuzarr.open(path)
    assert a.fill_value.tobytes() == element
    got = a[...]
    assert got.shape == (6, 7)
    assert got.dtype == np.dtype(dtype).newbyteorder("=")
    # Every element, bit for bit.
    assert np.ascontiguousarray(got).tobytes() == element * got.size
    # Selections of missing chunks too.
    assert a[2:5, ::2].tobytes() == element * 12
    assert a[-1, -1].tobytes() == element


@pytest.mark.parametrize(
    "fmt, dtype, fill",
    [
        (3, "float32", "0x7fc0"),
        (3, "float32", "0xzzzzzzzz"),
        (3, "float32", "nan"),
        (3, "int32", "NaN"),
        (3, "int32", 1.5),
        (3, "uint8", 256),
        (3, "uint8", -1),
        (3, "int8", 128),
        (3, "float32", None),
        (3, "complex64", 1.0),
        (3, "complex64", [1.0]),
        (3, "bool", "yes"),
        (2, "<f8", "AAAA"),
        (2, "<f8", "not base64!"),
        (2, "|u1", 300),
    ],
)
def test_invalid_fill_values(tmp_path, fmt, dtype, fill):
    path = _write_fill_store(tmp_path, fmt, dtype, fill)
    with pytest.raises(cuzarr.MetadataError) as info:
        cuzarr.open(path)
    assert str(path) in str(info.value)
    assert "fill_value" in str(info.value)


# --------------------------------------------------------------------------------------------
# Reading never changes the store


def test_reading_leaves_store_unchanged(store_factory, tmp_path, cuzarr_cli):
    import shutil

    src = store_factory.path("zarr_v2_group_consolidated")
    root = tmp_path / "copy.zarr"
    shutil.copytree(src, root)
    shutil.copytree(store_factory.path("zarr_v3_group"), tmp_path / "copy3.zarr")
    before = {p: stores.snapshot(p) for p in (root, tmp_path / "copy3.zarr")}

    for path in before:
        g = cuzarr.open(path)
        g.keys()
        for member in stores.GROUP_ARRAYS:
            a = g[member]
            a[...]
            a[::-1]
            a.read((0,))
            pickle.loads(pickle.dumps(a))[...]
            with pytest.raises(cuzarr.SelectionError):
                a[(10**9,)]
        cuzarr.open(path, consolidated=False)["sub"].keys()
        for args in (["info", path], ["info", "--json", path],
                     ["read", path / "temp", "--out", tmp_path / "t.npy"],
                     ["read", path / "temp", "--select", "999", "--out", tmp_path / "u.npy"]):
            subprocess.run([cuzarr_cli, *map(str, args)], capture_output=True, timeout=60)

    for path, snap in before.items():
        assert stores.snapshot(path) == snap, f"{path} changed"


def test_failed_reads_leave_store_unchanged(tmp_path):
    path = valid_store(tmp_path, 3)
    (path / CHUNK[3]).write_bytes(b"\x00" * 3)
    before = stores.snapshot(path)
    with pytest.raises(cuzarr.CodecError):
        cuzarr.open(path)[...]
    assert stores.snapshot(path) == before


# --------------------------------------------------------------------------------------------
# Integers beyond int64


@pytest.mark.parametrize("key", [(2**70,), (0, -(2**70))], ids=["huge", "huge-negative"])
def test_python_int_beyond_int64_is_a_selection_error(tmp_path, key):
    """NumPy raises IndexError for an index beyond int64; cuzarr should raise its SelectionError
    (an IndexError) saying so, not a bare RuntimeError('std::bad_cast')."""
    a = cuzarr.open(valid_store(tmp_path, 3))
    with pytest.raises(cuzarr.SelectionError):
        a[key]


def test_huge_slice_step_is_one_element(tmp_path):
    """slice(0, 10, 2**70) selects element 0, as in NumPy."""
    a = cuzarr.open(valid_store(tmp_path, 3))
    want = np.arange(120, dtype=np.float32).reshape(10, 12)[0:10:2**70]
    stores.assert_same_array(a[0:10:2**70], want)


def test_read_only_out_is_refused(tmp_path):
    a = cuzarr.open(valid_store(tmp_path, 3))
    out = np.zeros((10, 12), dtype=np.float32)
    out.flags.writeable = False
    with pytest.raises((TypeError, ValueError)):
        a.read(out=out)
    assert not out.any()
    frozen = np.frombuffer(bytes(480), dtype=np.float32).reshape(10, 12)
    with pytest.raises((TypeError, ValueError)):
        a.read(out=frozen)
    assert not frozen.any()
