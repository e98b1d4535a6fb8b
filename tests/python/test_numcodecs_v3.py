"""Every codec zarr-python can write with numcodecs, under both spellings, reads exactly.

zarr-python writes one Zarr v2 array per numcodecs codec that works on numbers (its v2 ``id``, as
a filter or as the compressor; the object codecs are test_strings.py's) and one Zarr v3 array per ``numcodecs.*`` codec (``zarr.codecs.numcodecs``); cuzarr's
read of each must equal zarr-python's own read bit for bit. Codecs whose library no Debian package
provides (pcodec, zfpy) must be refused with a NotImplementedError that names the codec and the
library. ``scale_offset`` and ``cast_value`` (zarr-extensions, written by zarr-python >= 3.2) are
checked on stores made here byte by byte from the specs, so Python 3.11 with zarr 3.1 covers them
too, and on zarr-python's own stores where zarr >= 3.2 is installed. Damaged chunks (checksum
mismatch, a packbits header that does not fit, truncated streams) must be a ValueError naming the
array, the chunk key and the codec.
"""

from __future__ import annotations

import json
import lzma
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr

import cuzarr
import stores
from stores import assert_same_array, seed_of

zarr_numcodecs = pytest.importorskip("zarr.codecs.numcodecs")

SHAPE = (29, 41)
CHUNKS = (8, 10)


@dataclass(frozen=True)
class Case:
    """One numcodecs codec: its class (same name in numcodecs and zarr.codecs.numcodecs), its
    configuration, the data type it encodes, and where it sits (filter, or compressor)."""

    cls: str
    dtype: str
    role: str  # "filter" or "compressor" (v2); v3 puts a numcodecs filter among the filters
    kwargs: dict = field(default_factory=dict)
    v3_role: str | None = None  # where v3 differs (numcodecs.shuffle is bytes→bytes)
    v2_only: bool = False  # zarr-python has no numcodecs.* wrapper for it


CASES = {
    "blosc": Case("Blosc", "int32", "compressor", dict(cname="zstd", clevel=3, shuffle=1)),
    "lz4": Case("LZ4", "uint16", "compressor", dict(acceleration=1)),
    "zstd": Case("Zstd", "float64", "compressor", dict(level=3)),
    "zlib": Case("Zlib", "int16", "compressor", dict(level=5)),
    "gzip": Case("GZip", "uint32", "compressor", dict(level=5)),
    "bz2": Case("BZ2", "int64", "compressor", dict(level=5)),
    "lzma": Case("LZMA", "float32", "compressor", dict(preset=1)),
    "lzma_alone": Case("LZMA", "int32", "compressor", dict(format=lzma.FORMAT_ALONE, preset=1)),
    "lzma_raw": Case(
        "LZMA",
        "uint16",
        "compressor",
        dict(format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_DELTA, "dist": 2}, {"id": lzma.FILTER_LZMA2, "preset": 1}]),
    ),
    "base64": Case("Base64", "int16", "compressor", v2_only=True),
    "crc32": Case("CRC32", "int32", "compressor"),
    "crc32_end": Case("CRC32", "int32", "compressor", dict(location="end")),
    "crc32c": Case("CRC32C", "float32", "compressor"),
    "adler32": Case("Adler32", "uint8", "compressor"),
    "fletcher32": Case("Fletcher32", "uint8", "compressor"),  # 8 x 10 and odd edge chunks: odd byte tails
    "jenkins_lookup3": Case("JenkinsLookup3", "int16", "compressor", dict(initval=7)),
    "shuffle": Case("Shuffle", "int64", "filter", dict(elementsize=8), v3_role="compressor"),
    "delta": Case("Delta", "int32", "filter", dict(dtype="<i4")),
    "delta_astype": Case("Delta", "int32", "filter", dict(dtype="<i4", astype="<i8")),
    "fixedscaleoffset": Case("FixedScaleOffset", "float64", "filter", dict(offset=1000, scale=10, dtype="<f8", astype="<i4")),
    "quantize": Case("Quantize", "float64", "filter", dict(digits=3, dtype="<f8")),
    "astype": Case("AsType", "int32", "filter", dict(encode_dtype="<i2", decode_dtype="<i4")),
    "bitround": Case("BitRound", "float32", "filter", dict(keepbits=6)),
    "packbits": Case("PackBits", "bool", "filter"),
}

# Recognised codecs no Debian package can decode: refused with the library's name.
REFUSED = {"pcodec": "pcodec", "zfpy": "zfp"}


def codec_id(case: Case) -> str:
    """The v2 ``id`` (and, after ``numcodecs.``, the v3 name) of a case's codec."""
    return getattr(numcodecs, case.cls).codec_id


