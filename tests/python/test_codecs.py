"""Compressed, filtered, checksummed and sharded stores written by real writers read exactly.

zarr-python 3 writes Zarr v2 stores with every numcodecs compressor and filter cuzarr decodes;
zarr-python 3 and tensorstore ("zarr3" driver) write Zarr v3 stores with every v3 codec (blosc,
gzip, zstd, crc32c, transpose, bytes endian, sharding_indexed in its forms). For each store,
cuzarr's whole read and 50 random outer selections must equal zarr-python's own read bit for bit
(the selections are compared with zarr's full read indexed in NumPy, a few also with zarr's oindex).
Stores zarr-python cannot open (tensorstore's transpose before sharding with a non-cubic shard) are
compared with tensorstore's read instead; every other tensorstore store must also read the same in
zarr-python and tensorstore, which guards the fixtures themselves.

Each store is written once per module, on first use, under one temporary folder.
"""

from __future__ import annotations

import itertools
import json
import os
import struct
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.codecs import (
    BloscCodec,
    BytesCodec,
    Crc32cCodec,
    GzipCodec,
    ShardingCodec,
    TransposeCodec,
    ZstdCodec,
)

import cuzarr
import stores
from stores import BASE_DTYPES, TIME_DTYPES, assert_same_array, fill_json, native, outer_index, sample_data, seed_of
from test_conformance import describe, random_selection, zarr_oindex

SELECTIONS_PER_STORE = 50
# Of those, how many are also checked against zarr's own oindex (slower than NumPy on the full read).
ZARR_OINDEX_CHECKS = 3

# blosc inner compressors. "snappy" is missing on purpose: numcodecs 0.16 builds c-blosc without
# snappy (numcodecs.blosc.list_compressors() lacks it), so neither zarr-python nor tensorstore can
# write such chunks here.
BLOSC_CNAMES = ["lz4", "lz4hc", "blosclz", "zstd", "zlib"]
V3_SHUFFLES = ["noshuffle", "shuffle", "bitshuffle"]
MISSING_ENTRY = 0xFFFF_FFFF_FFFF_FFFF

# --------------------------------------------------------------------------------------------
# Data


def codec_data(dtype: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Mostly compressible values (so the compressors really compress and blosc does not store
    blocks raw), with ~5% of stores.sample_data's awkward values (NaN, infinities, -0.0,
    subnormals, integer extremes, NaT) mixed in, always including the first few elements."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.int64)
    if dt.kind == "b":
        smooth = (i // 7) % 3 == 0
    elif dt.kind in "iu":
        smooth = ((i // 3) % 100 + (i // 200) * 1009).astype(dt)  # wraps around for narrow types
    elif dt.kind == "f":
        smooth = np.round(np.sin(i / 17.0) * 100, 2).astype(dt)
    elif dt.kind == "c":
        smooth = (np.round(np.sin(i / 17.0) * 100, 2) + 1j * np.round(np.cos(i / 13.0), 3)).astype(dt)
    elif dt.kind in "mM":
        smooth = (946_684_800 + (i // 4) * 3600).view(dt)
    else:  # pragma: no cover
        raise ValueError(dtype)
    awkward = sample_data(dtype, (n,), seed)
    rng = np.random.default_rng(seed)
    mask = rng.random(n) < 0.05
    mask[:8] = True
    return np.where(mask, awkward, smooth).astype(dt).reshape(shape)


def noise_data(dtype: str, shape, seed: int) -> np.ndarray:
    """Incompressible values: blosc stores such blocks raw (its memcpy path)."""
    return sample_data(dtype, shape, seed)


def smooth_floats(shape, dtype="float64") -> np.ndarray:
    n = int(np.prod(shape))
    return (np.linspace(-40.0, 60.0, n) + np.sin(np.arange(n) / 5.0)).astype(dtype).reshape(shape)


def wide_steps(dtype, shape, seed) -> np.ndarray:
    """Small first value, then jumps that overflow int16: a delta filter with astype int16 wraps."""
    rng = np.random.default_rng(seed)
    values = rng.integers(-30000, 30000, size=int(np.prod(shape))).astype(dtype)
    values[0] = 5
    return values.reshape(shape)


def slow_ints(dtype, shape, seed) -> np.ndarray:
    """Integers whose neighbours differ by a little: what the delta filter is for."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (np.cumsum(rng.integers(-3, 4, size=n)) + 100).astype(dtype).reshape(shape)


# --------------------------------------------------------------------------------------------
# Writers


def write_selection(target, data: np.ndarray, region) -> None:
    if region is None:
        target[...] = data
    else:
        target[region] = data[region]


def zarr_v2(path: Path, data: np.ndarray, *, chunks, compressor, filters=None, dtype: str | None = None,
            order: str = "C", separator: str = ".", fill_value=None, region=None):
    """A v2 store by zarr-python 3 with numcodecs `compressor` (or None) and `filters`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(
            str(path), shape=data.shape, chunks=tuple(chunks), dtype=dtype or data.dtype.str,
            zarr_format=2, compressors=compressor, filters=filters, order=order,
            fill_value=fill_value, chunk_key_encoding={"name": "v2", "separator": separator},
        )
        write_selection(z, data, region)


def zarr_v3(path: Path, data: np.ndarray, *, chunks, codecs: list, fill_value=0, region=None):
    """A v3 store by zarr-python 3; `codecs` is the whole v3 codec list (zarr codec objects)."""
    filters = [c for c in codecs if isinstance(c, TransposeCodec)]
    serializer = [c for c in codecs if isinstance(c, (BytesCodec, ShardingCodec))]
    compressors = [c for c in codecs if not isinstance(c, (TransposeCodec, BytesCodec, ShardingCodec))]
    assert len(serializer) <= 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(
            str(path), shape=data.shape, chunks=tuple(chunks), dtype=native(data.dtype),
            zarr_format=3, filters=filters or None, serializer=serializer[0] if serializer else "auto",
            compressors=compressors or None, fill_value=fill_value,
        )
        write_selection(z, data, region)


def ts_v3(path: Path, data: np.ndarray, *, chunks, codecs: list[dict], fill_value=0, region=None):
    """A v3 store by tensorstore's "zarr3" driver; `codecs` is the v3 codec list as JSON."""
    import tensorstore as ts

    dtype_name = native(data.dtype).name
    metadata = {
        "data_type": dtype_name,
        "shape": list(data.shape),
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        "codecs": codecs,
        "fill_value": fill_json(fill_value, dtype_name),
    }
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}, "metadata": metadata}
    t = ts.open(spec, create=True, delete_existing=True).result()
    if region is None:
        t.write(data).result()
    else:
        t[region].write(data[region]).result()


def ts_read(path: Path) -> np.ndarray:
    import tensorstore as ts

    t = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}}).result()
    return np.asarray(t.read().result())


