"""Concurrent reads (docs/reliability.md): 16 threads, and 4 processes, reading overlapping
selections of the same arrays at once get exactly what a serial read gets; reads release the GIL.

The arrays cover the read paths that share state: sharded chunks (index, coalesced inner reads),
compressed chunks decoded into buffers or straight into the output, raw chunks read into place,
order F / transpose views and big-endian swaps, fill values for missing chunks.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import multiprocessing
import os
import random
import sys
import threading
import time
import warnings
import zlib
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.codecs import BytesCodec, GzipCodec, ShardingCodec, TransposeCodec, ZstdCodec

import cuzarr

THREADS = 16
PROCESSES = 4
ROUNDS = 3  # each thread reads every selection this many times, in its own order


def _write(path: Path, data: np.ndarray, chunks, fmt: int, region=None, **kwargs) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(str(path), shape=data.shape, chunks=chunks, dtype=data.dtype, zarr_format=fmt,
                              fill_value=0, **kwargs)
        if region is None:
            z[...] = data
        else:
            z[region] = data[region]
    return path


def _values(shape, dtype, seed) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (np.round(np.sin(np.arange(n) / 7.0) * 1000) + rng.integers(0, 3, n)).astype(dtype).reshape(shape)


@pytest.fixture(scope="module")
def arrays(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("concurrency")
    return {
        "sharded": _write(root / "sharded.zarr", _values((64, 48), "float32", 1), (16, 24), 3,
                          serializer=ShardingCodec(chunk_shape=(8, 8), codecs=[BytesCodec(), ZstdCodec()]),
                          compressors=None),
        "blosc_F_be": _write(root / "blosc.zarr", _values((60, 50), ">i4", 2), (7, 9), 2, order="F",
                             compressors=numcodecs.Blosc(cname="lz4", shuffle=1), filters=None),
        "transpose_gzip": _write(root / "transpose.zarr", _values((20, 18, 6), "float64", 3), (6, 5, 4), 3,
                                 filters=[TransposeCodec(order=(2, 0, 1))], compressors=GzipCodec()),
        "raw": _write(root / "raw.zarr", _values((200, 100), "uint16", 4), (32, 16), 2, compressors=None,
                      filters=None),
        "partly_written": _write(root / "partial.zarr", _values((40, 40), "int16", 5), (8, 8), 3,
                                 region=(slice(5, 30), slice(0, 17)), compressors=ZstdCodec()),
    }


def selections(shape: tuple[int, ...], seed: int, count: int = 24) -> list[tuple]:
    """Overlapping selections of every kind: whole, slices with steps (negative too), integers,
    index arrays with repeats, boolean masks."""
    rng = random.Random(seed)
    out: list[tuple] = [(), tuple(slice(None) for _ in shape)]
    for _ in range(count - 2):
        key = []
        for n in shape:
            kind = rng.choice(["slice", "slice", "step", "int", "index", "mask"])
            if kind == "slice":
                a = rng.randrange(n)
                key.append(slice(a, rng.randrange(a, n) + 1))
            elif kind == "step":
                key.append(slice(rng.randrange(n), None, rng.choice([2, 3, -1, -2])))
            elif kind == "int":
                key.append(rng.randrange(-n, n))
            elif kind == "index":
                key.append(np.array([rng.randrange(n) for _ in range(rng.randrange(1, 6))]))
            else:
                key.append(np.array([rng.random() < 0.5 for _ in range(n)]))
        out.append(tuple(key))
    return out


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes() + str((a.shape, a.dtype.str)).encode()).hexdigest()


def serial_reference(arrays: dict[str, Path]) -> dict[tuple[str, int], str]:
    ref = {}
    for name, path in arrays.items():
        a = cuzarr.open(path)
        for i, key in enumerate(selections(a.shape, zlib.crc32(name.encode()))):
            ref[(name, i)] = digest(a[key])
    return ref


def test_sixteen_threads_match_a_serial_read(arrays):
    ref = serial_reference(arrays)
    shared = {name: cuzarr.open(path) for name, path in arrays.items()}  # the same objects in every thread
    work = [(name, i, key) for name, a in shared.items()
            for i, key in enumerate(selections(a.shape, zlib.crc32(name.encode())))]
    start = threading.Barrier(THREADS)

    def reader(t: int) -> list[str]:
        rng = random.Random(t)
        mine = [w for _ in range(ROUNDS) for w in rng.sample(work, len(work))]
        own = {name: cuzarr.open(path) for name, path in arrays.items()} if t % 2 else shared
        start.wait()
        wrong = []
        for name, i, key in mine:
            got = digest(own[name][key])
            if got != ref[(name, i)]:
                wrong.append(f"thread {t}: {name} selection {i} {key!r}")
        return wrong

    with cf.ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(reader, range(THREADS)))
    wrong = [w for r in results for w in r]
    assert not wrong, "\n".join(wrong[:20])


def test_threads_reading_into_shared_output_views(arrays):
    """Each thread fills its own strided view of one output array (F order, every other column)."""
    a = cuzarr.open(arrays["raw"])
    want = a[...]
    out = np.zeros((want.shape[0], want.shape[1] * 2), dtype=want.dtype, order="F")
    rows = np.array_split(np.arange(want.shape[0]), THREADS)

    def fill(r):
        a.read((slice(r[0], r[-1] + 1),), out=out[r[0]:r[-1] + 1, ::2])

    with cf.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(fill, rows))
    np.testing.assert_array_equal(out[:, ::2], want)
    assert not out[:, 1::2].any(), "a read wrote outside its view"


def test_threads_opening_groups_and_members(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = zarr.open_group(str(tmp_path / "g.zarr"), mode="w", zarr_format=3)
        for i in range(8):
            g.create_array(f"v{i}", shape=(10, 10), chunks=(5, 5), dtype="int32", fill_value=i)
    root = cuzarr.open(tmp_path / "g.zarr")

    def visit(t: int):
        name = f"v{t % 8}"
        return t, sorted(root.keys()), int(root[name][3, 4]), int(cuzarr.open(tmp_path / "g.zarr" / name)[0, 0])

    with cf.ThreadPoolExecutor(THREADS) as pool:
        for t, keys, value, again in pool.map(visit, range(64)):
            assert keys == [f"v{i}" for i in range(8)]
            assert value == again == t % 8


def _process_reader(paths: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, path in paths.items():
        a = cuzarr.open(path)
        for i, key in enumerate(selections(a.shape, zlib.crc32(name.encode()))):
            out[f"{name}/{i}"] = digest(a[key])
    return out


def test_four_processes_match_a_serial_read(arrays):
    ref = {f"{n}/{i}": d for (n, i), d in serial_reference(arrays).items()}
    paths = {name: str(p) for name, p in arrays.items()}
    # spawn: a fresh interpreter each (what dask and multiprocessing users get by default on macOS)
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool:
        results = list(pool.map(_process_reader, [paths] * (PROCESSES * 2)))
    for r in results:
        assert r == ref


@pytest.mark.skipif(bool(os.environ.get("CUZARR_SANITIZED")),
                    reason="clang 14's ASan allocator is not fork-safe (pthread_atfork handlers came in LLVM 18): "
                           "a child forked while another thread allocates can deadlock inside ASan")
def test_forked_processes_after_reads_in_the_parent(arrays):
    """fork after the thread pool exists (the parent has read already): the children's reads work."""
    if sys.platform != "linux":
        pytest.skip("fork is only the default on Linux")
    a = cuzarr.open(arrays["sharded"])
    want = digest(a[...])
    ctx = multiprocessing.get_context("fork")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: what we test
        # multiprocessing.Pool, not ProcessPoolExecutor: terminate() kills children that hang, so
        # a deadlocked child fails this test instead of stopping the whole run.
        pool = ctx.Pool(PROCESSES)
        try:
            got = pool.map_async(_fork_read, [str(arrays["sharded"])] * PROCESSES).get(timeout=120)
        except multiprocessing.TimeoutError:
            pytest.fail("forked children did not finish their reads within 120 s")
        finally:
            pool.terminate()
            pool.join()
    assert got == [want] * PROCESSES


