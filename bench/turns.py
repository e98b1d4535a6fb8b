"""Timed runs taken in turns.

Pipelines (or settings, each in its own process) compared in one run take turns: A B C, then
C B A, then A B C, ... A slow spell of the machine or the disk -- on the shared machines the
harness runs on they last seconds -- then reaches each of them alike, instead of whichever ran
during it.
"""

from __future__ import annotations

from typing import Callable, Sequence


def take_turns(contestants: Sequence[Callable[[], float]], repeat: int,
               budget: float) -> tuple[list[list[float]], dict[int, str]]:
    """Calls each contestant (one timed run; returns its seconds) up to `repeat` times, in turns
    whose order reverses every turn. A contestant stops after 2 runs once its runs add up to more
    than `budget` seconds, and at its first exception. Returns each one's times and, by index,
    the exceptions ("Type: message")."""
    times: list[list[float]] = [[] for _ in contestants]
    errors: dict[int, str] = {}
    for turn in range(repeat):
        order = range(len(contestants)) if turn % 2 == 0 else reversed(range(len(contestants)))
        for i in order:
            if i in errors or (turn >= 2 and sum(times[i]) > budget):
                continue
            try:
                times[i].append(contestants[i]())
            except Exception as e:  # noqa: BLE001 - reported in the contestant's row
                errors[i] = f"{type(e).__name__}: {e}"
    return times, errors
