"""GPU decompression benchmark: kernel throughput, then end-to-end reads of compressed arrays.

    python bench/gpu_decode.py --dir /tmp/bench --size-mib 1024 [--kernels build/gpu/tests/cpp/gpu_decode_bench]

1. Kernel throughput (GB/s of decoded output) per codec and backend, from the C++ benchmark
   bench/gpu_decode_kernels.cpp (built with the C++ tests in a CUDA build as gpu_decode_bench):
   cuzarr's LZ4 kernel vs nvCOMP's, blosc-lz4+shuffle, zstd and deflate through nvCOMP.
2. End to end: a blosc-lz4+shuffle and a zstd float32 array (written once with tensorstore) read
   whole into GPU memory with CUZARR_DECODE=gpu, with =cpu, with =cpu and CUZARR_THREADS=4, and
   with tensorstore -> NumPy -> cupy.asarray. Each cuzarr setting runs in its own process (the
   configuration is read once); every result is checked equal to tensorstore's. Warm page cache.
Prints a Markdown table and writes --json. A standalone script: the bench harness may call it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

COMPRESSORS = {
    "blosc-lz4-shuffle": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0},
    "zstd": {"id": "zstd", "level": 3},
}


def write_store(path: Path, shape, chunks, compressor) -> None:
    import tensorstore as ts

    if (path / ".zarray").exists():
        return
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(path)},
            "metadata": {"compressor": compressor, "filters": None, "dtype": "<f4", "shape": list(shape),
                         "chunks": list(chunks), "order": "C", "fill_value": 0}}
    t = ts.open(spec, create=True, delete_existing=True).result()
    # A smooth field plus noise in the low mantissa bits, written a slab of chunks at a time.
    y = np.arange(shape[1], dtype=np.float32)[:, None]
    x = np.arange(shape[2], dtype=np.float32)[None, :]
    rng = np.random.default_rng(0)
    for z0 in range(0, shape[0], chunks[0]):
        z1 = min(shape[0], z0 + chunks[0])
        base = 280 + 15 * np.sin(x * 0.01 + z0 * 0.1) * np.cos(y * 0.02)
        slab = np.broadcast_to(base, (z1 - z0, shape[1], shape[2])).astype(np.float32)
        noise = rng.integers(0, 1 << 12, size=slab.shape, dtype=np.uint32)
        t[z0:z1].write((slab.view(np.uint32) ^ noise).view(np.float32)).result()


CHILD = """
import hashlib, json, sys, time
import cupy, cuzarr
a = cuzarr.open(sys.argv[1], device="cuda")
out = cupy.empty(a.shape, a.dtype)
a.read_into(out); cupy.cuda.runtime.deviceSynchronize()
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter(); a.read_into(out); cupy.cuda.runtime.deviceSynchronize(); times.append(time.perf_counter() - t0)
print(json.dumps({"best": min(times), "digest": hashlib.blake2b(cupy.asnumpy(out).tobytes(), digest_size=16).hexdigest()}))
"""


def cuzarr_read(path: Path, repeat: int, env: dict) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, str(path), str(repeat)], capture_output=True, text=True,
                       env={**os.environ, **env}, timeout=1800)
    if r.returncode != 0:
        raise SystemExit(f"cuzarr read failed ({env}):\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def tensorstore_read(path: Path, repeat: int) -> dict:
    import cupy
    import tensorstore as ts

    t = ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": str(path)}}).result()
    out = cupy.asarray(t.read().result())
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = cupy.asarray(t.read().result())
        cupy.cuda.runtime.deviceSynchronize()
        times.append(time.perf_counter() - t0)
    return {"best": min(times), "digest": hashlib.blake2b(cupy.asnumpy(out).tobytes(), digest_size=16).hexdigest()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path("/tmp/cuzarr-bench"))
    ap.add_argument("--size-mib", type=int, default=1024, help="size of each array")
    ap.add_argument("--chunks", type=int, nargs=3, default=[8, 512, 512], help="chunk shape (float32)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kernels", type=Path, help="gpu_decode_bench binary; its output is included")
    ap.add_argument("--kernel-mib", type=int, default=1024)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    results = {"kernels": None, "reads": []}
    if args.kernels:
        r = subprocess.run([str(args.kernels), str(args.kernel_mib)], capture_output=True, text=True, timeout=1800)
        print(r.stdout, end="", flush=True)
        if r.returncode != 0:
            raise SystemExit(f"kernel benchmark failed:\n{r.stderr[-3000:]}")
        results["kernels"] = r.stdout

    plane = args.chunks[1] * args.chunks[2] * 4
    shape = (max(args.chunks[0], (args.size_mib << 20) // plane), args.chunks[1], args.chunks[2])
    gib = np.prod(shape) * 4 / 1e9
    rows = []
    for name, comp in COMPRESSORS.items():
        path = args.dir / f"{name}-{shape[0]}x{shape[1]}x{shape[2]}.zarr"
        write_store(path, shape, args.chunks, comp)
        stored = sum(f.stat().st_size for f in path.iterdir()) / 1e9
        runs = {
            "cuzarr CUZARR_DECODE=gpu": cuzarr_read(path, args.repeat, {"CUZARR_DECODE": "gpu"}),
            "cuzarr CUZARR_DECODE=cpu": cuzarr_read(path, args.repeat, {"CUZARR_DECODE": "cpu"}),
            "cuzarr CUZARR_DECODE=cpu, CUZARR_THREADS=4": cuzarr_read(path, args.repeat, {"CUZARR_DECODE": "cpu", "CUZARR_THREADS": "4"}),
            "cuzarr CUZARR_DECODE=gpu, CUZARR_THREADS=4": cuzarr_read(path, args.repeat, {"CUZARR_DECODE": "gpu", "CUZARR_THREADS": "4"}),
            "tensorstore -> cupy": tensorstore_read(path, args.repeat),
        }
        digests = {r["digest"] for r in runs.values()}
        if len(digests) != 1:
            raise SystemExit(f"{name}: results differ: {runs}")
        base = runs["tensorstore -> cupy"]["best"]
        for label, r in runs.items():
            rows.append((name, label, r["best"], gib / r["best"], base / r["best"]))
            results["reads"].append({"array": name, "reader": label, "seconds": r["best"], "gb_per_s": gib / r["best"],
                                     "stored_gb": stored, "decoded_gb": gib})
    print(f"\nEnd to end: {gib:.2f} GB float32 per array, chunks {args.chunks}, best of {args.repeat}, warm cache; "
          "all results identical\n")
    print("| array | reader | seconds | GB/s (decoded) | vs tensorstore |")
    print("|---|---|---:|---:|---:|")
    for name, label, sec, rate, speedup in rows:
        print(f"| {name} | {label} | {sec:.3f} | {rate:.2f} | {speedup:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
