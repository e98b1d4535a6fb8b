"""Fixture stores for the Python tests, written at test time by real writers.

Every store here is uncompressed. zarr-python 3 writes Zarr v2 and v3 stores, tensorstore writes
the same kinds of stores a second time (its own metadata spelling: big-endian v3 via the bytes
codec, omitted optional fields, ...). A few helpers write metadata by hand for the forms no writer
produces (rare fill values, broken documents); those live in ``write_v2_metadata`` and
``write_v3_metadata``.

Usage: ``StoreFactory(root).path(name)`` writes the store called ``name`` (one of
``ARRAY_CASES`` or ``GROUP_CASES``) under ``root`` the first time it is asked for, and returns its
path. Arrays whose data we generated ourselves also keep it in ``factory.written(name)``.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

# Data types every Zarr format has, by their Zarr v3 names (also valid NumPy names).
BASE_DTYPES = [
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]
# Only Zarr v2 (NumPy type strings) can hold these.
TIME_DTYPES = ["datetime64[ns]", "timedelta64[s]"]

# The common 2-d shape: 29 x 41 in chunks of 8 x 10 leaves partial chunks at both far edges.
SHAPE_2D = (29, 41)
CHUNKS_2D = (8, 10)


def seed_of(name: str) -> int:
    """A stable seed per name, so each store (and each test's random selections) is reproducible."""
    return zlib.crc32(name.encode())


def is_multibyte(dtype: str) -> bool:
    return np.dtype(dtype).itemsize > 1


def v2_type_string(dtype: str, big_endian: bool) -> str:
    """NumPy type string as written in a v2 .zarray: '<f4', '>i8', '|b1', '<M8[ns]'."""
    dt = np.dtype(dtype)
    if dt.itemsize == 1:
        return dt.newbyteorder("|").str
    return dt.newbyteorder(">" if big_endian else "<").str


def sample_data(dtype: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Random values covering the whole range of `dtype`, with the awkward ones mixed in
    (NaN, infinities, -0.0, subnormals, NaT, integer extremes). Native byte order."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dt.kind == "b":
        flat = rng.random(n) < 0.5
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        flat = rng.integers(info.min, info.max, size=n, dtype=dt, endpoint=True)
        specials = np.array([info.min, info.max, 0, 1], dtype=dt)
        flat[: min(n, specials.size)] = specials[: min(n, specials.size)]
    elif dt.kind == "f":
        info = np.finfo(dt)
        flat = (rng.standard_normal(n) * 1000).astype(dt)
        specials = np.array(
            [np.nan, np.inf, -np.inf, -0.0, info.tiny / 4, info.max, info.min, 0.0], dtype=dt
        )
        flat[: min(n, specials.size)] = specials[: min(n, specials.size)]
    elif dt.kind == "c":
        part = np.dtype(f"f{dt.itemsize // 2}")
        flat = np.empty(n, dtype=dt)
        flat.real = (rng.standard_normal(n) * 1000).astype(part)
        flat.imag = (rng.standard_normal(n) * 1000).astype(part)
        specials = np.array([complex(np.nan, 1.0), complex(2.0, np.inf), complex(-0.0, np.nan)], dtype=dt)
        flat[: min(n, specials.size)] = specials[: min(n, specials.size)]
    elif dt.kind in "mM":
        ticks = rng.integers(-(2**62), 2**62, size=n, dtype=np.int64)
        ticks[: min(n, 3)] = np.array([np.iinfo(np.int64).min, 0, -1])[: min(n, 3)]  # NaT first
        flat = ticks.view(dt)
    else:  # pragma: no cover - the tests only ask for the types above
        raise ValueError(f"no sample data for {dtype}")
    return flat.reshape(shape)


def fill_json(value, dtype: str):
    """A fill value spelt the way the Zarr JSON metadata spells it."""
    dt = np.dtype(dtype)

    def one(x):
        x = float(x)
        if np.isnan(x):
            return "NaN"
        if np.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return x

    if dt.kind == "c":
        c = complex(value)
        return [one(c.real), one(c.imag)]
    if dt.kind == "f":
        return one(value)
    if dt.kind == "b":
        return bool(value)
    return int(value)


# --------------------------------------------------------------------------------------------
# Writers


def _zarr():
    import zarr

    return zarr


def zarr_array(
    path: Path,
    data: np.ndarray | None,
    *,
    zarr_format: int,
    chunks,
    dtype=None,
    shape=None,
    fill_value=None,
    order: str | None = None,
    chunk_key_encoding=None,
    big_endian: bool = False,
    transpose=None,
    dimension_names=None,
    attributes=None,
    region=None,
):
    """Write one array with zarr-python. ``region`` (a tuple of slices) writes only that part of
    ``data``; the rest of the array stays unwritten (fill value)."""
    zarr = _zarr()
    from zarr.codecs import BytesCodec, TransposeCodec

    shape = tuple(data.shape) if shape is None else tuple(shape)
    if dtype is None:
        dtype = data.dtype
    kwargs = dict(
        shape=shape,
        chunks=tuple(chunks),
        zarr_format=zarr_format,
        compressors=None,
        fill_value=fill_value,
        attributes=attributes or {},
    )
    if zarr_format == 2:
        kwargs["dtype"] = v2_type_string(dtype, big_endian)
        kwargs["filters"] = None
        if order is not None:
            kwargs["order"] = order
        if chunk_key_encoding is not None:
            kwargs["chunk_key_encoding"] = chunk_key_encoding
        if dimension_names is not None:
            kwargs["attributes"] = {**kwargs["attributes"], "_ARRAY_DIMENSIONS": list(dimension_names)}
    else:
        kwargs["dtype"] = np.dtype(dtype).newbyteorder("=")
        kwargs["filters"] = [TransposeCodec(order=tuple(transpose))] if transpose is not None else None
        if big_endian:
            kwargs["serializer"] = BytesCodec(endian="big")
        if chunk_key_encoding is not None:
            kwargs["chunk_key_encoding"] = chunk_key_encoding
        if dimension_names is not None:
            kwargs["dimension_names"] = list(dimension_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(str(path), **kwargs)
        if data is not None:
            if region is None:
                z[...] = data
            else:
                z[region] = data[region]
    return z


def _ts_write(spec: dict, data: np.ndarray | None, region):
    import tensorstore as ts

    t = ts.open(spec, create=True, delete_existing=True).result()
    if data is None:
        return
    if region is None:
        t.write(data).result()
    else:
        t[region].write(data[region]).result()


def ts_v2_array(
    path: Path,
    data: np.ndarray,
    *,
    chunks,
    big_endian: bool,
    fill_value=None,
    order: str = "C",
    dimension_separator: str | None = None,
    region=None,
):
    """Write one v2 array with tensorstore's "zarr" driver."""
    metadata = {
        "compressor": None,
        "filters": None,
        "dtype": v2_type_string(data.dtype.str, big_endian),
        "shape": list(data.shape),
        "chunks": list(chunks),
        "order": order,
        "fill_value": None if fill_value is None else fill_json(fill_value, data.dtype.str),
    }
    if dimension_separator is not None:
        metadata["dimension_separator"] = dimension_separator
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(path)}, "metadata": metadata}
    _ts_write(spec, data, region)


def ts_v3_array(
    path: Path,
    data: np.ndarray,
    *,
    chunks,
    endian: str | None,
    fill_value=0,
    transpose=None,
    chunk_key_encoding=None,
    dimension_names=None,
    attributes=None,
    region=None,
):
    """Write one v3 array with tensorstore's "zarr3" driver. ``endian=None`` leaves the bytes
    codec without configuration (allowed for one-byte types)."""
    codecs = []
    if transpose is not None:
        codecs.append({"name": "transpose", "configuration": {"order": list(transpose)}})
    codecs.append({"name": "bytes"} if endian is None else {"name": "bytes", "configuration": {"endian": endian}})
    dtype_name = np.dtype(data.dtype).newbyteorder("=").name
    metadata = {
        "data_type": dtype_name,
        "shape": list(data.shape),
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        "codecs": codecs,
        "fill_value": fill_json(fill_value, dtype_name),
    }
    if chunk_key_encoding is not None:
        metadata["chunk_key_encoding"] = chunk_key_encoding
    if dimension_names is not None:
        metadata["dimension_names"] = list(dimension_names)
    if attributes is not None:
        metadata["attributes"] = attributes
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}, "metadata": metadata}
    _ts_write(spec, data, region)


