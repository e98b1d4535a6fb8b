"""cuzarr's benchmark harness: `python -m bench` (or `make bench`).

Writes its datasets once under --dir, then times every pipeline (cuzarr, its peers, the
machine's limits) on every workload, in one run and on the same files: warm (page cache filled
by the untimed first run, whose result is checked against the expected array) and cold (every
file of the store evicted from the page cache before each run). Prints Markdown tables and
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
from .pipelines import Unavailable, Workload, cpu_pipelines, gpu_pipelines

PARTIAL = (slice(0, 256), slice(100, 300))


def parse_size(text: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def has_gpu() -> bool:
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no CuPy, no driver, no device: a CPU machine
        return False


def workloads() -> list[Workload]:
    """The workloads, most telling first (results are written after each one)."""
    return [
        Workload("raw", "raw-v3", description="whole array, uncompressed v3"),
        Workload("blosc-lz4", "blosc-lz4-v2", description="whole array, v2 blosc lz4 + shuffle"),
        Workload("zstd-v3", "zstd-v3", description="whole array, v3 zstd 1"),
        Workload("sharded", "sharded-zstd-v3", description="whole array, v3 sharded, inner zstd 1"),
        Workload("partial", "raw-v3", PARTIAL, description="isel(time=slice(0,256), lat=slice(100,300)), raw"),
        Workload("air-load", "air", kind="air-load", description="open_dataset(...).air.load()"),
        Workload("air-point", "air", kind="air-point", description="open_dataset(...).air.isel(time=0, lat=10) latency"),
        Workload("zstd-v2", "zstd-v2", description="whole array, v2 zstd 1"),
        Workload("small-chunks", "small-chunks-v3", description="whole array, 64 KiB chunks, uncompressed"),
        Workload("partial-sharded", "sharded-zstd-v3", PARTIAL,
                 description="isel(time=slice(0,256), lat=slice(100,300)), sharded"),
        Workload("sharded-1mib", "sharded-1mib-zstd-v3",
                 description="whole array, v3 sharded, 64 inner chunks of 1 MiB, zstd 1"),
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
        self.peak = self.base = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _loop(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.base) / 2**20


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
    def time_runs(self, run) -> list[float]:
        times, spent = [], 0.0
        while len(times) < self.args.repeat:
            if len(times) >= 2 and spent > self.args.budget:
                break
            t0 = time.perf_counter()
            run()
            dt = time.perf_counter() - t0
            times.append(dt)
            spent += dt
        return times

    @staticmethod
    def _timing(times: list[float]) -> dict:
        return {"min_s": min(times), "median_s": statistics.median(times), "runs": len(times),
                "times_s": [round(x, 6) for x in times]}

    def time_cold(self, entries: list[tuple[dict, object]], path) -> None:
        """Cold runs of one workload's pipelines (`entries`: row and run callable), taken in turns
        (A B, B A, A B, ...) with the store evicted before each run, so that a drift in what the
        storage delivers reaches every pipeline alike; a pipeline stops, like time_runs, after 2
        runs once its runs have taken --budget seconds. Fills each row's "cold"."""
        times: list[list[float]] = [[] for _ in entries]
        failed: set[int] = set()
        for turn in range(self.args.repeat):
            order = range(len(entries)) if turn % 2 == 0 else reversed(range(len(entries)))
            for i in order:
                row, run = entries[i]
                if i in failed or (turn >= 2 and sum(times[i]) > self.args.budget):
                    continue
                ds.evict(path)
                t0 = time.perf_counter()
                try:
                    run()
                except Exception as e:  # noqa: BLE001 - reported in the row, like a warm failure
                    row["status"] = f"failed (cold): {type(e).__name__}: {e}"
                    failed.add(i)
                    continue
                times[i].append(time.perf_counter() - t0)
        for i, (row, _) in enumerate(entries):
            if i not in failed and times[i]:
                row["cold"] = self._timing(times[i])

    def bench(self, p, w, dataset, path, modes, cold_entries: list | None = None):
        """Sets up, checks and times pipeline `p` on workload `w` warm. With "cold" in `modes`,
        a pipeline that ran is left open and added to `cold_entries` as (row, run) for
        time_cold(), whose caller closes it."""
        row = {"workload": w.name, "pipeline": p.name, "role": p.role, "device": p.device,
               "description": p.description}
        try:
            if w.kind not in p.kinds or (p.full_only and w.partial) or (p.only and w.name not in p.only):
                return None
            run = p.setup(w, path)
        except Unavailable as e:
            row["status"] = f"unavailable: {e}"
            self.results.append(row)
            return row
        except Exception as e:  # noqa: BLE001 - a peer that breaks is reported, not fatal
            row["status"] = f"setup failed: {type(e).__name__}: {e}"
            self.results.append(row)
            return row
        if p.role != "limit":
            self.expected(w, dataset, p.device == "cuda")  # computed before memory is sampled
        try:
            with RssSampler() as rss:
                first = run()
                if p.role == "limit":
                    error = None
                else:
                    error = self.check(first, w, dataset, p.device == "cuda")
                del first
                if error is not None:
                    row["status"] = f"wrong result: {error}"
                else:
                    row["status"] = "ok"
                    if "warm" in modes:
                        row["warm"] = self._timing(self.time_runs(run))
            row["rss_growth_mib"] = round(rss.growth_mib, 1)
        except Exception as e:  # noqa: BLE001
            row["status"] = f"failed: {type(e).__name__}: {e}"
            if self.args.verbose:
                traceback.print_exc()
        finally:
            if row.get("status") == "ok" and "cold" in modes and cold_entries is not None:
                cold_entries.append((row, run))
            else:
                getattr(run, "close", lambda: None)()
        if getattr(run, "stored_bytes", None):
            row["stored_bytes"] = run.stored_bytes
        self.results.append(row)
        return row