# v3 codec JSON for tensorstore.
def j_bytes(endian="little"):
    return {"name": "bytes"} if endian is None else {"name": "bytes", "configuration": {"endian": endian}}


def j_blosc(cname, shuffle, clevel=5, typesize=None, blocksize=0):
    conf = {"cname": cname, "clevel": clevel, "shuffle": shuffle, "blocksize": blocksize}
    if typesize is not None:
        conf["typesize"] = typesize
    return {"name": "blosc", "configuration": conf}


def j_gzip(level=5):
    return {"name": "gzip", "configuration": {"level": level}}


def j_zstd(level=3, checksum=False):
    return {"name": "zstd", "configuration": {"level": level, "checksum": checksum}}


def j_crc32c():
    return {"name": "crc32c"}


def j_transpose(order):
    return {"name": "transpose", "configuration": {"order": list(order)}}


def j_shard(chunk_shape, codecs, index_codecs=None, index_location="end"):
    conf = {"chunk_shape": list(chunk_shape), "codecs": codecs, "index_location": index_location}
    conf["index_codecs"] = index_codecs if index_codecs is not None else [j_bytes("little"), j_crc32c()]
    return {"name": "sharding_indexed", "configuration": conf}


# --------------------------------------------------------------------------------------------
# Shard index inspection (to check that a case really has the layout it is about)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _crc32c_table()


def shard_index(shard: Path, n_inner: int, *, at_end: bool = True, checksum: bool = True) -> np.ndarray:
    """The (offset, nbytes) pairs of a shard's index (little endian), its crc32c checked."""
    raw = shard.read_bytes()
    size = 16 * n_inner + (4 if checksum else 0)
    index = raw[-size:] if at_end else raw[:size]
    if checksum:
        assert struct.unpack("<I", index[-4:])[0] == crc32c(index[:-4]), f"bad index checksum in {shard}"
        index = index[:-4]
    return np.frombuffer(index, dtype="<u8").reshape(n_inner, 2)


def count_missing(entries: np.ndarray) -> int:
    return int(((entries[:, 0] == MISSING_ENTRY) & (entries[:, 1] == MISSING_ENTRY)).sum())


# --------------------------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class CodecCase:
    name: str
    writer: str  # "zarr" or "tensorstore"
    fmt: int
    # Writes the store; returns the values written when the whole array was written losslessly
    # (then zarr's read must give them back), else None.
    build: Callable[[Path], np.ndarray | None]
    # Asserts that the store has the layout the case is about (missing inner chunks, ...).
    check: Callable[[Path], None] | None = None
    zarr_reads: bool = True  # False: zarr-python cannot open it; tensorstore's read is the reference


CASES: dict[str, CodecCase] = {}


def add(name, writer, fmt, build, check=None, zarr_reads=True):
    assert name not in CASES, name
    CASES[name] = CodecCase(name, writer, fmt, build, check, zarr_reads)


def v2_case(name, *, dtype="float32", shape=(29, 41), chunks=(8, 10), big_endian=False, data=None,
            lossless=True, region=None, check=None, **kw):
    """A v2 store by zarr-python; `data(dtype, shape, seed)` makes the values (codec_data by default)."""

    def build(path):
        values = (data or codec_data)(dtype, shape, seed_of(name))
        zarr_v2(path, values, chunks=chunks, dtype=stores.v2_type_string(dtype, big_endian), region=region, **kw)
        return values if lossless and region is None else None

    add(name, "zarr", 2, build, check)


def v3_case(name, writer, *, codecs, dtype="float32", shape=(29, 41), chunks=(8, 10), data=None,
            region=None, fill_value=0, check=None, zarr_reads=True):
    """A v3 store by zarr-python (`codecs`: zarr codec objects) or tensorstore (`codecs`: JSON)."""

    def build(path):
        values = (data or codec_data)(dtype, shape, seed_of(name))
        write = zarr_v3 if writer == "zarr" else ts_v3
        write(path, values, chunks=chunks, codecs=codecs, fill_value=fill_value, region=region)
        return values if region is None else None

    add(name, writer, 3, build, check, zarr_reads)


def check_v2_compressor(expected_id, **fields):
    def check(path):
        meta = json.loads((path / ".zarray").read_text())
        assert meta["compressor"]["id"] == expected_id
        for k, v in fields.items():
            assert meta["compressor"][k] == v, (k, meta["compressor"])

    return check


# ---- v2: blosc, every cname x every shuffle; clevels, blocksizes and type sizes vary along.


def _register_v2_blosc():
    sized = ["uint16", "float32", "float64", "int64", "int32"]
    for c, cname in enumerate(BLOSC_CNAMES):
        for shuffle in (0, 1, 2):
            clevel = (1, 5, 9)[(c + 2 * shuffle) % 3]
            blocksize = (0, 256, 4096)[(c + shuffle) % 3]
            dtype = sized[(2 * c + shuffle) % len(sized)]
            compressor = numcodecs.Blosc(cname=cname, clevel=clevel, shuffle=shuffle, blocksize=blocksize)
            v2_case(f"v2_blosc_{cname}_shuffle{shuffle}_clevel{clevel}_bs{blocksize}_{dtype}", dtype=dtype,
                    compressor=compressor,
                    check=check_v2_compressor("blosc", cname=cname, shuffle=shuffle, blocksize=blocksize))
    # clevel 0: blosc stores the input as is (memcpy flag).
    v2_case("v2_blosc_clevel0", dtype="int16", compressor=numcodecs.Blosc(cname="lz4", clevel=0, shuffle=1))
    # Incompressible values: blosc keeps the blocks raw even at clevel 9.
    v2_case("v2_blosc_noise_f8", dtype="float64", data=noise_data,
            compressor=numcodecs.Blosc(cname="zstd", clevel=9, shuffle=1))
    # One-byte type with bit shuffle; a block size far over the chunk size; many blocks per chunk.
    v2_case("v2_blosc_bitshuffle_u1", dtype="uint8", compressor=numcodecs.Blosc(cname="lz4", shuffle=2))
    v2_case("v2_blosc_blocksize_over_chunk", dtype="int32",
            compressor=numcodecs.Blosc(cname="blosclz", shuffle=1, blocksize=1 << 20))
    v2_case("v2_blosc_many_blocks", dtype="float64", shape=(100, 130), chunks=(64, 64),
            compressor=numcodecs.Blosc(cname="lz4hc", clevel=9, shuffle=2, blocksize=1024))


