"""Writing: stores created and written by cuzarr read back identically in zarr-python, tensorstore
and cuzarr -- every numeric data type in both byte orders, every codec with an encoder, v2 and v3,
sharded and not; partial writes merge into what is stored; chunks holding only the fill value are
not stored; bad writes are refused with clear errors and leave the store as it was; a writer
killed mid-write leaves every chunk old or new, never torn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import tensorstore as ts
import zarr
from zarr.codecs import BloscCodec, BytesCodec, Crc32cCodec, GzipCodec, TransposeCodec, ZstdCodec

import cuzarr
from stores import BASE_DTYPES, TIME_DTYPES, assert_same_array, sample_data, seed_of

SHAPE = (29, 41)  # partial chunks at both far edges
CHUNKS = (8, 10)
SHARDS = (16, 20)


def zarr_read(path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numcodecs.* names in v3 warn that they are not in the spec
        return zarr.open_array(str(path), mode="r")[...]


def tensorstore_read(path, zarr_format: int) -> np.ndarray:
    spec = {"driver": "zarr3" if zarr_format == 3 else "zarr", "kvstore": {"driver": "file", "path": str(path)}}
    return ts.open(spec).result().read().result()


def check_readers(path, want: np.ndarray, zarr_format: int, tensorstore: bool = True) -> None:
    assert_same_array(cuzarr.open(path)[...], want)
    got = zarr_read(path)
    assert_same_array(got.astype(got.dtype.newbyteorder("=")), want)
    if tensorstore:
        got = tensorstore_read(path, zarr_format)
        assert_same_array(got.astype(got.dtype.newbyteorder("=")), want)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` and its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def chunk_files(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")
                  if p.is_file() and p.name not in ("zarr.json", ".zarray", ".zattrs", ".zgroup"))


# -- data types ---------------------------------------------------------------------------------

DTYPE_CASES = [(f, d, o) for f in (2, 3) for d in BASE_DTYPES for o in ("<", ">")
               if o == "<" or np.dtype(d).itemsize > 1] + [(2, d, o) for d in TIME_DTYPES for o in ("<", ">")]


@pytest.mark.parametrize("zarr_format,dtype,order", DTYPE_CASES, ids=lambda v: str(v))
def test_every_dtype_both_byte_orders(tmp_path, zarr_format, dtype, order):
    data = sample_data(dtype, SHAPE, seed_of(f"write-{dtype}"))
    stored = np.dtype(dtype).newbyteorder(order)
    path = tmp_path / "a.zarr"
    a = cuzarr.create_array(path, shape=SHAPE, dtype=stored, chunks=CHUNKS, zarr_format=zarr_format)
    a[...] = data.astype(stored)
    if zarr_format == 2:
        assert json.loads((path / ".zarray").read_text())["dtype"] == stored.str
    else:
        codecs = json.loads((path / "zarr.json").read_text())["codecs"]
        assert codecs[0] == {"name": "bytes", "configuration": {"endian": "big" if order == ">" else "little"}}
    # tensorstore has no datetime types
    check_readers(path, data, zarr_format, tensorstore=np.dtype(dtype).kind not in "mM")


# -- codecs -------------------------------------------------------------------------------------

V3_CODECS = {
    "default": {},
    "none": {"compressors": None},
    "zstd-3-checksum": {"compressors": ZstdCodec(level=3, checksum=True)},
    "gzip": {"compressors": GzipCodec(level=5)},
    "blosc-lz4-shuffle": {"compressors": BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")},
    "blosc-zstd-bitshuffle": {"compressors": BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle")},
    "blosc-blosclz-noshuffle": {"compressors": BloscCodec(cname="blosclz", shuffle="noshuffle")},
    "blosc-zlib": {"compressors": {"name": "blosc", "configuration": {"cname": "zlib", "clevel": 4, "shuffle": "shuffle",
                                                                      "typesize": 4, "blocksize": 0}}},
    "crc32c": {"compressors": Crc32cCodec()},
    "zstd+crc32c": {"compressors": [ZstdCodec(level=1), Crc32cCodec()]},
    "transpose+big-endian+gzip": {"filters": TransposeCodec(order=(1, 0)), "serializer": BytesCodec(endian="big"),
                                  "compressors": GzipCodec()},
    # zarr-python's names for numcodecs codecs (tensorstore does not read these)
    "numcodecs.lz4": {"compressors": {"name": "numcodecs.lz4", "configuration": {"acceleration": 1}}},
    "numcodecs.zlib": {"compressors": {"name": "numcodecs.zlib", "configuration": {"level": 6}}},
}


@pytest.mark.parametrize("sharded", [False, True], ids=["chunks", "shards"])
@pytest.mark.parametrize("name", list(V3_CODECS))
def test_v3_codecs(tmp_path, name, sharded):
    data = sample_data("float32", SHAPE, seed_of(f"v3-{name}"))
    path = tmp_path / "a.zarr"
    a = cuzarr.create_array(path, shape=SHAPE, dtype="float32", chunks=CHUNKS, shards=SHARDS if sharded else None,
                            **V3_CODECS[name])
    a[...] = data
    check_readers(path, data, 3, tensorstore=not name.startswith("numcodecs."))


V2_CASES = {
    "default": ("float32", {}),
    "none": ("float32", {"compressors": None}),
    "zstd": ("float32", {"compressors": numcodecs.Zstd(level=5)}),
    "gzip": ("float32", {"compressors": numcodecs.GZip(level=3)}),
    "zlib": ("float32", {"compressors": numcodecs.Zlib(level=2)}),
    "lz4": ("float32", {"compressors": numcodecs.LZ4(acceleration=2)}),
    "blosc-lz4-byte": ("float32", {"compressors": numcodecs.Blosc(cname="lz4", shuffle=numcodecs.Blosc.SHUFFLE)}),
    "blosc-zstd-bit": ("float32", {"compressors": numcodecs.Blosc(cname="zstd", shuffle=numcodecs.Blosc.BITSHUFFLE)}),
    "blosc-blosclz-none": ("int16", {"compressors": numcodecs.Blosc(cname="blosclz", shuffle=numcodecs.Blosc.NOSHUFFLE)}),
    "blosc-auto-1byte": ("uint8", {"compressors": numcodecs.Blosc(cname="lz4", shuffle=numcodecs.Blosc.AUTOSHUFFLE)}),
    "crc32c": ("float64", {"compressors": numcodecs.CRC32C()}),
    "delta": ("int32", {"filters": [numcodecs.Delta(dtype="<i4")], "compressors": numcodecs.Zstd()}),
    "delta-astype": ("int32", {"filters": [numcodecs.Delta(dtype="<i4", astype="<i2")]}),
    "fixedscaleoffset": ("float64", {"filters": [numcodecs.FixedScaleOffset(offset=1000, scale=100, dtype="<f8",
                                                                            astype="<i4")]}),
    "astype": ("float32", {"filters": [numcodecs.AsType(encode_dtype="<f8", decode_dtype="<f4")]}),
    "delta+fso+blosc": ("float64", {"filters": [numcodecs.FixedScaleOffset(offset=0, scale=100, dtype="<f8",
                                                                           astype="<i8"), numcodecs.Delta(dtype="<i8")],
                                    "compressors": numcodecs.Blosc(cname="zstd")}),
    "order-F": ("int64", {"order": "F", "compressors": numcodecs.Zlib()}),
}


def _v2_data(dtype: str, name: str) -> np.ndarray:
    rng = np.random.default_rng(seed_of(name))
    if "fixedscaleoffset" in name or "fso" in name:
        return np.round(rng.uniform(-50, 50, SHAPE), 2)  # the filter keeps two decimals exactly
    if name == "delta-astype":
        return np.cumsum(rng.integers(-100, 100, SHAPE), axis=1).astype(dtype)  # small steps fit int16
    return sample_data(dtype, SHAPE, seed_of(name))


@pytest.mark.parametrize("name", list(V2_CASES))
def test_v2_codecs(tmp_path, name):
    dtype, kwargs = V2_CASES[name]
    data = _v2_data(dtype, name)
    path = tmp_path / "a.zarr"
    a = cuzarr.create_array(path, shape=SHAPE, dtype=dtype, chunks=CHUNKS, zarr_format=2, **kwargs)
    a[...] = data
    want = data
    if "fixedscaleoffset" in name or "fso" in name:
        # what the filter stores, decoded: compare with numcodecs' own round trip
        want = zarr_read(path)
        np.testing.assert_allclose(want, data, atol=0.006)
    plain = not kwargs.get("filters") and name not in ("lz4", "crc32c")  # tensorstore's v2 codecs
    check_readers(path, want, 2, tensorstore=plain)
    # the same values written by zarr-python encode to the same decoded chunks
    ref = tmp_path / "ref.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(str(ref), shape=SHAPE, dtype=dtype, chunks=CHUNKS, zarr_format=2, **kwargs)
        z[...] = data
    assert_same_array(cuzarr.open(ref)[...], want)


# -- partial writes and fill values ---------------------------------------------------------------

@pytest.mark.parametrize("zarr_format,sharded", [(2, False), (3, False), (3, True)], ids=["v2", "v3", "v3-sharded"])
def test_partial_writes_merge(tmp_path, zarr_format, sharded):
    path = tmp_path / "a.zarr"
    a = cuzarr.create_array(path, shape=SHAPE, dtype="int32", chunks=CHUNKS, fill_value=-7, zarr_format=zarr_format,
                            shards=SHARDS if sharded else None)
    model = np.full(SHAPE, -7, dtype="int32")
    rng = np.random.default_rng(5)
    steps = [
        (slice(3, 20), slice(5, 33)),
        (slice(None, None, 3), slice(1, None, 4)),
        (np.array([0, 9, 17, 28]), slice(None)),
        (4, slice(None)),
        (slice(None), 40),
        (slice(24, 29), slice(30, 41)),  # the corner edge chunk, exactly
        (np.array([2, 5, 6]), np.array([0, 11, 39])),
    ]
    for key in steps:
        shape = np.zeros(SHAPE)[np.ix_(*[np.arange(n)[k] if not isinstance(k, int) else [k]
                                         for k, n in zip(key, SHAPE)])].shape
        shape = tuple(s for s, k in zip(shape, key) if not isinstance(k, int))
        value = rng.integers(-1000, 1000, shape, dtype="int32")
        a[key] = value
        idx = np.ix_(*[np.arange(n)[k] if not isinstance(k, int) else np.array([k]) for k, n in zip(key, SHAPE)])
        model[idx] = value.reshape(model[idx].shape)
        assert_same_array(a[...], model)
    a[7:9, 2:4] = 11  # a scalar broadcast
    model[7:9, 2:4] = 11
    check_readers(path, model, zarr_format)
    # a reopened handle writes too
    b = cuzarr.open(path, mode="r+")
    b[0, :] = np.arange(41, dtype="int16")  # int16 casts safely to int32
    model[0, :] = np.arange(41)
    check_readers(path, model, zarr_format)


@pytest.mark.parametrize("zarr_format,sharded", [(2, False), (3, False), (3, True)], ids=["v2", "v3", "v3-sharded"])
def test_fill_value_chunks_are_not_stored(tmp_path, zarr_format, sharded):
    path = tmp_path / "a.zarr"
    a = cuzarr.create_array(path, shape=SHAPE, dtype="float64", chunks=CHUNKS, fill_value=np.nan,
                            zarr_format=zarr_format, shards=SHARDS if sharded else None)
    a[...] = np.nan
    assert chunk_files(path) == []
    a[0, 0] = 1.0
    assert len(chunk_files(path)) == 1
    if sharded:
        # one inner chunk of the shard is stored; the index marks the others absent
        shard = zarr.open_array(str(path))
        assert shard.nchunks_initialized >= 1
    a[0, 0] = np.nan  # the chunk holds only the fill value again: deleted
    assert chunk_files(path) == []
    model = np.full(SHAPE, np.nan)
    model[10:12, :] = 2.5
    a[10:12, :] = 2.5
    check_readers(path, model, zarr_format)


def test_groups_attributes_and_dimension_names(tmp_path):
    root = tmp_path / "h.zarr"
    g = cuzarr.create_group(root, attributes={"title": "t"})
    assert g.attrs == {"title": "t"}
    a = cuzarr.create_array(root, name="x/y/v", shape=(4, 5), dtype="uint16", chunks=(2, 5),
                            attributes={"units": "K"}, dimension_names=["lat", "lon"])
    a[...] = np.arange(20, dtype="uint16").reshape(4, 5)
    z = zarr.open_group(str(root), mode="r")
    assert z.attrs.asdict() == {"title": "t"}
    assert z["x/y/v"].attrs.asdict() == {"units": "K"}
    assert z["x/y/v"].metadata.dimension_names == ("lat", "lon")
    assert isinstance(z["x"], zarr.Group) and isinstance(z["x/y"], zarr.Group)
    w = cuzarr.open(root, mode="r+")["x"].create_array("w", shape=(3,), dtype="int8", fill_value=1)
    assert w.path == "x/w" and w.zarr_format == 3
    w[1] = 5
    np.testing.assert_array_equal(zarr.open_array(str(root / "x/w"))[...], [1, 5, 1])
    assert cuzarr.open(root, mode="r+").create_group("x/g", attributes={"b": 2}).attrs == {"b": 2}
    with pytest.raises(OSError, match="read-only"):
        cuzarr.open(root).create_array("nope", shape=(1,), dtype="f4")
    v2 = cuzarr.create_array(tmp_path / "v2.zarr", name="v", shape=(3,), dtype="f4", zarr_format=2,
                             dimension_names=["t"], attributes={"a": 1})
    assert v2.dimension_names == ("t",)
    assert json.loads((tmp_path / "v2.zarr" / "v" / ".zattrs").read_text()) == {"a": 1, "_ARRAY_DIMENSIONS": ["t"]}
    with pytest.raises(cuzarr.StoreError, match="already there"):
        cuzarr.create_array(root, name="x/y/v", shape=(4,), dtype="f4")
    cuzarr.create_array(root, name="x/y/v", shape=(4,), dtype="f4", overwrite=True)
    assert zarr.open_array(str(root / "x/y/v")).shape == (4,)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_consolidated_metadata_is_updated(tmp_path, zarr_format):
    root = tmp_path / "c.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = zarr.create_group(str(root), zarr_format=zarr_format)
        g.create_array("old", shape=(3,), dtype="f4")
        zarr.consolidate_metadata(str(root))
    a = cuzarr.create_array(root, name="sub/new", shape=(6,), dtype="int8", chunks=(3,), zarr_format=zarr_format,
                            attributes={"k": "v"})
    a[...] = np.arange(6, dtype="int8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.open_consolidated(str(root), zarr_format=zarr_format)
        assert sorted(z.group_keys()) == ["sub"]
        assert z["sub/new"].attrs.asdict() == {"k": "v"}
        np.testing.assert_array_equal(z["sub/new"][...], np.arange(6))
    c = cuzarr.open(root, consolidated=True)
    assert c.consolidated and c["sub/new"].shape == (6,)


# -- errors leave the store as it was -------------------------------------------------------------

@pytest.fixture
def written(tmp_path):
    path = tmp_path / "e.zarr"
    a = cuzarr.create_array(path, shape=SHAPE, dtype="float32", chunks=CHUNKS)
    a[...] = sample_data("float32", SHAPE, 3)
    return path, a


def test_bad_writes_are_refused_and_change_nothing(written):
    path, a = written
    before = snapshot(path)
    where = f"array '{path}'"
    with pytest.raises(ValueError, match="shape"):
        a[0:3, 0:4] = np.zeros((3, 5), dtype="float32")
    with pytest.raises(TypeError, match="cast safely"):
        a[0:3, 0:4] = np.zeros((3, 4), dtype="float64")
    with pytest.raises(TypeError, match="without changing"):
        a[0, 0] = 1e300
    with pytest.raises(IndexError) as e:
        a[0:3, 50] = 1.0
    assert str(path) in str(e.value)
    with pytest.raises(cuzarr.SelectionError):
        a[::-1, 0] = np.zeros(29, dtype="float32")
    with pytest.raises(OSError, match="read-only"):
        cuzarr.open(path)[0, 0] = 1.0  # opened with mode="r"
    with pytest.raises(ValueError, match=where.replace("'", "'")):
        a[:, 0] = np.zeros(28, dtype="float32")
    assert snapshot(path) == before


def test_codec_without_encoder(tmp_path):
    path = tmp_path / "bz2.zarr"
    with pytest.raises(NotImplementedError, match=r"codec 'bz2' has no encoder") as e:
        cuzarr.create_array(path, shape=(10,), dtype="f4", zarr_format=2, compressors=numcodecs.BZ2())
    assert str(path) in str(e.value)
    assert not (path / ".zarray").exists()
    # a store another writer made with such a codec opens for writing, and the write is refused whole
    z = zarr.create_array(str(path), shape=(10,), dtype="f4", chunks=(5,), zarr_format=2, compressors=numcodecs.BZ2())
    z[...] = np.arange(10, dtype="f4")
    before = snapshot(path)
    with pytest.raises(cuzarr.UnsupportedError, match="'bz2'"):
        cuzarr.open(path, mode="r+")[0:7] = np.ones(7, dtype="f4")
    assert snapshot(path) == before


def test_read_only_stores_refuse(tmp_path, written):
    import zipfile

    path, _ = written
    archive = tmp_path / "e.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in path.rglob("*"):
            if p.is_file():
                zf.write(p, p.relative_to(path))
    with pytest.raises(NotImplementedError, match="read-only"):
        cuzarr.open(archive, mode="r+")[0, 0] = 1.0
    with pytest.raises(NotImplementedError, match="local directory"):
        cuzarr.create_array(archive, shape=(3,), dtype="f4")


FAILING_WRITER = """
import resource, signal, sys
import numpy as np
import cuzarr
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
a = cuzarr.open(sys.argv[1], mode="r+")
resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))
try:
    a[0:8, 0:10] = np.random.default_rng(1).random((8, 10)).astype("f4") + 5  # 320 bytes stored
