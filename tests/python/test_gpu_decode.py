"""GPU decompression (marked `gpu`): arrays compressed by tensorstore (blosc with lz4/zstd/zlib/
blosclz and every shuffle, zstd, gzip, zlib) read into GPU memory with CUZARR_DECODE=gpu must equal
the CPU read bit for bit, whichever chunks the GPU decoded; a corrupt chunk is a CodecError naming
its key while the others read; without nvCOMP, zstd falls back to the CPU. The configuration is
read once per process, so each setting runs in a child process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cuzarr import _core

pytestmark = pytest.mark.gpu

if _core.cuda_device_count() == 0:
    pytest.skip("no GPU (or a build without CUDA): GPU tests skipped", allow_module_level=True)
pytest.importorskip("cupy")
ts = pytest.importorskip("tensorstore")

COMPRESSORS = {
    "blosc-lz4-shuffle": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1},
    "blosc-lz4-bitshuffle": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 2},
    "blosc-lz4-noshuffle": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 0},
    "blosc-lz4hc-shuffle": {"id": "blosc", "cname": "lz4hc", "clevel": 9, "shuffle": 1},
    "blosc-zstd-shuffle": {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 1},
    "blosc-zlib-bitshuffle": {"id": "blosc", "cname": "zlib", "clevel": 5, "shuffle": 2},
    "blosc-blosclz-shuffle": {"id": "blosc", "cname": "blosclz", "clevel": 5, "shuffle": 1},
    "zstd": {"id": "zstd", "level": 3},
    "gzip": {"id": "gzip", "level": 5},
    "zlib": {"id": "zlib", "level": 5},
}
# (dtype, shape, chunks): edge chunks everywhere, a big-endian type, a 1-byte type.
LAYOUTS = [
    ("<f4", (70, 300, 90), (32, 128, 90)),
    (">f8", (50, 260), (32, 128)),
    ("<i2", (300, 500), (128, 256)),
    ("|u1", (600, 700), (256, 512)),
]


def sample(dtype: str, shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.sin(np.arange(int(np.prod(shape))) * 1e-3).reshape(shape) * 1000
    noisy = base + rng.normal(0, 3, shape)
    return noisy.astype(np.dtype(dtype).newbyteorder("="))


def write(path: Path, data: np.ndarray, chunks, dtype: str, compressor: dict) -> None:
    spec = {
        "driver": "zarr",
        "kvstore": {"driver": "file", "path": str(path)},
        "metadata": {"compressor": compressor, "filters": None, "dtype": dtype, "shape": list(data.shape),
                     "chunks": list(chunks), "order": "C", "fill_value": 0},
    }
    t = ts.open(spec, create=True, delete_existing=True).result()
    # Leave the last chunk unwritten: missing chunks read as the fill value on this path too.
    region = tuple(slice(0, max(1, s - 1)) for s in data.shape)
    t[region].write(data[region]).result()


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpu-decode")
    paths = []
    for name, comp in COMPRESSORS.items():
        for k, (dtype, shape, chunks) in enumerate(LAYOUTS):
            p = root / f"{name}-{k}.zarr"
            write(p, sample(dtype, shape, k), chunks, dtype, comp)
            paths.append(str(p))
    return paths


CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np, cupy
    import cuzarr
    rng = np.random.default_rng(0)
    for path in json.loads(sys.argv[1]):
        cpu = cuzarr.open(path, device="cpu")
        gpu = cuzarr.open(path, device="cuda")
        keys = [...]
        for _ in range(3):
            keys.append(tuple(slice(int(a), int(a) + int(rng.integers(1, s - a + 1)), int(rng.integers(1, 3)))
                              for s in cpu.shape for a in [rng.integers(0, s)]))
        for key in keys:
            want, got = cpu[key], cupy.asnumpy(gpu[key])
            if want.dtype != got.dtype or want.shape != got.shape or not np.array_equal(want.view(np.uint8), got.view(np.uint8)):
                print("MISMATCH", path, key, flush=True)
                sys.exit(3)
    print("OK")
    """
)


def run_child(paths, **env):
    full = dict(os.environ, CUZARR_LOG="debug", **env)
    r = subprocess.run([sys.executable, "-c", CHILD, json.dumps(paths)], capture_output=True, text=True, env=full,
                       timeout=600, errors="replace")
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr[-4000:]
    counts = {}
    for m in re.finditer(r"GPU read of '([^']+)' \([^)]*\): (\d+) chunks decompressed on the GPU, (\d+) on the CPU",
                         r.stderr):
        name = Path(m.group(1)).name
        gpu, cpu = counts.get(name, (0, 0))
        counts[name] = (gpu + int(m.group(2)), cpu + int(m.group(3)))
    return counts, r.stderr


def test_gpu_decode_equals_the_cpu_read_for_every_compressor(stores):
    counts, log = run_child(stores, CUZARR_DECODE="gpu")
    blosclz_on_cpu = 0
    for path in stores:
        name = Path(path).name
        gpu, cpu = counts.get(name, (0, 0))
        if name.startswith("blosc-lz4"):
            assert gpu > 0 and cpu == 0, (name, gpu, cpu, log[-3000:])
        if name.startswith("blosc-blosclz"):
            blosclz_on_cpu += cpu
    # No blosclz kernel: such chunks decode on the CPU, not a failure (frames blosc stored
    # uncompressed need no decompressor and stay on the GPU).
    assert blosclz_on_cpu > 0, log[-3000:]


