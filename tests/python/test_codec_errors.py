"""Corrupt compressed, checksummed and sharded chunks give a clear cuzarr.CodecError naming the
array and the chunk key (never a crash, never a silent wrong read where a checksum could tell).

Every codec: truncated and empty chunk files, bit flips (run in a child process, so that a crash
is reported with the flip that caused it), wrong crc32c, shard index entries pointing outside the
shard, blosc headers lying about sizes, zstd frames declaring another size, streams with trailing
garbage, and decompression bombs (read in a child process whose memory growth is measured and
capped). Last, ``cuzarr verify`` lists every corrupt chunk of a store and leaves the store as it was.
"""

from __future__ import annotations

import gzip
import json
import shutil
import struct
import subprocess
import sys
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, BytesCodec, Crc32cCodec, GzipCodec, ShardingCodec, ZstdCodec

import cuzarr
import stores

SHAPE = (32, 32)
CHUNKS = (16, 16)
INNER = (4, 4)  # sharded stores: 16 inner chunks per shard
N_INNER = 16
CHUNK_BYTES = 16 * 16 * 4  # float32
INNER_BYTES = 4 * 4 * 4
MISSING = 0xFFFF_FFFF_FFFF_FFFF


# --------------------------------------------------------------------------------------------
# Pristine stores, one per codec


@dataclass(frozen=True)
class Kind:
    fmt: int
    kwargs: dict  # for zarr.create_array
    checksummed: str = "no"  # "crc32c": any flip is an error; "zstd": error or the same values
    sharded: bool = False
    index_at_end: bool = True

    @property
    def key(self) -> str:
        """The chunk these tests corrupt: chunk (1, 0), a full interior chunk (or shard)."""
        return "1.0" if self.fmt == 2 else "c/1/0"


