"""Resource limits (docs/reliability.md): reads in a process with almost no address space left
(``ulimit -v``, set with RLIMIT_AS in a child process) and reads whose output is larger than memory
end in MemoryError or a cuzarr error, never a crash or another exception; a small selection of a
huge array still reads.

ASan reserves terabytes of shadow address space, so these tests skip under `make test-asan`
(which sets CUZARR_SANITIZED).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.codecs import BytesCodec, ShardingCodec, ZstdCodec

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("CUZARR_SANITIZED")) or not sys.platform.startswith("linux"),
    reason="address-space limits need Linux and no sanitizer (ASan reserves terabytes of shadow memory)")

TIMEOUT = 120

# The child: opens the array, allocates `out` if asked (before the limit), limits its address
# space to what it uses now plus `headroom` bytes, then runs each read and reports how it ended.
CHILD = r"""
import hashlib, json, resource, sys
import numpy as np
import cuzarr

spec = json.loads(sys.argv[1])

def vm_size():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

def key_of(items):
    return tuple(slice(*i) if isinstance(i, list) else i for i in items)

a = cuzarr.open(spec["path"])
out = np.empty(spec["out"], dtype=a.dtype) if spec.get("out") else None
resource.setrlimit(resource.RLIMIT_AS, (vm_size() + spec["headroom"], resource.RLIM_INFINITY))
outcomes = []
for items in spec["reads"]:
    try:
        r = a.read(key_of(items), out=out) if out is not None else a[key_of(items)]
        outcomes.append({"result": "read", "sha": hashlib.sha256(np.ascontiguousarray(r).tobytes()).hexdigest()})
    except MemoryError as e:
        outcomes.append({"result": "MemoryError", "message": str(e)})
    except cuzarr.Error as e:
        outcomes.append({"result": "cuzarr", "type": type(e).__name__, "message": str(e)})
    except BaseException as e:
        outcomes.append({"result": "other", "type": type(e).__name__, "message": str(e)})
print(json.dumps(outcomes), flush=True)
"""


def run_child(path: Path, reads: list, headroom: int, out=None, env=None) -> list[dict]:
    spec = {"path": str(path), "reads": reads, "headroom": headroom, "out": out}
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, f"the reading process died (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    outcomes = json.loads(proc.stdout.strip().splitlines()[-1])
    for o in outcomes:
        assert o["result"] != "other", f"not MemoryError nor a cuzarr error: {o['type']}: {o['message']}"
    return outcomes


def sha(a: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def write(path: Path, data: np.ndarray, chunks, fmt=3, **kwargs) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(str(path), shape=data.shape, chunks=chunks, dtype=data.dtype, zarr_format=fmt,
                              fill_value=0, **kwargs)
        z[...] = data
    return path


@pytest.fixture(scope="module")
def medium(tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    """A 16 MiB float32 array twice: zstd chunks of 1 MiB, and shards of 4 MiB with 256 KiB inner chunks."""
    root = tmp_path_factory.mktemp("limits")
    data = (np.arange(2048 * 2048, dtype="float32") % 1000).reshape(2048, 2048)
    chunked = write(root / "zstd.zarr", data, (512, 512), compressors=ZstdCodec(level=1))
    sharded = write(root / "sharded.zarr", data, (1024, 1024), compressors=None,
                    serializer=ShardingCodec(chunk_shape=(256, 256), codecs=[BytesCodec(), ZstdCodec(level=1)]))
    return chunked, sharded, data


def huge_missing(tmp_path: Path, shape, chunks, dtype="float32") -> Path:
    """An array far larger than memory whose chunks are all missing (fill value 7)."""
    path = tmp_path / "huge.zarr"
    path.mkdir()
    (path / "zarr.json").write_text(json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": list(shape), "data_type": dtype,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        "chunk_key_encoding": {"name": "default"}, "fill_value": 7,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}))
    return path


def test_output_larger_than_memory_is_a_memory_error(tmp_path):
    path = huge_missing(tmp_path, (2**40,), (2**20,))
    outcomes = run_child(path, [[], [[None, None, 2**30]], [2**39], [[2**40 - 5, None, None]]], headroom=1 << 30)
    assert outcomes[0]["result"] == "MemoryError", outcomes[0]
    # Small selections of the same array read: only the chunks they touch exist, as fill values.
    assert [o["result"] for o in outcomes[1:]] == ["read"] * 3, outcomes
    assert outcomes[1]["sha"] == sha(np.full(1024, 7, "float32"))
    assert outcomes[3]["sha"] == sha(np.full(5, 7, "float32"))


def test_two_dimensional_output_larger_than_memory(tmp_path):
    path = huge_missing(tmp_path, (2**30, 2**20), (1024, 1024), "uint8")
    outcomes = run_child(path, [[], [[0, 3], [0, 4]]], headroom=1 << 30)
    assert outcomes[0]["result"] == "MemoryError", outcomes[0]
    assert outcomes[1] == {"result": "read", "sha": sha(np.full((3, 4), 7, "uint8"))}


@pytest.mark.parametrize("headroom_mib", [0, 1, 4, 16, 64])
@pytest.mark.parametrize("which", ["zstd", "sharded"])
@pytest.mark.parametrize("threads", ["1", "16"])
def test_tiny_address_space(medium, which, headroom_mib, threads):
    """Whole and partial reads with `headroom_mib` MiB of address space left (thread stacks,
    decode buffers and the result all need some): each ends in a correct result, MemoryError or a
    cuzarr error, never a crash."""
    chunked, sharded, data = medium
    reads = [[], [[100, 900], [300, 1700, 3]], [[0, 2048, 2]], [5, 7]]
    outcomes = run_child(chunked if which == "zstd" else sharded, reads, headroom=headroom_mib << 20,
                         env={"CUZARR_THREADS": threads})
    want = [data, data[100:900, 300:1700:3], data[0:2048:2], data[5, 7]]
    for o, w in zip(outcomes, want):
        if o["result"] == "read":
            assert o["sha"] == sha(w)


def test_enough_address_space_reads(medium):
    """The control: with room for the result and the decode buffers, the same reads succeed."""
    chunked, sharded, data = medium
    for path in (chunked, sharded):
        outcomes = run_child(path, [[], [[100, 900], [300, 1700, 3]]], headroom=512 << 20,
                             env={"CUZARR_THREADS": "4"})
        assert outcomes == [{"result": "read", "sha": sha(data)},
                            {"result": "read", "sha": sha(data[100:900, 300:1700:3])}]


def test_decode_buffer_that_does_not_fit(tmp_path):
    """One 64 MiB chunk read into an output allocated beforehand: a strided selection needs a
    64 MiB decode buffer, which the limit refuses: MemoryError (std::bad_alloc), not a crash."""
    data = (np.arange(4096 * 4096, dtype="float32") % 251).reshape(4096, 4096)
    path = write(tmp_path / "one_chunk.zarr", data, (4096, 4096), fmt=2, compressors=numcodecs.Zstd(level=1),
                 filters=None)
    outcomes = run_child(path, [[[0, 4096, 2], [0, 4096]]], headroom=16 << 20, out=[2048, 4096],
                         env={"CUZARR_THREADS": "2"})
    assert outcomes[0]["result"] == "MemoryError", outcomes


# The child for bounded planning: the peak resident memory a read adds beyond its output
# (VmHWM after the read less VmHWM before it, the output and a first read already made).
PLAN_CHILD = r"""
import json, sys
import numpy as np
import cuzarr

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