# ---- v2: the other compressors, with their levels and options.


def _register_v2_compressors():
    cases = [
        ("v2_zstd_level1", "int32", numcodecs.Zstd(level=1)),
        ("v2_zstd_level9_checksum", "float64", numcodecs.Zstd(level=9, checksum=True)),
        ("v2_zstd_level22", "uint16", numcodecs.Zstd(level=22)),
        ("v2_zstd_negative_level", "float32", numcodecs.Zstd(level=-5)),
        ("v2_zlib_level1", "int64", numcodecs.Zlib(level=1)),
        ("v2_zlib_level9", "float32", numcodecs.Zlib(level=9)),
        ("v2_gzip_level1", "uint32", numcodecs.GZip(level=1)),
        ("v2_gzip_level9", "float64", numcodecs.GZip(level=9)),
        ("v2_bz2_level1", "int16", numcodecs.BZ2(level=1)),
        ("v2_bz2_level9", "float32", numcodecs.BZ2(level=9)),
        ("v2_lz4_accel1", "int64", numcodecs.LZ4(acceleration=1)),
        ("v2_lz4_accel30", "uint8", numcodecs.LZ4(acceleration=30)),
    ]
    for name, dtype, compressor in cases:
        v2_case(name, dtype=dtype, compressor=compressor, check=check_v2_compressor(compressor.codec_id))
    v2_case("v2_zstd_noise", dtype="int64", data=noise_data, compressor=numcodecs.Zstd(level=3))
    v2_case("v2_lz4_noise", dtype="complex64", data=noise_data, compressor=numcodecs.LZ4())


# ---- v2: every dtype through a compressor, both byte orders.


V2_ROTATION = [
    lambda: numcodecs.Blosc(cname="lz4", clevel=5, shuffle=1),
    lambda: numcodecs.Zstd(level=3),
    lambda: numcodecs.Zlib(level=6),
    lambda: numcodecs.GZip(level=6),
    lambda: numcodecs.BZ2(level=5),
    lambda: numcodecs.LZ4(),
    lambda: numcodecs.Blosc(cname="zstd", clevel=3, shuffle=2),
    lambda: numcodecs.Blosc(cname="blosclz", clevel=7, shuffle=0),
]


def _register_v2_dtypes():
    for i, dtype in enumerate(BASE_DTYPES + TIME_DTYPES):
        label = dtype.replace("[", "_").replace("]", "")
        big = stores.is_multibyte(dtype) and i % 2 == 1
        compressor = V2_ROTATION[i % len(V2_ROTATION)]()
        v2_case(f"v2_dtype_{label}{'_be' if big else ''}_{compressor.codec_id}", dtype=dtype, big_endian=big,
                compressor=compressor)
    # The other byte order of a few, with shuffling compressors (shuffle sees the stored order).
    for dtype, compressor in [
        ("float64", numcodecs.Blosc(cname="lz4", shuffle=1)),
        ("complex128", numcodecs.Blosc(cname="zstd", shuffle=2)),
        ("datetime64[ns]", numcodecs.Zstd()),
        ("float16", numcodecs.GZip()),
        ("int32", numcodecs.LZ4()),
        ("uint64", numcodecs.BZ2()),
    ]:
        label = dtype.replace("[", "_").replace("]", "")
        v2_case(f"v2_dtype_{label}_be_extra_{compressor.codec_id}", dtype=dtype, big_endian=True,
                compressor=compressor)


# ---- v2: layouts (order F, '/' keys, missing chunks, shapes) with compression.


def _register_v2_layouts():
    part = (slice(3, 17), slice(0, 22))
    v2_case("v2_order_F_blosc", dtype="float64", shape=(30, 40), chunks=(7, 9), order="F",
            compressor=numcodecs.Blosc(cname="lz4", shuffle=2))
    v2_case("v2_order_F_zstd_3d_be", dtype="int32", shape=(9, 10, 11), chunks=(4, 3, 5), order="F",
            big_endian=True, compressor=numcodecs.Zstd())
    v2_case("v2_order_F_gzip_4d_complex", dtype="complex128", shape=(5, 6, 7, 8), chunks=(2, 4, 3, 5),
            order="F", compressor=numcodecs.GZip())
    v2_case("v2_slash_blosc", dtype="int32", shape=(30, 40), chunks=(7, 9), separator="/",
            compressor=numcodecs.Blosc(cname="zlib", shuffle=1))
    v2_case("v2_slash_bz2_3d", dtype="uint16", shape=(9, 10, 11), chunks=(4, 3, 5), separator="/",
            compressor=numcodecs.BZ2())
    v2_case("v2_missing_nan_blosc", dtype="float32", shape=(40, 50), chunks=(8, 10), fill_value=np.nan,
            region=part, compressor=numcodecs.Blosc(cname="lz4hc", shuffle=1))
    v2_case("v2_missing_fill42_zstd_be", dtype="int32", shape=(40, 50), chunks=(8, 10), fill_value=42,
            big_endian=True, region=part, compressor=numcodecs.Zstd())
    v2_case("v2_missing_bool_true_gzip", dtype="bool", shape=(40, 50), chunks=(8, 10), fill_value=True,
            region=part, compressor=numcodecs.GZip())
    v2_case("v2_missing_slash_F_lz4", dtype="float64", shape=(40, 50), chunks=(8, 10), fill_value=-1.5,
            region=part, order="F", separator="/", compressor=numcodecs.LZ4())
    v2_case("v2_all_missing_zlib", dtype="int16", shape=(20, 30), chunks=(8, 10), fill_value=-7,
            region=(slice(0, 0), slice(0, 0)), compressor=numcodecs.Zlib())
    v2_case("v2_1d_long_lz4", dtype="float64", shape=(10_050,), chunks=(1000,), compressor=numcodecs.LZ4())
    v2_case("v2_0d_zstd", dtype="float64", shape=(), chunks=(), compressor=numcodecs.Zstd())
    v2_case("v2_chunk_bigger_blosc", dtype="int16", shape=(5, 7), chunks=(16, 16),
            compressor=numcodecs.Blosc(cname="zstd", shuffle=1))