def write_v2_metadata(path: Path, *, shape, chunks, dtype: str, fill_value, order="C",
                      compressor=None, filters=None, attributes=None, **extra) -> Path:
    """A v2 .zarray (and .zattrs) written by hand; no chunks."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    doc = {
        "zarr_format": 2,
        "shape": list(shape),
        "chunks": list(chunks),
        "dtype": dtype,
        "fill_value": fill_value,
        "order": order,
        "compressor": compressor,
        "filters": filters,
        **extra,
    }
    (path / ".zarray").write_text(json.dumps(doc, indent=1))
    if attributes is not None:
        (path / ".zattrs").write_text(json.dumps(attributes))
    return path


def write_v3_metadata(path: Path, *, shape, chunks, data_type: str, fill_value, endian="little",
                      codecs=None, **extra) -> Path:
    """A v3 array zarr.json written by hand; no chunks."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    doc = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": list(shape),
        "data_type": data_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill_value,
        "codecs": codecs if codecs is not None else [{"name": "bytes", "configuration": {"endian": endian}}],
        "attributes": {},
        **extra,
    }
    (path / "zarr.json").write_text(json.dumps(doc, indent=1))
    return path


# --------------------------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class Case:
    name: str
    writer: str  # "zarr" or "tensorstore"
    zarr_format: int
    build: Callable[[Path], np.ndarray | None]  # writes the store, returns the data written (if whole)
    note: str = ""
    tags: frozenset = field(default_factory=frozenset)