def parse_variants(text: str) -> list[tuple[str, dict]]:
    variants = []
    for item in filter(None, (t.strip() for t in text.split(";"))):
        name, _, assignments = item.partition(":")
        env = dict(a.split("=", 1) for a in assignments.split(",") if "=" in a)
        if not name or not env:
            raise SystemExit(f"--variants: '{item}' is not NAME:VAR=VALUE[,VAR=VALUE]")
        variants.append((name.strip(), env))
    return variants


def run_variant(args, name, env, workload_names, modes) -> list[dict]:
    """Runs the harness again in a child process with `env` added, on the cached datasets, and
    returns its rows with the pipelines renamed `<pipeline>[<name>]`."""
    import tempfile

    wanted = args.variant_workloads.split(",") if args.variant_workloads else workload_names
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    cmd = [sys.executable, "-m", "bench", "--dir", str(args.dir), "--device", args.device,
           "--repeat", str(args.repeat), "--budget", str(args.budget), "--modes", ",".join(modes),
           "--workloads", ",".join(w for w in wanted if w in workload_names),
           "--pipelines", args.variant_pipelines, "--json", str(out), "--quiet"]
    if args.size:
        cmd += ["--size", str(args.size)]
    if args.small_size:
        cmd += ["--small-size", str(args.small_size)]
    child = subprocess.run(cmd, env=dict(os.environ, **env), capture_output=True, text=True)
    rows = json.loads(out.read_text())["results"] if child.returncode == 0 else []
    out.unlink(missing_ok=True)
    if child.returncode != 0:
        tail = (child.stderr.strip().splitlines() or ["no output"])[-1]
        return [{"workload": w, "pipeline": f"{args.variant_pipelines}[{name}]", "role": "cuzarr",
                 "device": args.device, "status": f"failed: {tail}"} for w in wanted if w in workload_names]
    for row in rows:
        row["pipeline"] = f"{row['pipeline']}[{name}]"
        row["variant"] = env
    sys.stderr.write(child.stderr)
    return rows


def decoded_bytes(w: Workload, dataset: ds.Dataset) -> int:
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
                    help="cuzarr run again in child processes with other settings (read once per process): "
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
    args = ap.parse_args(argv)

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
    wls = [replace(w, selection=tuple(slice(*s.indices(n)) for s, n in zip(w.selection, ds_by_name[w.dataset].shape)))
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
        text = [f"# cuzarr benchmark ({report['device']}, {report['date']})", "",
                f"`{command}` on {host.get('gpu') or host.get('cpu')}, {host['cores']} cores; datasets written "
                f"in {write_s:.0f} s, total {report['total_s']:.0f} s{'' if final else ' (incomplete)'}.", ""]
        for d in needed:
            text.append(f"- `{d.name}`: {d.shape} in {d.chunks}{' shards ' + str(d.shards) if d.shards else ''}, "
                        f"{d.nbytes / 2**20:.0f} MiB decoded, {stored[d.name] / 2**20:.0f} MiB stored ({d.notes})")
        for mode in modes:
            text += ["", f"## {mode} page cache" if mode == "warm" else "## cold (files evicted before each run)", "",
                     markdown(h.results, wl_by_name, ds_by_name, mode)]
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

    def log_row(row, pmodes):
        summary = ", ".join(f"{m} {row[m]['median_s']:.3f} s" for m in pmodes if m in row)
        h.log(f"{w.name:16s} {row['pipeline']:24s} {row['status'][:90]} {summary}")

    for w in wls:
        d = ds_by_name[w.dataset]
        cold_entries: list = []  # pipelines timed cold once every pipeline has run warm
        for p in pipes:
            pmodes = [m for m in modes if m == "warm" or any(fnmatch(p.name, pat) for pat in cold_pats)]
            if w.kind != "array":
                pmodes = [m for m in pmodes if m == "warm"]
            row = h.bench(p, w, d, paths[w.dataset], pmodes, cold_entries)
            if row is not None:
                log_row(row, ["warm"])
        h._expected = None
        try:
            h.time_cold(cold_entries, paths[w.dataset])
        finally:
            for row, run in cold_entries:
                getattr(run, "close", lambda: None)()
                log_row(row, ["cold"])
        write_report(final=False)

    for name, env in parse_variants(args.variants):
        h.log(f"variant {name}: {' '.join(f'{k}={v}' for k, v in env.items())}")
        h.results += run_variant(args, name, env, [w.name for w in wls],
                                 [m for m in args.variant_modes.split(",") if m in modes])
        write_report(final=False)

    write_report(final=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