a = cuzarr.open(sys.argv[1])
out = np.full(a.shape, 1, dtype=a.dtype)  # its pages touched now, not counted in the growth
a.read(tuple(slice(0, 1) for _ in a.shape))
before = peak()
a.read(out=out)
print(json.dumps({"growth": peak() - before, "fill": bool((out == 7).all())}), flush=True)
"""


def plan_growth(path: Path, budget_mib: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", PLAN_CHILD, str(path)], capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, "CUZARR_MEMORY_BUDGET": str(budget_mib << 20),
                                                "CUZARR_THREADS": "4"})
    assert proc.returncode == 0, f"the reading process died (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def missing_shard_index(tmp_path: Path, inner: int) -> Path:
    """One shard of `inner` one-byte inner chunks, every one marked absent in its index."""
    path = tmp_path / "shard.zarr"
    path.mkdir()
    (path / "zarr.json").write_text(json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": [inner], "data_type": "uint8",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [inner]}},
        "chunk_key_encoding": {"name": "default"}, "fill_value": 7,
        "codecs": [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [1], "codecs": [{"name": "bytes"}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_location": "end"}}]}))
    (path / "c").mkdir()
    (path / "c" / "0").write_bytes(b"\xff" * (16 * inner))
    return path


# Generous bounds: the growth measured is under 1 MiB for the grids and 26 MiB for the shard
# (whose 16 MiB index is read whole); planning every chunk at once took 384, 191 and 229 MiB.
@pytest.mark.parametrize("case", ["flat", "grid", "shard"])
def test_planning_millions_of_chunks_stays_within_the_budget(tmp_path, case):
    """A read of 3 million one-byte chunks (all missing: fill value) with a 16 MiB budget: the
    plan is made chunk by chunk (shards: batch by batch), so the memory the read adds beyond its
    output stays far below what one record per chunk would take."""
    if case == "flat":
        path, bound = huge_missing(tmp_path, (3_000_000,), (1,), "uint8"), 64 << 20
    elif case == "grid":
        path, bound = huge_missing(tmp_path, (2, 1_500_000), (1, 1), "uint8"), 64 << 20
    else:
        path, bound = missing_shard_index(tmp_path, 1_000_000), 96 << 20
    got = plan_growth(path, 16)
    assert got["fill"], got
    assert got["growth"] < bound, f"a read of millions of chunks grew the peak RSS by {got['growth'] >> 20} MiB"
