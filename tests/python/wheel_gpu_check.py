"""Run by scripts/test-wheel-gpu inside the venv that holds the installed wheel, on a GPU machine:
compressed arrays read into CuPy must equal the data written, and their chunks must have been
decompressed on the GPU where this installation can (blosc-lz4 always, with cuzarr's own kernel;
zlib and zstd when nVCOMP's wheel is installed: pip install cuzarr[gpu]).

    python wheel_gpu_check.py WORKDIR

The zlib store is written by hand (the format is a .zarray and zlib streams), so this needs no
zarr-python; blosc and zstd stores are added when numcodecs is importable. Each read runs in a
child with CUZARR_LOG=debug, whose log says how many chunks the GPU decompressed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # stores.py

import numpy as np  # noqa: E402

from stores import write_v2_metadata  # noqa: E402

SHAPE, CHUNKS = (300, 500), (128, 256)


def sample() -> np.ndarray:
    rng = np.random.default_rng(21)
    smooth = np.sin(np.arange(SHAPE[0] * SHAPE[1]) * 1e-3).reshape(SHAPE) * 1000
    return (smooth + rng.normal(0, 3, SHAPE)).astype("<f4")


def write(path: Path, data: np.ndarray, compressor: dict, encode) -> None:
    """A v2 array with every chunk (edge chunks padded to the full chunk shape) encoded by
    ``encode``."""
    write_v2_metadata(path, shape=SHAPE, chunks=CHUNKS, dtype="<f4", fill_value=0.0, compressor=compressor)
    for i in range(0, SHAPE[0], CHUNKS[0]):
        for j in range(0, SHAPE[1], CHUNKS[1]):
            chunk = np.zeros(CHUNKS, dtype="<f4")
            part = data[i:i + CHUNKS[0], j:j + CHUNKS[1]]
            chunk[: part.shape[0], : part.shape[1]] = part
            (path / f"{i // CHUNKS[0]}.{j // CHUNKS[1]}").write_bytes(encode(chunk.tobytes()))


def stores(root: Path, data: np.ndarray) -> dict[str, bool]:
    """Writes the stores; name -> whether its chunks must decode on the GPU here."""
    nvcomp = bool(os.environ.get("CUZARR_NVCOMP_LIBRARY"))
    out = {}
    write(root / "zlib.zarr", data, {"id": "zlib", "level": 5}, lambda b: zlib.compress(b, 5))
    out["zlib.zarr"] = nvcomp
    try:
        from numcodecs import Blosc, Zstd
    except ImportError:
        print("numcodecs is not installed: only the zlib store is checked")
        return out
    blosc = Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)
    write(root / "blosc-lz4.zarr", data, blosc.get_config(), blosc.encode)
    out["blosc-lz4.zarr"] = True
    zstd = Zstd(level=3)
    write(root / "zstd.zarr", data, zstd.get_config(), zstd.encode)
    out["zstd.zarr"] = nvcomp
    return out


CHILD = """
import sys, numpy as np, cupy, cuzarr
got = cuzarr.open(sys.argv[1], device="cuda")[...]
assert isinstance(got, cupy.ndarray), type(got)
np.save(sys.argv[2], cupy.asnumpy(got))
"""


def main() -> int:
    import cuzarr  # the package of this venv (checked by the caller)

    root = Path(sys.argv[1])
    root.mkdir(parents=True, exist_ok=True)
    data = sample()
    failures = []
    print(f"cuzarr {cuzarr.__version__} from {Path(cuzarr.__file__).parent}; nvCOMP: "
          f"{os.environ.get('CUZARR_NVCOMP_LIBRARY') or cuzarr._device.find_nvcomp() or 'not installed'}")
    for name, on_gpu in stores(root, data).items():
        out = root / f"{name}.npy"
        env = dict(os.environ, CUZARR_LOG="debug", CUZARR_DECODE="gpu")
        r = subprocess.run([sys.executable, "-c", CHILD, str(root / name), str(out)],
                           capture_output=True, text=True, env=env, timeout=300)
        if r.returncode != 0:
            failures.append(f"{name}: the read failed:\n{r.stderr[-3000:]}")
            continue
        if not np.array_equal(np.load(out).view(np.uint32), data.view(np.uint32)):
            failures.append(f"{name}: the CuPy result differs from the data written")
        counts = re.findall(r"(\d+) chunks decompressed on the GPU, (\d+) on the CPU", r.stderr)
        gpu = sum(int(g) for g, _ in counts)
        cpu = sum(int(c) for _, c in counts)
        print(f"{name}: equal; {gpu} chunks decompressed on the GPU, {cpu} on the CPU")
        if on_gpu and (gpu == 0 or cpu != 0):
            failures.append(f"{name}: expected GPU decompression, got {gpu} GPU / {cpu} CPU chunks")
    for f in failures:
        print("FAIL", f)
    print(json.dumps({"failures": len(failures)}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