except OSError as e:
    print("ERROR", e)
"""


def test_failed_write_removes_its_temporary_file(tmp_path):
    path = tmp_path / "f.zarr"
    a = cuzarr.create_array(path, shape=SHAPE, dtype="float32", chunks=CHUNKS, compressors=None)
    a[...] = 1.0
    before = snapshot(path)
    out = subprocess.run([sys.executable, "-c", FAILING_WRITER, str(path)], capture_output=True, text=True,
                         env=dict(os.environ), timeout=120)
    assert "ERROR" in out.stdout, out.stdout + out.stderr
    assert "c/0/0" in out.stdout and str(path) in out.stdout  # names the array and the chunk
    assert snapshot(path) == before  # the chunk is unchanged and no temporary file is left


FULL_DISK_WRITER = """
import os, sys
import numpy as np
import cuzarr
root = sys.argv[1] + "/s.zarr"
a = cuzarr.create_array(root, shape=(64, 1024), dtype="float64", chunks=(8, 1024), compressors=None)  # 64 KiB chunks
a[0:8] = 1.0
try:
    a[...] = 2.0  # 512 KiB into a file system of 256 KiB
    print("NO ERROR")
except OSError as e:
    print("ERROR", e)
left = [n for _, _, files in os.walk(root) for n in files if ".cuzarr-tmp-" in n]
print("TEMPORARY FILES", left)
values = cuzarr.open(root)[...]
for i in range(8):
    block = values[8 * i:8 * i + 8]
    assert (block == block.flat[0]).all(), f"chunk {i} is torn"
