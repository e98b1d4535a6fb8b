"""Read one Zarr array from its directory and over HTTP from a local nginx; report GB/s for both.

    python bench/http_vs_file.py --dir /tmp/bench-http --size 256M --codec zstd --repeat 5 --json out.json
    python bench/http_vs_file.py --store existing.zarr            # an existing array store

Writes (once) a v3 float32 array of about --size bytes with zarr-python (--codec raw, zstd or
sharded: zstd inner chunks in shards), starts nginx on a free loopback port serving its folder
(tests/python/nginx_server.py: private config, access log), then times --repeat full reads of the
array with cuzarr (device="cpu") from the file store and from http://127.0.0.1:PORT/..., after
one warm-up read of each (page cache warm for both). Checks that the two reads are equal. Prints
min and median seconds and GB/s (decoded bytes / time) per source, and the requests nginx served
for one read; --json writes the same.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "python"))

import cuzarr  # noqa: E402
from nginx_server import Nginx  # noqa: E402


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().rstrip("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def write_store(path: Path, nbytes: int, codec: str) -> None:
    if (path / "zarr.json").exists():
        return
    import zarr
    from zarr.codecs import BytesCodec, ShardingCodec, ZstdCodec

    rows = max(1, nbytes // (1024 * 1024 * 4))  # float32 rows of 1024 x 1024
    shape, chunks = (rows, 1024, 1024), (1, 512, 1024)  # 2 MiB chunks
    kwargs = {}
    if codec == "raw":
        kwargs = dict(chunks=chunks, compressors=None)
    elif codec == "zstd":
        kwargs = dict(chunks=chunks, compressors=[ZstdCodec(level=1)])
    elif codec == "sharded":
        kwargs = dict(chunks=(4, 1024, 1024), compressors=None,
                      serializer=ShardingCodec(chunk_shape=chunks, codecs=[BytesCodec(), ZstdCodec(level=1)]))
    else:
        raise SystemExit(f"unknown --codec {codec}")
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = zarr.create_array(str(path), shape=shape, dtype="f4", fill_value=0.0, **kwargs)
        step = kwargs["chunks"][0]
        for r in range(0, rows, step):
            # Smooth values plus noise: compressible, as measured fields are.
            base = np.linspace(0, 1, 1024 * 1024, dtype="f4").reshape(1, 1024, 1024)
            noise = rng.normal(scale=0.01, size=(min(step, rows - r), 1024, 1024)).astype("f4")
            a[r:r + step] = (base + noise).round(3)


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up: page cache, connections, thread pool
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def rates(sources: dict, nbytes: int, repeat: int) -> dict:
    """Times `repeat` calls of each source's read (after a warm-up): seconds and GB/s of
    `nbytes` decoded bytes, by source name."""
    results = {}
    for name, read in sources.items():
        t = timed(read, repeat)
        results[name] = {"min_s": min(t), "median_s": statistics.median(t),
                         "gbps_best": nbytes / min(t) / 1e9, "gbps_median": nbytes / statistics.median(t) / 1e9}
    return results


def store_arguments(p: argparse.ArgumentParser, default_dir: str, default_size: str) -> None:
    """The options of the store to read (written once unless --store names one) and of the run."""
    p.add_argument("--dir", type=Path, default=Path(default_dir), help="where the store is written")
    p.add_argument("--store", type=Path, help="an existing array store to read instead of writing one")
    p.add_argument("--size", default=default_size, help=f"array size to write (e.g. {default_size}, 1G)")
    p.add_argument("--codec", default="zstd", choices=["raw", "zstd", "sharded"])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", type=Path, help="write the results here")


def store_of(args) -> Path:
    """The store the options name, written first when it is the benchmark's own."""
    if args.store:
        return args.store.resolve()
    store = (args.dir / f"{args.codec}-{args.size}.zarr").resolve()
    write_store(store, parse_size(args.size), args.codec)
    return store


def report(args, store: Path, result: dict, how: str) -> int:
    """Prints a run's summary line (`how`: what a read was) and table; writes --json."""
    result["codec"] = "given" if args.store else args.codec
    print(f"{store.name}: {result['bytes'] / 2**20:.0f} MiB decoded, chunks {tuple(result['chunks'])}, "
          f"{how}, {args.repeat} repeats after a warm-up")
    print_table(result["results"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


def print_table(results: dict) -> None:
    """The results of measure() as a Markdown table, one row per source."""
    print("| source | min s | median s | GB/s (best) | GB/s (median) |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['min_s']:.3f} | {r['median_s']:.3f} | {r['gbps_best']:.2f} | {r['gbps_median']:.2f} |")


def measure(store: Path, repeat: int = 5) -> dict:
    """Times full reads of the array store at ``store`` from the file and over HTTP from a private
    nginx (for a benchmark harness to call); raises SystemExit when the two reads differ."""
    store = Path(store).resolve()
    with tempfile.TemporaryDirectory(prefix="cuzarr-nginx-") as work, Nginx(store.parent, Path(work)) as server:
        url = f"{server.url}/{store.name}"
        local = cuzarr.open(store, device="cpu")
        remote = cuzarr.open(url, device="cpu")
        if not isinstance(local, cuzarr.Array):
            raise SystemExit(f"{store} is not an array store")
        mark = server.log_size()
        got = remote[...]
        requests = server.requests(mark)
        want = local[...]
        if not np.array_equal(got, want, equal_nan=True):
            raise SystemExit("the HTTP read differs from the file read")
        nbytes = want.nbytes
        del got, want
        results = rates({"file": lambda: local[...], "http": lambda: remote[...]}, nbytes, repeat)
    return {
        "store": str(store), "bytes": nbytes, "shape": list(local.shape), "chunks": list(local.chunks),
        "repeat": repeat, "requests_per_read": len(requests),
        "bytes_served_per_read": sum(r.body_bytes for r in requests), "results": results,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    store_arguments(p, "/tmp/cuzarr-bench-http", "256M")
    args = p.parse_args(argv)
    store = store_of(args)
    result = measure(store, args.repeat)
    return report(args, store, result, f"{result['requests_per_read']} HTTP requests per read")


if __name__ == "__main__":
    sys.exit(main())