# ---- v2: filters (listed in encode order; decode runs them in reverse).


def _register_v2_filters():
    nc = numcodecs
    lossy = dict(lossless=False)
    v2_case("v2_filter_delta_i8_zstd", dtype="int64", data=slow_ints,
            filters=[nc.Delta(dtype="<i8")], compressor=nc.Zstd())
    v2_case("v2_filter_delta_i4_as_i2_blosc", dtype="int32", data=slow_ints,
            filters=[nc.Delta(dtype="<i4", astype="<i2")], compressor=nc.Blosc(cname="lz4", shuffle=1))
    # Differences that do not fit the narrower type wrap around; the reference is zarr's read.
    v2_case("v2_filter_delta_wrapping", dtype="int32", data=wide_steps, lossless=False,
            filters=[nc.Delta(dtype="<i4", astype="<i2")], compressor=nc.Zlib())
    v2_case("v2_filter_delta_f8_zlib", dtype="float64", data=lambda d, s, seed: smooth_floats(s, d),
            filters=[nc.Delta(dtype="<f8")], compressor=nc.Zlib(), **lossy)
    v2_case("v2_filter_delta_u1", dtype="uint8", filters=[nc.Delta(dtype="|u1")], compressor=nc.GZip())
    v2_case("v2_filter_delta_be", dtype="int32", big_endian=True, data=slow_ints,
            filters=[nc.Delta(dtype=">i4")], compressor=nc.Zstd())
    v2_case("v2_filter_delta_order_F", dtype="int16", shape=(30, 40), chunks=(7, 9), order="F",
            data=slow_ints, filters=[nc.Delta(dtype="<i2")], compressor=nc.LZ4())
    v2_case("v2_filter_fixedscaleoffset_f8_i4", dtype="float64", data=lambda d, s, seed: smooth_floats(s, d),
            filters=[nc.FixedScaleOffset(offset=1000, scale=100, dtype="<f8", astype="<i4")],
            compressor=nc.Zstd(), **lossy)
    v2_case("v2_filter_fixedscaleoffset_f4_u2", dtype="float32", data=lambda d, s, seed: smooth_floats(s, d) + 50,
            filters=[nc.FixedScaleOffset(offset=-5, scale=10, dtype="<f4", astype="<u2")],
            compressor=nc.Blosc(cname="zstd", shuffle=2), **lossy)
    v2_case("v2_filter_fixedscaleoffset_be", dtype="float64", big_endian=True,
            data=lambda d, s, seed: smooth_floats(s, d),
            filters=[nc.FixedScaleOffset(offset=1, scale=100, dtype=">f8", astype=">i4")],
            compressor=nc.GZip(), **lossy)
    v2_case("v2_filter_fixedscaleoffset_i4_u1", dtype="int32", data=slow_ints,
            filters=[nc.FixedScaleOffset(offset=50, scale=1, dtype="<i4", astype="|u1")],
            compressor=nc.Zlib(), **lossy)
    v2_case("v2_filter_astype_f8_as_f4", dtype="float64", data=lambda d, s, seed: smooth_floats(s, d),
            filters=[nc.AsType(encode_dtype="<f4", decode_dtype="<f8")],
            compressor=nc.Blosc(cname="lz4", shuffle=1), **lossy)
    v2_case("v2_filter_astype_i8_as_i2", dtype="int64", data=slow_ints,
            filters=[nc.AsType(encode_dtype="<i2", decode_dtype="<i8")], compressor=nc.BZ2())
    v2_case("v2_filter_quantize_f8", dtype="float64", data=lambda d, s, seed: smooth_floats(s, d),
            filters=[nc.Quantize(digits=2, dtype="<f8")], compressor=nc.Zlib(), **lossy)
    v2_case("v2_filter_quantize_f8_as_f4", dtype="float64", data=lambda d, s, seed: smooth_floats(s, d),
            filters=[nc.Quantize(digits=3, dtype="<f8", astype="<f4")], compressor=nc.Zstd(), **lossy)
    v2_case("v2_filter_shuffle_f8", dtype="float64", filters=[nc.Shuffle(elementsize=8)], compressor=nc.Zlib())
    v2_case("v2_filter_shuffle_elementsize4_on_u2", dtype="uint16", filters=[nc.Shuffle(elementsize=4)],
            compressor=nc.LZ4())
    # Order matters: encode casts to f4 then shuffles 4-byte elements; decode must unshuffle first.
    v2_case("v2_filter_chain_astype_shuffle", dtype="float64", data=lambda d, s, seed: smooth_floats(s, d),
            filters=[nc.AsType(encode_dtype="<f4", decode_dtype="<f8"), nc.Shuffle(elementsize=4)],
            compressor=nc.Blosc(cname="lz4", shuffle=0), **lossy)
    v2_case("v2_filter_chain_scale_delta_shuffle", dtype="float64", data=lambda d, s, seed: smooth_floats(s, d),
            filters=[nc.FixedScaleOffset(offset=0, scale=10, dtype="<f8", astype="<i4"),
                     nc.Delta(dtype="<i4", astype="<i2"), nc.Shuffle(elementsize=2)],
            compressor=nc.Zstd(), **lossy)
    v2_case("v2_filter_delta_no_compressor", dtype="int32", data=slow_ints,
            filters=[nc.Delta(dtype="<i4", astype="<i2")], compressor=None)


# ---- v3 by zarr-python.


def check_shards(key: str, n_inner: int, *, at_end=True, checksum=True, missing_inner=None,
                 absent: tuple[str, ...] = ()):
    """A checker: shard `key` exists with a valid index (and `missing_inner` missing entries, when
    given: None means "don't care", True "at least one"); the shards `absent` do not exist."""

    def check(path):
        entries = shard_index(path / key, n_inner, at_end=at_end, checksum=checksum)
        count = count_missing(entries)
        if missing_inner is True:
            assert count > 0, f"shard {key} has no missing inner chunk"
        elif missing_inner is not None:
            assert count == missing_inner, f"shard {key}: {count} missing inner chunks"
        for a in absent:
            assert not (path / a).exists(), f"shard {a} exists"

    return check