ARRAY_CASES: dict[str, Case] = {}
GROUP_CASES: dict[str, Case] = {}


def _add(table: dict, name: str, writer: str, zarr_format: int, note: str, tags=(), *, build):
    assert name not in table, name
    table[name] = Case(name, writer, zarr_format, build, note, frozenset(tags))


def _dtype_label(dtype: str) -> str:
    return dtype.replace("[", "_").replace("]", "")


def _register_dtype_cases():
    for dtype in BASE_DTYPES + TIME_DTYPES:
        label = _dtype_label(dtype)
        orders = [False, True] if is_multibyte(dtype) else [False]
        for big in orders:
            name = f"zarr_v2_{label}" + ("_be" if big else ("_le" if is_multibyte(dtype) else ""))

            def build(path, dtype=dtype, big=big, name=name):
                data = sample_data(dtype, SHAPE_2D, seed_of(name))
                zarr_array(path, data, zarr_format=2, chunks=CHUNKS_2D, big_endian=big)
                return data

            _add(ARRAY_CASES, name, "zarr", 2, f"v2 {dtype} {'big' if big else 'little'} endian",
                 {"dtype", "time"} if dtype in TIME_DTYPES else {"dtype"}, build=build)

    for dtype in BASE_DTYPES:
        label = _dtype_label(dtype)
        for big in [False, True] if is_multibyte(dtype) else [False]:
            name = f"zarr_v3_{label}" + ("_be" if big else "")

            def build(path, dtype=dtype, big=big, name=name):
                data = sample_data(dtype, SHAPE_2D, seed_of(name))
                zarr_array(path, data, zarr_format=3, chunks=CHUNKS_2D, big_endian=big)
                return data

            _add(ARRAY_CASES, name, "zarr", 3, f"v3 {dtype}, bytes codec {'big' if big else 'little'}",
                 {"dtype"}, build=build)

    for i, dtype in enumerate(BASE_DTYPES):
        # tensorstore v2: multi-byte types alternate between byte orders; both appear for each size.
        big = is_multibyte(dtype) and i % 2 == 0
        name = f"ts_v2_{dtype}" + ("_be" if big else "")

        def build(path, dtype=dtype, big=big, name=name):
            data = sample_data(dtype, SHAPE_2D, seed_of(name))
            ts_v2_array(path, data, chunks=CHUNKS_2D, big_endian=big)
            return data

        _add(ARRAY_CASES, name, "tensorstore", 2, f"v2 {dtype} by tensorstore", {"dtype"}, build=build)

    for dtype in BASE_DTYPES:
        endian = "big" if is_multibyte(dtype) else None
        name = f"ts_v3_{dtype}" + ("_be" if endian else "_noendian")

        def build(path, dtype=dtype, endian=endian, name=name):
            data = sample_data(dtype, SHAPE_2D, seed_of(name))
            ts_v3_array(path, data, chunks=CHUNKS_2D, endian=endian,
                        fill_value=False if dtype == "bool" else 0)
            return data

        _add(ARRAY_CASES, name, "tensorstore", 3, f"v3 {dtype} by tensorstore, endian {endian}",
             {"dtype"}, build=build)


