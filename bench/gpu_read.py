"""Read an uncompressed float32 array into GPU memory and report GB/s and the host memory used.

    python bench/gpu_read.py --dir /tmp/bench --shape 4096 512 512 --chunks 16 512 512

Writes the store once (raw chunk files and a v3 zarr.json, so no Zarr library is needed), fills
the page cache with one read, then times --repeat warm reads with cuzarr (device="cuda") and,
for comparison, tensorstore → NumPy → cupy.asarray when tensorstore is installed. Peak host RSS of
the cuzarr reads is measured in a fresh process. Prints a Markdown table and writes --json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def write_store(path: Path, shape, chunks) -> None:
    meta = path / "zarr.json"
    if meta.exists():
        return
    path.mkdir(parents=True, exist_ok=True)
    grid = [(s + c - 1) // c for s, c in zip(shape, chunks)]
    rng = np.random.default_rng(0)
    block = rng.normal(size=chunks).astype("<f4")
    for idx in np.ndindex(*grid):
        f = path / "c" / "/".join(map(str, idx))
        f.parent.mkdir(parents=True, exist_ok=True)
        (block + np.float32(sum(idx))).tofile(f)
    meta.write_text(json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": list(shape), "data_type": "float32",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0.0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    }))


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def child_rss(path: Path, env: dict | None = None) -> dict:
    """Host memory of a GPU read, in a fresh process: resident set size sampled every
    millisecond during the read, against the size just before it (after CUDA is initialised)."""
    code = f"""
import json, threading, time, cupy, cuzarr
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
a = cuzarr.open({str(path)!r}, device="cuda")
out = cupy.empty(a.shape, dtype=a.dtype)
cupy.cuda.runtime.deviceSynchronize()
before = rss(); peak = before; done = False
def sample():
    global peak
    while not done:
        peak = max(peak, rss()); time.sleep(0.001)
t = threading.Thread(target=sample); t.start()
a.read_into(out); cupy.cuda.runtime.deviceSynchronize()
done = True; t.join(); peak = max(peak, rss())
print(json.dumps({{"rss_before_mib": before, "rss_peak_mib": peak, "rss_growth_mib": peak - before}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, **(env or {})))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", default="/tmp/cuzarr-bench")
    p.add_argument("--shape", type=int, nargs="+", default=[4096, 512, 512])
    p.add_argument("--chunks", type=int, nargs="+", default=[16, 512, 512])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", default=None)
    p.add_argument("--only-cuzarr", action="store_true", help="time only the GPU read (for sweeps)")
    args = p.parse_args()

    import cupy
    import cuzarr

    path = Path(args.dir) / ("raw_f4_" + "x".join(map(str, args.shape)) + ".zarr")
    t0 = time.perf_counter()
    write_store(path, args.shape, args.chunks)
    nbytes = int(np.prod(args.shape)) * 4
    print(f"store {path} ({nbytes / 2**30:.2f} GiB) ready in {time.perf_counter() - t0:.1f} s", flush=True)

    a = cuzarr.open(path, device="cuda")
    out = cupy.empty(a.shape, dtype=a.dtype)
    a.read_into(out)  # fills the page cache and the staging ring
    cupy.cuda.runtime.deviceSynchronize()
    results = []

    def cuzarr_read():
        a.read_into(out)
        cupy.cuda.runtime.deviceSynchronize()

    tmin, tmed = timed(cuzarr_read, args.repeat)
    results.append({"pipeline": "cuzarr device=cuda (pinned staging)", "min_s": tmin, "median_s": tmed})
    check = cupy.asnumpy(out[:2, :3, :4])
    assert np.array_equal(check, cuzarr.open(path, device="cpu")[:2, :3, :4])

    if args.only_cuzarr:
        results_only = results
        return report(results_only, nbytes, child_rss(path), cuzarr._core.config(), args)
    host = cuzarr.open(path, device="cpu")
    tmin, tmed = timed(lambda: host[...], args.repeat)
    results.append({"pipeline": "cuzarr device=cpu (host only)", "min_s": tmin, "median_s": tmed})

    def host_then_copy():
        cupy.asarray(host[...])
        cupy.cuda.runtime.deviceSynchronize()

    tmin, tmed = timed(host_then_copy, args.repeat)
    results.append({"pipeline": "cuzarr device=cpu + cupy.asarray", "min_s": tmin, "median_s": tmed})
    try:
        import tensorstore as ts

        t = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}}).result()

        def ts_read():
            cupy.asarray(t.read().result())
            cupy.cuda.runtime.deviceSynchronize()

        tmin, tmed = timed(ts_read, args.repeat)
        results.append({"pipeline": "tensorstore + cupy.asarray", "min_s": tmin, "median_s": tmed})
    except ImportError:
        pass
    del out
    rss = child_rss(path)
    cfg = cuzarr._core.config()
    return report(results, nbytes, rss, cfg, args)


def report(results, nbytes, rss, cfg, args) -> int:
    print("\n| pipeline (warm page cache) | min s | median s | GB/s (median) | time / cuzarr GPU time |")
    print("|---|---|---|---|---|")
    for r in results:
        r["gb_per_s"] = nbytes / r["median_s"] / 1e9
        r["ratio_to_cuzarr_gpu"] = r["median_s"] / results[0]["median_s"]
        print(f"| {r['pipeline']} | {r['min_s']:.3f} | {r['median_s']:.3f} | {r['gb_per_s']:.2f} | "
              f"{r['ratio_to_cuzarr_gpu']:.2f} |")
    print(f"\nhost RSS during a GPU read of {nbytes / 2**30:.1f} GiB: grew {rss['rss_growth_mib']:.0f} MiB "
          f"(from {rss['rss_before_mib']:.0f} to {rss['rss_peak_mib']:.0f} MiB); staging ring "
          f"{cfg['staging_buffers']} x {cfg['staging_bytes'] / 2**20:.0f} MiB, {cfg['threads']} threads")
    if args.json:
        Path(args.json).write_text(json.dumps({"bytes": nbytes, "results": results, "rss": rss,
                                               "config": cfg}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