def _register_v3_zarr():
    sized = ["uint16", "float32", "float64", "int64", "int32"]
    for c, cname in enumerate(BLOSC_CNAMES):
        for s, shuffle in enumerate(V3_SHUFFLES):
            clevel = (1, 5, 9)[(c + 2 * s) % 3]
            blocksize = (0, 256, 4096)[(c + s) % 3]
            dtype = sized[(2 * c + s) % len(sized)]
            v3_case(f"zarr_v3_blosc_{cname}_{shuffle}_clevel{clevel}_bs{blocksize}_{dtype}", "zarr", dtype=dtype,
                    codecs=[BytesCodec(), BloscCodec(cname=cname, clevel=clevel, shuffle=shuffle,
                                                     typesize=np.dtype(dtype).itemsize, blocksize=blocksize)])
    # typesize other than the element size (blosc shuffles by typesize).
    v3_case("zarr_v3_blosc_typesize2_on_f8", "zarr", dtype="float64",
            codecs=[BytesCodec(), BloscCodec(cname="lz4", shuffle="shuffle", typesize=2)])
    v3_case("zarr_v3_gzip_level1", "zarr", dtype="int32", codecs=[BytesCodec(), GzipCodec(level=1)])
    v3_case("zarr_v3_gzip_level9_be", "zarr", dtype="float64", codecs=[BytesCodec(endian="big"), GzipCodec(level=9)])
    v3_case("zarr_v3_zstd_level1", "zarr", dtype="uint16", codecs=[BytesCodec(), ZstdCodec(level=1)])
    v3_case("zarr_v3_zstd_checksum", "zarr", dtype="float32", codecs=[BytesCodec(), ZstdCodec(level=9, checksum=True)])
    v3_case("zarr_v3_zstd_checksum_crc32c", "zarr", dtype="complex64",
            codecs=[BytesCodec(), ZstdCodec(level=3, checksum=True), Crc32cCodec()])
    v3_case("zarr_v3_crc32c", "zarr", dtype="int16", codecs=[BytesCodec(), Crc32cCodec()])
    v3_case("zarr_v3_crc32c_be", "zarr", dtype="float64", codecs=[BytesCodec(endian="big"), Crc32cCodec()])
    v3_case("zarr_v3_gzip_then_zstd", "zarr", dtype="int64", codecs=[BytesCodec(), GzipCodec(level=1), ZstdCodec()])
    v3_case("zarr_v3_transpose_10_zstd", "zarr", dtype="float64", shape=(23, 19), chunks=(6, 8),
            codecs=[TransposeCodec(order=(1, 0)), BytesCodec(), ZstdCodec()])
    v3_case("zarr_v3_transpose_120_blosc", "zarr", dtype="int32", shape=(11, 13, 7), chunks=(4, 5, 3),
            codecs=[TransposeCodec(order=(1, 2, 0)), BytesCodec(), BloscCodec(cname="lz4", shuffle="shuffle")])
    v3_case("zarr_v3_transpose_210_crc32c_be", "zarr", dtype="uint16", shape=(11, 13, 7), chunks=(4, 5, 3),
            codecs=[TransposeCodec(order=(2, 1, 0)), BytesCodec(endian="big"), Crc32cCodec()])
    v3_case("zarr_v3_transpose_3102_gzip", "zarr", dtype="float32", shape=(5, 6, 7, 8), chunks=(2, 4, 3, 5),
            codecs=[TransposeCodec(order=(3, 1, 0, 2)), BytesCodec(), GzipCodec()])
    v3_case("zarr_v3_transpose_1320_zstd_be", "zarr", dtype="complex128", shape=(5, 6, 7, 8),
            chunks=(2, 4, 3, 5), codecs=[TransposeCodec(order=(1, 3, 2, 0)), BytesCodec(endian="big"), ZstdCodec()])
    for dtype, codecs in [
        ("bool", [BytesCodec(), GzipCodec()]),
        ("int8", [BytesCodec(), BloscCodec(cname="zstd", shuffle="bitshuffle")]),
        ("float16", [BytesCodec(endian="big"), BloscCodec(cname="lz4", shuffle="shuffle")]),
        ("complex128", [BytesCodec(), ZstdCodec()]),
        ("uint64", [BytesCodec(endian="big"), GzipCodec(), Crc32cCodec()]),
    ]:
        v3_case(f"zarr_v3_dtype_{dtype}", "zarr", dtype=dtype, codecs=codecs,
                fill_value=False if dtype == "bool" else 0)
    v3_case("zarr_v3_missing_fill42_zstd", "zarr", dtype="int32", shape=(40, 50), chunks=(8, 10), fill_value=42,
            region=(slice(3, 17), slice(0, 22)), codecs=[BytesCodec(), ZstdCodec()])

    # Sharding. (40, 50) in shards of (16, 20): 3 x 3 shards, the last row and column partial;
    # inner chunks (4, 5): 16 per shard.
    shape, shard, inner = (40, 50), (16, 20), (4, 5)
    n_inner = 16
    v3_case("zarr_v3_shard_end", "zarr", dtype="int32", shape=shape, chunks=shard,
            codecs=[ShardingCodec(chunk_shape=inner, codecs=[BytesCodec()])],
            check=check_shards("c/0/0", n_inner, missing_inner=0))
    v3_case("zarr_v3_shard_start_blosc", "zarr", dtype="float32", shape=shape, chunks=shard,
            codecs=[ShardingCodec(chunk_shape=inner, codecs=[BytesCodec(), BloscCodec(cname="zstd", shuffle="shuffle")],
                                  index_location="start")],
            check=check_shards("c/1/1", n_inner, at_end=False, missing_inner=0))
    v3_case("zarr_v3_shard_index_no_crc_zstd", "zarr", dtype="uint16", shape=shape, chunks=shard,
            codecs=[ShardingCodec(chunk_shape=inner, codecs=[BytesCodec(), ZstdCodec(checksum=True)],
                                  index_codecs=[BytesCodec()])],
            check=check_shards("c/1/1", n_inner, checksum=False, missing_inner=0))
    v3_case("zarr_v3_shard_inner_be_crc32c", "zarr", dtype="float64", shape=shape, chunks=shard,
            codecs=[ShardingCodec(chunk_shape=inner, codecs=[BytesCodec(endian="big"), Crc32cCodec()])])
    v3_case("zarr_v3_shard_inner_gzip_crc32c", "zarr", dtype="complex64", shape=shape, chunks=shard,
            codecs=[ShardingCodec(chunk_shape=inner, codecs=[BytesCodec(), GzipCodec(), Crc32cCodec()],
                                  index_location="start")])
    # Partially written: shard c/0/0 has some inner chunks, every other shard is missing.
    v3_case("zarr_v3_shard_partial_nan", "zarr", dtype="float32", shape=shape, chunks=shard,
            fill_value=np.nan, region=(slice(2, 7), slice(3, 12)),
            codecs=[ShardingCodec(chunk_shape=inner, codecs=[BytesCodec(), ZstdCodec()])],
            check=check_shards("c/0/0", n_inner, missing_inner=True, absent=("c/0/1", "c/1/0", "c/2/2")))
    # Two whole shards written, index at the start, big-endian inner chunks; the rest missing.
    v3_case("zarr_v3_shard_missing_shards_start", "zarr", dtype="int16", shape=shape, chunks=shard,
            fill_value=-9, region=(slice(0, 32), slice(0, 20)),
            codecs=[ShardingCodec(chunk_shape=inner, codecs=[BytesCodec(endian="big"), GzipCodec()],
                                  index_location="start")],
            check=check_shards("c/1/0", n_inner, at_end=False, missing_inner=0, absent=("c/0/1", "c/2/0")))
    v3_case("zarr_v3_shard_nested", "zarr", dtype="int32", shape=(40, 50), chunks=(20, 20),
            codecs=[ShardingCodec(chunk_shape=(10, 10),
                                  codecs=[ShardingCodec(chunk_shape=(5, 5), codecs=[BytesCodec(), ZstdCodec()])])])
    v3_case("zarr_v3_shard_nested_partial", "zarr", dtype="uint8", shape=(40, 50), chunks=(20, 20), fill_value=3,
            region=(slice(1, 12), slice(22, 29)),
            codecs=[ShardingCodec(chunk_shape=(10, 10), index_location="start",
                                  codecs=[ShardingCodec(chunk_shape=(5, 5), codecs=[BytesCodec(), GzipCodec()],
                                                        index_codecs=[BytesCodec()])])],
            check=check_shards("c/0/1", 4, at_end=False, missing_inner=True, absent=("c/0/0", "c/1/1")))
    # Transpose before sharding (a cubic shard, so zarr-python's own check of the inner shape holds).
    v3_case("zarr_v3_shard_transpose", "zarr", dtype="float32", shape=(10, 9, 11), chunks=(4, 4, 4),
            codecs=[TransposeCodec(order=(2, 0, 1)),
                    ShardingCodec(chunk_shape=(2, 2, 2),
                                  codecs=[BytesCodec(), BloscCodec(cname="lz4", shuffle="bitshuffle")])])
    v3_case("zarr_v3_shard_3d_inner_transpose", "zarr", dtype="int64", shape=(9, 10, 11), chunks=(6, 4, 6),
            codecs=[ShardingCodec(chunk_shape=(3, 2, 3),
                                  codecs=[TransposeCodec(order=(2, 0, 1)), BytesCodec(), ZstdCodec()])])
    # A compressor over whole shards: reads can no longer pick inner chunks. (tensorstore refuses
    # to write this form.)
    v3_case("zarr_v3_shard_then_gzip", "zarr", dtype="float64", shape=shape, chunks=shard,
            codecs=[ShardingCodec(chunk_shape=inner, codecs=[BytesCodec()]), GzipCodec()])
    v3_case("zarr_v3_shard_1d_many_inner", "zarr", dtype="float64", shape=(10_000,), chunks=(4096,),
            codecs=[ShardingCodec(chunk_shape=(64,),
                                  codecs=[BytesCodec(), BloscCodec(cname="lz4", shuffle="shuffle")])])