def _register_layout_cases():
    def simple(name, writer, fmt, note, tags=(), **kw):
        dtype = kw.pop("dtype")
        shape = kw.pop("shape")
        region = kw.pop("region", None)
        write = kw.pop("write", True)

        def build(path):
            data = sample_data(dtype, shape, seed_of(name)) if write else None
            if writer == "zarr":
                if data is None:
                    kw.update(dtype=dtype, shape=shape)
                zarr_array(path, data, zarr_format=fmt, region=region, **kw)
            elif fmt == 2:
                ts_v2_array(path, data, region=region, **kw)
            else:
                ts_v3_array(path, data, region=region, **kw)
            return data if region is None and write else None

        _add(ARRAY_CASES, name, writer, fmt, note, tags, build=build)

    # v2 order "F": chunks hold Fortran-ordered bytes.
    simple("zarr_v2_order_F", "zarr", 2, "v2 order F", dtype="float64", shape=(30, 40), chunks=(7, 9), order="F")
    simple("zarr_v2_order_F_3d_be", "zarr", 2, "v2 order F, 3-d, big endian", dtype="int32",
           shape=(9, 10, 11), chunks=(4, 3, 5), order="F", big_endian=True)
    simple("ts_v2_order_F_be", "tensorstore", 2, "v2 order F by tensorstore, big endian",
           dtype="float32", shape=(13, 17, 5), chunks=(5, 4, 3), order="F", big_endian=True)
    # v2 dimension_separator "/".
    simple("zarr_v2_dimsep_slash", "zarr", 2, "v2 dimension_separator /", dtype="int32", shape=(30, 40),
           chunks=(7, 9), chunk_key_encoding={"name": "v2", "separator": "/"})
    simple("ts_v2_dimsep_slash", "tensorstore", 2, "v2 dimension_separator / by tensorstore",
           dtype="uint16", shape=(30, 40), chunks=(7, 9), big_endian=True, dimension_separator="/")
    # v3 chunk key encodings.
    for enc_name, sep in [("default", "/"), ("default", "."), ("v2", "."), ("v2", "/")]:
        label = f"{enc_name}_{'slash' if sep == '/' else 'dot'}"
        simple(f"zarr_v3_key_{label}", "zarr", 3, f"v3 chunk key encoding {enc_name} '{sep}'",
               dtype="float32", shape=(30, 40, 3), chunks=(7, 9, 2),
               chunk_key_encoding={"name": enc_name, "separator": sep})
    simple("ts_v3_key_default_dot", "tensorstore", 3, "v3 default '.' keys by tensorstore", dtype="int16",
           shape=(30, 40), chunks=(7, 9), endian="little",
           chunk_key_encoding={"name": "default", "configuration": {"separator": "."}})
    simple("ts_v3_key_v2", "tensorstore", 3, "v3 v2 keys by tensorstore", dtype="uint32",
           shape=(30, 40), chunks=(7, 9), endian="big", chunk_key_encoding={"name": "v2"})
    # v3 transpose codec (an array-to-array codec before the bytes codec).
    simple("zarr_v3_transpose", "zarr", 3, "v3 transpose (2, 0, 1)", dtype="int16", shape=(11, 13, 7),
           chunks=(4, 5, 3), transpose=(2, 0, 1))
    simple("zarr_v3_transpose_be", "zarr", 3, "v3 transpose (1, 0) + big endian", dtype="float64",
           shape=(23, 19), chunks=(6, 8), transpose=(1, 0), big_endian=True)
    simple("ts_v3_transpose", "tensorstore", 3, "v3 transpose [1, 2, 0] by tensorstore",
           dtype="complex64", shape=(9, 12, 10), chunks=(4, 5, 3), endian="big", transpose=(1, 2, 0))
    # Missing chunks: only part of the array is written; the rest reads as the fill value.
    part = (slice(3, 17), slice(0, 22))
    simple("zarr_v2_missing_fill42", "zarr", 2, "v2 missing chunks, fill 42", {"missing"}, dtype="int32",
           shape=(40, 50), chunks=(8, 10), fill_value=42, region=part)
    simple("zarr_v2_missing_nan", "zarr", 2, "v2 missing chunks, fill NaN", {"missing"}, dtype="float32",
           shape=(40, 50), chunks=(8, 10), fill_value=np.nan, region=part)
    simple("zarr_v2_missing_nan_be", "zarr", 2, "v2 missing chunks, fill NaN, big endian", {"missing"},
           dtype="float64", shape=(40, 50), chunks=(8, 10), fill_value=np.nan, big_endian=True, region=part)
    simple("zarr_v3_missing_fill42", "zarr", 3, "v3 missing chunks, fill 42", {"missing"}, dtype="int32",
           shape=(40, 50), chunks=(8, 10), fill_value=42, region=part)
    simple("zarr_v3_missing_nan", "zarr", 3, "v3 missing chunks, fill NaN", {"missing"}, dtype="float32",
           shape=(40, 50), chunks=(8, 10), fill_value=np.nan, region=part)
    simple("zarr_v3_missing_fill42_be", "zarr", 3, "v3 missing chunks, fill 42, big endian", {"missing"},
           dtype="uint16", shape=(40, 50), chunks=(8, 10), fill_value=42, big_endian=True, region=part)
    simple("ts_v3_missing_complex", "tensorstore", 3, "v3 missing chunks, fill [1, NaN]", {"missing"},
           dtype="complex64", shape=(40, 50), chunks=(8, 10), endian="big",
           fill_value=complex(1.0, np.nan), region=part)
    simple("ts_v2_missing_nan_be", "tensorstore", 2, "v2 missing chunks, fill NaN by tensorstore",
           {"missing"}, dtype="float64", shape=(40, 50), chunks=(8, 10), big_endian=True,
           fill_value=np.nan, region=part)
    # Nothing written at all.
    simple("zarr_v3_all_missing", "zarr", 3, "v3, no chunk written, fill -3", {"missing"}, dtype="int8",
           shape=(20, 30), chunks=(8, 10), fill_value=-3, write=False)
    # 0-d arrays.
    simple("zarr_v2_0d", "zarr", 2, "v2 0-d", {"0d"}, dtype="float64", shape=(), chunks=())
    simple("zarr_v3_0d", "zarr", 3, "v3 0-d", {"0d"}, dtype="int32", shape=(), chunks=())
    simple("ts_v2_0d_be", "tensorstore", 2, "v2 0-d by tensorstore", {"0d"}, dtype="complex128", shape=(),
           chunks=(), big_endian=True)
    simple("ts_v3_0d_be", "tensorstore", 3, "v3 0-d by tensorstore", {"0d"}, dtype="float32", shape=(),
           chunks=(), endian="big")
    # Long 1-d arrays: 101 chunks, the last one partial.
    simple("zarr_v2_1d_long", "zarr", 2, "v2 1-d long", dtype="float64", shape=(100_500,), chunks=(1000,))
    simple("zarr_v3_1d_long", "zarr", 3, "v3 1-d long", dtype="int64", shape=(100_500,), chunks=(1000,))
    simple("ts_v3_1d_long_be", "tensorstore", 3, "v3 1-d long by tensorstore", dtype="uint16",
           shape=(100_500,), chunks=(1000,), endian="big")
    # 4-d with partial chunks in every dimension.
    simple("zarr_v2_4d", "zarr", 2, "v2 4-d", dtype="float32", shape=(5, 6, 7, 8), chunks=(2, 4, 3, 5))
    simple("zarr_v3_4d", "zarr", 3, "v3 4-d", dtype="uint16", shape=(5, 6, 7, 8), chunks=(2, 4, 3, 5))
    simple("ts_v3_4d_be", "tensorstore", 3, "v3 4-d by tensorstore", dtype="int64", shape=(5, 6, 7, 8),
           chunks=(3, 2, 4, 3), endian="big")
    simple("zarr_v2_4d_F", "zarr", 2, "v2 4-d order F", dtype="complex128", shape=(5, 6, 7, 8),
           chunks=(2, 4, 3, 5), order="F")
    # One chunk bigger than the whole array; an empty dimension.
    simple("zarr_v2_chunk_bigger", "zarr", 2, "v2 chunk larger than the array", dtype="int16", shape=(5, 7),
           chunks=(16, 16))
    simple("zarr_v3_empty_dim", "zarr", 3, "v3 shape with a zero-length dimension", dtype="float32",
           shape=(6, 0, 4), chunks=(4, 3, 3))
    # Dimension names: v3 metadata, v2 xarray's _ARRAY_DIMENSIONS attribute.
    simple("zarr_v3_dimnames", "zarr", 3, "v3 dimension_names + attributes", {"dimnames"}, dtype="float32",
           shape=(12, 10, 3), chunks=(5, 4, 2), dimension_names=("time", None, "band"),
           attributes={"units": "K", "scale": 0.5, "nested": {"a": [1, 2, None]}})
    simple("zarr_v2_array_dimensions", "zarr", 2, "v2 _ARRAY_DIMENSIONS attribute", {"dimnames"},
           dtype="float32", shape=(12, 10), chunks=(5, 4), dimension_names=("y", "x"),
           attributes={"long_name": "temperature", "valid_range": [-1.5, 40]})
    simple("ts_v3_dimnames", "tensorstore", 3, "v3 dimension_names by tensorstore", {"dimnames"},
           dtype="uint8", shape=(12, 10), chunks=(5, 4), endian=None, dimension_names=("lat", "lon"),
           attributes={"title": "by tensorstore"})