KINDS = {
    "blosc": Kind(2, dict(compressors=numcodecs.Blosc(cname="lz4", clevel=5, shuffle=1))),
    "blosc_v3_bitshuffle": Kind(3, dict(serializer=BytesCodec(),
                                        compressors=BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle"))),
    "zstd": Kind(2, dict(compressors=numcodecs.Zstd(level=3))),
    "zstd_checksum": Kind(3, dict(serializer=BytesCodec(), compressors=ZstdCodec(level=3, checksum=True)),
                          checksummed="zstd"),
    "gzip": Kind(2, dict(compressors=numcodecs.GZip(level=5))),
    "gzip_v3": Kind(3, dict(serializer=BytesCodec(), compressors=GzipCodec(level=5))),
    "zlib": Kind(2, dict(compressors=numcodecs.Zlib(level=5))),
    "bz2": Kind(2, dict(compressors=numcodecs.BZ2(level=5))),
    "lz4": Kind(2, dict(compressors=numcodecs.LZ4())),
    "crc32c": Kind(3, dict(serializer=BytesCodec(), compressors=Crc32cCodec()), checksummed="crc32c"),
    "sharding": Kind(3, dict(serializer=ShardingCodec(chunk_shape=INNER, codecs=[BytesCodec(), ZstdCodec()]),
                             compressors=None), sharded=True),
    "sharding_start_raw": Kind(3, dict(serializer=ShardingCodec(chunk_shape=INNER, codecs=[BytesCodec()],
                                                                index_location="start"),
                                       compressors=None), sharded=True, index_at_end=False),
}
CODECS = list(KINDS)


def sample(shape=SHAPE) -> np.ndarray:
    """Compressible float32 values with some noise, so every compressor emits real blocks."""
    rng = np.random.default_rng(7)
    n = int(np.prod(shape))
    return (np.round(np.sin(np.arange(n) / 9.0) * 100, 1) + (rng.random(n) < 0.1) * rng.random(n)).astype(
        "float32").reshape(shape)


def write_store(path: Path, kind: Kind) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(str(path), shape=SHAPE, chunks=CHUNKS, dtype="float32", fill_value=0,
                              zarr_format=kind.fmt, **kind.kwargs)
        z[...] = sample()
    return path


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pristine")
    return {name: write_store(root / f"{name}.zarr", kind) for name, kind in KINDS.items()}


def fresh(pristine, tmp_path: Path, codec: str) -> Path:
    """A copy of the pristine store of `codec`, for a test to corrupt."""
    path = tmp_path / f"{codec}.zarr"
    shutil.copytree(pristine[codec], path)
    return path


def chunk_file(path: Path, codec: str) -> Path:
    return path / KINDS[codec].key


def raw_chunk() -> bytes:
    """The uncompressed bytes of chunk (1, 0), as the chain decodes them (little endian, C order)."""
    return np.ascontiguousarray(sample()[16:32, 0:16]).astype("<f4").tobytes()


def expect_codec_error(path: Path, key: str, *needles: str) -> str:
    """Reading the whole array raises CodecError naming the array and `key` (and `needles`);
    reading a region without the chunk still works."""
    a = cuzarr.open(path)
    with pytest.raises(cuzarr.CodecError) as info:
        a[...]
    message = str(info.value)
    assert f"'{key}" in message, f"message does not name the chunk {key!r}: {message}"
    assert path.name in message, f"message does not name the array: {message}"
    for n in needles:
        assert n in message, f"message lacks {n!r}: {message}"
    np.testing.assert_array_equal(a[0:16, :], sample()[0:16, :])
    return message


# --------------------------------------------------------------------------------------------
# Shard index editing


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def test_crc32c_helper():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value


def read_index(shard: bytes, at_end: bool) -> np.ndarray:
    size = 16 * N_INNER + 4
    index = shard[-size:] if at_end else shard[:size]
    assert struct.unpack("<I", index[-4:])[0] == crc32c(index[:-4])
    return np.frombuffer(index[:-4], dtype="<u8").reshape(N_INNER, 2).copy()


def write_index(shard: bytes, entries: np.ndarray, at_end: bool, *, fix_crc: bool = True) -> bytes:
    body = entries.astype("<u8").tobytes()
    old = shard[-(len(body) + 4):] if at_end else shard[: len(body) + 4]
    crc = struct.pack("<I", crc32c(body)) if fix_crc else old[-4:]
    index = body + crc
    return shard[: -len(index)] + index if at_end else index + shard[len(index):]


# --------------------------------------------------------------------------------------------
# Truncated, empty and bit-flipped chunks


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("keep", ["minus1", "half", "16", "1"])
def test_truncated_chunk(pristine, tmp_path, codec, keep):
    path = fresh(pristine, tmp_path, codec)
    f = chunk_file(path, codec)
    data = f.read_bytes()
    n = {"minus1": len(data) - 1, "half": len(data) // 2, "16": 16, "1": 1}[keep]
    f.write_bytes(data[:n])
    expect_codec_error(path, KINDS[codec].key)


@pytest.mark.parametrize("codec", CODECS)
def test_empty_chunk(pristine, tmp_path, codec):
    path = fresh(pristine, tmp_path, codec)
    chunk_file(path, codec).write_bytes(b"")
    expect_codec_error(path, KINDS[codec].key)


FLIP_SCRIPT = r"""
import json, os, sys
import cuzarr
path, chunk, flips = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
a = cuzarr.open(path)
region = (slice(16, 32), slice(0, 16))
want = a[region].tobytes()
original = open(chunk, "rb").read()
fd = os.open(chunk, os.O_RDWR)  # bytes changed in place: rewriting whole files is slow
for pos, bit in flips:
    os.pwrite(fd, bytes([original[pos] ^ (1 << bit)]), pos)
    print(json.dumps({"try": [pos, bit]}), flush=True)
    try:
        got = a[region].tobytes()
        outcome = {"result": "same" if got == want else "differs"}
    except cuzarr.CodecError as e:
        outcome = {"result": "error", "message": str(e)}
    except BaseException as e:
        outcome = {"result": "other", "message": f"{type(e).__name__}: {e}"}
    os.pwrite(fd, original[pos:pos + 1], pos)
    outcome["flip"] = [pos, bit]
    print(json.dumps(outcome), flush=True)
os.close(fd)
"""


def flip_positions(size: int) -> list[tuple[int, int]]:
    """Every byte once (bits rotating), and every bit of the first 32 bytes and the last 8."""
    flips = {(pos, (pos * 5) % 8) for pos in range(size)}
    for pos in list(range(min(size, 32))) + list(range(max(0, size - 8), size)):
        flips.update((pos, bit) for bit in range(8))
    return sorted(flips)


@pytest.mark.parametrize("codec", CODECS)
def test_bit_flips_never_crash(pristine, tmp_path, codec):
    """Each single-bit flip of the chunk: a CodecError naming the key, or a read. Checksummed
    chains never return wrong values: crc32c makes every flip an error; a zstd frame checksum
    makes a flip an error unless the flipped bit does not change the decoded values (zstd ignores
    some header bits). A flip inside a checksummed shard index is always an error."""
    kind = KINDS[codec]
    path = fresh(pristine, tmp_path, codec)
    f = chunk_file(path, codec)
    size = f.stat().st_size
    flips = flip_positions(size)
    proc = subprocess.run([sys.executable, "-c", FLIP_SCRIPT, str(path), str(f), json.dumps(flips)],
                          capture_output=True, text=True, timeout=600)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    tried = [line["try"] for line in lines if "try" in line]
    if proc.returncode != 0:
        last = tried[-1] if tried else None
        pytest.fail(f"{codec}: the reading process died (exit {proc.returncode}) on the flip "
                    f"(byte, bit) = {last} of a {size}-byte chunk\n{proc.stderr[-3000:]}")
    outcomes = [line for line in lines if "result" in line]
    assert len(outcomes) == len(flips)
    index_size = 16 * N_INNER + 4
    counts = {"same": 0, "differs": 0, "error": 0}
    for o in outcomes:
        pos, bit = o["flip"]
        where = f"{codec}: flip of bit {bit} in byte {pos} of {size}"
        assert o["result"] != "other", f"{where}: not a CodecError: {o['message']}"
        counts[o["result"]] += 1
        if o["result"] == "error":
            assert f"'{kind.key}" in o["message"], f"{where}: message does not name the chunk: {o['message']}"
            continue
        in_index = kind.sharded and (pos >= size - index_size if kind.index_at_end else pos < index_size)
        if kind.checksummed == "crc32c" or in_index:
            pytest.fail(f"{where}: read without error ({o['result']}) despite the crc32c")
        if kind.checksummed == "zstd":
            assert o["result"] == "same", f"{where}: wrong values despite the zstd checksum"
    # Most flips of a compressed stream are noticed; a sanity check that the flips took effect.
    assert counts["error"] > 0, counts


# --------------------------------------------------------------------------------------------
# Checksums


@pytest.mark.parametrize("codec", ["crc32c", "zstd_crc32c"])
def test_wrong_crc32c(pristine, tmp_path, codec):
    if codec == "crc32c":
        path = fresh(pristine, tmp_path, "crc32c")
    else:
        path = write_store(tmp_path / "zstd_crc32c.zarr",
                           Kind(3, dict(serializer=BytesCodec(), compressors=[ZstdCodec(), Crc32cCodec()])))
    f = path / "c/1/0"
    data = f.read_bytes()
    (stored,) = struct.unpack("<I", data[-4:])
    assert stored == crc32c(data[:-4])
    f.write_bytes(data[:-4] + struct.pack("<I", (stored + 1) & 0xFFFFFFFF))
    expect_codec_error(path, "c/1/0", "crc32c")


def test_wrong_crc32c_of_an_inner_chunk(tmp_path):
    path = write_store(tmp_path / "inner_crc.zarr",
                       Kind(3, dict(serializer=ShardingCodec(chunk_shape=INNER, codecs=[BytesCodec(), Crc32cCodec()]),
                                    compressors=None)))
    f = path / "c/1/0"
    shard = f.read_bytes()
    entries = read_index(shard, True)
    offset, nbytes = (int(v) for v in entries[5])
    assert nbytes == INNER_BYTES + 4
    data = bytearray(shard)
    data[offset + nbytes - 1] ^= 0x01  # last byte of the inner chunk's checksum
    f.write_bytes(bytes(data))
    message = expect_codec_error(path, "c/1/0", "crc32c")
    assert "inner chunk 1,1" in message, message


@pytest.mark.parametrize("at_end", [True, False], ids=["index_end", "index_start"])
def test_wrong_shard_index_crc32c(tmp_path, at_end):
    path = write_store(tmp_path / "s.zarr", Kind(3, dict(
        serializer=ShardingCodec(chunk_shape=INNER, codecs=[BytesCodec()], index_location="end" if at_end else "start"),
        compressors=None)))
    f = path / "c/1/0"
    shard = f.read_bytes()
    read_index(shard, at_end)  # valid before the edit
    crc_at = len(shard) - 4 if at_end else 16 * N_INNER
    bad = bytearray(shard)
    bad[crc_at] ^= 0x80
    f.write_bytes(bytes(bad))
    expect_codec_error(path, "c/1/0", "crc32c")


# --------------------------------------------------------------------------------------------
# Shard index entries


def edited(entries: np.ndarray, shard_size: int, how: str) -> np.ndarray:
    e = entries.copy()
    k = 6  # inner chunk (1, 2) of the 4 x 4 grid
    if how == "offset_past_end":
        e[k, 0] = shard_size + 100
    elif how == "nbytes_past_end":
        e[k, 1] = shard_size
    elif how == "end_one_past":
        e[k, 1] = shard_size - int(e[k, 0]) + 1
    elif how == "sum_overflows":
        e[k] = (MISSING - 8, 64)
    elif how == "huge_offset":
        e[k, 0] = 1 << 62
    elif how == "half_missing_offset":
        e[k, 0] = MISSING
    elif how == "half_missing_nbytes":
        e[k, 1] = MISSING
    else:  # pragma: no cover
        raise ValueError(how)
    return e


INDEX_EDITS = ["offset_past_end", "nbytes_past_end", "end_one_past", "sum_overflows", "huge_offset",
               "half_missing_offset", "half_missing_nbytes"]


@pytest.mark.parametrize("location", ["end", "start"])
@pytest.mark.parametrize("how", INDEX_EDITS)
def test_shard_index_entry_outside_the_shard(tmp_path, location, how):
    path = write_store(tmp_path / "s.zarr", Kind(3, dict(
        serializer=ShardingCodec(chunk_shape=INNER, codecs=[BytesCodec(), ZstdCodec()], index_location=location),
        compressors=None)))
    f = path / "c/1/0"
    shard = f.read_bytes()
    at_end = location == "end"
    f.write_bytes(write_index(shard, edited(read_index(shard, at_end), len(shard), how), at_end))
    expect_codec_error(path, "c/1/0", "sharding_indexed", "outside the shard", "inner chunk (1,2)")


@pytest.mark.parametrize("how", ["offset_past_end", "sum_overflows", "half_missing_nbytes"])
def test_shard_index_without_checksum_entry_outside(tmp_path, how):
    path = write_store(tmp_path / "s.zarr", Kind(3, dict(
        serializer=ShardingCodec(chunk_shape=INNER, codecs=[BytesCodec()], index_codecs=[BytesCodec()]),
        compressors=None)))
    f = path / "c/1/0"
    shard = f.read_bytes()
    body = 16 * N_INNER
    entries = np.frombuffer(shard[-body:], dtype="<u8").reshape(N_INNER, 2)
    f.write_bytes(shard[:-body] + edited(entries, len(shard), how).astype("<u8").tobytes())
    expect_codec_error(path, "c/1/0", "sharding_indexed", "outside the shard", "inner chunk (1,2)")


def test_shard_index_entry_of_wrong_size(tmp_path):
    """An entry inside the shard but shorter than the raw inner chunk: a size error, not a
    short read."""
    path = write_store(tmp_path / "s.zarr", Kind(3, dict(
        serializer=ShardingCodec(chunk_shape=INNER, codecs=[BytesCodec()]), compressors=None)))
    f = path / "c/1/0"
    shard = f.read_bytes()
    entries = read_index(shard, True)
    entries[2, 1] = INNER_BYTES - 4
    f.write_bytes(write_index(shard, entries, True))
    expect_codec_error(path, "c/1/0")


def test_shard_smaller_than_its_index(pristine, tmp_path):
    path = fresh(pristine, tmp_path, "sharding")
    f = path / "c/1/0"
    f.write_bytes(f.read_bytes()[-(16 * N_INNER):])  # four bytes short of an index
    expect_codec_error(path, "c/1/0", "sharding_indexed")


def test_shard_entries_all_missing_read_as_fill(pristine, tmp_path):
    """Not an error: an index whose every entry is the missing marker is a shard of fill values."""
    path = fresh(pristine, tmp_path, "sharding")
    f = path / "c/1/0"
    shard = f.read_bytes()
    entries = np.full((N_INNER, 2), MISSING, dtype="<u8")
    f.write_bytes(write_index(shard, entries, True))
    got = cuzarr.open(path)[...]
    want = sample()
    want[16:32, 0:16] = 0
    np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------------------------
# Headers that lie


BLOSC_EDITS = {
    "nbytes_plus_1": (4, lambda v: v + 1),
    "nbytes_minus_1": (4, lambda v: v - 1),
    "nbytes_zero": (4, lambda v: 0),
    "nbytes_2GiB": (4, lambda v: 0x7FFFFFFF),
    "nbytes_4GiB": (4, lambda v: 0xFFFFFFFF),
    "blocksize_zero": (8, lambda v: 0),
    "blocksize_huge": (8, lambda v: 0x7FFFFFFF),
    "blocksize_odd": (8, lambda v: 3),
    "cbytes_plus_1": (12, lambda v: v + 1),
    "cbytes_minus_1": (12, lambda v: v - 1),
    "cbytes_huge": (12, lambda v: 0x7FFFFFFF),
}


@pytest.mark.parametrize("codec", ["blosc", "blosc_v3_bitshuffle"])
@pytest.mark.parametrize("edit", list(BLOSC_EDITS))
def test_blosc_header_lying_about_sizes(pristine, tmp_path, codec, edit):
    path = fresh(pristine, tmp_path, codec)
    f = chunk_file(path, codec)
    data = bytearray(f.read_bytes())
    version, _, flags, typesize = data[:4]
    nbytes, blocksize, cbytes = struct.unpack("<III", data[4:16])
    assert version == 2 and nbytes == CHUNK_BYTES and cbytes == len(data), (version, nbytes, cbytes)
    offset, change = BLOSC_EDITS[edit]
    (old,) = struct.unpack("<I", data[offset:offset + 4])
    data[offset:offset + 4] = struct.pack("<I", change(old) & 0xFFFFFFFF)
    f.write_bytes(bytes(data))
    expect_codec_error(path, KINDS[codec].key, "blosc")


def test_lz4_header_lying_about_sizes(pristine, tmp_path):
    for declared in (CHUNK_BYTES + 1, CHUNK_BYTES - 1, 0, 0x7FFFFFFF, 0xFFFFFFFF):
        path = fresh(pristine, tmp_path / str(declared), "lz4")
        f = chunk_file(path, "lz4")
        data = f.read_bytes()
        assert struct.unpack("<I", data[:4])[0] == CHUNK_BYTES
        f.write_bytes(struct.pack("<I", declared) + data[4:])
        expect_codec_error(path, "1.0", "lz4")


def zstd_rle_frame(total: int, byte: int = 0, content_size: int | None = None) -> bytes:
    """A zstd frame written by hand: RLE blocks of 128 KiB repeating `byte`, `total` bytes in all;
    the frame header declares `content_size` (or no size at all). A few bytes per 128 KiB: the
    smallest bomb there is."""
    window = 0x38  # window descriptor: exponent 7 → 128 KiB
    fhd = 0x00 if content_size is None else 0xC0  # 8-byte Frame_Content_Size, no single segment
    header = bytes([fhd, window]) + (b"" if content_size is None else struct.pack("<Q", content_size))
    blocks = []
    left = total
    while True:
        n = min(128 * 1024, left)
        left -= n
        last = left == 0
        blocks.append(struct.pack("<I", (n << 3) | (1 << 1) | int(last))[:3] + bytes([byte]))
        if last:
            return b"\x28\xb5\x2f\xfd" + header + b"".join(blocks)


def test_zstd_rle_frame_helper():
    assert numcodecs.Zstd().decode(zstd_rle_frame(300_000, 7)) == bytes([7]) * 300_000
    assert numcodecs.Zstd().decode(zstd_rle_frame(5, 1, 5)) == bytes([1]) * 5


@pytest.mark.parametrize("variant", ["longer", "shorter", "declared_longer", "declared_shorter",
                                     "no_size_longer", "no_size_shorter", "two_frames", "rle_declares_chunk"])
def test_zstd_frame_with_other_content_size(pristine, tmp_path, variant):
    path = fresh(pristine, tmp_path, "zstd")
    f = chunk_file(path, "zstd")
    raw = raw_chunk()
    zstd = numcodecs.Zstd(level=3)
    if variant == "longer":  # a valid frame of another size, the size declared
        data = zstd.encode(raw + raw[:8])
    elif variant == "shorter":
        data = zstd.encode(raw[:-8])
    elif variant == "declared_longer":  # the right stream under a header declaring another size
        data = zstd_rle_frame(CHUNK_BYTES, 0, CHUNK_BYTES + 4)
    elif variant == "declared_shorter":
        data = zstd_rle_frame(CHUNK_BYTES, 0, CHUNK_BYTES - 4)
    elif variant == "no_size_longer":
        data = zstd_rle_frame(CHUNK_BYTES + 1)
    elif variant == "no_size_shorter":
        data = zstd_rle_frame(CHUNK_BYTES - 1)
    elif variant == "two_frames":  # the first frame has the right size, a second one follows
        data = zstd.encode(raw) + zstd.encode(raw[:16])
    else:  # a frame that lies: declares the chunk size, holds more
        data = zstd_rle_frame(CHUNK_BYTES + 128 * 1024, 0, CHUNK_BYTES)
    f.write_bytes(data)
    expect_codec_error(path, "1.0", "zstd")


def test_zstd_frame_without_size_reads(pristine, tmp_path):
    """A frame that does not declare its size (streaming writers) is fine when it decodes to the
    chunk size."""
    path = fresh(pristine, tmp_path, "zstd")
    chunk_file(path, "zstd").write_bytes(zstd_rle_frame(CHUNK_BYTES, 0))
    want = sample()
    want[16:32, 0:16] = 0
    np.testing.assert_array_equal(cuzarr.open(path)[...], want)


@pytest.mark.parametrize("codec,variant", [
    ("gzip", "garbage"), ("gzip", "zeros"), ("gzip", "second_member"), ("gzip", "one_byte"),
    ("gzip_v3", "garbage"), ("zlib", "garbage"), ("zlib", "one_byte"), ("bz2", "garbage"),
])
def test_trailing_garbage(pristine, tmp_path, codec, variant):
    path = fresh(pristine, tmp_path, codec)
    f = chunk_file(path, codec)
    data = f.read_bytes()
    extra = {"garbage": b"garbage!", "zeros": bytes(8), "one_byte": b"\x00",
             "second_member": gzip.compress(b"more")}[variant]
    f.write_bytes(data + extra)
    expect_codec_error(path, KINDS[codec].key)


def test_gzip_stream_of_another_size(pristine, tmp_path):
    raw = raw_chunk()
    for n, data in enumerate([gzip.compress(raw + b"x"), gzip.compress(raw[:-1]), gzip.compress(b"")]):
        path = fresh(pristine, tmp_path / str(n), "gzip")
        chunk_file(path, "gzip").write_bytes(data)
        expect_codec_error(path, "1.0", "gzip")


def test_gzip_with_bad_trailer(pristine, tmp_path):
    """The CRC-32 and size in the gzip trailer are checked."""
    for n, where in enumerate([-8, -1]):  # first byte of the CRC, last byte of ISIZE
        path = fresh(pristine, tmp_path / str(n), "gzip")
        f = chunk_file(path, "gzip")
        data = bytearray(gzip.compress(raw_chunk()))
        data[where] ^= 0x01
        f.write_bytes(bytes(data))
        expect_codec_error(path, "1.0", "gzip")


def test_other_formats_in_place_of_each_other(pristine, tmp_path):
    """A chunk compressed with one codec where the metadata names another."""
    raw = raw_chunk()
    wrong = {
        "zstd": gzip.compress(raw), "gzip": numcodecs.Zstd().encode(raw), "zlib": numcodecs.BZ2().encode(raw),
        "bz2": zlib.compress(raw), "lz4": numcodecs.Zstd().encode(raw), "blosc": numcodecs.LZ4().encode(raw),
    }
    for codec, data in wrong.items():
        path = fresh(pristine, tmp_path, codec)
        chunk_file(path, codec).write_bytes(data)
        expect_codec_error(path, KINDS[codec].key)


# --------------------------------------------------------------------------------------------
# Decompression bombs


BOMB_SCRIPT = r"""
import json, resource, sys
import cuzarr
path = sys.argv[1]
a = cuzarr.open(path)
a[0:16, :]  # warm up: threads and buffers exist before the measurement

def vm_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# A cap, so that a library that does allocate the bomb fails here instead of taking the machine.
resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + (768 << 20), resource.RLIM_INFINITY))
try:
    a[...]
    outcome = {"result": "read"}
except cuzarr.CodecError as e:
    outcome = {"result": "error", "message": str(e)}
except BaseException as e:
    outcome = {"result": "other", "message": f"{type(e).__name__}: {e}"}
outcome["growth"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
print(json.dumps(outcome))
"""

BOMB_GROWTH_LIMIT = 64 << 20


def gzip_zeros(total: int, wbits: int = 31) -> bytes:
    c = zlib.compressobj(1, zlib.DEFLATED, wbits)
    block = bytes(1 << 20)
    parts = [c.compress(block) for _ in range(total >> 20)]
    return b"".join(parts) + c.flush()


def read_bomb(path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", BOMB_SCRIPT, str(path)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"the reading process died (exit {proc.returncode}): {proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_bomb_refused(outcome: dict, key: str) -> None:
    assert outcome["result"] == "error", f"not a CodecError: {outcome}"
    assert f"'{key}" in outcome["message"], outcome["message"]
    assert outcome["growth"] < BOMB_GROWTH_LIMIT, f"memory grew by {outcome['growth'] >> 20} MiB: {outcome}"


@pytest.mark.parametrize("variant", ["zstd_no_size", "zstd_declared", "zstd_second_frame", "gzip", "zlib"])
def test_decompression_bomb(pristine, tmp_path, variant):
    """A small stream that decodes to far more than the chunk (1 KiB) is an error found without
    decoding it all: the memory of the reading process hardly grows."""
    codec = {"gzip": "gzip", "zlib": "zlib"}.get(variant, "zstd")
    path = fresh(pristine, tmp_path, codec)
    big = 1 << 30
    if variant == "zstd_no_size":
        data = zstd_rle_frame(big)
    elif variant == "zstd_declared":
        data = zstd_rle_frame(big, 0, big)
    elif variant == "zstd_second_frame":
        data = numcodecs.Zstd().encode(raw_chunk()) + zstd_rle_frame(big, 0, big)
    elif variant == "gzip":
        data = gzip_zeros(256 << 20)
    else:
        data = gzip_zeros(256 << 20, wbits=15)
    assert len(data) < 2 << 20
    chunk_file(path, codec).write_bytes(data)
    assert_bomb_refused(read_bomb(path), KINDS[codec].key)


def test_decompression_bomb_inside_a_shard(tmp_path):
    path = write_store(tmp_path / "s.zarr", Kind(3, dict(
        serializer=ShardingCodec(chunk_shape=INNER, codecs=[BytesCodec(), ZstdCodec()]), compressors=None)))
    f = path / "c/1/0"
    shard = f.read_bytes()
    entries = read_index(shard, True)
    bomb = zstd_rle_frame(1 << 30)
    body = shard[: -(16 * N_INNER + 4)]
    entries[9] = (len(body), len(bomb))
    f.write_bytes(write_index(body + bomb + shard[len(body):], entries, True))
    assert_bomb_refused(read_bomb(path), "c/1/0")


def test_decompression_bomb_in_stacked_compressors(tmp_path):
    """gzip then zstd: the zstd stage cannot know its exact output size (a gzip stream), but a
    gzip stream of a 1 KiB chunk is never larger than a few KiB, so a zstd frame decoding to 1 GiB
    is still a bomb and must be refused without allocating its output."""
    path = write_store(tmp_path / "stacked.zarr",
                       Kind(3, dict(serializer=BytesCodec(), compressors=[GzipCodec(), ZstdCodec()])))
    (path / "c/1/0").write_bytes(zstd_rle_frame(1 << 30))
    assert_bomb_refused(read_bomb(path), "c/1/0")


@pytest.mark.parametrize("inner", ["raw", "zstd"])
def test_decompression_bomb_over_whole_shards(tmp_path, inner):
    """A compressor over whole shards: the shard's size is not fixed, but it is bounded by its
    inner chunks (each at most its own bound) and the index, so a frame decoding to 1 GiB must be
    refused without allocating its output."""
    codecs = [BytesCodec()] + ([ZstdCodec()] if inner == "zstd" else [])
    sharding = ShardingCodec(chunk_shape=INNER, codecs=codecs)
    path = write_store(tmp_path / "shard_then_zstd.zarr", Kind(3, dict(serializer=sharding, compressors=ZstdCodec())))
    (path / "c/1/0").write_bytes(zstd_rle_frame(1 << 30))
    assert_bomb_refused(read_bomb(path), "c/1/0")


# --------------------------------------------------------------------------------------------
# cuzarr verify


def corrupt_group(root: Path) -> tuple[Path, list[str]]:
    """A v3 group of three arrays with six corrupt chunks (and some missing ones, which are fine);
    returns the store and the display keys that verify must list."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.open_group(str(root), mode="w", zarr_format=3).create_group("sub")
    bad = []
    zs = write_store(root / "zstd", KINDS["zstd_checksum"])
    (zs / "c/0/0").write_bytes((zs / "c/0/0").read_bytes()[:-3])  # truncated
    (zs / "c/1/1").write_bytes(b"")  # empty
    flipped = bytearray((zs / "c/0/1").read_bytes())
    flipped[len(flipped) // 2] ^= 0x10  # caught by the frame checksum
    (zs / "c/0/1").write_bytes(bytes(flipped))
    bad += ["zstd c/0/0", "zstd c/1/1", "zstd c/0/1"]

    sh = write_store(root / "sub" / "sharded", KINDS["sharding"])
    shard = (sh / "c/1/0").read_bytes()
    (sh / "c/1/0").write_bytes(write_index(shard, edited(read_index(shard, True), len(shard), "offset_past_end"), True))
    shard = bytearray((sh / "c/0/1").read_bytes())
    shard[-1] ^= 0x01  # wrong index checksum
    (sh / "c/0/1").write_bytes(bytes(shard))
    (sh / "c/1/1").unlink()  # missing: fill value, not an error
    bad += ["sub/sharded c/1/0", "sub/sharded c/0/1"]

    bl = write_store(root / "blosc", Kind(3, dict(serializer=BytesCodec(), compressors=BloscCodec(cname="lz4"))))
    data = bytearray((bl / "c/1/0").read_bytes())
    data[4:8] = struct.pack("<I", CHUNK_BYTES * 2)  # nbytes lies
    (bl / "c/1/0").write_bytes(bytes(data))
    (bl / "c/0/0").unlink()
    bad += ["blosc c/1/0"]

    write_store(root / "clean", KINDS["crc32c"])
    return root, bad


def run_verify(cli: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([cli, "verify", str(path)], capture_output=True, text=True, timeout=120)


def test_read_and_verify_name_a_chunk_alike(cuzarr_cli, tmp_path):
    """One key form whichever node the store is opened at: verify of the group and read of the
    array both say chunk 'c/...' of array '.../zstd', and the zstd failure is in our words with
    zstd's own in brackets."""
    root = tmp_path / "group.zarr"
    zarr.open_group(str(root), mode="w", zarr_format=3)
    zs = write_store(root / "zstd", Kind(3, dict(serializer=BytesCodec(), compressors=ZstdCodec(level=1))))
    whole = (zs / "c/0/1").read_bytes()
    (zs / "c/0/1").write_bytes(whole[: len(whole) // 2])
    verify = run_verify(cuzarr_cli, root)
    read = subprocess.run([cuzarr_cli, "read", str(root / "zstd"), "--out", str(tmp_path / "x.npy")],
                          capture_output=True, text=True, timeout=120)
    assert verify.returncode == 1 and read.returncode == 2, (verify, read)
    for text in (verify.stdout, read.stderr):
        assert "/zstd', chunk 'c/0/1', codec 'zstd'" in text, text
        assert "cut short" in text and "[zstd: " in text, text
        assert "zstd/c/0/1" not in text, text


def test_verify_lists_every_corrupt_chunk(cuzarr_cli, tmp_path):
    root, bad = corrupt_group(tmp_path / "group.zarr")
    before = stores.snapshot(root)
    proc = run_verify(cuzarr_cli, root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    for item in bad:
        array, key = item.split(" ")
        # The key within the array, beside the array's path: as `cuzarr read` names it.
        lines = [line for line in out.splitlines() if f"/{array}', chunk '{key}'" in line]
        assert lines, f"verify does not list {array} {key}:\n{out}"
    # Exactly the corrupt chunks are listed: one line each below its array's FAILED line.
    listed = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(listed) == len(bad), out
    assert any(line.startswith("ok") and "clean" in line for line in out.splitlines()), out
    summary = {line.split(":")[0].split()[-1].split("/")[-1]: line for line in out.splitlines()
               if line.startswith(("ok", "FAILED"))}
    assert "1 missing" in summary["sharded"] and "2 unreadable" in summary["sharded"], out
    assert "1 missing" in summary["blosc"] and "1 unreadable" in summary["blosc"], out
    assert "3 unreadable" in summary["zstd"], out
    assert stores.snapshot(root) == before


def test_verify_of_one_corrupt_array(cuzarr_cli, pristine, tmp_path):
    path = fresh(pristine, tmp_path, "bz2")
    for key in ("0.0", "1.1"):
        f = path / key
        f.write_bytes(f.read_bytes()[:10])
    before = stores.snapshot(path)
    proc = run_verify(cuzarr_cli, path)
    assert proc.returncode == 1
    for key in ("0.0", "1.1"):
        assert f"'{key}'" in proc.stdout, proc.stdout
    assert "'0.1'" not in proc.stdout and "'1.0'" not in proc.stdout, proc.stdout
    assert stores.snapshot(path) == before


@pytest.mark.parametrize("codec", ["blosc", "zstd_checksum", "sharding", "bz2", "lz4"])
def test_verify_clean_store_exits_0(cuzarr_cli, pristine, tmp_path, codec):
    path = fresh(pristine, tmp_path, codec)
    before = stores.snapshot(path)
    proc = run_verify(cuzarr_cli, path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok"), proc.stdout
    assert "0 unreadable" in proc.stdout
    assert stores.snapshot(path) == before


def test_verify_clean_group_exits_0(cuzarr_cli, tmp_path):
    root, _ = corrupt_group(tmp_path / "g.zarr")
    for name in ("zstd", "sub", "blosc"):
        shutil.rmtree(root / name)
    proc = run_verify(cuzarr_cli, root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAILED" not in proc.stdout
