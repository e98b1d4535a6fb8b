"""cuzarr's benchmark harness: `python -m bench` (or `make bench`).

Writes its datasets once under --dir, then times every pipeline (cuzarr, its peers, the
machine's limits) on every workload, in one run and on the same files: warm (page cache filled
by the untimed first run, whose result is checked against the expected array) and cold (every
file of the store evicted from the page cache before each run), a workload's pipelines taking
turns (bench/turns.py). Prints Markdown tables and
writes --json. On a machine with a GPU the pipelines read into GPU memory; without one they
read into host memory, with smaller default sizes. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import datasets as ds
from . import targets
from .pipelines import Unavailable, Workload, cpu_pipelines, gpu_pipelines
from .turns import take_turns
from .variants import parse_variants, run_variants, serve

PARTIAL = (slice(0, 256), slice(100, 300))
# What users read of a (time, lat, lon) array besides all of it: a box (256 steps of a 200 x 200
# region: 16 chunks of 16 MiB, or 256 of 1 MiB), one map (a time step: one chunk's 16th, or one
# 1 MiB chunk) and one time series (a point through all time: one chunk in 16 per step).
BOX = (slice(0, 256), slice(100, 300), slice(100, 300))
MAP = (7,)
SERIES = (slice(None), 250, 250)


def parse_size(text: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def _clip(s, n: int):
    """A selection's slice or index clipped to an axis of length n."""
    return slice(*s.indices(n)) if isinstance(s, slice) else min(int(s), n - 1)


def has_gpu() -> bool:
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no CuPy, no driver, no device: a CPU machine
        return False


def workloads() -> list[Workload]:
    """The workloads, most telling first (results are written after each one). zstd is at level
    3, what zarr-python writes by default; levels 1 and 9 are extra rows."""
    return [
        Workload("raw", "raw-v3", description="whole array, uncompressed v3"),
        Workload("blosc-lz4", "blosc-lz4-v2", description="whole array, v2 blosc lz4 + shuffle"),
        Workload("zstd-v3", "zstd-v3", description="whole array, v3 zstd 3 (zarr-python's default), 16 MiB chunks"),
        Workload("sharded", "sharded-zstd-v3", description="whole array, v3 sharded, 8 inner chunks of 16 MiB, zstd 3"),
        Workload("sharded-1mib", "sharded-1mib-zstd-v3",
                 description="whole array, v3 sharded, 64 inner chunks of 1 MiB, zstd 3"),
        Workload("box-zstd", "zstd-v3", BOX, description="[0:256, 100:300, 100:300], zstd 3, 16 MiB chunks"),
        Workload("box-sharded-1mib", "sharded-1mib-zstd-v3", BOX,
                 description="[0:256, 100:300, 100:300], sharded 1 MiB inner chunks, zstd 3"),
        Workload("map-zstd", "zstd-v3", MAP, description="[7] (one time step), zstd 3, 16 MiB chunks"),
        Workload("map-sharded-1mib", "sharded-1mib-zstd-v3", MAP,
                 description="[7] (one time step), sharded 1 MiB inner chunks, zstd 3"),
        Workload("series-zstd", "zstd-v3", SERIES, description="[:, 250, 250] (one time series), zstd 3, 16 MiB chunks"),
        Workload("series-sharded-1mib", "sharded-1mib-zstd-v3", SERIES,
                 description="[:, 250, 250] (one time series), sharded 1 MiB inner chunks, zstd 3"),
        Workload("multi-load", "multi", kind="multi-load",
                 description="open_dataset(...).load() of 4 variables written by xarray with zarr-python's defaults"),
        Workload("partial", "raw-v3", PARTIAL, description="isel(time=slice(0,256), lat=slice(100,300)), raw"),
        Workload("air-load", "air", kind="air-load", description="open_dataset(...).air.load()"),
        Workload("air-point", "air", kind="air-point", description="open_dataset(...).air.isel(time=0, lat=10) latency"),
        Workload("zstd-v3-l1", "zstd-v3-l1", description="whole array, v3 zstd 1, 16 MiB chunks"),
        Workload("zstd-v3-l9", "zstd-v3-l9", description="whole array, v3 zstd 9, 16 MiB chunks"),
        Workload("zstd-v2", "zstd-v2", description="whole array, v2 zstd 3"),
        Workload("small-chunks", "small-chunks-v3", description="whole array, 64 KiB chunks, uncompressed"),
        Workload("partial-sharded", "sharded-zstd-v3", PARTIAL,
                 description="isel(time=slice(0,256), lat=slice(100,300)), sharded 16 MiB inner, zstd 3"),
        Workload("blosc-zstd", "blosc-zstd-v3", description="whole array, v3 bytes + blosc zstd 5 + shuffle"),
        Workload("blosc-lz4-compressible", "blosc-lz4-v2-compressible",
                 description="whole array, v2 blosc lz4 + shuffle, highly compressible field (not realistic)"),
    ]


