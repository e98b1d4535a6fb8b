"""The benchmark harness's own bookkeeping (bench/): stores written once and reused, and cold runs
taken in turns. Its timings are not tested here (machines are shared and noisy)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import datasets as ds  # noqa: E402
from bench.__main__ import Harness  # noqa: E402


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


def test_cold_runs_take_turns_and_evict_before_each(monkeypatch):
    calls = []
    monkeypatch.setattr(ds, "evict", lambda path: calls.append("evict"))

    def run_of(name):
        return lambda: calls.append(name)

    rows = [{"pipeline": "a", "status": "ok"}, {"pipeline": "b", "status": "ok"}]
    _harness(repeat=3, budget=100).time_cold([(rows[0], run_of("a")), (rows[1], run_of("b"))], Path("x"))
    assert calls == ["evict", "a", "evict", "b", "evict", "b", "evict", "a", "evict", "a", "evict", "b"]
    for row in rows:
        assert row["cold"]["runs"] == 3 and len(row["cold"]["times_s"]) == 3


def test_a_failing_cold_run_is_reported_and_the_others_go_on(monkeypatch):
    monkeypatch.setattr(ds, "evict", lambda path: None)
    count = {"b": 0}

    def fails():
        raise OSError("disk gone")

    def works():
        count["b"] += 1

    bad, good = {"pipeline": "a", "status": "ok"}, {"pipeline": "b", "status": "ok"}
    _harness(repeat=4, budget=100).time_cold([(bad, fails), (good, works)], Path("x"))
    assert bad["status"] == "failed (cold): OSError: disk gone" and "cold" not in bad
    assert count["b"] == 4 and good["cold"]["runs"] == 4


def test_cold_runs_stop_after_two_once_over_budget(monkeypatch):
    monkeypatch.setattr(ds, "evict", lambda path: None)
    row = {"pipeline": "a", "status": "ok"}
    _harness(repeat=7, budget=0.0).time_cold([(row, lambda: None)], Path("x"))
    assert row["cold"]["runs"] == 2