# ---- v3 by tensorstore.


def _register_v3_tensorstore():
    sized = ["float32", "int64", "uint16", "int32", "float64"]
    for c, cname in enumerate(BLOSC_CNAMES):
        for s, shuffle in enumerate(V3_SHUFFLES):
            clevel = (1, 5, 9)[(c + 2 * s + 1) % 3]
            blocksize = (0, 256, 4096)[(c + s + 1) % 3]
            dtype = sized[(2 * c + s) % len(sized)]
            endian = "big" if (c + s) % 2 else "little"
            v3_case(f"ts_v3_blosc_{cname}_{shuffle}_clevel{clevel}_bs{blocksize}_{dtype}_{endian}", "tensorstore",
                    dtype=dtype, codecs=[j_bytes(endian), j_blosc(cname, shuffle, clevel, np.dtype(dtype).itemsize,
                                                                  blocksize)])
    v3_case("ts_v3_blosc_typesize8_on_u2", "tensorstore", dtype="uint16",
            codecs=[j_bytes(), j_blosc("zstd", "shuffle", 5, 8)])
    v3_case("ts_v3_gzip_level0", "tensorstore", dtype="int32", codecs=[j_bytes(), j_gzip(0)])
    v3_case("ts_v3_gzip_level9_be", "tensorstore", dtype="float32", codecs=[j_bytes("big"), j_gzip(9)])
    v3_case("ts_v3_zstd_level1", "tensorstore", dtype="int64", codecs=[j_bytes(), j_zstd(1)])
    v3_case("ts_v3_zstd_checksum", "tensorstore", dtype="float64", codecs=[j_bytes("big"), j_zstd(7, True)])
    v3_case("ts_v3_zstd_checksum_crc32c", "tensorstore", dtype="uint32",
            codecs=[j_bytes(), j_zstd(3, True), j_crc32c()])
    v3_case("ts_v3_crc32c", "tensorstore", dtype="int8", codecs=[j_bytes(None), j_crc32c()])
    v3_case("ts_v3_crc32c_gzip", "tensorstore", dtype="float32", codecs=[j_bytes(), j_crc32c(), j_gzip()])
    v3_case("ts_v3_transpose_10_gzip", "tensorstore", dtype="int16", shape=(23, 19), chunks=(6, 8),
            codecs=[j_transpose((1, 0)), j_bytes(), j_gzip()])
    v3_case("ts_v3_transpose_021_zstd_be", "tensorstore", dtype="float64", shape=(11, 13, 7), chunks=(4, 5, 3),
            codecs=[j_transpose((0, 2, 1)), j_bytes("big"), j_zstd()])
    v3_case("ts_v3_transpose_201_blosc", "tensorstore", dtype="uint32", shape=(11, 13, 7), chunks=(4, 5, 3),
            codecs=[j_transpose((2, 0, 1)), j_bytes(), j_blosc("lz4", "bitshuffle", 5, 4)])
    v3_case("ts_v3_transpose_102_crc32c", "tensorstore", dtype="int32", shape=(11, 13, 7), chunks=(4, 5, 3),
            codecs=[j_transpose((1, 0, 2)), j_bytes(), j_crc32c()])
    v3_case("ts_v3_transpose_2301_zstd", "tensorstore", dtype="uint16", shape=(5, 6, 7, 8), chunks=(2, 4, 3, 5),
            codecs=[j_transpose((2, 3, 0, 1)), j_bytes("big"), j_zstd()])
    v3_case("ts_v3_transpose_3210_blosc", "tensorstore", dtype="float32", shape=(5, 6, 7, 8),
            chunks=(3, 2, 4, 3), codecs=[j_transpose((3, 2, 1, 0)), j_bytes(), j_blosc("zstd", "shuffle", 5, 4)])
    for dtype, codecs in [
        ("bool", [j_bytes(None), j_zstd()]),
        ("uint8", [j_bytes(None), j_blosc("blosclz", "bitshuffle", 5, 1)]),
        ("float16", [j_bytes("big"), j_gzip()]),
        ("complex64", [j_bytes("big"), j_blosc("lz4", "shuffle", 5, 8)]),
        ("complex128", [j_bytes(), j_zstd(5, True)]),
        ("int64", [j_bytes("big"), j_crc32c()]),
    ]:
        v3_case(f"ts_v3_dtype_{dtype}", "tensorstore", dtype=dtype, codecs=codecs,
                fill_value=False if dtype == "bool" else 0)
    v3_case("ts_v3_missing_nan_gzip", "tensorstore", dtype="float64", shape=(40, 50), chunks=(8, 10),
            fill_value=np.nan, region=(slice(3, 17), slice(0, 22)), codecs=[j_bytes("big"), j_gzip()])

    shape, shard, inner, n_inner = (40, 50), (16, 20), (4, 5), 16
    v3_case("ts_v3_shard_end", "tensorstore", dtype="int32", shape=shape, chunks=shard,
            codecs=[j_shard(inner, [j_bytes()])], check=check_shards("c/0/0", n_inner, missing_inner=0))
    v3_case("ts_v3_shard_start_zstd", "tensorstore", dtype="float64", shape=shape, chunks=shard,
            codecs=[j_shard(inner, [j_bytes("big"), j_zstd(3, True)], index_location="start")],
            check=check_shards("c/1/1", n_inner, at_end=False, missing_inner=0))
    v3_case("ts_v3_shard_index_no_crc_blosc", "tensorstore", dtype="uint16", shape=shape, chunks=shard,
            codecs=[j_shard(inner, [j_bytes(), j_blosc("lz4hc", "bitshuffle", 5, 2)], index_codecs=[j_bytes()])],
            check=check_shards("c/0/1", n_inner, checksum=False, missing_inner=0))
    v3_case("ts_v3_shard_start_no_crc_gzip", "tensorstore", dtype="int8", shape=shape, chunks=shard,
            codecs=[j_shard(inner, [j_bytes(None), j_gzip()], index_codecs=[j_bytes()], index_location="start")],
            check=check_shards("c/1/0", n_inner, at_end=False, checksum=False, missing_inner=0))
    v3_case("ts_v3_shard_inner_crc32c", "tensorstore", dtype="float32", shape=shape, chunks=shard,
            codecs=[j_shard(inner, [j_bytes(), j_crc32c()])])
    v3_case("ts_v3_shard_partial", "tensorstore", dtype="int32", shape=shape, chunks=shard, fill_value=-1,
            region=(slice(5, 14), slice(2, 33)),
            codecs=[j_shard(inner, [j_bytes(), j_zstd()])],
            check=check_shards("c/0/1", n_inner, missing_inner=True, absent=("c/1/0", "c/2/2")))
    v3_case("ts_v3_shard_partial_start_be", "tensorstore", dtype="float64", shape=shape, chunks=shard,
            fill_value=np.nan, region=(slice(17, 40), slice(0, 7)),
            codecs=[j_shard(inner, [j_bytes("big"), j_blosc("zstd", "shuffle", 5, 8)], index_location="start")],
            check=check_shards("c/1/0", n_inner, at_end=False, missing_inner=True, absent=("c/0/0", "c/1/1")))
    v3_case("ts_v3_shard_nested", "tensorstore", dtype="uint16", shape=(40, 50), chunks=(20, 20),
            codecs=[j_shard((10, 10), [j_shard((5, 5), [j_bytes("big"), j_gzip()])], index_location="start")])
    v3_case("ts_v3_shard_nested_partial", "tensorstore", dtype="float32", shape=(40, 50), chunks=(20, 20),
            fill_value=0.5, region=(slice(21, 33), slice(4, 9)),
            codecs=[j_shard((10, 10), [j_shard((5, 5), [j_bytes(), j_zstd()], index_codecs=[j_bytes()])])],
            check=check_shards("c/1/0", 4, missing_inner=True, absent=("c/0/0", "c/1/1")))
    # Transpose before sharding with a non-cubic shard: the inner chunk shape is in transposed
    # order, which zarr-python 3.1 rejects; tensorstore's read is the reference.
    v3_case("ts_v3_shard_transpose", "tensorstore", dtype="uint16", shape=(24, 30, 4), chunks=(4, 12, 10),
            codecs=[j_transpose((2, 0, 1)), j_shard((2, 2, 4), [j_bytes("big"), j_zstd()])], zarr_reads=False)
    v3_case("ts_v3_shard_transpose_partial", "tensorstore", dtype="int32", shape=(24, 30, 4), chunks=(4, 12, 10),
            fill_value=5, region=(slice(0, 10), slice(0, 13)),
            codecs=[j_transpose((1, 2, 0)), j_shard((6, 5, 2), [j_bytes(), j_gzip()], index_location="start")],
            zarr_reads=False)
    v3_case("ts_v3_shard_inner_transpose", "tensorstore", dtype="complex64", shape=(9, 10, 11), chunks=(6, 4, 6),
            codecs=[j_shard((3, 2, 3), [j_transpose((1, 2, 0)), j_bytes("big"), j_crc32c()])])


