"""Builds and runs examples/cpp (a program using cuzarr's C++ API) against an installed cuzarr:
through its CMake package or its pkg-config file. Used by test_install.py (cmake --install and
the package in .venv) and test_wheel.py (the built wheel)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cpp"


def fixtures_dir() -> Path:
    """The tensorstore-written stores: CUZARR_TS_FIXTURES, else ../shared/fixtures/tensorstore
    beside the checkout, else the team machines' copy."""
    if os.environ.get("CUZARR_TS_FIXTURES"):
        return Path(os.environ["CUZARR_TS_FIXTURES"])
    beside = ROOT.parent / "shared" / "fixtures" / "tensorstore"
    return beside if beside.is_dir() else Path("/work/shared/fixtures/tensorstore")


def reference_store(work: Path) -> tuple[Path, np.ndarray]:
    """A compressed v3 store written by another library and the array it holds: tensorstore's
    v3_zstd when the shared fixtures are there, else one zarr-python writes now."""
    fixture = fixtures_dir() / "v3_zstd"
    if (fixture / "zarr.json").is_file():
        entry = [e for e in json.loads((fixtures_dir() / "manifest.json").read_text()) if e["name"] == "v3_zstd"][0]
        return fixture, np.load(fixture / "expected.npy").reshape(entry["shape"])
    import zarr
    from zarr.codecs import ZstdCodec

    data = np.arange(40 * 33 * 5, dtype="f4").reshape(40, 33, 5) * 0.5 - 100
    path = work / "reference.zarr"
    a = zarr.create_array(str(path), shape=data.shape, dtype=data.dtype, chunks=(12, 10, 5),
                          compressors=[ZstdCodec(level=1)], zarr_format=3)
    a[...] = data
    return path, data


def run(args, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, (f"{shlex.join(map(str, args))} failed ({proc.returncode}):\n"
                                  f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}")
    return proc


def build_with_cmake(build_dir: Path, *cmake_args: str) -> Path:
    """Configures examples/cpp with the given -D arguments (how to find cuzarr), builds it and
    returns the program. A fresh tree each time: a stale cache could remember another cuzarr."""
    shutil.rmtree(build_dir, ignore_errors=True)
    run(["cmake", "-S", EXAMPLE, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", *cmake_args])
    run(["cmake", "--build", build_dir])
    return build_dir / "read_array"


def build_with_pkg_config(out: Path, pkgconfig_dir: Path) -> Path:
    """Compiles examples/cpp/main.cpp in one command line, the flags from `pkg-config --cflags
    --libs cuzarr` (the headers want C++20)."""
    env = {**os.environ, "PKG_CONFIG_PATH": str(pkgconfig_dir)}
    flags = run(["pkg-config", "--cflags", "--libs", "cuzarr"], env=env).stdout.split()
    cxx = os.environ.get("CXX", "c++")
    run([cxx, "-std=c++20", "-O1", EXAMPLE / "main.cpp", "-o", out, *flags])
    return out


def check_program(program: Path, store: Path, expected: np.ndarray, work: Path) -> str:
    """Runs the example on `store`: it must read the whole array exactly (its bytes, written to a
    file) and the same first index into its own buffer. Returns what it printed."""
    out = work / f"{program.name}-{store.name}.bin"
    proc = run([program, store, out])
    assert "first index read into our own buffer: same" in proc.stdout, proc.stdout
    got = np.frombuffer(out.read_bytes(), dtype=expected.dtype.newbyteorder("=")).reshape(expected.shape)
    np.testing.assert_array_equal(got, expected)
    return proc.stdout