def case_data(name: str, case: Case) -> np.ndarray:
    """Values each codec can hold: lossy and narrowing codecs get data inside their range."""
    rng = np.random.default_rng(seed_of(name))
    dt = np.dtype(case.dtype)
    if dt.kind == "b":
        return rng.random(SHAPE) < 0.4
    if name in ("fixedscaleoffset", "quantize", "bitround"):
        return (rng.normal(1000, 50, SHAPE)).astype(dt)
    if name == "astype":
        return rng.integers(-30000, 30000, SHAPE).astype(dt)
    if dt.kind == "f":
        return rng.normal(0, 1e3, SHAPE).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, SHAPE, dtype=dt, endpoint=True)


def make_codec(case: Case, zarr_format: int):
    module = numcodecs if zarr_format == 2 else zarr_numcodecs
    kwargs = dict(case.kwargs)
    if zarr_format == 3 and "dtype" in kwargs:
        # zarr-python's wrappers write NumPy names ("int32") where v2 has type strings: read both.
        kwargs["dtype"] = str(np.dtype(kwargs["dtype"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(module, case.cls)(**kwargs)


def write(root: Path, name: str, zarr_format: int) -> tuple[Path, np.ndarray]:
    case = CASES[name]
    path = root / f"v{zarr_format}_{name}.zarr"
    codec = make_codec(case, zarr_format)
    role = case.v3_role if zarr_format == 3 and case.v3_role else case.role
    kwargs = {"filters": [codec], "compressors": None} if role == "filter" else {"filters": None, "compressors": [codec]}
    data = case_data(name, case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(
            str(path), shape=SHAPE, chunks=CHUNKS, dtype=case.dtype, zarr_format=zarr_format, fill_value=0, **kwargs
        )
        z[:] = data
        z[:8, :10] = 0 if case.dtype != "bool" else False  # one chunk of fill value
        return path, np.asarray(z[...])


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("numcodecs")


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("name", sorted(CASES))
def test_numcodecs_codec_reads_exactly(root, name, zarr_format):
    if zarr_format == 3 and CASES[name].v2_only:
        pytest.skip("zarr-python writes this codec in v2 stores only")
    path, want = write(root, name, zarr_format)
    codec_names = json.dumps(json.loads((path / (".zarray" if zarr_format == 2 else "zarr.json")).read_text()))
    if zarr_format == 3:
        assert f'"numcodecs.{codec_id(CASES[name])}"' in codec_names
    a = cuzarr.open(path, device="cpu")
    assert_same_array(a[...], want)
    assert_same_array(a[3:17, 5:37:3], want[3:17, 5:37:3])
    assert_same_array(a[[0, 9, 28], -1], want[[0, 9, 28], -1])


V2_BYTE_LEVEL_LAYOUTS = {
    # zarr-python runs v2 filters and the compressor on flat buffers: byte-level codecs may stand
    # among the filters, and shuffle in the compressor's place.
    "checksum_filter": dict(filters=[numcodecs.CRC32()], compressors=None),
    "compressor_filters": dict(filters=[numcodecs.Delta(dtype="<i4"), numcodecs.Shuffle(elementsize=4),
                                        numcodecs.Zstd(level=1)], compressors=numcodecs.Adler32()),
    "shuffle_compressor": dict(filters=None, compressors=numcodecs.Shuffle(elementsize=4)),
}


@pytest.mark.parametrize("layout", sorted(V2_BYTE_LEVEL_LAYOUTS))
def test_v2_byte_level_codecs_anywhere(tmp_path, layout):
    data = np.arange(np.prod(SHAPE), dtype="int32").reshape(SHAPE) * 7 - 1000
    path = tmp_path / f"{layout}.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(str(path), shape=SHAPE, chunks=CHUNKS, dtype="int32", zarr_format=2, fill_value=0,
                              **V2_BYTE_LEVEL_LAYOUTS[layout])
        z[:] = data
        want = np.asarray(z[...])
    assert_same_array(cuzarr.open(path, device="cpu")[...], want)


def _gpu_reads() -> bool:
    from cuzarr import _core

    if _core.cuda_device_count() == 0:
        return False
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.gpu
@pytest.mark.skipif(not _gpu_reads(), reason="no GPU (or a build without CUDA, or no CuPy)")
@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("name", sorted(CASES))
def test_numcodecs_codec_reads_the_same_on_the_gpu(root, name, zarr_format):
    """Codecs without a GPU decoder are decoded on the CPU before the copy: the result is the same."""
    import cupy

    if zarr_format == 3 and CASES[name].v2_only:
        pytest.skip("zarr-python writes this codec in v2 stores only")
    path, want = write(root / "gpu", name, zarr_format)
    a = cuzarr.open(path, device="cuda")
    assert_same_array(cupy.asnumpy(a[...]), want)
    assert_same_array(cupy.asnumpy(a[3:17, 5:37:3]), want[3:17, 5:37:3])


def test_every_numcodecs_v3_name_is_covered():
    """Every codec zarr-python registers under numcodecs.* is read here or refused by name."""
    registered = {
        getattr(zarr_numcodecs, n).codec_name.removeprefix("numcodecs.")
        for n in zarr_numcodecs.__all__
        if not n.startswith("_")
    }
    covered = {codec_id(c) for c in CASES.values() if not c.v2_only} | set(REFUSED)
    assert registered - covered == set()


def write_v3_metadata(path: Path, data_type: str, codecs: list, fill_value=0, shape=SHAPE, chunks=CHUNKS) -> None:
    stores.write_v3_metadata(path, shape=shape, chunks=chunks, data_type=data_type, fill_value=fill_value, codecs=codecs)


def write_chunk(path: Path, key: str, payload: bytes) -> None:
    target = path / key
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(payload)


@pytest.mark.parametrize("codec", sorted(REFUSED))
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_codec_without_a_library_is_refused_by_name(tmp_path, codec, zarr_format):
    path = tmp_path / f"{codec}.zarr"
    if zarr_format == 3:
        write_v3_metadata(path, "float64", [{"name": f"numcodecs.{codec}", "configuration": {}}])
        spelled = f"numcodecs.{codec}"
    else:
        path.mkdir()
        zarray = {
            "zarr_format": 2, "shape": list(SHAPE), "chunks": list(CHUNKS), "dtype": "<f8", "fill_value": 0,
            "order": "C", "filters": None, "compressor": {"id": codec},
        }
        (path / ".zarray").write_text(json.dumps(zarray))
        spelled = codec
    with pytest.raises(NotImplementedError) as e:
        cuzarr.open(path, device="cpu")[...]
    message = str(e.value)
    assert f"'{spelled}'" in message and str(path.name) in message and REFUSED[codec] in message, message


# --------------------------------------------------------------------------------------------
# scale_offset and cast_value


def v3_codec(name: str, **configuration) -> dict:
    return {"name": name, "configuration": configuration}


BYTES_LE = v3_codec("bytes", endian="little")


def chunks_of(data: np.ndarray, chunks: tuple[int, ...]):
    """(key, block) for every chunk of a 2-d array, edge chunks padded with zeros."""
    for i in range(0, data.shape[0], chunks[0]):
        for j in range(0, data.shape[1], chunks[1]):
            block = np.zeros(chunks, dtype=data.dtype)
            part = data[i : i + chunks[0], j : j + chunks[1]]
            block[: part.shape[0], : part.shape[1]] = part
            yield f"c/{i // chunks[0]}/{j // chunks[1]}", block


def _packed_store(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """float32 packed as int16 the way the specs define it: encode (x - offset) * scale, round to
    nearest even, clamp; decode stored / scale + offset in float32. One chunk is missing."""
    rng = np.random.default_rng(1)
    path = tmp_path / "packed.zarr"
    offset, scale = 10.0, 4.0
    write_v3_metadata(
        path, "float32",
        [v3_codec("scale_offset", offset=offset, scale=scale),
         v3_codec("cast_value", data_type="int16", out_of_range="clamp"), BYTES_LE],
        fill_value=10.0,
    )
    values = rng.normal(10, 2000, SHAPE).astype("float32")
    stored = np.clip(np.rint((values - np.float32(offset)) * np.float32(scale)), -32768, 32767).astype("<i2")
    want = (stored.astype("float32") / np.float32(scale) + np.float32(offset)).astype("float32")
    for key, block in chunks_of(stored, CHUNKS):
        if key != "c/1/1":
            write_chunk(path, key, block.tobytes())
    want[8:16, 10:20] = 10.0
    return path, want


def test_scale_offset_then_cast_value_hand_made(tmp_path):
    path, want = _packed_store(tmp_path)
    a = cuzarr.open(path, device="cpu")
    assert_same_array(a[...], want)
    assert_same_array(a[5:20, ::7], want[5:20, ::7])


@pytest.mark.gpu
@pytest.mark.skipif(not _gpu_reads(), reason="no GPU (or a build without CUDA, or no CuPy)")
def test_scale_offset_then_cast_value_on_the_gpu(tmp_path):
    """A GPU read decodes these codecs on the CPU before the copy: the same values."""
    import cupy

    path, want = _packed_store(tmp_path)
    a = cuzarr.open(path, device="cuda")
    assert_same_array(cupy.asnumpy(a[...]), want)
    assert_same_array(cupy.asnumpy(a[5:20, ::7]), want[5:20, ::7])


def test_scale_offset_integers_hand_made(tmp_path):
    """Integer arithmetic: the stored value must divide exactly by scale and the result must fit."""
    path = tmp_path / "ints.zarr"
    write_v3_metadata(path, "int32", [v3_codec("scale_offset", offset=-7, scale=3), BYTES_LE],
                      shape=(12,), chunks=(4,))
    want = np.arange(12, dtype="int32") * 5 - 20
    stored = (want - np.int32(-7)) * np.int32(3)
    for k in range(3):
        write_chunk(path, f"c/{k}", stored[4 * k : 4 * k + 4].astype("<i4").tobytes())
    assert_same_array(cuzarr.open(path, device="cpu")[...], want)
    # A stored value that is not a multiple of scale has no exact decoding: an error, not a guess.
    bad = stored[4:8].copy()
    bad[2] += 1
    write_chunk(path, "c/1", bad.astype("<i4").tobytes())
    with pytest.raises(ValueError) as e:
        cuzarr.open(path, device="cpu")[...]
    assert "c/1" in str(e.value) and "scale_offset" in str(e.value) and "ints.zarr" in str(e.value)


@pytest.mark.parametrize(
    "out_of_range, want",
    [(None, None), ("clamp", 127), ("wrap", 300 - 256)],
)
def test_cast_value_out_of_range_on_decode(tmp_path, out_of_range, want):
    """int8 data stored as int16: a stored 300 does not fit int8; the codec's rule decides."""
    path = tmp_path / "narrow.zarr"
    config = {"data_type": "int16"}
    if out_of_range:
        config["out_of_range"] = out_of_range
    write_v3_metadata(path, "int8", [{"name": "cast_value", "configuration": config}, BYTES_LE], shape=(4,), chunks=(4,))
    write_chunk(path, "c/0", np.array([1, -128, 300, 5], dtype="<i2").tobytes())
    a = cuzarr.open(path, device="cpu")
    if want is None:
        with pytest.raises(ValueError) as e:
            a[...]
        assert "c/0" in str(e.value) and "cast_value" in str(e.value) and "300" in str(e.value)
    else:
        assert_same_array(a[...], np.array([1, -128, want, 5], dtype="int8"))


def test_cast_value_scalar_map_and_float_target(tmp_path):
    """NaN stored as an int16 sentinel through scalar_map; a float64 array stored as float32."""
    path = tmp_path / "nan.zarr"
    write_v3_metadata(
        path, "float32",
        [v3_codec("cast_value", data_type="int16", rounding="towards-zero",
                  scalar_map={"encode": [["NaN", -32768]], "decode": [[-32768, "NaN"]]}), BYTES_LE],
        fill_value="NaN", shape=(6,), chunks=(3,),
    )
    write_chunk(path, "c/0", np.array([1, -32768, 7], dtype="<i2").tobytes())
    assert_same_array(cuzarr.open(path, device="cpu")[...], np.array([1, np.nan, 7, np.nan, np.nan, np.nan], "float32"))

    wide = tmp_path / "wide.zarr"
    write_v3_metadata(wide, "float64", [v3_codec("cast_value", data_type="float32"), BYTES_LE], shape=(4,), chunks=(4,))
    stored = np.array([0.1, -np.inf, 3.0e38, np.nan], dtype="<f4")
    write_chunk(wide, "c/0", stored.tobytes())
    assert_same_array(cuzarr.open(wide, device="cpu")[...], stored.astype("float64"))


def test_scale_offset_cast_value_in_a_shard_with_missing_inner_chunks(tmp_path):
    """Inside a shard the inner codecs' fill value is the encoded one: a missing inner chunk
    decodes (through scalar_map) to the array's NaN fill value."""
    path = tmp_path / "sharded.zarr"
    inner = [
        v3_codec("scale_offset", offset=0.5, scale=2),
        v3_codec("cast_value", data_type="int16", scalar_map={"encode": [["NaN", -1]], "decode": [[-1, "NaN"]]}),
        BYTES_LE,
    ]
    write_v3_metadata(
        path, "float32",
        [v3_codec("sharding_indexed", chunk_shape=[2, 2], codecs=inner, index_codecs=[BYTES_LE], index_location="end")],
        fill_value="NaN", shape=(4, 4), chunks=(4, 4),
    )
    first = ((np.arange(4, dtype="float32") + 1) / 2 + 0.5).reshape(2, 2)  # stored 1..4 (even: exact)
    payload = np.rint((first - np.float32(0.5)) * 2).astype("<i2").tobytes()
    index = np.full((2, 2, 2), 0xFFFF_FFFF_FFFF_FFFF, dtype="<u8")
    index[0, 0] = (0, len(payload))
    write_chunk(path, "c/0/0", payload + index.tobytes())
    want = np.full((4, 4), np.nan, dtype="float32")
    want[:2, :2] = first
    a = cuzarr.open(path, device="cpu")
    assert a.chunks == (2, 2) and a.shards == (4, 4)
    assert_same_array(a[...], want)


def _zarr_writes_scale_offset() -> bool:
    try:
        from zarr.codecs import CastValue, ScaleOffset  # noqa: F401
        import cast_value_rs  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _zarr_writes_scale_offset(), reason="needs zarr-python >= 3.2 with cast-value-rs")
@pytest.mark.parametrize("sharded", [False, True])
def test_scale_offset_cast_value_written_by_zarr(tmp_path, sharded):
    from zarr.codecs import CastValue, ScaleOffset

    rng = np.random.default_rng(3)
    data = rng.normal(0, 300, SHAPE).astype("float32")
    data[4, 4] = np.nan
    path = tmp_path / "zarr_packed.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(
            str(path), shape=SHAPE, dtype="float32", chunks=(4, 5) if sharded else CHUNKS,
            shards=CHUNKS if sharded else None, fill_value=float("nan"),
            filters=[ScaleOffset(offset=-2.5, scale=8),
                     CastValue(data_type="int16", out_of_range="clamp",
                               scalar_map={"encode": [("NaN", -32768)], "decode": [(-32768, "NaN")]})],
        )
        z[:20] = data[:20]
        want = np.asarray(z[...])
    assert_same_array(cuzarr.open(path, device="cpu")[...], want)


# --------------------------------------------------------------------------------------------
# Damaged chunks


CHECKSUMS = ["crc32", "crc32_end", "crc32c", "adler32", "fletcher32", "jenkins_lookup3"]


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("name", CHECKSUMS)
def test_checksum_mismatch_names_array_key_and_codec(root, name, zarr_format):
    path, _ = write(root / "bad", name, zarr_format)
    key = "1.2" if zarr_format == 2 else "c/1/2"
    chunk = path / key
    raw = bytearray(chunk.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # a payload byte (the checksum sits at one end)
    chunk.write_bytes(bytes(raw))
    a = cuzarr.open(path, device="cpu")
    with pytest.raises(ValueError) as e:
        a[...]
    message = str(e.value)
    codec = ("numcodecs." if zarr_format == 3 else "") + codec_id(CASES[name])
    assert "checksum mismatch" in message and key in message and path.name in message, message
    assert f"'{codec}'" in message, message
    # The other chunks still read.
    a[:8, :10]


def _packbits_store(tmp_path: Path, payload: bytes) -> Path:
    path = tmp_path / "bits.zarr"
    write_v3_metadata(path, "bool", [v3_codec("numcodecs.packbits"), BYTES_LE], fill_value=False, shape=(10,), chunks=(10,))
    write_chunk(path, "c/0", payload)
    return path


def test_packbits_matches_numcodecs_and_rejects_a_bad_header(tmp_path):
    bits = np.array([1, 0, 0, 1, 1, 1, 0, 1, 0, 1], dtype=bool)
    good = numcodecs.PackBits().encode(bits).tobytes()
    assert_same_array(cuzarr.open(_packbits_store(tmp_path, good), device="cpu")[...], bits)
    bad_header = bytes([3]) + good[1:]  # says 3 padding bits: 13 values, not 10
    with pytest.raises(ValueError) as e:
        cuzarr.open(_packbits_store(tmp_path, bad_header), device="cpu")[...]
    assert "c/0" in str(e.value) and "numcodecs.packbits" in str(e.value) and "bits.zarr" in str(e.value)
    with pytest.raises(ValueError) as e:
        cuzarr.open(_packbits_store(tmp_path, good[:-1]), device="cpu")[...]  # truncated
    assert "c/0" in str(e.value) and "bits.zarr" in str(e.value)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_truncated_lzma_stream_names_array_key_and_codec(root, zarr_format):
    path, _ = write(root / "bad", "lzma", zarr_format)
    key = "0.1" if zarr_format == 2 else "c/0/1"
    chunk = path / key
    chunk.write_bytes(chunk.read_bytes()[:-9])
    with pytest.raises(ValueError) as e:
        cuzarr.open(path, device="cpu")[...]
    assert key in str(e.value) and "lzma" in str(e.value) and path.name in str(e.value)