def _build_group(path: Path, zarr_format: int, consolidated: bool, name: str):
    """A hierarchy: root (attrs) / temp, sub / (c, deeper / b)."""
    zarr = _zarr()
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = zarr.open_group(str(path), mode="w", zarr_format=zarr_format,
                               attributes={"title": name, "version": 3})
        sub = root.create_group("sub", attributes={"level": 1})
        sub.create_group("deeper")
    temp = sample_data("float32", (10, 12, 4), seed_of(name + "temp"))
    zarr_array(path / "temp", temp, zarr_format=zarr_format, chunks=(4, 5, 3), fill_value=np.nan,
               dimension_names=("y", "x", "t"), attributes={"units": "K"})
    c = sample_data("uint32", (6, 5), seed_of(name + "c"))
    zarr_array(path / "sub" / "c", c, zarr_format=zarr_format, chunks=(4, 4), big_endian=True,
               order="F" if zarr_format == 2 else None, fill_value=0)
    b = sample_data("int16", (7,), seed_of(name + "b"))
    zarr_array(path / "sub" / "deeper" / "b", b, zarr_format=zarr_format, chunks=(3,), fill_value=-1,
               region=(slice(0, 5),), attributes={"description": "partly written"})
    if consolidated:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zarr.consolidate_metadata(str(path))
    return None