print("CHUNK 0", values[0, 0])
"""


def test_full_disk_is_an_error_and_leaves_no_temporary_file(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (unshare -rm refused)")
    script = tmp_path / "writer.py"
    script.write_text(FULL_DISK_WRITER)
    out = subprocess.run(["unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o size=256k tmpfs "{mount}" && '
                          f'"{sys.executable}" "{script}" "{mount}"'], capture_output=True, text=True, timeout=120)
    assert "ERROR" in out.stdout and "No space left on device" in out.stdout, out.stdout + out.stderr
    assert "s.zarr" in out.stdout and "chunk 'c/" in out.stdout  # names the array and the chunk
    assert "TEMPORARY FILES []" in out.stdout
    assert "CHUNK 0" in out.stdout, out.stderr  # every chunk old or new, whole


# -- a killed writer leaves no torn chunk ---------------------------------------------------------

KILLED_WRITER = """
import sys
import numpy as np
import cuzarr
a = cuzarr.open(sys.argv[1], mode="r+")
print("ready", flush=True)
for k in range(1, 10**6):
    a[...] = np.full(a.shape, k, dtype="int64")
"""


@pytest.mark.long("a writer killed mid-write, 3 times")
def test_sigkill_leaves_no_torn_chunk(tmp_path):
    path = tmp_path / "k.zarr"
    shape, chunks = (512, 1024), (128, 256)  # 16 chunks of 256 KiB each, uncompressed
    a = cuzarr.create_array(path, shape=shape, dtype="int64", chunks=chunks, compressors=None)
    a[...] = np.zeros(shape, dtype="int64") - 1
    for delay in (0.3, 0.7, 1.1):
        p = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        values = zarr_read(path)  # every chunk present and of the full size, or zarr-python raises
        for i in range(0, shape[0], chunks[0]):
            for j in range(0, shape[1], chunks[1]):
                block = values[i:i + chunks[0], j:j + chunks[1]]
                assert (block == block.flat[0]).all(), f"chunk ({i // chunks[0]}, {j // chunks[1]}) is torn"
        assert values.max() > 0  # the writer got going before it was killed
        assert_same_array(cuzarr.open(path)[...], values)


HALF_WRITER = """
import sys
import numpy as np
import cuzarr
a = cuzarr.open(sys.argv[1], mode="r+")
rows = slice(0, 64) if sys.argv[2] == "top" else slice(64, 128)
for k in range(20):  # many rounds, so the two processes overlap
    a[rows, :] = np.full((64, 96), 1 if sys.argv[2] == "top" else 2, dtype="int32")
"""


def test_two_processes_writing_different_chunks_both_land(tmp_path):
    path = tmp_path / "p.zarr"
    cuzarr.create_array(path, shape=(128, 96), dtype="int32", chunks=(32, 32), shards=(64, 96))
    procs = [subprocess.Popen([sys.executable, "-c", HALF_WRITER, str(path), half]) for half in ("top", "bottom")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    want = np.concatenate([np.full((64, 96), 1, "int32"), np.full((64, 96), 2, "int32")])
    check_readers(path, want, 3)
    assert not [p for p in path.rglob("*") if ".cuzarr-tmp-" in p.name]


def test_cupy_values_are_copied_to_host(tmp_path):
    cupy = pytest.importorskip("cupy")
    try:
        x = cupy.arange(12, dtype="float32").reshape(3, 4)
    except Exception as e:  # noqa: BLE001 - no usable GPU
        pytest.skip(f"no GPU: {e}")
    a = cuzarr.create_array(tmp_path / "g.zarr", shape=(3, 4), dtype="float32", chunks=(2, 2))
    a[...] = x
    np.testing.assert_array_equal(zarr_read(tmp_path / "g.zarr"), cupy.asnumpy(x))