_register_v2_blosc()
_register_v2_compressors()
_register_v2_dtypes()
_register_v2_layouts()
_register_v2_filters()
_register_v3_zarr()
_register_v3_tensorstore()

NAMES = list(CASES)
V2_NAMES = [n for n in NAMES if CASES[n].fmt == 2]


class CodecStores:
    """Writes each store on first use; keeps the reference read (zarr-python's, or tensorstore's
    where zarr-python cannot open the store)."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()
        self._built: dict[str, tuple[Path, np.ndarray | None]] = {}
        self._reference: dict[str, np.ndarray] = {}

    def path(self, name: str) -> Path:
        with self._lock:
            if name not in self._built:
                path = self.root / f"{name}.zarr"
                self._built[name] = (path, CASES[name].build(path))
            return self._built[name][0]

    def written(self, name: str) -> np.ndarray | None:
        self.path(name)
        return self._built[name][1]

    def zarr_array(self, name: str):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return zarr.open_array(str(self.path(name)), mode="r")

    def reference(self, name: str) -> np.ndarray:
        if name not in self._reference:
            if CASES[name].zarr_reads:
                self._reference[name] = np.asarray(self.zarr_array(name)[...])
            else:
                self._reference[name] = ts_read(self.path(name))
        return self._reference[name]


@pytest.fixture(scope="module")
def codec_stores(tmp_path_factory) -> CodecStores:
    return CodecStores(tmp_path_factory.mktemp("codec_stores"))


# --------------------------------------------------------------------------------------------
# Tests


def test_catalogue_covers_every_axis():
    """The store list itself: each v2 compressor, blosc cname x shuffle, filter, dtype, and each v3
    codec by both writers."""
    assert 60 <= len(V2_NAMES) <= 100, len(V2_NAMES)
    for cname, shuffle in itertools.product(BLOSC_CNAMES, (0, 1, 2)):
        assert any(n.startswith(f"v2_blosc_{cname}_shuffle{shuffle}_") for n in V2_NAMES), (cname, shuffle)
    for writer in ("zarr", "ts"):
        for cname, shuffle in itertools.product(BLOSC_CNAMES, V3_SHUFFLES):
            assert any(n.startswith(f"{writer}_v3_blosc_{cname}_{shuffle}_") for n in NAMES), (writer, cname, shuffle)
        for word in ("gzip", "zstd_checksum", "crc32c", "transpose", "shard_end", "shard_start", "no_crc",
                     "shard_nested", "shard_partial", "shard_transpose", "_be"):
            assert any(n.startswith(f"{writer}_v3_") and word in n for n in NAMES), (writer, word)
    for word in ("zstd", "zlib", "gzip", "bz2", "lz4", "delta", "fixedscaleoffset", "astype", "quantize",
                 "filter_shuffle", "order_F", "slash", "missing"):
        assert any(word in n for n in V2_NAMES), word
    for dtype in BASE_DTYPES + TIME_DTYPES:
        label = dtype.replace("[", "_").replace("]", "")
        assert any(n.startswith(f"v2_dtype_{label}_") for n in V2_NAMES), dtype


@pytest.mark.parametrize("name", NAMES)
def test_full_read_matches_reference(codec_stores, name):
    case = CASES[name]
    path = codec_stores.path(name)
    if case.check is not None:
        case.check(path)
    want = codec_stores.reference(name)
    # Guard the fixture: the reference reader gives back what was written, and tensorstore and
    # zarr-python agree on tensorstore's stores.
    written = codec_stores.written(name)
    if written is not None:
        assert_same_array(want.astype(native(want.dtype)), written.astype(native(written.dtype)))
    if case.writer == "tensorstore" and case.zarr_reads:
        assert_same_array(ts_read(path), want)
    a = cuzarr.open(path)
    assert a.shape == want.shape
    assert a.dtype == native(want.dtype)
    assert_same_array(a[...], want)


@pytest.mark.parametrize("name", NAMES)
def test_random_selections_match_reference(codec_stores, name):
    path = codec_stores.path(name)
    full = codec_stores.reference(name)
    a = cuzarr.open(path)
    z = codec_stores.zarr_array(name) if CASES[name].zarr_reads else None
    rng = np.random.default_rng(seed_of("codec-selections/" + name))
    for i in range(SELECTIONS_PER_STORE if a.ndim else 3):
        key = random_selection(rng, a.shape)
        want = outer_index(full, key)
        try:
            got = a[key]
        except Exception as e:  # pragma: no cover - reported with the selection
            raise AssertionError(f"{name}: cuzarr failed on selection {describe(key)}: {e!r}") from e
        try:
            assert_same_array(got, want)
            if z is not None and i < ZARR_OINDEX_CHECKS:
                assert_same_array(got, zarr_oindex(z, key))
        except AssertionError as e:
            raise AssertionError(f"{name}: selection {describe(key)}: {e}") from e


FIXTURES = Path(os.environ.get("CUZARR_TS_FIXTURES", "/work/shared/fixtures/tensorstore"))


@pytest.mark.skipif(not (FIXTURES / "manifest.json").is_file(), reason=f"no tensorstore fixtures at {FIXTURES}")
def test_every_tensorstore_fixture_reads_exactly():
    """With every codec in place, none of the ready-made tensorstore stores may be unsupported."""
    entries = json.loads((FIXTURES / "manifest.json").read_text())
    assert len(entries) >= 97
    for entry in entries:
        path = FIXTURES / entry["name"]
        expected = np.load(path / "expected.npy")
        got = cuzarr.open(path)[...]
        assert got.shape == tuple(entry["shape"]), entry["name"]
        try:
            assert_same_array(got.reshape(expected.shape), expected)
        except AssertionError as e:
            raise AssertionError(f"{entry['name']}: {e}") from e
