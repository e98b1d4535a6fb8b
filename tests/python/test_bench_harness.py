"""The benchmark harness's own bookkeeping (bench/): stores written once and reused, runs taken in
turns, variants in processes of their own. Its timings are not tested here (machines are shared
and noisy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import datasets as ds  # noqa: E402
from bench.__main__ import Harness, Opened  # noqa: E402
from bench.turns import take_turns  # noqa: E402


def test_a_store_written_once_is_reused(tmp_path):
    pytest.importorskip("tensorstore")
    d = ds.Dataset("raw-v3", "raw-v3", (4, 32, 32), (2, 32, 32), notes="tiny")
    first, second = [], []
    path = ds.ensure(tmp_path, [d], threads=1, log=first.append)[d.name]
    written = sorted(p.stat().st_mtime_ns for p in ds.store_files(path))
    ds.ensure(tmp_path, [d], threads=1, log=second.append)
    assert len(first) == 1 and "writing" in first[0]
    assert second == [], "the manifest must recognise a store it wrote (tuples and lists alike)"
    assert sorted(p.stat().st_mtime_ns for p in ds.store_files(path)) == written

    # Other parameters, other data: written again.
    changed = ds.Dataset("raw-v3", "raw-v3", (6, 32, 32), (2, 32, 32), notes="tiny")
    third = []
    ds.ensure(tmp_path, [changed], threads=1, log=third.append)
    assert len(third) == 1


def _harness(repeat, budget):
    return Harness(SimpleNamespace(repeat=repeat, budget=budget, verbose=False), gpu=False)


def test_turns_reverse_their_order_every_turn():
    calls = []
    times, errors = take_turns([lambda n=n: calls.append(n) or 0.5 for n in "abc"], repeat=3, budget=100)
    assert calls == list("abccbaabc")
    assert times == [[0.5] * 3] * 3 and errors == {}


def test_a_failing_contestant_stops_and_the_others_go_on():
    count = {"b": 0}

    def fails():
        raise OSError("disk gone")

    def works():
        count["b"] += 1
        return 0.1

    times, errors = take_turns([fails, works], repeat=4, budget=100)
    assert errors == {0: "OSError: disk gone"} and times[0] == []
    assert count["b"] == 4 and len(times[1]) == 4


def test_a_contestant_stops_after_two_runs_once_over_budget():
    times, _ = take_turns([lambda: 2.0, lambda: 0.1], repeat=7, budget=1.0)
    assert len(times[0]) == 2 and len(times[1]) == 7


def test_cold_runs_evict_the_store_before_each_run(monkeypatch):
    calls = []
    monkeypatch.setattr(ds, "evict", lambda path: calls.append("evict"))
    ops = [Opened({"pipeline": name, "status": "ok"}, lambda name=name: calls.append(name)) for name in "ab"]
    _harness(repeat=3, budget=100).time_turns(ops, Path("x"), "cold")
    assert calls == ["evict", "a", "evict", "b", "evict", "b", "evict", "a", "evict", "a", "evict", "b"]
    for op in ops:
        op.close()
        assert op.row["cold"]["runs"] == 3 and len(op.row["cold"]["times_s"]) == 3
        assert "rss_growth_mib" in op.row


def test_a_failing_cold_run_is_reported_in_its_row(monkeypatch):
    monkeypatch.setattr(ds, "evict", lambda path: None)

    def fails():
        raise OSError("disk gone")

    bad, good = Opened({"pipeline": "a", "status": "ok"}, fails), Opened({"pipeline": "b", "status": "ok"}, lambda: None)
    _harness(repeat=4, budget=100).time_turns([bad, good], Path("x"), "cold")
    assert bad.row["status"] == "failed (cold): OSError: disk gone" and "cold" not in bad.row
    assert good.row["cold"]["runs"] == 4


def test_variants_run_in_processes_of_their_own_and_report_failures(tmp_path):
    """Two variants, one of them a setting cuzarr refuses: both get rows, timed in turns."""
    pytest.importorskip("tensorstore")
    out = tmp_path / "out.json"
    cmd = [sys.executable, "-m", "bench", "--dir", str(tmp_path / "data"), "--device", "cpu", "--size", "8M",
           "--small-size", "1M", "--repeat", "3", "--modes", "warm", "--pipelines", "cuzarr", "--workloads", "raw",
           "--variants", "one:CUZARR_THREADS=1;bad:CUZARR_DECODE=fast", "--json", str(out), "--quiet"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {r["pipeline"]: r for r in json.loads(out.read_text())["results"]}
    assert set(rows) == {"cuzarr", "cuzarr[one]", "cuzarr[bad]"}
    one = rows["cuzarr[one]"]
    assert one["status"] == "ok" and one["warm"]["runs"] == 3 and one["variant"] == {"CUZARR_THREADS": "1"}
    assert one["rss_growth_mib"] >= 0
    assert "CUZARR_DECODE must be auto, cpu or gpu, got 'fast'" in rows["cuzarr[bad]"]["status"]
    assert "warm" not in rows["cuzarr[bad]"]
    assert done.stderr.count("writing") == 1, "the variants reuse the parent's store"


def test_a_workloads_pipelines_are_checked_then_timed_in_turns(monkeypatch):
    from bench.pipelines import Pipeline, Workload

    calls = []
    monkeypatch.setattr(ds, "evict", lambda path: calls.append("evict"))

    def pipeline(name):
        def setup(w, path):
            run = lambda: calls.append(name)  # noqa: E731
            run.close = lambda: calls.append(f"close {name}")
            return run
        return Pipeline(name, "limit", "cpu", setup)

    h = _harness(repeat=2, budget=100)
    rows = h.bench(Workload("raw", "raw-v3"), None, Path("x"),
                   [(pipeline("a"), ["warm", "cold"]), (pipeline("b"), ["warm"])])
    assert calls == ["a", "b",  # first runs (checks)
                     "a", "b", "b", "a",  # warm, in turns
                     "evict", "a", "evict", "a",  # cold
                     "close a", "close b"]
    assert [r["pipeline"] for r in rows] == ["a", "b"] and h.results == rows
    assert rows[0]["warm"]["runs"] == 2 and rows[0]["cold"]["runs"] == 2 and "cold" not in rows[1]


def test_memory_growth_counts_a_pipelines_own_runs_only():
    np = pytest.importorskip("numpy")
    kept, other = [], []

    def run():
        if not kept:
            kept.append(np.ones(64 << 20, np.uint8))  # what its first run keeps (a pool, say)
        scratch = np.ones(32 << 20, np.uint8)  # freed at the end of each run
        return scratch.sum()

    op = Opened({"pipeline": "a", "status": "ok"}, run)
    op.measured()
    other.append(np.ones(256 << 20, np.uint8))  # another pipeline, between its runs
    op.one(Path("x"), cold=False)
    growth = op.row["rss_growth_mib"]
    # 64 kept (+ up to 32 of scratch, when a 10 ms sample catches it), not the other's 256
    assert 60 <= growth < 200, growth


def test_targets_hold_rows_against_bounds_and_other_rows():
    from bench import targets

    def row(w, p, role, warm=None, cold=None, peer_x=None, rss=None):
        r = {"workload": w, "pipeline": p, "role": role}
        if warm is not None:
            r["warm"] = {"gbps": warm, **({"vs_best_peer": peer_x} if peer_x else {})}
        if cold is not None:
            r["cold"] = {"gbps": cold}
        if rss is not None:
            r["rss_growth_mib"] = rss
        return r

    results = [
        row("blosc-lz4", "cuzarr", "cuzarr", warm=58.0, cold=2.6, peer_x=18.0, rss=271),
        row("blosc-lz4", "limit-pread-4", "limit", warm=30.0),
        row("blosc-lz4", "limit-pread-16", "limit", warm=65.0, cold=2.8),
        row("blosc-lz4", "cuzarr[cpu]", "cuzarr", warm=3.7, rss=170),
        row("blosc-lz4", "cuzarr[gpu]", "cuzarr", warm=64.0, rss=400),
        row("zstd-v3", "cuzarr", "cuzarr", warm=14.0, peer_x=3.9),
    ]
    checks = {c["target"]: c for c in targets.evaluate(results)}
    limit = checks["blosc-lz4: >= 90% of limit-pread-16 (x ratio)"]
    assert not limit["met"] and limit["figure"] == "58.00 of 65.00, 89.2%"
    assert checks["blosc-lz4: >= 25 GB/s"]["met"]
    assert checks["blosc-lz4: >= 4x the best peer"]["met"]
    assert checks["blosc-lz4 cold: >= 90% of limit-pread-16 (x ratio)"]["met"]  # 2.6 of 2.8
    auto = checks["blosc-lz4: cuzarr within 10% of the better of cuzarr[cpu] and cuzarr[gpu]"]
    assert auto["met"] and auto["figure"] == "58.00 against 64.00, 90.6%"
    assert not checks["zstd-v3: >= 40 GB/s"]["met"] and not checks["zstd-v3: >= 4x the best peer"]["met"]
    assert not checks["blosc-lz4 cuzarr[gpu]: host memory growth <= 384 MiB"]["met"]
    assert checks["blosc-lz4 cuzarr[cpu]: host memory growth <= 384 MiB"]["met"]
    assert "zstd-v3 cold: >= 90% of limit-pread-16 (x ratio)" not in checks  # no rows for it

    # With an `auto` variant, that row is the one compared (the three ran in turns).
    results.append(row("blosc-lz4", "cuzarr[auto]", "cuzarr", warm=56.0))
    checks = {c["target"]: c for c in targets.evaluate(results)}
    assert not checks["blosc-lz4: cuzarr[auto] within 10% of the better of cuzarr[cpu] and cuzarr[gpu]"]["met"]
    assert targets.markdown(targets.evaluate(results)).startswith("5 of 10 met.")

    # zstd of big chunks against 70% of the pread limit; partial reads against tensorstore-cupy.
    results += [
        row("zstd-v3", "limit-pread-16", "limit", warm=56.0),
        row("box-zstd", "cuzarr", "cuzarr", warm=9.0),
        row("box-zstd", "tensorstore-cupy", "peer", warm=5.0),
        row("map-zstd", "cuzarr", "cuzarr", warm=1.4),
        row("map-zstd", "tensorstore-cupy", "peer", warm=1.0),
    ]
    checks = {c["target"]: c for c in targets.evaluate(results)}
    share = checks["zstd-v3: >= 70% of limit-pread-16 (x ratio)"]
    assert not share["met"] and share["figure"] == "14.00 of 56.00, 25.0%"
    assert checks["box-zstd: >= 1.5x tensorstore-cupy"]["met"]
    assert checks["box-zstd: >= 1.5x tensorstore-cupy"]["figure"] == "1.80x"
    assert not checks["map-zstd: >= 1.5x tensorstore-cupy"]["met"]
