"""Interleaved comparison on a noisy machine: each reader reads each workload in a fresh process,
readers alternating, rounds repeated, the best time kept. Drift (other work on a shared machine)
then hits every reader alike, which the harness's one-pipeline-after-another order does not.

    python -m bench.ab --dir build/bench-data --readers cuzarr,cuzarr@/tmp/old_site,tensorstore,zarr,xarray-zarr

Readers: cuzarr, tensorstore, zarr (`zarr.open_array()[sel]`), xarray-zarr (`xr.open_dataset(engine="zarr")`,
select, load, as the harness's pipeline). `cuzarr@PATH` is another cuzarr build (a `pip install --target PATH` of another commit), imported
first through PYTHONPATH. The datasets are the harness's (python -m bench writes them). Results
are host reads (NumPy), checked for equality with the first reader's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from . import datasets as ds

WORKLOADS = {
    "raw": ("raw-v3", "(slice(None),)"),
    "blosc-lz4": ("blosc-lz4-v2", "(slice(None),)"),
    "zstd-v3": ("zstd-v3", "(slice(None),)"),
    "zstd-v2": ("zstd-v2", "(slice(None),)"),
    "blosc-zstd": ("blosc-zstd-v3", "(slice(None),)"),
    "sharded": ("sharded-zstd-v3", "(slice(None),)"),
    "sharded-1mib": ("sharded-1mib-zstd-v3", "(slice(None),)"),
    "small-chunks": ("small-chunks-v3", "(slice(None),)"),
    "partial": ("raw-v3", "(slice(0, 256), slice(100, 300))"),
    "partial-sharded": ("sharded-zstd-v3", "(slice(0, 256), slice(100, 300))"),
}

CHILD = r"""
import hashlib, json, sys, time
reader, path, v2, sel, repeat = sys.argv[1], sys.argv[2], sys.argv[3] == "1", eval(sys.argv[4]), int(sys.argv[5])
if reader == "cuzarr":
    import cuzarr
    a = cuzarr.open(path, device="cpu")
    read = lambda: a[sel]
elif reader == "tensorstore":
    import tensorstore as ts
    t = ts.open({"driver": "zarr" if v2 else "zarr3", "kvstore": {"driver": "file", "path": path}}).result()
    read = lambda: t[sel].read().result()
elif reader == "zarr":
    import zarr
    z = zarr.open_array(path, mode="r")
    read = lambda: z[sel]
elif reader == "xarray-zarr":
    import xarray as xr
    root = path.rsplit("/", 1)[0]
    dims = ("time", "lat", "lon")
    def read():
        ds = xr.open_dataset(root, engine="zarr", chunks=None, consolidated=False)
        return ds["data"].isel(dict(zip(dims, sel))).values
else:
    raise SystemExit(f"unknown reader {reader}")
first = read()
best = float("inf")
for _ in range(repeat):
    t0 = time.perf_counter()
    read()
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"s": best, "digest": hashlib.sha1(first.tobytes()).hexdigest(), "nbytes": first.nbytes}))
"""


def run_one(reader: str, path: Path, v2: bool, sel: str, repeat: int) -> dict:
    name, _, site = reader.partition("@")
    env = dict(os.environ)
    if site:
        env["PYTHONPATH"] = site + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    out = subprocess.run([sys.executable, "-c", CHILD, name, str(path), "1" if v2 else "0", sel, str(repeat)],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path("build/bench-data"), help="the harness's dataset folder")
    ap.add_argument("--readers", default="cuzarr,tensorstore,zarr", help="comma-separated; cuzarr@PATH for another build")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, of: " + ", ".join(WORKLOADS))
    ap.add_argument("--rounds", type=int, default=3, help="rounds over every reader and workload")
    ap.add_argument("--repeat", type=int, default=5, help="timed reads per process")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    readers = args.readers.split(",")
    workloads = args.workloads.split(",")
    best: dict[tuple[str, str], dict] = {}
    for _ in range(args.rounds):
        for w in workloads:
            dataset, sel = WORKLOADS[w]
            path = args.dir / f"{dataset}.zarr" / ds.ARRAY
            for r in readers:
                got = run_one(r, path, dataset.endswith("-v2"), sel, args.repeat)
                old = best.get((w, r))
                if old is None or "error" in old or ("s" in got and got["s"] < old["s"]):
                    best[(w, r)] = got
    print("| workload | " + " | ".join(readers) + " | first / best other |")
    print("|---|" + "---:|" * len(readers) + "---:|")
    rows = []
    for w in workloads:
        cells, digests = [], set()
        for r in readers:
            g = best[(w, r)]
            cells.append(f"{g['s'] * 1e3:.1f} ms" if "s" in g else "fails")
            if "digest" in g:
                digests.add(g["digest"])
        others = [best[(w, r)]["s"] for r in readers[1:] if "s" in best[(w, r)]]
        ratio = f"{min(others) / best[(w, readers[0])]['s']:.2f}" if others and "s" in best[(w, readers[0])] else "-"
        same = "" if len(digests) <= 1 else " (results differ!)"
        print(f"| {w} | " + " | ".join(cells) + f" | {ratio}{same} |")
        rows.append({"workload": w, **{r: best[(w, r)] for r in readers}})
    if args.json:
        args.json.write_text(json.dumps({"readers": readers, "rounds": args.rounds, "repeat": args.repeat,
                                         "results": rows}, indent=1))


if __name__ == "__main__":
    main()
