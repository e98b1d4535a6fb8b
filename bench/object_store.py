"""Reads over a network-like object store: cuzarr against zarr-python (obstore, s3fs) and tensorstore
(S3 and HTTP drivers), on the object-store test endpoint, with equality checked.

    python bench/object_store.py --dir /tmp/cuzarr-bench-objects --size 1G --latency 10,30,60 --json out.json
    python bench/object_store.py --device cuda --size 4G          # the GPU machine: reads into GPU memory

The endpoint (tests/endpoint/object_endpoint.cpp, started like nginx is) serves the stores over
S3's path-style API with a first-byte latency (--latency, ms; one table row group each), a
bandwidth per connection (--rate-mb, MB/s) and a connection cap (--connections), so throughput
grows with the requests a reader keeps in flight, as against S3, GCS and Azure. The stores are the
harness's (bench/datasets.py, written by tensorstore): float32 (T, 512, 512) of the realistic
field with zarr-python's default codec, zstd level 3, in 16 MiB chunks, and in shards of 64 inner
chunks of 1 MiB.

Each timed read opens the array and reads it whole (the open is part of the time, as a user pays
it); --repeat times, after one untimed read per reader (connections, page cache). Per row: the
best and median seconds, GB/s of decoded bytes, the fraction of the endpoint's aggregate limit
(connections x rate) or of this machine's limit when lower (cuzarr reading the same store from an
endpoint with no latency and no pacing), and each reader's ratio to the best peer. A peer that is
not installed is left out and said so. --json writes the same.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "python"))
sys.path.insert(0, str(HERE.parent))

import cuzarr  # noqa: E402
from bench import datasets  # noqa: E402
from object_endpoint import ObjectEndpoint  # noqa: E402

BUCKET = "bench"
# The endpoint checks no signatures; the readers sign (or not) as they would against S3.
KEY, SECRET, REGION = "AKIACUZARRBENCH00001", "cuzarr-bench-secret", "us-east-1"


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().rstrip("B")
    return int(float(text[:-1]) * units[text[-1]]) if text and text[-1] in units else int(text)


def workloads(size: int) -> list[datasets.Dataset]:
    """The two stores of the issue: 16 MiB zstd chunks, and 1 MiB inner chunks in shards of 64."""
    chosen = {"zstd-v3", "sharded-1mib-zstd-v3"}
    return [d for d in datasets.standard_datasets(size, size // 64) if d.name in chosen]


def to_host(x) -> np.ndarray:
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


# --- readers: each returns a function that opens the array over the endpoint and reads it whole ---

def cuzarr_reader(device: str):
    def make(endpoint_url: str, path: str):
        options = {"key": KEY, "secret": SECRET, "endpoint_url": endpoint_url, "region": REGION}
        return lambda: cuzarr.open(f"s3://{BUCKET}/{path}", device=device, storage_options=options)[...]
    return make


def zarr_obstore_reader(device: str):
    import obstore.store
    import zarr
    from zarr.storage import ObjectStore

    def make(endpoint_url: str, path: str):
        def read():
            store = obstore.store.S3Store(BUCKET, endpoint=endpoint_url, access_key_id=KEY, secret_access_key=SECRET,
                                          region=REGION, client_options={"allow_http": True})
            with zarr.config.enable_gpu() if device == "cuda" else _nothing():
                return zarr.open_array(ObjectStore(store, read_only=True), path=path, mode="r")[...]
        return read
    return make


def zarr_s3fs_reader(device: str):
    import s3fs  # noqa: F401
    import zarr
    from zarr.storage import FsspecStore

    def make(endpoint_url: str, path: str):
        def read():
            store = FsspecStore.from_url(f"s3://{BUCKET}/{path}", read_only=True,
                                         storage_options={"key": KEY, "secret": SECRET,
                                                          "client_kwargs": {"endpoint_url": endpoint_url,
                                                                            "region_name": REGION}})
            with zarr.config.enable_gpu() if device == "cuda" else _nothing():
                return zarr.open_array(store, mode="r")[...]
        return read
    return make


def tensorstore_reader(driver: str, device: str):
    import tensorstore as ts

    def make(endpoint_url: str, path: str):
        if driver == "s3":
            kvstore = {"driver": "s3", "bucket": BUCKET, "path": path + "/", "endpoint": endpoint_url,
                       "aws_region": REGION, "aws_credentials": {"type": "anonymous"}}
        else:
            kvstore = {"driver": "http", "base_url": f"{endpoint_url}/{BUCKET}/{path}/"}
        spec = {"driver": "zarr3", "kvstore": kvstore, "context": {"cache_pool": {"total_bytes_limit": 0}}}

        def read():
            data = ts.open(spec, read=True).result().read().result()
            if device == "cuda":
                import cupy
                return cupy.asarray(data)
            return data
        return read
    return make


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def readers(device: str, only: set[str] | None) -> tuple[dict, dict]:
    """(name -> maker, name -> why it is missing) of the readers this machine has."""
    wanted = {
        "cuzarr": lambda: cuzarr_reader(device),
        "zarr+obstore": lambda: zarr_obstore_reader(device),
        "zarr+s3fs": lambda: zarr_s3fs_reader(device),
        "tensorstore-s3": lambda: tensorstore_reader("s3", device),
        "tensorstore-http": lambda: tensorstore_reader("http", device),
    }
    found, missing = {}, {}
    for name, make in wanted.items():
        if only and name not in only:
            continue
        try:
            found[name] = make()
        except ImportError as e:
            missing[name] = f"not installed ({e.name})"
    return found, missing


def timed(read, repeat: int) -> tuple[list[float], object]:
    first = read()  # untimed: connections, page cache, imports
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        read()
        times.append(time.perf_counter() - t0)
    return times, first


def row(name: str, times: list[float], nbytes: int) -> dict:
    return {"reader": name, "min_s": min(times), "median_s": statistics.median(times),
            "gbps_best": nbytes / min(times) / 1e9, "gbps_median": nbytes / statistics.median(times) / 1e9}


def machine_limit(root: Path, path: str, device: str, repeat: int) -> float:
    """GB/s of cuzarr reading `path` from an endpoint without latency or pacing: what this machine
    can take in and decode over loopback, whatever the network."""
    with ObjectEndpoint(root, latency_ms=0, rate_mb=0) as ep:
        read = cuzarr_reader(device)(ep.url, path)
        times, first = timed(read, repeat)
        nbytes = to_host(first).nbytes
    return nbytes / min(times) / 1e9


def run(args) -> dict:
    device = args.device
    root = args.dir.resolve()
    paths = datasets.ensure(root / BUCKET, workloads(parse_size(args.size)), threads=os.cpu_count() or 2)
    found, missing = readers(device, set(args.readers.split(",")) if args.readers else None)
    if "cuzarr" not in found:
        raise SystemExit("cuzarr is not among the readers")
    for name, why in missing.items():
        print(f"# {name}: {why}; left out")
    out = {"device": device, "size": args.size, "rate_mb": args.rate_mb, "connections": args.connections,
           "repeat": args.repeat, "missing": missing, "workloads": []}
    for d, store in paths.items():
        path = f"{store.name}/{datasets.ARRAY}"
        want = None
        limit_machine = machine_limit(root, path, device, args.repeat)
        for latency in [float(x) for x in args.latency.split(",")]:
            with ObjectEndpoint(root, latency_ms=latency, rate_mb=args.rate_mb, max_connections=args.connections) as ep:
                limit_endpoint = ep.aggregate_limit / 1e9
                rows = []
                for name, make in found.items():
                    if name != "cuzarr" and latency > args.peer_latency_max:
                        continue
                    read = make(ep.url, path)
                    before = ep.stats()
                    try:
                        times, first = timed(read, args.repeat if name == "cuzarr" else args.peer_repeat)
                    except Exception as e:  # a peer that cannot read this store: said, not fatal
                        if name == "cuzarr":
                            raise
                        print(f"# {name} on {d}: {type(e).__name__}: {str(e)[:200]}")
                        continue
                    got = to_host(first)
                    if want is None:
                        want = to_host(cuzarr.open(store / datasets.ARRAY, device="cpu")[...])
                    if not np.array_equal(got, want):
                        raise SystemExit(f"{name} read {d} over the endpoint differently from the file")
                    after = ep.stats()
                    reads = 1 + (args.repeat if name == "cuzarr" else args.peer_repeat)
                    r = row(name, times, want.nbytes)
                    r["requests_per_read"] = (after["requests"] - before["requests"]) / reads
                    r["max_connections"] = after["max_open_connections"]
                    rows.append(r)
                    del got, first
            limit = min(limit_endpoint, limit_machine)
            best_peer = max((r["gbps_best"] for r in rows if r["reader"] != "cuzarr"), default=None)
            for r in rows:
                r["of_limit"] = r["gbps_best"] / limit
                r["vs_best_peer"] = r["gbps_best"] / best_peer if best_peer else None
            out["workloads"].append({"dataset": d, "latency_ms": latency, "bytes": int(want.nbytes),
                                     "endpoint_limit_gbps": limit_endpoint, "machine_limit_gbps": limit_machine,
                                     "rows": rows})
            print_table(out["workloads"][-1])
    return out


def print_table(w: dict) -> None:
    print(f"\n{w['dataset']}, {w['bytes'] / 2**20:.0f} MiB, latency {w['latency_ms']:g} ms: endpoint limit "
          f"{w['endpoint_limit_gbps']:.2f} GB/s, machine limit {w['machine_limit_gbps']:.2f} GB/s")
    print("| reader | min s | median s | GB/s (best) | of limit | vs best peer | requests/read |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in w["rows"]:
        vs = f"{r['vs_best_peer']:.1f}x" if r["vs_best_peer"] else "-"
        print(f"| {r['reader']} | {r['min_s']:.3f} | {r['median_s']:.3f} | {r['gbps_best']:.2f} | "
              f"{r['of_limit']:.0%} | {vs} | {r['requests_per_read']:.0f} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, default=Path("/tmp/cuzarr-bench-objects"), help="where the stores are written")
    p.add_argument("--size", default="1G", help="array size (the issue's: 4G)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--latency", default="10,30,60", help="first-byte latencies in ms, one row group each")
    p.add_argument("--rate-mb", type=float, default=100.0, help="MB/s per connection")
    p.add_argument("--connections", type=int, default=256, help="connections the endpoint serves at once")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--peer-repeat", type=int, default=1, help="timed reads of each peer (they are slow)")
    p.add_argument("--peer-latency-max", type=float, default=float("inf"),
                   help="leave the peers out of rows with a higher latency (time)")
    p.add_argument("--readers", help="comma-separated subset of cuzarr,zarr+obstore,zarr+s3fs,tensorstore-s3,"
                                     "tensorstore-http")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = run(args)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