def _fork_read(path: str) -> str:
    return digest(cuzarr.open(path)[...])


def _longest_tick_gap(read) -> float:
    """The longest gap of a thread ticking every millisecond while `read` runs three times."""
    gaps = []
    done = threading.Event()

    def tick():
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        for _ in range(3):
            read()
    finally:
        done.set()
        ticker.join()
    return max(gaps)


def test_reads_release_the_gil(tmp_path):
    """A ticking Python thread keeps ticking while another thread is inside a long read."""
    data = _values((512, 4096), "float64", 6)  # 16 MiB, bz2: a slow decoder
    path = _write(tmp_path / "slow.zarr", data, (512, 512), 2, compressors=numcodecs.BZ2(level=1), filters=None)
    a = cuzarr.open(path)
    t0 = time.perf_counter()
    a[...]
    duration = time.perf_counter() - t0
    if duration < 0.05:
        pytest.skip(f"a read took {duration * 1000:.0f} ms: too fast to tell")

    # Holding the GIL would stall the ticker for a whole read, every time; a stalled machine
    # (shared CI hosts) stalls it once, so a second and third try tell the two apart.
    stalls = []
    for _ in range(3):
        stalls.append(_longest_tick_gap(lambda: a[...]))
        if stalls[-1] < duration / 2:
            break
    assert stalls[-1] < duration / 2, (
        f"the ticker stalled {', '.join(f'{s * 1000:.0f}' for s in stalls)} ms during {duration * 1000:.0f} ms reads")