class RssSampler:
    """Peak resident set size of this process while active, sampled every `interval` seconds
    (10 ms: reading /proc/self/statm takes the process's memory-map lock, which a 1 ms sampler
    held often enough to slow 16 reader threads measurably)."""

    interval = 0.01

    def __init__(self):
        self.peak = self.base = self.rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _loop(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


class Harness:
    def __init__(self, args, gpu: bool):
        self.args = args
        self.gpu = gpu
        self.xp = __import__("cupy") if gpu else np
        self.results: list[dict] = []
        self._expected_key = None
        self._expected = None

    def log(self, msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    def log_row(self, row: dict, modes) -> None:
        summary = ", ".join(f"{m} {row[m]['median_s']:.3f} s" for m in modes if m in row)
        self.log(f"{row['workload']:16s} {row['pipeline']:24s} {row['status'][:90]} {summary}")

    # -- checking ---------------------------------------------------------------------------
    def expected(self, w: Workload, dataset: ds.Dataset, on_gpu: bool):
        key = (w.dataset, w.kind, w.selection, on_gpu)
        if self._expected_key != key:
            self._expected = None  # free the previous one first
            xp = self.xp if on_gpu else np
            if w.kind in ("air-load", "air-point"):
                air = ds.air_dataset().air
                values = (air if w.kind == "air-load" else air.isel(time=0, lat=10)).values
                self._expected = xp.asarray(values)
            elif w.kind == "multi-load":
                names = list(ds.VARIABLES)[:dataset.variables]
                self._expected = {n: xp.asarray(ds.make_field_of(n, dataset.shape)) for n in names}
            else:
                self._expected = ds.expected(xp, dataset.shape, w.selection, dataset.values)
            if on_gpu:
                # CuPy compiles the comparison's kernels at their first use (NVRTC, with a cold
                # kernel cache on disk), which costs the process about 170 MiB of host memory:
                # done here, before a pipeline's memory is sampled, it is not counted as cuzarr's.
                xp.array_equal(self._expected, self._expected)
            self._expected_key = key
        return self._expected

    def check(self, result, w, dataset, on_gpu) -> str | None:
        """None when `result` equals the expected array, else what differs."""
        xp = self.xp if on_gpu else np
        if isinstance(result, dict):  # a dataset's variables by name
            want = self.expected(w, dataset, on_gpu)
            if sorted(result) != sorted(want):
                return f"variables {sorted(result)} != {sorted(want)}"
            for name in want:
                error = self._compare(result[name], want[name], xp, on_gpu)
                if error:
                    return f"{name}: {error}"
            return None
        if isinstance(result, list):  # (selection, part) pairs, each part on its own GPU
            for sel, part in result:
                with xp.cuda.Device(part.device.id):
                    error = self._compare(part, ds.expected(xp, dataset.shape, sel, dataset.values), xp, True)
                if error:
                    return f"part {sel}: {error}"
            return None
        return self._compare(result, self.expected(w, dataset, on_gpu), xp, on_gpu)

    @staticmethod
    def _compare(result, want, xp, on_gpu) -> str | None:
        if on_gpu and not hasattr(result, "__cuda_array_interface__"):
            return f"result is {type(result).__name__}, not a GPU array"
        if not on_gpu and not isinstance(result, np.ndarray):
            return f"result is {type(result).__name__}, not a NumPy array"
        if tuple(result.shape) != tuple(want.shape):
            return f"shape {tuple(result.shape)} != {tuple(want.shape)}"
        if result.dtype != want.dtype:
            return f"dtype {result.dtype} != {want.dtype}"
        if not bool(xp.array_equal(result, want)):
            return "values differ"
        return None

    # -- timing -----------------------------------------------------------------------------
    def time_rows(self, rows: list[dict], contestants, mode: str) -> None:
        """Runs the contestants (one timed run each call; returns its seconds) in turns
        (bench/turns.py, with --repeat and --budget) and fills row i's `mode` with contestant i's
        times, or its status with the exception that stopped it."""
        times, errors = take_turns(contestants, self.args.repeat, self.args.budget)
        for i, row in enumerate(rows):
            if i in errors:
                row["status"] = f"failed ({mode}): {errors[i]}"
            elif times[i]:
                t = times[i]
                row[mode] = {"min_s": min(t), "median_s": statistics.median(t), "runs": len(t),
                             "times_s": [round(x, 6) for x in t]}

    def release_expected(self) -> None:
        self._expected_key = self._expected = None

    def time_turns(self, ops: list[Opened], path, mode: str) -> None:
        """Timed runs of opened pipelines in `mode` (warm, or cold: the store evicted before each
        run), taken in turns. Fills each row's `mode`, or its status."""
        self.time_rows([op.row for op in ops], [lambda op=op: op.one(path, cold=mode == "cold") for op in ops], mode)

    def open(self, p, w, dataset, path) -> tuple[dict, Opened | None] | None:
        """Sets up pipeline `p` on workload `w` and checks its first, untimed run. None when `p`
        does not do `w`; else its row and, when the check passed, the pipeline ready for timed
        runs (else the row says why not)."""
        row = {"workload": w.name, "pipeline": p.name, "role": p.role, "device": p.device,
               "description": p.description}
        try:
            if w.kind not in p.kinds or (p.full_only and w.partial) or (p.only and w.name not in p.only):
                return None
            run = p.setup(w, path)
        except Unavailable as e:
            row["status"] = f"unavailable: {e}"
            return row, None
        except Exception as e:  # noqa: BLE001 - a peer that breaks is reported, not fatal
            row["status"] = f"setup failed: {type(e).__name__}: {e}"
            return row, None
        check = None
        if p.role != "limit":
            self.expected(w, dataset, p.device == "cuda")  # computed before memory is sampled
            check = lambda result: self.check(result, w, dataset, p.device == "cuda")  # noqa: E731
        op = Opened(row, run)
        try:
            error = op.measured(check)[1]
            row["status"] = "ok" if error is None else f"wrong result: {error}"
        except Exception as e:  # noqa: BLE001
            row["status"] = f"failed: {type(e).__name__}: {e}"
            if self.args.verbose:
                traceback.print_exc()
        if row["status"] != "ok":
            op.close()
            return row, None
        return row, op

    def open_all(self, w, dataset, path, plan) -> tuple[list[dict], list[tuple[Opened, object]]]:
        """Opens and checks, one after the other, each pipeline of `plan` ((pipeline, modes))
        that does workload `w`, then frees the expected array. Returns their rows and, with
        their modes, those ready for timed runs."""
        rows, ready = [], []
        try:
            for p, modes in plan:
                got = self.open(p, w, dataset, path)
                if got is not None:
                    rows.append(got[0])
                    if got[1] is not None:
                        ready.append((got[1], modes))
        except BaseException:
            for op, _ in ready:
                op.close()
            raise
        self.release_expected()
        return rows, ready

    def bench(self, w, dataset, path, plan: list[tuple[object, list[str]]]) -> list[dict]:
        """open_all(), then times the pipelines warm in turns, then cold in turns, and closes
        them. Adds their rows to the results and returns them."""
        rows, ready = self.open_all(w, dataset, path, plan)
        try:
            for mode in ("warm", "cold"):
                self.time_turns([op for op, modes in ready if mode in modes], path, mode)
        finally:
            for op, _ in ready:
                op.close()
        self.results += rows
        return rows


class Opened:
    """A pipeline set up on a workload: its row, its run callable, and the growth of the
    process's memory over its own runs. Pipelines of a workload are open together and run in
    turns, so each run is sampled on its own (RssSampler): the growth is the highest the memory
    rose during one of its runs above where it started, plus what its earlier runs kept -- what
    other pipelines allocate between its runs is not counted."""

    def __init__(self, row: dict, run):
        self.row, self.run = row, run
        self._kept = self._growth = 0

    def measured(self, check=None) -> tuple[float, str | None]:
        """One run: its seconds and what `check(result)` says of its result (None when fine)."""
        with RssSampler() as rss:
            t0 = time.perf_counter()
            result = self.run()
            seconds = time.perf_counter() - t0
            error = check(result) if check is not None else None
            del result
        self._growth = max(self._growth, self._kept + rss.peak - rss.base)
        self._kept += RssSampler.rss() - rss.base
        self.row["rss_growth_mib"] = round(self._growth / 2**20, 1)
        return seconds, error

    def one(self, path, cold: bool) -> float:
        """One timed run (the store evicted first when `cold`); its seconds."""
        if cold:
            ds.evict(path)
        return self.measured()[0]

    def close(self) -> None:
        getattr(self.run, "close", lambda: None)()
        if getattr(self.run, "stored_bytes", None):
            self.row["stored_bytes"] = self.run.stored_bytes


def decoded_bytes(w: Workload, dataset: ds.Dataset) -> int:
    if w.kind == "multi-load":
        return dataset.nbytes
    if w.kind == "air-point":
        return dataset.shape[2] * 4
    if not w.partial:
        return dataset.nbytes
    sizes = [len(range(*s.indices(n))) if isinstance(s, slice) else 1
             for n, s in zip(dataset.shape, w.selection + (slice(None),) * (3 - len(w.selection)))]
    return int(np.prod(sizes)) * 4


def add_rates(results, wl_by_name, ds_by_name):
    for row in results:
        w = wl_by_name[row["workload"]]
        nbytes = decoded_bytes(w, ds_by_name[w.dataset])
        row["decoded_bytes"] = nbytes
        for mode in ("warm", "cold"):
            if mode in row:
                row[mode]["gbps"] = nbytes / row[mode]["median_s"] / 1e9
    for w in wl_by_name.values():
        for mode in ("warm", "cold"):
            peers = [r[mode]["gbps"] for r in results
                     if r["workload"] == w.name and r["role"] == "peer" and mode in r]
            best = max(peers) if peers else None
            for r in results:
                if r["workload"] == w.name and mode in r and best:
                    r[mode]["vs_best_peer"] = r[mode]["gbps"] / best


def markdown(results, wl_by_name, ds_by_name, mode) -> str:
    lines = [f"| workload | pipeline | min s | median s | GB/s | × best peer | RSS growth MiB | result |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for row in results:
        w = wl_by_name[row["workload"]]
        m = row.get(mode)
        if m is None:
            if row["status"] == "ok" or mode != "warm":
                continue
            lines.append(f"| {w.name} | {row['pipeline']} | | | | | | {row['status']} |")
            continue
        if w.kind == "air-point":
            rate = f"{m['median_s'] * 1e3:.1f} ms"
        else:
            rate = f"{m['gbps']:.2f}"
        ratio = f"{m['vs_best_peer']:.2f}" if "vs_best_peer" in m else ""
        rss = row.get("rss_growth_mib", "")
        lines.append(f"| {w.name} | {row['pipeline']} | {m['min_s']:.3f} | {m['median_s']:.3f} | {rate} | "
                     f"{ratio} | {rss} | checked ({m['runs']} runs) |")
    return "\n".join(lines)


def machine() -> dict:
    info = {"host": platform.node(), "python": platform.python_version(), "cores": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
        if out.returncode == 0:
            info["gpu"] = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    versions = {}
    for name in ("cuzarr", "numpy", "xarray", "zarr", "tensorstore", "cupy", "kvikio"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001
            versions[name] = None
    info["versions"] = versions
    try:
        import cuzarr
        info["cuzarr_config"] = cuzarr._core.config()
    except Exception:  # noqa: BLE001
        pass
    return info


def main(argv=None) -> int:
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ and argv is None:
        # A fixed mmap threshold: glibc then returns every large array to the system when it is
        # freed, so that the RSS growth measured for a pipeline is its own, not what an earlier
        # one left in the heap.
        os.environ["MALLOC_MMAP_THRESHOLD_"] = str(1 << 20)
        os.execv(sys.executable, [sys.executable, "-m", "bench"] + sys.argv[1:])
    gpu_default = has_gpu()
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=Path("build/bench-data"),
                    help="where the datasets are written once and reused (default: build/bench-data)")
    ap.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto",
                    help="cuda: GPU pipelines; cpu: host pipelines; auto: cuda when a GPU is usable")
    ap.add_argument("--size", type=parse_size, default=None,
                    help="bytes of each main array (default 4G with a GPU, 512M without)")
    ap.add_argument("--small-size", type=parse_size, default=None,
                    help="bytes of the 64 KiB-chunk array (default size/4)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per pipeline and mode (default 3)")
    ap.add_argument("--budget", type=float, default=20.0,
                    help="stop repeating a pipeline after this many seconds once it has 2 runs")
    ap.add_argument("--modes", default="warm,cold", help="warm, cold or both (default warm,cold)")
    ap.add_argument("--cold-pipelines", default="cuzarr,tensorstore,tensorstore-cupy,limit-pread-*",
                    help="pipelines also timed cold (fnmatch patterns; default: cuzarr, tensorstore, limits)")
    ap.add_argument("--workloads", default="all", help="comma-separated workload names (default all)")
    ap.add_argument("--pipelines", default="all", help="comma-separated pipeline names/patterns (default all)")
    ap.add_argument("--variants", default="",
                    help="cuzarr run again under other settings (read once per process), each in a child process "
                         "of its own, their runs taken in turns: "
                         "'NAME:VAR=VALUE,VAR=VALUE;NAME2:...', e.g. 'gds-on:CUZARR_GDS=on;threads-4:CUZARR_THREADS=4'")
    ap.add_argument("--variant-workloads", default="",
                    help="workloads of the variants (default: the run's)")
    ap.add_argument("--variant-pipelines", default="cuzarr", help="pipelines of the variants (default cuzarr)")
    ap.add_argument("--variant-modes", default="warm", help="modes of the variants (default warm)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="threads writing datasets")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--markdown", type=Path, help="write the tables here too")
    ap.add_argument("--chart", type=Path, help="draw the warm results as a bar chart (PNG) here (bench/chart.py)")
    ap.add_argument("--verbose", action="store_true", help="print tracebacks of failing pipelines")
    ap.add_argument("--quiet", action="store_true", help="no tables on stdout (with --json)")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # a variant's process (variants.py)
    args = ap.parse_args(argv)
    variants = parse_variants(args.variants)

    from fnmatch import fnmatch

    gpu = gpu_default if args.device == "auto" else args.device == "cuda"
    if gpu and not gpu_default:
        ap.error("--device cuda: no usable GPU (CuPy and a device are needed)")
    size = args.size or (4 * 2**30 if gpu else 512 * 2**20)
    small = args.small_size or size // 4
    modes = [m for m in args.modes.split(",") if m]
    if not set(modes) <= {"warm", "cold"}:
        ap.error("--modes takes warm and/or cold")

    all_datasets = ds.standard_datasets(size, small) + [ds.AIR]
    ds_by_name = {d.name: d for d in all_datasets}
    wls = workloads()
    if args.workloads != "all":
        names = args.workloads.split(",")
        unknown = set(names) - {w.name for w in wls}
        if unknown:
            ap.error(f"unknown workloads {sorted(unknown)}; known: {[w.name for w in wls]}")
        wls = [w for w in wls if w.name in names]
    # Selections are clipped to the arrays' shapes (tensorstore, unlike NumPy, refuses a slice
    # beyond the domain), so the small default sizes keep every workload.
    wls = [replace(w, selection=tuple(_clip(s, n) for s, n in zip(w.selection, ds_by_name[w.dataset].shape)))
           for w in wls]
    wl_by_name = {w.name: w for w in wls}
    pipes = gpu_pipelines() if gpu else cpu_pipelines()
    if args.pipelines != "all":
        pats = args.pipelines.split(",")
        pipes = [p for p in pipes if any(fnmatch(p.name, pat) for pat in pats)]
    cold_pats = args.cold_pipelines.split(",")

    h = Harness(args, gpu)
    t_start = time.perf_counter()
    needed = [ds_by_name[n] for n in dict.fromkeys(w.dataset for w in wls)]
    t0 = time.perf_counter()
    paths = ds.ensure(args.dir, needed, args.threads, log=h.log)
    write_s = time.perf_counter() - t0
    stored = {d.name: ds.stored_bytes(paths[d.name]) for d in needed}
    if args.serve:
        return serve(h, pipes, wl_by_name, ds_by_name, paths)

    host = machine()
    command = " ".join([Path(sys.executable).name, "-m", "bench"] + (argv if argv is not None else sys.argv[1:]))

    def write_report(final: bool) -> None:
        """Writes --json/--markdown with what has run so far (after every workload, so a run cut
        short keeps its results) and, at the end, prints the tables."""
        add_rates(h.results, wl_by_name, ds_by_name)
        report = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": command,
            "device": "cuda" if gpu else "cpu",
            "complete": final,
            "machine": host,
            "datasets": {d.name: {**d.params(), "notes": d.notes, "decoded_bytes": d.nbytes,
                                  "stored_bytes": stored[d.name], "path": str(paths[d.name])} for d in needed},
            "workloads": {w.name: w.description for w in wls},
            "pipelines": {p.name: p.description for p in pipes},
            "dataset_write_s": round(write_s, 1),
            "total_s": round(time.perf_counter() - t_start, 1),
            "results": h.results,
        }
        if gpu:
            report["targets"] = targets.evaluate(h.results)
        text = [f"# cuzarr benchmark ({report['device']}, {report['date']})", "",
                f"`{command}` on {host.get('gpu') or host.get('cpu')}, {host['cores']} cores; datasets written "
                f"in {write_s:.0f} s, total {report['total_s']:.0f} s{'' if final else ' (incomplete)'}.", ""]
        for d in needed:
            text.append(f"- `{d.name}`: {d.shape} in {d.chunks}{' shards ' + str(d.shards) if d.shards else ''}, "
                        f"{d.nbytes / 2**20:.0f} MiB decoded, {stored[d.name] / 2**20:.0f} MiB stored ({d.notes})")
        for mode in modes:
            text += ["", f"## {mode} page cache" if mode == "warm" else "## cold (files evicted before each run)", "",
                     markdown(h.results, wl_by_name, ds_by_name, mode)]
        if report.get("targets"):
            text += ["", "## targets (bench/targets.py)", "", targets.markdown(report["targets"])]
        out = "\n".join(text) + "\n"
        if final and not args.quiet:
            print(out)
        if args.markdown:
            args.markdown.write_text(out)
        if args.json:
            args.json.write_text(json.dumps(report, indent=1, default=str))
        if final and args.chart and "warm" in modes:
            from . import chart

            chart.draw([report], args.chart, "warm")

    for w in wls:
        plan = []  # (pipeline, its modes)
        for p in pipes:
            pmodes = [m for m in modes if m == "warm" or any(fnmatch(p.name, pat) for pat in cold_pats)]
            if w.kind != "array":
                pmodes = [m for m in pmodes if m == "warm"]
            plan.append((p, pmodes))
        for row in h.bench(w, ds_by_name[w.dataset], paths[w.dataset], plan):
            h.log_row(row, modes)
        write_report(final=False)

    if variants:
        run_variants(h, args, variants, [w.name for w in wls], [m for m in args.variant_modes.split(",") if m in modes],
                     after_workload=lambda: write_report(final=False))

    write_report(final=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