def test_the_debug_log_says_where_the_decode_time_went(stores):
    _, log = run_child([p for p in stores if Path(p).name.startswith("blosc-lz4-")], CUZARR_DECODE="gpu")
    profiles = re.findall(r"GPU decode of '[^']+' \([^)]*\): (\d+) batches \(chunks each (\d+)-(\d+), mean \d+; "
                          r"(\d+) streams\), device busy [\d.]+ ms from [\d.]+ to [\d.]+ ms; until finish [\d.]+ ms, "
                          r"finish [\d.]+ ms; threads' time: load [\d.]+ ms", log)
    assert profiles, log[-3000:]
    for batches, lo, hi, streams in profiles:
        assert int(batches) >= 1 and 1 <= int(lo) <= int(hi) and int(streams) >= int(batches), log[-3000:]


def test_zstd_and_deflate_decode_on_the_gpu_with_nvcomp(stores):
    if not os.environ.get("CUZARR_NVCOMP_LIBRARY"):
        pytest.skip("nvCOMP not installed (pip install cuzarr[gpu])")
    counts, log = run_child([p for p in stores if Path(p).name.startswith(("zstd", "gzip", "zlib", "blosc-zstd", "blosc-zlib"))],
                            CUZARR_DECODE="gpu")
    for name, (gpu, cpu) in counts.items():
        assert gpu > 0 and cpu == 0, (name, gpu, cpu, log[-3000:])


def test_own_lz4_kernel_and_cpu_setting(stores):
    lz4 = [p for p in stores if "lz4" in Path(p).name]
    counts, log = run_child(lz4, CUZARR_DECODE="gpu", CUZARR_GPU_LZ4="own")
    assert all(g > 0 and c == 0 for g, c in counts.values()), log[-3000:]
    counts, log = run_child(lz4, CUZARR_DECODE="cpu")
    assert not counts, "CUZARR_DECODE=cpu never decodes on the GPU"


def test_without_nvcomp_zstd_decodes_with_cuzarrs_kernels_or_on_the_cpu(stores):
    zstd = [p for p in stores if Path(p).name.startswith("zstd")]
    # CUZARR_GPU_ZSTD=auto: cuzarr's own zstd kernels take the chunks nvCOMP would have.
    counts, log = run_child(zstd, CUZARR_DECODE="gpu", CUZARR_NVCOMP_LIBRARY="/nonexistent/libnvcomp.so.6")
    assert counts and all(g > 0 for g, _ in counts.values()), log[-3000:]
    # ... and with nvcomp asked for but missing, the CPU.
    counts, log = run_child(zstd, CUZARR_DECODE="gpu", CUZARR_NVCOMP_LIBRARY="/nonexistent/libnvcomp.so.6",
                            CUZARR_GPU_ZSTD="nvcomp")
    assert not counts and "needs nvCOMP" in log, log[-3000:]


def test_a_corrupt_chunk_is_a_codec_error_naming_it_and_the_rest_reads(tmp_path):
    data = (np.arange(256 * 256, dtype=np.float32) // 7).reshape(256, 256)
    path = tmp_path / "bad.zarr"
    write(path, data, (128, 128), "<f4", COMPRESSORS["blosc-lz4-noshuffle"])
    chunk = path / "1.0"
    raw = bytearray(chunk.read_bytes())
    # The first LZ4 stream of block 0 (after the header, the block table and its size field)
    # starts with a match whose offset points before the start of the output.
    start = int.from_bytes(raw[16:20], "little") + 4
    assert raw[2] & 0x02 == 0, "stored uncompressed"
    raw[start:start + 3] = b"\x0f\xff\xff"
    chunk.write_bytes(bytes(raw))
    script = textwrap.dedent(
        f"""
        import cupy, numpy as np, cuzarr
        a = cuzarr.open({str(path)!r}, device="cuda")
        good = cupy.asnumpy(a[:128])
        assert good.shape == (128, 256)
        try:
            a[...]
        except cuzarr.CodecError as e:
            print("ERR", e)
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, CUZARR_DECODE="gpu", CUZARR_GPU_LZ4="own"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "ERR" in r.stdout and "1.0" in r.stdout and "bad.zarr" in r.stdout, r.stdout + r.stderr[-2000:]


def test_a_cpu_share_by_measured_rates_reads_the_same(tmp_path):
    """CUZARR_DECODE_SHARE=auto: the reader threads decode a share of the GPU's chunks (one in
    16 while the rates are being measured), into pinned buffers copied into place for whole
    chunks and through staging for the random selections; every read still equals the CPU's.
    Off by default."""
    data = sample("<f4", (64, 256, 256), 7)
    names = ["blosc-lz4-shuffle"] + (["zstd"] if os.environ.get("CUZARR_NVCOMP_LIBRARY") else [])
    paths = []
    for name in names:
        p = tmp_path / f"{name}.zarr"
        write(p, data, (1, 256, 256), "<f4", COMPRESSORS[name])
        paths.append(str(p))
    counts, log = run_child(paths, CUZARR_DECODE="auto", CUZARR_DECODE_SHARE="auto")
    shared = [int(n) for n in re.findall(r"(\d+) of them shared out by measured rates, CPU share", log)]
    assert len(counts) == len(paths) and all(g > 0 for g, _ in counts.values()), log[-3000:]
    # The whole-array read (63 stored chunks): the 16th and 32nd go to the CPU whatever the rates,
    # which are not known before two CPU decodes.
    assert shared and max(shared) >= 2, log[-3000:]
    # The default: each read's chunks are split by the rates this process measured
    # (cuda/decode_rates.hpp): a chain's first read probes, the later ones are planned; either way
    # every value equals the CPU's read (the child checks).
    counts, log = run_child(paths, CUZARR_DECODE="auto")
    assert "probing" in log and "by measured rates" in log, log[-3000:]
