"""The benchmark's datasets: written once under a cache directory, rewritten only when their
parameters change.

Every array holds a synthetic field defined by integer arithmetic, so that NumPy and CuPy compute
bit-identical expected values (`expected`), which is how each pipeline's result is checked before
its time counts. The default, **realistic** field is what reanalysis data looks like once stored:
a smooth field (about 280 +- 15) plus noise of standard deviation 2, rounded to 0.01, float32 (the
noise is a sum of four hashed uniforms, close to Gaussian). It compresses about 1.4x with blosc
lz4 + shuffle and 1.7x with zstd, as real data does. The old **compressible** field (a ramp plus
6 bits of hashed noise in the low mantissa bits) compresses many times better than any measured
data and is kept only for one labelled row.

Stores are Zarr groups holding one array `data` with dimensions (time, lat, lon), so that
xarray opens them as datasets. They are written by tensorstore (fast: it compresses in parallel);
the air-temperature dataset is written by xarray, as the seed's users write theirs.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

MANIFEST = "manifest.json"
ARRAY = "data"
DIMS = ("time", "lat", "lon")


@dataclass(frozen=True)
class Dataset:
    """One store: `kind` picks the format and codecs; shapes are in elements."""

    name: str
    kind: str  # raw-v3 | blosc-lz4-v2 | zstd-v2 | zstd-v3 | blosc-zstd-v3 | sharded-zstd-v3 | air | multi
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None = None
    notes: str = field(default="", compare=False)
    values: str = "realistic"  # realistic | compressible (see the module's docstring)
    # zstd level of the zstd kinds: 3 is what zarr-python writes by default (its level 0 is
    # libzstd's default, 3) and what most users' data therefore has.
    level: int = 3
    variables: int = 1  # arrays in the store (kind "multi": VARIABLES[:variables])

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * 4 * self.variables

    def params(self) -> dict:
        """What identifies the stored data, in the form the manifest keeps (JSON: lists, not
        tuples), so that a store written earlier is recognised and reused."""
        d = asdict(self)
        d.pop("notes")
        d["version"] = 5  # bump when the data or layout written changes
        return json.loads(json.dumps(d))


def _compressible(xp, t, y, x):
    base = (t * xp.uint32(3) + y * xp.uint32(5) + x * xp.uint32(7)) % xp.uint32(8192)
    h = (t * xp.uint32(73856093)) ^ (y * xp.uint32(19349663)) ^ (x * xp.uint32(83492791))
    noise = (h >> xp.uint32(13)) & xp.uint32(63)
    ints = (base * xp.uint32(64) + noise).astype(xp.float32)  # < 2**24: exact
    return ints / xp.float32(1024)  # a power of two: exact


def _realistic(xp, t, y, x):
    # In hundredths, integers throughout: a smooth bilinear field of +-1500 (triangle waves in
    # space, drifting in time) and noise of sd 200 from four hashed uniforms of 16 bits.
    i64 = xp.int64
    a = xp.abs((x.astype(i64) * 7 + t.astype(i64) * 3) % 1024 - 512)
    b = xp.abs((y.astype(i64) * 5 + t.astype(i64)) % 768 - 384)
    smooth = a * b * 3000 // (512 * 384) - 1500
    h = (t * xp.uint32(73856093)) ^ (y * xp.uint32(19349663)) ^ (x * xp.uint32(83492791))
    s = i64(0)
    for k in range(4):
        h = (h ^ (h >> xp.uint32(15))) * xp.uint32(2246822519) + xp.uint32(k * 374761393)
        s = s + (h >> xp.uint32(16)).astype(i64)
    noise = (s - 131070) * 346 // 65536  # sd of the sum is 37837: x 346/65536 gives 200
    return ((28000 + smooth + noise).astype(xp.float64) / 100.0).astype(xp.float32)


def field_values(xp, shape, offsets=(0, 0, 0), values="realistic"):
    """The benchmark field on the index grid `offsets + arange(shape)` (3-d), with the array
    module `xp` (numpy or cupy). Integer arithmetic, then one correctly rounded division. The
    variables of a "multi" store are the field at other time offsets (`VARIABLES`)."""
    t, y, x = (xp.arange(o, o + n, dtype=xp.uint32) for o, n in zip(offsets, shape))
    t, y, x = t[:, None, None], y[None, :, None], x[None, None, :]
    return (_realistic if values == "realistic" else _compressible)(xp, t, y, x)


def expected(xp, shape, selection, values="realistic"):
    """The expected result of `array[selection]` for `selection` a tuple of step-1 slices and
    integers over a 3-d benchmark array of `shape`, computed in slabs (bounded temporaries)."""
    offsets, sizes, drop = [], [], []
    for axis, (n, s) in enumerate(zip(shape, tuple(selection) + (slice(None),) * (3 - len(selection)))):
        if isinstance(s, slice):
            start, stop, step = s.indices(n)
            assert step == 1
            offsets.append(start)
            sizes.append(max(0, stop - start))
        else:
            offsets.append(int(s) % n)
            sizes.append(1)
            drop.append(axis)
    out = xp.empty(sizes, dtype=xp.float32)
    step = max(1, (1 << 24) // max(1, sizes[1] * sizes[2]))
    for t0 in range(0, sizes[0], step):
        n = min(step, sizes[0] - t0)
        out[t0:t0 + n] = field_values(xp, (n, sizes[1], sizes[2]), (offsets[0] + t0, offsets[1], offsets[2]), values)
    return out.reshape([n for axis, n in enumerate(sizes) if axis not in drop])


def make_field(shape, threads: int, values="realistic") -> np.ndarray:
    """The whole field in host memory, computed in slabs over threads."""
    out = np.empty(shape, dtype=np.float32)
    step = max(1, min(shape[0] // (threads * 4), (1 << 22) // max(1, shape[1] * shape[2])))

    def slab(t0):
        n = min(step, shape[0] - t0)
        out[t0:t0 + n] = field_values(np, (n,) + tuple(shape[1:]), (t0, 0, 0), values)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(slab, range(0, shape[0], step)))
    return out


# The variables of the "multi" store and the time offset of each one's field.
VARIABLES = {"t2m": 0, "u10": 1000, "v10": 2000, "sp": 3000}


def variable_values(xp, name, shape, offsets=(0, 0, 0)):
    """Variable `name` of the "multi" store: the realistic field shifted in time."""
    return field_values(xp, shape, (offsets[0] + VARIABLES[name],) + tuple(offsets[1:]))


def standard_datasets(size: int, small_size: int) -> list[Dataset]:
    """The default workloads' stores for an array of about `size` bytes: (T, 512, 512) float32
    in chunks of (16, 512, 512) (16 MiB), plus a store of 64 KiB chunks of about `small_size`."""
    plane = 512 * 512 * 4
    t = max(16, size // plane // 16 * 16)
    shape, chunks = (t, 512, 512), (16, 512, 512)
    shards = (min(t, 128), 512, 512)
    ts = max(16, small_size // plane)
    t64 = max(64, t // 64 * 64)
    return [
        Dataset("raw-v3", "raw-v3", shape, chunks, notes="Zarr v3, no compression"),
        Dataset("blosc-lz4-v2", "blosc-lz4-v2", shape, chunks, notes="Zarr v2, blosc lz4 clevel 5, byte shuffle"),
        Dataset("zstd-v2", "zstd-v2", shape, chunks, notes="Zarr v2, zstd level 3"),
        Dataset("zstd-v3", "zstd-v3", shape, chunks, notes="Zarr v3, bytes + zstd level 3 (zarr-python's default)"),
        Dataset("zstd-v3-l1", "zstd-v3", shape, chunks, notes="Zarr v3, bytes + zstd level 1", level=1),
        Dataset("zstd-v3-l9", "zstd-v3", shape, chunks, notes="Zarr v3, bytes + zstd level 9", level=9),
        Dataset("blosc-zstd-v3", "blosc-zstd-v3", shape, chunks, notes="Zarr v3, bytes + blosc zstd clevel 5, byte shuffle"),
        Dataset("sharded-zstd-v3", "sharded-zstd-v3", shape, chunks, shards,
                notes=f"Zarr v3, shards of {shards[0] // chunks[0]} chunks of 16 MiB, inner zstd level 3"),
        Dataset("sharded-1mib-zstd-v3", "sharded-zstd-v3", (t64, 512, 512), (1, 512, 512), (64, 512, 512),
                notes="Zarr v3, shards of 64 chunks of 1 MiB, inner zstd level 3"),
        Dataset("multi", "multi", (max(16, t // len(VARIABLES) // 16 * 16), 512, 512), chunks,
                variables=len(VARIABLES),
                notes=f"xarray to_zarr with zarr-python's default codecs (v3, zstd), {len(VARIABLES)} variables"),
        Dataset("blosc-lz4-v2-compressible", "blosc-lz4-v2", shape, chunks,
                notes="Zarr v2, blosc lz4 + shuffle, the highly compressible field", values="compressible"),
        Dataset("small-chunks-v3", "raw-v3", (ts, 512, 512), (1, 128, 128),
                notes="Zarr v3, no compression, 64 KiB chunks"),
    ]


AIR = Dataset("air", "air", (2920, 25, 53), (2920, 25, 53),
              notes="the seed's air-temperature dataset shape, xarray to_zarr, Zarr v2, uncompressed")


def _tensorstore_spec(path: Path, d: Dataset) -> dict:
    kvstore = {"driver": "file", "path": str(path / ARRAY) + "/"}
    if d.kind.endswith("-v2"):
        compressor = {"blosc-lz4-v2": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0},
                      "zstd-v2": {"id": "zstd", "level": d.level}}[d.kind]
        return {"driver": "zarr", "kvstore": kvstore,
                "metadata": {"shape": list(d.shape), "chunks": list(d.chunks), "dtype": "<f4",
                             "compressor": compressor, "fill_value": None, "order": "C",
                             "dimension_separator": "/"}}
    codecs = [{"name": "bytes", "configuration": {"endian": "little"}}]
    if d.kind in ("zstd-v3", "sharded-zstd-v3"):
        codecs.append({"name": "zstd", "configuration": {"level": d.level}})
    if d.kind == "blosc-zstd-v3":
        codecs.append({"name": "blosc", "configuration": {"cname": "zstd", "clevel": 5, "shuffle": "shuffle",
                                                          "typesize": 4, "blocksize": 0}})
    chunk_shape = d.chunks
    if d.shards:
        codecs = [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": list(d.chunks), "codecs": codecs,
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
            "index_location": "end"}}]
        chunk_shape = d.shards
    return {"driver": "zarr3", "kvstore": kvstore,
            "metadata": {"shape": list(d.shape), "data_type": "float32",
                         "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunk_shape)}},
                         "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
                         "codecs": codecs, "dimension_names": list(DIMS)}}


def _write_tensorstore(path: Path, d: Dataset, data: np.ndarray) -> None:
    import tensorstore as ts

    if d.kind.endswith("-v2"):
        (path / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    else:
        (path / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}))
    arr = ts.open(_tensorstore_spec(path, d), create=True, delete_existing=True).result()
    step = d.shards[0] if d.shards else d.chunks[0]
    step = max(step, (256 * 2**20 // (d.nbytes // d.shape[0] or 1)) // step * step)
    for t0 in range(0, d.shape[0], step):
        t1 = min(t0 + step, d.shape[0])
        arr[t0:t1].write(data[t0:t1]).result()
    if d.kind.endswith("-v2"):
        (path / ARRAY / ".zattrs").write_text(json.dumps({"_ARRAY_DIMENSIONS": list(DIMS)}))


def air_dataset():
    """An xarray Dataset shaped like the seed's air-temperature example (xarray's tutorial
    `air_temperature`: 6-hourly 2013-2014 on a 25 x 53 grid), values from the benchmark field."""
    import pandas as pd
    import xarray as xr

    t, y, x = AIR.shape
    air = field_values(np, AIR.shape) - np.float32(50)
    return xr.Dataset(
        {"air": (DIMS, air, {"units": "degK", "long_name": "4xDaily Air temperature at sigma level 995"})},
        coords={"time": pd.date_range("2013-01-01", periods=t, freq="6h"),
                "lat": np.linspace(75.0, 15.0, y, dtype=np.float32),
                "lon": np.linspace(200.0, 330.0, x, dtype=np.float32)})


def multi_dataset(d: Dataset):
    """An xarray Dataset of several variables on one (time, lat, lon) grid, as a reanalysis
    extract is: values from the benchmark field (`variable_values`)."""
    import pandas as pd
    import xarray as xr

    t, y, x = d.shape
    return xr.Dataset(
        {name: (DIMS, make_field_of(name, d.shape), {"units": "1"}) for name in list(VARIABLES)[:d.variables]},
        coords={"time": pd.date_range("2000-01-01", periods=t, freq="h"),
                "lat": np.linspace(90.0, -90.0, y, dtype=np.float32),
                "lon": np.linspace(0.0, 360.0, x, endpoint=False, dtype=np.float32)})


def make_field_of(name, shape) -> np.ndarray:
    out = np.empty(shape, dtype=np.float32)
    step = max(1, (1 << 22) // max(1, shape[1] * shape[2]))
    for t0 in range(0, shape[0], step):
        n = min(step, shape[0] - t0)
        out[t0:t0 + n] = variable_values(np, name, (n,) + tuple(shape[1:]), (t0, 0, 0))
    return out


def _write_multi(path: Path, d: Dataset) -> None:
    # zarr-python's own defaults for the codecs (v3: bytes + zstd level 0, i.e. libzstd's 3): what
    # `ds.to_zarr(path)` gives a user who sets nothing but the chunks.
    ds_ = multi_dataset(d)
    encoding = {name: {"chunks": d.chunks} for name in ds_.data_vars}
    ds_.to_zarr(path, mode="w", zarr_format=3, consolidated=True, encoding=encoding)


def _write_air(path: Path) -> None:
    ds = air_dataset()
    encoding = {name: {"compressors": None} for name in ds.variables}
    ds.to_zarr(path, mode="w", zarr_format=2, consolidated=False, encoding=encoding)


def ensure(root: Path, datasets: list[Dataset], threads: int, log=print) -> dict[str, Path]:
    """Writes every dataset that is missing or was written with other parameters; returns the
    store paths. Files are flushed to disk, so that cold reads can evict them."""
    root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    paths, field_cache = {}, {}
    for d in datasets:
        path = root / f"{d.name}.zarr"
        paths[d.name] = path
        if manifest.get(d.name) == d.params() and path.exists():
            continue
        log(f"writing {path} ({d.nbytes / 2**30:.2f} GiB, {d.notes})")
        tmp = root / f".{d.name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        if d.kind == "air":
            _write_air(tmp)
        elif d.kind == "multi":
            _write_multi(tmp, d)
        else:
            key = (d.shape, d.values)
            if key not in field_cache:
                field_cache.clear()
                field_cache[key] = make_field(d.shape, threads, d.values)
            _write_tensorstore(tmp, d, field_cache[key])
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)
        manifest[d.name] = d.params()
        manifest_path.write_text(json.dumps(manifest, indent=1))
    os.sync()
    return paths


def store_files(path: Path) -> list[Path]:
    return [Path(dirpath) / f for dirpath, _, files in os.walk(path) for f in files]


def chunk_files(path: Path) -> list[Path]:
    """The files holding the array's chunks (or shards), metadata excluded; for a store of several
    variables (kind "multi"), every variable's and coordinate's."""
    root = path / ARRAY if (path / ARRAY).exists() else path
    return [f for f in store_files(root) if not f.name.startswith(".") and f.name != "zarr.json"]


def stored_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in chunk_files(path))


def evict(path: Path) -> None:
    """Drops the store's files from the page cache (posix_fadvise DONTNEED on each file; the
    files are clean since `ensure` synced them)."""
    for f in store_files(path):
        fd = os.open(f, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
