"""Why a cuzarr read can be slower in a process that ran the peers first: `python -m bench.process_state`.

The harness once measured a 4 GiB raw read at 28.5 GB/s in its main process, after the peers had
run there, against 40 GB/s in a process of its own (issue 29). This runs, in ONE process, the
cuzarr read of the raw workload (`--repeat` times, median), then each peer pipeline once on the
same store, measuring cuzarr again after each, and records at each step what a peer may leave
behind in the process: its threads, its resident memory, CuPy's device and pinned memory pools,
the GPU's free memory and the page cache. The first step whose cuzarr rate drops, and what
changed with it, answers the question; then it releases what the peers kept (CuPy's pools, a
garbage collection) and measures again, which tells whether that state is the cause.

Prints a table and writes --json. Needs a GPU (CuPy).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

from . import datasets as ds
from .pipelines import Unavailable, Workload, gpu_pipelines

PEERS = ("tensorstore-cupy", "zarr-gpu-local", "zarr-gpu-kvikio", "limit-pread-16", "limit-h2d")


def _state(cupy) -> dict:
    """What the process holds now: threads, RSS, CuPy's pools, the device's free memory, and the
    system's page cache."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    free, total = cupy.cuda.runtime.memGetInfo()
    return {
        "threads": int(status["Threads"].strip()),
        "rss_mib": int(status["VmRSS"].split()[0]) // 1024,
        "cupy_pool_used_mib": cupy.get_default_memory_pool().used_bytes() >> 20,
        "cupy_pool_held_mib": cupy.get_default_memory_pool().total_bytes() >> 20,
        "cupy_pinned_free_blocks": cupy.get_default_pinned_memory_pool().n_free_blocks(),
        "gpu_free_mib": free >> 20,
        "page_cache_mib": int(meminfo["Cached"].split()[0]) // 1024,
        "anon_huge_mib": int(meminfo.get("AnonHugePages", "0 kB").split()[0]) // 1024,
    }


def _rate(read, nbytes: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = read()
        times.append(time.perf_counter() - t0)
        del out
    return nbytes / statistics.median(times) / 1e9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.process_state", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=Path("build/bench-data"))
    ap.add_argument("--size", type=int, default=4 << 30, help="bytes of the raw array (default 4 GiB)")
    ap.add_argument("--repeat", type=int, default=5, help="cuzarr reads per measurement (median)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    import cupy
    import cuzarr

    d = next(x for x in ds.standard_datasets(args.size, args.size // 4) if x.name == "raw-v3")
    path = ds.ensure(args.dir, [d], os.cpu_count() or 2, log=lambda m: print(m, file=sys.stderr))[d.name]
    w = Workload("raw", d.name)
    a = cuzarr.open(path / ds.ARRAY, device="cuda")

    def read():
        out = a[...]
        cupy.cuda.runtime.deviceSynchronize()
        return out

    read()  # the page cache and cuzarr's rings filled
    steps = [{"step": "cuzarr alone", "gbps": _rate(read, d.nbytes, args.repeat), **_state(cupy)}]
    pipelines = {p.name: p for p in gpu_pipelines()}
    kept = []  # the peers' run callables stay alive, as in the harness's process
    for name in PEERS:
        try:
            run = pipelines[name].setup(w, path)
            t0 = time.perf_counter()
            result = run()
            peer_s = time.perf_counter() - t0
            del result
        except Unavailable as e:
            print(f"{name}: unavailable: {e}", file=sys.stderr)
            continue
        kept.append(run)
        steps.append({"step": f"after {name} ({peer_s:.2f} s)", "gbps": _rate(read, d.nbytes, args.repeat),
                      **_state(cupy)})
    for run in kept:
        getattr(run, "close", lambda: None)()
    kept.clear()
    gc.collect()
    cupy.get_default_memory_pool().free_all_blocks()
    cupy.get_default_pinned_memory_pool().free_all_blocks()
    steps.append({"step": "peers closed, CuPy pools freed", "gbps": _rate(read, d.nbytes, args.repeat), **_state(cupy)})

    cols = list(steps[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for s in steps:
        print("| " + " | ".join(f"{s[c]:.2f}" if isinstance(s[c], float) else str(s[c]) for c in cols) + " |")
    if args.json:
        args.json.write_text(json.dumps({"dataset": d.params(), "steps": steps}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