GROUP_ARRAYS = ["temp", "sub/c", "sub/deeper/b"]
GROUP_GROUPS = ["sub", "sub/deeper"]


def _register_group_cases():
    for fmt in (2, 3):
        for consolidated in (False, True):
            name = f"zarr_v{fmt}_group" + ("_consolidated" if consolidated else "")

            def build(path, fmt=fmt, consolidated=consolidated, name=name):
                return _build_group(path, fmt, consolidated, name)

            _add(GROUP_CASES, name, "zarr", fmt, f"v{fmt} nested groups, consolidated={consolidated}",
                 {"consolidated"} if consolidated else (), build=build)


_register_dtype_cases()
_register_layout_cases()
_register_group_cases()


def array_case_names(*, tag: str | None = None, exclude_tag: str | None = None) -> list[str]:
    return [
        n
        for n, c in ARRAY_CASES.items()
        if (tag is None or tag in c.tags) and (exclude_tag is None or exclude_tag not in c.tags)
    ]


class StoreFactory:
    """Writes stores on first use under one root directory (a session-wide temporary folder)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock = threading.Lock()
        self._paths: dict[str, Path] = {}
        self._data: dict[str, np.ndarray | None] = {}

    def case(self, name: str) -> Case:
        return ARRAY_CASES.get(name) or GROUP_CASES[name]

    def path(self, name: str) -> Path:
        with self._lock:
            if name not in self._paths:
                case = self.case(name)
                path = self.root / f"{name}.zarr"
                self._data[name] = case.build(path)
                self._paths[name] = path
            return self._paths[name]

    def written(self, name: str) -> np.ndarray | None:
        """The data written, for stores written whole (None for partly written ones)."""
        self.path(name)
        return self._data[name]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory under `root`: relative name → (size, mtime in ns)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.stat(p)
            out[os.path.relpath(p, root)] = (st.st_size if n in filenames else -1, st.st_mtime_ns)
    return out


def zip_store(src: Path, dest: Path, layout: str, *, folder: str | None = None) -> Path:
    """Zips the store at ``src``; ``folder`` puts every key below that folder name."""
    compression = zipfile.ZIP_DEFLATED if layout == "deflated" else zipfile.ZIP_STORED
    with zipfile.ZipFile(dest, "w", compression=compression) as zf:
        for dirpath, _, files in sorted(os.walk(src)):
            for f in sorted(files):
                path = Path(dirpath) / f
                name = path.relative_to(src).as_posix()
                if folder:
                    name = f"{folder}/{name}"
                if layout == "zip64":
                    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_STORED
                    with zf.open(info, "w", force_zip64=True) as out:
                        out.write(path.read_bytes())
                else:
                    zf.write(path, name)
    return dest


# --------------------------------------------------------------------------------------------
# Comparing results


def native(dtype: np.dtype) -> np.dtype:
    return np.dtype(dtype).newbyteorder("=")


def assert_same_array(got: np.ndarray, want: np.ndarray) -> None:
    """Exactly equal: same shape, same dtype (up to byte order), equal values with NaN equal to NaN,
    and equal bits (so -0.0 vs 0.0, NaN payloads and NaT are told apart)."""
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    assert got.dtype == native(want.dtype), f"dtype {got.dtype} != {want.dtype}"
    if want.dtype.kind == "c":
        assert np.array_equal(got, want, equal_nan=True), "complex values differ"
    elif want.dtype.kind in "mM":
        np.testing.assert_array_equal(got.view(np.int64), want.astype(native(want.dtype)).view(np.int64))
    else:
        np.testing.assert_array_equal(got, want)
    want_native = np.ascontiguousarray(want.astype(native(want.dtype)))
    got_c = np.ascontiguousarray(got)
    assert got_c.tobytes() == want_native.tobytes(), "values are equal but their bits differ"


def assert_remote_array_equals_local(remote, local) -> None:
    """A store read over the network (HTTP, S3) equals the same store read from its directory:
    metadata, the whole array and a strided selection."""
    assert remote.shape == local.shape and remote.dtype == local.dtype and remote.chunks == local.chunks
    assert remote.attrs == local.attrs
    assert remote.codecs == local.codecs
    assert_same_array(remote[...], local[...])
    if local.ndim and local.size:
        key = tuple(slice(n // 3, None, 2) for n in local.shape)
        assert_same_array(remote[key], local[key])


def assert_remote_group_equals_local(remote, local, name: str) -> None:
    """A group read over an object store (which lists) equals the same group read from its
    directory: consolidated only where the store has consolidated metadata, the same members,
    the same data."""
    assert remote.attrs == local.attrs
    assert remote.consolidated == ("consolidated" in name)
    assert sorted(n for n, _ in remote.arrays()) == sorted(n for n, _ in local.arrays())
    assert sorted(n for n, _ in remote.groups()) == sorted(n for n, _ in local.groups())
    assert sorted(remote["sub"].keys()) == sorted(local["sub"].keys())
    for array in GROUP_ARRAYS:
        assert_same_array(remote[array][...], local[array][...])


def outer_index(data: np.ndarray, key: tuple) -> np.ndarray:
    """Outer indexing done with NumPy, one dimension at a time (last first, so the axis numbers
    of the dimensions still to do do not move)."""
    key = tuple(key) + (slice(None),) * (data.ndim - len(key))
    out = data
    for axis in reversed(range(data.ndim)):
        item = key[axis]
        n = data.shape[axis]
        if isinstance(item, slice):
            item = np.arange(n)[item]
        elif np.asarray(item).dtype == bool and np.ndim(item) == 1:
            item = np.nonzero(item)[0]
        out = np.take(out, item, axis=axis)
    return out
