"""Seed corpora for the libFuzzer targets, cut from stores that real writers produce.

    python tests/fuzz/make_seeds.py OUT_DIR [--fixtures DIR]

writes OUT_DIR/<target>/<name> for every target in tests/fuzz/CMakeLists.txt:

- fuzz_selection: selection texts as `cuzarr read --select` takes them.
- fuzz_http_response, fuzz_s3_xml, fuzz_aws_config, fuzz_credentials_json, fuzz_cloud_credentials: hand-written server
  answers, S3 documents, AWS config/credentials files and credential-endpoint documents.
- fuzz_zstd_frame: zstd frames that numcodecs (libzstd) writes at several levels, with and
  without checksum, of several kinds of data, behind the target's mode byte.
- fuzz_kerchunk: kerchunk references of both versions (templates, gen) and a few broken ones.
- fuzz_icechunk: the snapshot and manifest files of icechunk repositories.
- fuzz_chunk_<chain>: stored chunk (0, 0) of arrays written by zarr-python (and by tensorstore,
  where it has the codec) with exactly the metadata of that chain in fuzz_chunk.cpp, for several
  kinds of data (constant, ramps, noise, special values), so every seed decodes cleanly and the
  fuzzer starts from real frames, headers and shard indexes.
- fuzz_v2_metadata: ".zarray NUL .zattrs NUL chunk" of v2 arrays of every dtype, compressor and
  filter zarr-python writes (order F, "/" separators, fill values), and ".zgroup NUL .zmetadata"
  of consolidated groups; fuzz_v3_metadata: "zarr.json NUL chunk" of v3 arrays (every data type,
  bytes big/little, transpose, blosc, gzip, zstd, crc32c, sharding, nested sharding, key
  encodings, dimension names) and root zarr.json documents with consolidated metadata. The
  tensorstore stores in --fixtures (default ../shared/fixtures/tensorstore, skipped when absent)
  add their documents and first chunks.

Nothing here is committed: `make fuzz` (scripts/fuzz) regenerates the seeds when they are missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numcodecs
import numpy as np
import zarr
from zarr.codecs import (BloscCodec, BytesCodec, Crc32cCodec, GzipCodec, ShardingCodec, TransposeCodec, VLenUTF8Codec,
                         ZstdCodec)
from zarr.core.dtype import VariableLengthUTF8
import zarr.codecs.numcodecs as zarr_numcodecs

SHAPE = (20, 30)
CHUNKS = (8, 10)
INNER = (4, 5)


def text_datasets() -> dict[str, np.ndarray]:
    """Variable-length strings of SHAPE: empty, ASCII, multi-byte UTF-8 and long items."""
    rng = np.random.default_rng(1234)
    words = np.array(["", "a", "abc", "héllo", "日本語", "x" * 300], dtype=object)
    return {
        "empty": np.full(SHAPE, "", dtype=object),
        "words": words[rng.integers(0, len(words), size=SHAPE)],
        "numbers": np.array([str(i) for i in range(int(np.prod(SHAPE)))], dtype=object).reshape(SHAPE),
    }


def datasets(dtype) -> dict[str, np.ndarray]:
    """A few arrays of SHAPE: each compresses differently, so the seeds' streams differ."""
    if isinstance(dtype, VariableLengthUTF8):
        return text_datasets()
    dt = np.dtype(dtype)
    rng = np.random.default_rng(1234)
    n = int(np.prod(SHAPE))
    ramp = np.arange(n).reshape(SHAPE)
    out = {
        "zeros": np.zeros(SHAPE, dt),
        "ramp": ramp.astype(dt),
        "noise": (rng.integers(0, 2**15, size=SHAPE) if dt.kind in "iu"
                  else rng.standard_normal(SHAPE) * 1e3).astype(dt),
        "steps": (ramp // 37 % 5).astype(dt),
    }
    if dt.kind == "f":
        special = np.zeros(SHAPE, dt)
        special.flat[:6] = [np.nan, np.inf, -np.inf, -0.0, np.finfo(dt).tiny, np.finfo(dt).max]
        out["special"] = special
    if dt.kind in "iu":
        extremes = np.zeros(SHAPE, dt)
        extremes.flat[::7] = np.iinfo(dt).max
        extremes.flat[1::7] = np.iinfo(dt).min
        out["extremes"] = extremes
    return out


def quiet_create(path: Path, **kwargs):
    """zarr.create_array without warnings; chunks equal to the fill value are written too."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zarr.create_array(str(path), config={"write_empty_chunks": True}, **kwargs)


# The chains of fuzz_chunk.cpp: (dtype, zarr format, create_array keywords, chunk key).
CHAINS = {
    "raw": (">f8", 2, dict(compressors=None, filters=None), "0.0"),
    "blosc": ("<f4", 2, dict(compressors=numcodecs.Blosc(cname="lz4", clevel=5, shuffle=1), filters=None), "0.0"),
    "zstd": ("float32", 3, dict(serializer=BytesCodec(endian="little"),
                               compressors=ZstdCodec(level=3, checksum=True)), "c/0/0"),
    "gzip": ("uint16", 3, dict(serializer=BytesCodec(endian="big"), compressors=GzipCodec(level=5)), "c/0/0"),
    "zlib": ("<i8", 2, dict(compressors=numcodecs.Zlib(level=5), filters=None), "0.0"),
    "lz4": ("<u4", 2, dict(compressors=numcodecs.LZ4(), filters=None), "0.0"),
    "bz2": ("<f8", 2, dict(compressors=numcodecs.BZ2(level=5), filters=None), "0.0"),
    "crc32c": ("int32", 3, dict(serializer=BytesCodec(endian="little"), compressors=Crc32cCodec()), "c/0/0"),
    "sharding": ("uint16", 3, dict(serializer=ShardingCodec(
        chunk_shape=INNER, codecs=[BytesCodec(endian="little"), ZstdCodec(level=3)]), compressors=None), "c/0/0"),
    "transpose": ("float64", 3, dict(filters=[TransposeCodec(order=(1, 0))], serializer=BytesCodec(endian="big"),
                                     compressors=ZstdCodec(level=3)), "c/0/0"),
    "filters": ("<i2", 2, dict(compressors=None, filters=[numcodecs.Delta(dtype="<i2"),
                                                          numcodecs.AsType(encode_dtype="<f8", decode_dtype="<i2")]),
                "0.0"),
    "lzma": ("<f4", 2, dict(compressors=numcodecs.LZMA(preset=1), filters=None), "0.0"),
    "checksum": ("<u2", 2, dict(compressors=numcodecs.CRC32(), filters=None), "0.0"),
    "packbits": ("|b1", 2, dict(compressors=numcodecs.Zlib(level=1), filters=[numcodecs.PackBits()]), "0.0"),
    "numcodecs_v3": ("int16", 3, dict(filters=[zarr_numcodecs.Delta(dtype="int16")],
                                      compressors=[zarr_numcodecs.Shuffle(elementsize=2), zarr_numcodecs.Fletcher32()]),
                     "c/0/0"),
    "vlen": (VariableLengthUTF8(), 2, dict(compressors=numcodecs.Zstd(level=3)), "0.0"),
    "vlen_sharding": (VariableLengthUTF8(), 3, dict(serializer=ShardingCodec(
        chunk_shape=INNER, codecs=[VLenUTF8Codec(), ZstdCodec(level=3)]), compressors=None), "c/0/0"),
}


class Seeds:
    def __init__(self, out: Path):
        self.out = out
        self.count: dict[str, int] = {}

    def add(self, target: str, data: bytes, label: str) -> None:
        d = self.out / target
        d.mkdir(parents=True, exist_ok=True)
        name = f"{label}-{hashlib.sha1(data).hexdigest()[:12]}"
        (d / name).write_bytes(data)
        self.count[target] = self.count.get(target, 0) + 1


def chunk_seeds(seeds: Seeds, work: Path) -> None:
    for chain, (dtype, fmt, kwargs, key) in CHAINS.items():
        for label, data in datasets(dtype).items():
            path = work / f"chunk_{chain}_{label}.zarr"
            fill = "" if isinstance(dtype, VariableLengthUTF8) else 0
            z = quiet_create(path, shape=SHAPE, chunks=CHUNKS, dtype=dtype, zarr_format=fmt, fill_value=fill, **kwargs)
            z[...] = data
            seeds.add(f"fuzz_chunk_{chain}", (path / key).read_bytes(), f"zarr-{label}")
    tensorstore_chunk_seeds(seeds, work)


def tensorstore_chunk_seeds(seeds: Seeds, work: Path) -> None:
    """The same chains written by tensorstore where it has the codec (its own framing choices:
    zstd without a content size in some versions, its own blosc blocksizes, shard layouts)."""
    try:
        import tensorstore as ts
    except ImportError:
        return
    bytes_le = {"name": "bytes", "configuration": {"endian": "little"}}
    specs = {
        "blosc": ("zarr", "<f4", {"compressor": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}}),
        "zlib": ("zarr", "<i8", {"compressor": {"id": "zlib", "level": 5}}),
        "bz2": ("zarr", "<f8", {"compressor": {"id": "bz2", "level": 5}}),
        "raw": ("zarr", ">f8", {"compressor": None}),
        "zstd": ("zarr3", "float32", {"codecs": [bytes_le, {"name": "zstd",
                                                            "configuration": {"level": 3, "checksum": True}}]}),
        "gzip": ("zarr3", "uint16", {"codecs": [{"name": "bytes", "configuration": {"endian": "big"}},
                                                {"name": "gzip", "configuration": {"level": 5}}]}),
        "crc32c": ("zarr3", "int32", {"codecs": [bytes_le, {"name": "crc32c"}]}),
        "sharding": ("zarr3", "uint16", {"codecs": [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": list(INNER), "codecs": [bytes_le, {"name": "zstd", "configuration": {"level": 3}}],
            "index_codecs": [bytes_le, {"name": "crc32c"}], "index_location": "end"}}]}),
        "transpose": ("zarr3", "float64", {"codecs": [{"name": "transpose", "configuration": {"order": [1, 0]}},
                                                      {"name": "bytes", "configuration": {"endian": "big"}},
                                                      {"name": "zstd", "configuration": {"level": 3}}]}),
    }
    for chain, (driver, dtype, extra) in specs.items():
        for label, data in datasets(dtype.lstrip("<>")).items():
            path = work / f"ts_{chain}_{label}.zarr"
            if driver == "zarr":
                metadata = {"shape": list(SHAPE), "chunks": list(CHUNKS), "dtype": dtype, "order": "C",
                            "filters": None, "fill_value": 0, **extra}
                key = "0.0"
            else:
                metadata = {"shape": list(SHAPE), "data_type": dtype,
                            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(CHUNKS)}},
                            "fill_value": 0, **extra}
                key = "c/0/0"
            try:
                t = ts.open({"driver": driver, "kvstore": {"driver": "file", "path": str(path)},
                             "metadata": metadata, "store_data_equal_to_fill_value": True},
                            create=True, delete_existing=True).result()
                t.write(data).result()
            except Exception as e:  # a tensorstore without this codec: the zarr-python seeds remain
                print(f"make_seeds: tensorstore {chain}: {e}", file=sys.stderr)
                break
            if (path / key).is_file():
                seeds.add(f"fuzz_chunk_{chain}", (path / key).read_bytes(), f"ts-{label}")


def first_chunk(path: Path, doc: dict) -> bytes | None:
    """Chunk (0, ..., 0) of the array at `path` described by `doc`, if it was written."""
    rank = len(doc["shape"])
    if doc.get("zarr_format") == 2:
        key = doc.get("dimension_separator") or "."
        name = key.join(["0"] * rank) if rank else "0"
    else:
        enc = doc.get("chunk_key_encoding", {"name": "default"})
        sep = enc.get("configuration", {}).get("separator", "/" if enc["name"] == "default" else ".")
        if enc["name"] == "default":
            name = sep.join(["c"] + ["0"] * rank)
        else:
            name = sep.join(["0"] * rank) if rank else "0"
    f = path / name
    return f.read_bytes() if f.is_file() and f.stat().st_size <= 1 << 20 else None


def add_array_store(seeds: Seeds, path: Path, label: str) -> None:
    if (path / "zarr.json").is_file():
        doc = json.loads((path / "zarr.json").read_text())
        parts = [(path / "zarr.json").read_bytes()]
        chunk = first_chunk(path, doc)
        if chunk is not None:
            parts.append(chunk)
        seeds.add("fuzz_v3_metadata", b"\0".join(parts), label)
    elif (path / ".zarray").is_file():
        doc = json.loads((path / ".zarray").read_text())
        attrs = (path / ".zattrs").read_bytes() if (path / ".zattrs").is_file() else b"{}"
        parts = [(path / ".zarray").read_bytes(), attrs]
        chunk = first_chunk(path, doc)
        if chunk is not None:
            parts.append(chunk)
        seeds.add("fuzz_v2_metadata", b"\0".join(parts), label)


def metadata_seeds(seeds: Seeds, work: Path) -> None:
    small = np.arange(6 * 7, dtype="f8").reshape(6, 7)
    for fmt in (2, 3):
        dtypes = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
                  "float32", "float64", "complex64", "complex128"]
        if fmt == 2:
            dtypes += [">i4", ">f8", "<M8[ns]", "<m8[s]"]
        for dtype in dtypes:
            path = work / f"meta_v{fmt}_{dtype.replace('<', 'le').replace('>', 'be').replace('[', '_').strip(']')}.zarr"
            z = quiet_create(path, shape=(6, 7), chunks=(4, 3), dtype=dtype, zarr_format=fmt, compressors=None,
                             attributes={"units": "K", "_ARRAY_DIMENSIONS": ["y", "x"]} if fmt == 2 else {},
                             **({"dimension_names": ["y", "x"]} if fmt == 3 else {}))
            dt = np.dtype(dtype)
            z[...] = small.astype("i8").view(dt) if dt.kind in "mM" else small.astype(dt)
            add_array_store(seeds, path, f"zarr-v{fmt}-{path.stem}")

    v2_kinds = {
        "blosc_zstd_bitshuffle": dict(compressors=numcodecs.Blosc(cname="zstd", shuffle=2)),
        "zstd": dict(compressors=numcodecs.Zstd()), "gzip": dict(compressors=numcodecs.GZip()),
        "zlib": dict(compressors=numcodecs.Zlib()), "bz2": dict(compressors=numcodecs.BZ2()),
        "lz4": dict(compressors=numcodecs.LZ4()),
        "order_F": dict(compressors=None, order="F"),
        "slash": dict(compressors=None, chunk_key_encoding={"name": "v2", "separator": "/"}),
        "fill_nan": dict(compressors=None, fill_value=np.nan),
        "delta": dict(compressors=None, filters=[numcodecs.Delta(dtype="<f8")]),
        "fixedscaleoffset": dict(compressors=numcodecs.Zlib(), filters=[
            numcodecs.FixedScaleOffset(offset=10, scale=100, dtype="<f8", astype="<i4")]),
        "quantize": dict(compressors=None, filters=[numcodecs.Quantize(digits=2, dtype="<f8")]),
        "astype": dict(compressors=None, filters=[numcodecs.AsType(encode_dtype="<f4", decode_dtype="<f8")]),
        "shuffle": dict(compressors=None, filters=[numcodecs.Shuffle(elementsize=8)]),
    }
    for name, kwargs in v2_kinds.items():
        path = work / f"meta_v2_{name}.zarr"
        z = quiet_create(path, shape=(6, 7), chunks=(4, 3), dtype="<f8", zarr_format=2,
                         **{"filters": None, **kwargs})
        z[...] = small
        add_array_store(seeds, path, f"zarr-v2-{name}")

    v3_kinds = {
        "big": dict(serializer=BytesCodec(endian="big"), compressors=None),
        "transpose": dict(filters=[TransposeCodec(order=(1, 0))], compressors=None),
        "blosc": dict(compressors=BloscCodec(cname="lz4", shuffle="shuffle")),
        "gzip": dict(compressors=GzipCodec()), "zstd": dict(compressors=ZstdCodec(checksum=True)),
        "crc32c": dict(compressors=Crc32cCodec()),
        "gzip_crc32c": dict(compressors=[GzipCodec(), Crc32cCodec()]),
        "sharding": dict(shards=(4, 6), compressors=ZstdCodec()),
        "sharding_start": dict(serializer=ShardingCodec(chunk_shape=(2, 3), codecs=[BytesCodec()],
                                                        index_location="start"), compressors=None),
        "sharding_nested": dict(serializer=ShardingCodec(chunk_shape=(4, 6), codecs=[ShardingCodec(
            chunk_shape=(2, 3), codecs=[BytesCodec(), GzipCodec()])]), compressors=None),
        "key_dot": dict(compressors=None, chunk_key_encoding={"name": "default", "separator": "."}),
        "key_v2": dict(compressors=None, chunk_key_encoding={"name": "v2", "separator": "."}),
        "fill_nan": dict(compressors=None, fill_value=np.nan),
    }
    for name, kwargs in v3_kinds.items():
        path = work / f"meta_v3_{name}.zarr"
        chunks = (2, 3) if "shards" in kwargs else ((4, 6) if name.startswith("sharding") else (4, 3))
        z = quiet_create(path, shape=(6, 7), chunks=chunks, dtype="float64", zarr_format=3, **kwargs)
        z[...] = small
        add_array_store(seeds, path, f"zarr-v3-{name}")

    for fmt in (2, 3):
        path = work / f"group_v{fmt}.zarr"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            root = zarr.open_group(str(path), mode="w", zarr_format=fmt, attributes={"title": "seed"})
            root.create_group("sub", attributes={"level": 1}).create_group("deeper")
            for name, chunks in (("temp", (4, 3)), ("sub/c", (2, 2)), ("sub/deeper/b", (5, 5))):
                z = root.create_array(name, shape=(6, 7), chunks=chunks, dtype="<f4" if fmt == 2 else "float32",
                                      fill_value=0, compressors=None)
                z[...] = small
            zarr.consolidate_metadata(str(path))
        if fmt == 2:
            seeds.add("fuzz_v2_metadata", (path / ".zgroup").read_bytes() + b"\0" + (path / ".zmetadata").read_bytes(),
                      "zarr-v2-group-consolidated")
        else:
            seeds.add("fuzz_v3_metadata", (path / "zarr.json").read_bytes(), "zarr-v3-group-consolidated")


SELECTIONS = ["", "0:10, 5, ::2", "[3,1,2],:,-1", "::3, 1::4, [6, 0, 6]", "-1, -30, -7", "5", "0:0, :, :",
              "[19, 0, 19, 19], 29:, 2:6:3", "1:19:7, [0], 0", "::100, ::1, ::2", "+3, 4:+9, [ 1 , 2 ]"]


def selection_seeds(seeds: Seeds) -> None:
    for i, text in enumerate(SELECTIONS):
        seeds.add("fuzz_selection", text.encode(), f"select-{i}")


HTTP_ANSWERS = [
    # (request byte, headers, body): see fuzz_http_response.cpp (byte % 5: range, front, back, whole, head).
    (0x10, "HTTP/1.1 206 Partial Content\nContent-Range: bytes 100-163/1000\nContent-Length: 64", bytes(range(64))),
    (0x21, "HTTP/1.1 206 Partial Content\nContent-Range: bytes 0-63/64\nContent-Length: 64", bytes(64)),
    (0x02, "HTTP/1.1 206 Partial Content\nContent-Range: bytes 936-999/1000\nContent-Length: 64", b"x" * 64),
    (0x03, "HTTP/1.1 200 OK\nContent-Length: 10\nContent-Type: application/json", b'{"a": 1}\n\n'),
    (0x13, "HTTP/1.1 200 OK\nTransfer-Encoding: chunked", b"abc" * 30),
    (0x04, "HTTP/1.1 200 OK\nContent-Length: 4611686018427387904", b""),
    (0x00, "HTTP/1.1 200 OK\nContent-Length: 1000", bytes(1000)),
    (0x00, "HTTP/1.1 416 Range Not Satisfiable\nContent-Range: bytes */0", b""),
    (0x03, "HTTP/1.1 100 Continue\n\nHTTP/1.1 302 Found\nLocation: http://x/\n\nHTTP/2 404\ncontent-length: 9",
     b"not found"),
    (0x01, "HTTP/1.1 503 Slow Down\nRetry-After: 1\nContent-Type: application/xml",
     b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"),
    (0x03, "HTTP/1.1 429 Too Many Requests\nRetry-After: Sun, 06 Nov 1994 08:49:47 GMT", b""),
]

S3_DOCUMENTS = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<Name>b</Name><Prefix>data.zarr/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
    "<IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "<Contents><Key>data.zarr/zarr.json</Key><LastModified>2026-12-07T03:00:00.000Z</LastModified>"
    '<ETag>&quot;abc&quot;</ETag><Size>123</Size><StorageClass>STANDARD</StorageClass></Contents>'
    "<CommonPrefixes><Prefix>data.zarr/temp/</Prefix></CommonPrefixes></ListBucketResult>",
    "<ListBucketResult><Contents><Key>a &amp; b&#x2F;&#233;&lt;</Key></Contents>"
    "<CommonPrefixes><Prefix><![CDATA[x/<y>/]]></Prefix></CommonPrefixes><IsTruncated>false</IsTruncated></ListBucketResult>",
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not '
    "exist</Message><BucketName>b</BucketName><RequestId>1</RequestId></Error>",
    "<!-- c --><?pi x?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
    "<Resource>/b/k</Resource></Error>",
    "<s3:Error xmlns:s3='x'><s3:Code a=\"1\">AccessDenied</s3:Code><Empty/></s3:Error>",
]

AWS_FILES = [
    ("[default]\nregion = eu-west-1\n", "[default]\naws_access_key_id = AKIA\naws_secret_access_key = FUZZ-SECRET-VALUE\n", ""),
    ("[profile dev]\nregion = us-east-2\ns3 =\n  addressing_style = path\n  endpoint_url = http://127.0.0.1:9000\n",
     "[dev]\naws_access_key_id=AK\naws_secret_access_key=FUZZ-SECRET-VALUE\naws_session_token = tok\n", "dev"),
    ("[profile sso]\nsso_session = corp\n[sso-session corp]\nsso_start_url = https://x\n", "", "sso"),
    ("; comment\n# comment\n[profile   spaced  ]\nendpoint_url = https://s3.example.org/base/\n", "[spaced]\n"
     "aws_secret_access_key = FUZZ-SECRET-VALUE\n", "spaced"),
    ("[default]\nregion = x@evil.invalid#\n", "[default]\naws_access_key_id = A\n", ""),
    ("[default]\nendpoint_url = http://user:FUZZ-SECRET-VALUE@host\n", "", ""),
]

CREDENTIAL_DOCUMENTS = [
    {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "FUZZSECRET", "Token": "tok", "Expiration": "2026-12-07T09:00:00Z"},
    {"Code": "Success", "LastUpdated": "2026-12-07T03:00:00Z", "Type": "AWS-HMAC", "AccessKeyId": "ASIA",
     "SecretAccessKey": "FUZZSECRET", "Token": "t", "Expiration": "2026-12-07T09:00:00.123+01:00"},
    {"AccessKeyId": "AKIA", "SecretAccessKey": "FUZZSECRET"},
    {"Code": "AssumeRoleUnauthorizedAccess", "Message": "no"},
    {"AccessKeyId": "A", "SecretAccessKey": "FUZZSECRET", "Expiration": "Sun, 06 Nov 1994 08:49:37 GMT"},
]


# fuzz_cloud_credentials: a selector byte (0 Google credentials, 1 token answer, 2 Azure
# connection string, 3 Azure URL, 4 a managed identity's or the Azure CLI's token), then the text.
CLOUD_INPUTS = [
    (4, json.dumps({"access_token": "eyJ0.FUZZTOKEN", "expires_in": "3599", "token_type": "Bearer",
                    "resource": "https://storage.azure.com/"})),
    (4, json.dumps({"access_token": "eyJ0.FUZZTOKEN", "expires_on": "1765141980"})),
    (4, json.dumps({"accessToken": "eyJ0.FUZZTOKEN", "expiresOn": "2026-12-07 21:13:00.000000",
                    "expires_on": 1765141980, "tokenType": "Bearer"})),
    (0, json.dumps({"type": "authorized_user", "client_id": "id", "client_secret": "FUZZSECRET",
                    "refresh_token": "1//FUZZREFRESH", "token_uri": "http://127.0.0.1:1/token"})),
    (0, json.dumps({"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com",
                    "private_key": "-----BEGIN PRIVATE KEY-----\nFUZZKEY\n-----END PRIVATE KEY-----\n"})),
    (0, json.dumps({"type": "external_account"})),
    (1, json.dumps({"access_token": "ya29.FUZZTOKEN", "expires_in": 3599, "token_type": "Bearer"})),
    (1, json.dumps({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})),
    (2, "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=RlVaWlNFQ1JFVEtFWQ==;"
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"),
    (2, "AccountName=acct1;SharedAccessSignature=sv=2021-08-06&sig=FUZZSIG;EndpointSuffix=core.windows.net"),
    (3, "az://container/data.zarr/group"),
    (3, "abfss://container@account1.dfs.core.windows.net/data.zarr"),
    (3, "https://account1.blob.core.windows.net/container/x"),
]


def network_seeds(seeds: Seeds) -> None:
    """Hand-written answers of HTTP servers, S3, credential endpoints and AWS files: no writer
    makes these, so they are written here (and the fuzzer grows them)."""
    for i, (mode, headers, body) in enumerate(HTTP_ANSWERS):
        seeds.add("fuzz_http_response", bytes([mode]) + headers.encode() + b"\n\n" + body, f"answer-{i}")
    for i, doc in enumerate(S3_DOCUMENTS):
        seeds.add("fuzz_s3_xml", doc.encode(), f"s3-{i}")
    for i, (config, credentials, profile) in enumerate(AWS_FILES):
        data = config.encode() + b"\0" + credentials.encode() + (b"\0" + profile.encode() if profile else b"")
        seeds.add("fuzz_aws_config", data, f"aws-{i}")
    for i, doc in enumerate(CREDENTIAL_DOCUMENTS):
        seeds.add("fuzz_credentials_json", json.dumps(doc).encode(), f"credentials-{i}")
    for i, text in enumerate(["1", "120", "Sun, 06 Nov 1994 08:49:37 GMT", "2026-12-07T03:00:00Z"]):
        seeds.add("fuzz_credentials_json", text.encode(), f"time-{i}")
    for i, (selector, text) in enumerate(CLOUD_INPUTS):
        seeds.add("fuzz_cloud_credentials", bytes([selector]) + text.encode(), f"cloud-{i}")

KERCHUNK_REFERENCES = [
    {".zgroup": '{"zarr_format": 2}', "a/.zarray": {"shape": [4], "chunks": [2], "dtype": "<i4"},
     "a/0": ["data.nc", 100, 8], "a/1": ["s3://bucket/data.nc"], "a/2": "base64:AAECAw=="},
    {"version": 1, "templates": {"u": "https://host/data/file.nc"},
     "refs": {".zgroup": '{"zarr_format": 2}', "x/0.0": ["{{u}}", 0, 4096], "x/0.1": "text"},
     "gen": [{"key": "t/{{i}}.{{j}}", "url": "{{u}}", "offset": "{{ (i * 3 + j) * 1000 + 16 }}", "length": "1000",
              "dimensions": {"i": {"stop": 4}, "j": {"start": 0, "stop": 3, "step": 1}}},
             {"key": "w/{{k}}", "url": "/d/f{{ k % 2 }}.nc", "dimensions": {"k": [0, 1, 5]}}]},
    {"version": 1, "refs": {"a/0": ["{{missing}}", 0, -1], "../b": "base64:@@"}},
]


def kerchunk_seeds(seeds: Seeds) -> None:
    """fuzz_kerchunk: references of both versions, templates, gen and a few broken ones."""
    for i, doc in enumerate(KERCHUNK_REFERENCES):
        seeds.add("fuzz_kerchunk", json.dumps(doc).encode(), f"references-{i}")


def icechunk_seeds(seeds: Seeds, work: Path) -> None:
    """fuzz_icechunk: the snapshot and manifest files of repositories icechunk writes (inline and
    native chunks, a sharded array, several commits), each snapshot with the manifests it needs,
    bodies decompressed (header compression byte 0) and, once, as written (zstd)."""
    try:
        import icechunk
        import zarr
        from numcodecs import Zstd
    except ImportError:
        return
    root = work / "icechunk"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(root)))
        s = repo.writable_session("main")
        g = zarr.group(store=s.store, zarr_format=3, attributes={"title": "seed"})
        g.create_array("big", shape=(20, 40), chunks=(10, 20), dtype="f4", dimension_names=["y", "x"])[:] = \
            np.arange(800, dtype="f4").reshape(20, 40) / 3
        g.create_array("small", shape=(6,), dtype="i2", dimension_names=["t"])[:] = np.arange(6)
        g.create_group("sub").create_array("sharded", shape=(16, 16), chunks=(4, 4), shards=(8, 8), dtype="u1")[:] = 7
        s.commit("first")
        s = repo.writable_session("main")
        zarr.open_group(store=s.store)["big"][0:10, 0:20] = -1
        s.commit("second")

    def record(ident: str, body: bytes) -> bytes:
        return ident.encode() + len(body).to_bytes(4, "little") + body

    def raw(path: Path) -> bytes:
        data = path.read_bytes()
        return data[:38] + b"\x00" + Zstd().decode(data[39:]) if data[38] == 1 else data

    manifests = sorted((root / "manifests").iterdir())
    for i, snapshot in enumerate(sorted((root / "snapshots").iterdir())):
        for name, read in (("raw", raw), ("zstd", lambda p: p.read_bytes())):
            if name == "zstd" and i > 0:
                continue
            data = record(snapshot.name, read(snapshot)) + b"".join(record(m.name, read(m)) for m in manifests)
            seeds.add("fuzz_icechunk", data, f"repo-{i}-{name}")


def zstd_frame_seeds(seeds: Seeds) -> None:
    """fuzz_zstd_frame: a mode byte, then zstd frames (even) or plain data to compress (odd)."""
    rng = np.random.default_rng(29)
    field = (np.sin(np.arange(20000) * 0.01) * 10 + rng.normal(0, 0.3, 20000)).round(2).astype("<f4").tobytes()
    kinds = {
        "field": field,
        "text": b" ".join(rng.choice([b"zarr", b"chunk", b"frame", b"block", b"of", b"the"], 4000)),
        "nibbles": rng.integers(0, 16, 3000, dtype=np.uint8).tobytes(),
        "runs": bytes(500) + bytes(range(256)) * 3 + b"x" * 700,
        "tiny": b"hello",
    }
    for name, data in kinds.items():
        for level in (-5, 1, 3, 9, 19):
            for checksum in (False, True):
                try:
                    codec = numcodecs.Zstd(level=level, checksum=checksum)
                except TypeError:  # numcodecs without the checksum option
                    codec = numcodecs.Zstd(level=level)
                frame = bytes(codec.encode(data))
                seeds.add("fuzz_zstd_frame", b"\x00" + frame, f"{name}-{level}-{int(checksum)}")
        seeds.add("fuzz_zstd_frame", bytes([1 + 2 * 10 + 64 + 128]) + data[:2000], f"{name}-plain")


def fixture_seeds(seeds: Seeds, fixtures: Path) -> None:
    if not fixtures.is_dir():
        print(f"make_seeds: no tensorstore fixtures at {fixtures}; skipping them", file=sys.stderr)
        return
    for path in sorted(p for p in fixtures.iterdir() if p.is_dir()):
        add_array_store(seeds, path, f"fixture-{path.name}")


def main() -> int:
    here = Path(__file__).resolve()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--fixtures", type=Path, default=here.parents[3] / "shared" / "fixtures" / "tensorstore")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    seeds = Seeds(args.out)
    with tempfile.TemporaryDirectory(prefix="cuzarr-seeds-") as tmp:
        work = Path(tmp)
        chunk_seeds(seeds, work)
        metadata_seeds(seeds, work)
        fixture_seeds(seeds, args.fixtures)
        selection_seeds(seeds)
        network_seeds(seeds)
        zstd_frame_seeds(seeds)
        kerchunk_seeds(seeds)
        icechunk_seeds(seeds, work)
    for target, n in sorted(seeds.count.items()):
        print(f"{target:24s} {n:4d} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
