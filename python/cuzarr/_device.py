"""Where results go: "cpu" (NumPy) or a GPU (CuPy). CuPy is imported only when a GPU is used."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from . import _core


def find_nvcomp() -> str | None:
    """Point the library at the nvidia-libnvcomp wheel's nvCOMP (``pip install cuzarr[gpu]``),
    unless CUZARR_NVCOMP_LIBRARY already names one. Returns the path used, if any. It is only a
    hint: the library loads nvCOMP on the first GPU decode and goes without it when it fails."""
    if os.environ.get("CUZARR_NVCOMP_LIBRARY"):
        return os.environ["CUZARR_NVCOMP_LIBRARY"]
    try:
        spec = importlib.util.find_spec("nvidia.libnvcomp")
    except (ImportError, ValueError):
        return None
    for root in (spec.submodule_search_locations or []) if spec else []:
        for lib in ("lib64", "lib"):
            candidate = Path(root) / lib / "libnvcomp.so.6"
            if candidate.is_file():
                os.environ["CUZARR_NVCOMP_LIBRARY"] = str(candidate)
                return str(candidate)
    return None


def _cuda_built() -> bool:
    return bool(_core.cuda_built())


def _gpu_count() -> int:
    """GPUs the CUDA runtime sees (0 without a CUDA build, a driver or a GPU)."""
    return int(_core.cuda_device_count()) if _cuda_built() else 0


def gpu_count() -> int:
    """GPUs this build of cuzarr can read into."""
    return _gpu_count()


def resolve_device(device) -> str | int:
    """Normalise ``device``: "cpu", or a GPU number. None means a GPU when one is usable, else
    "cpu"; "cuda" means CuPy's current GPU; "cuda:N" and N name GPU N. A GPU that cannot be used
    raises here, so that errors come at open time."""
    if device is None:
        return _current_gpu() if _gpu_count() > 0 else "cpu"
    if isinstance(device, str):
        name = device.strip().lower()
        if name == "cpu":
            return "cpu"
        if name.startswith("cuda:") and name[5:].isdigit():
            device = int(name[5:])
        elif name != "cuda":
            raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or a GPU number, got {device!r}")
    elif isinstance(device, (bool, np.bool_)) or not isinstance(device, (int, np.integer)) or device < 0:
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or a GPU number, got {device!r}")
    if not _cuda_built():
        raise _core.UnsupportedError(
            f"device={device!r} needs a CUDA build and a GPU: this build of cuzarr reads into host "
            "memory only; use device='cpu'"
        )
    count = _gpu_count()
    if count == 0:
        raise _core.CudaError(f"device={device!r}: no usable GPU (no CUDA device or driver); use device='cpu'")
    if device == "cuda":
        return _current_gpu()
    device = int(device)
    if not 0 <= device < count:
        raise _core.CudaError(f"device={device}: there are only {count} GPUs")
    return device


def _current_gpu() -> int:
    try:
        import cupy

        return int(cupy.cuda.runtime.getDevice())
    except Exception:  # CuPy missing or unable to talk to the driver: the first GPU
        return 0


def cupy_module():
    # In a child forked after CUDA was initialised, the core's clear CudaError (use 'spawn') comes
    # here, before CuPy meets the unusable driver with its own "initialization error".
    if _cuda_built():
        _core.cuda_device_count()
    try:
        import cupy
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise _core.UnsupportedError("GPU results are CuPy arrays: install cupy-cuda13x (pip install cuzarr[cuda])") from e
    return cupy


def cuda_array_interface(out):
    """(pointer, shape, byte strides, typestr) of an object exposing __cuda_array_interface__."""
    cai = out.__cuda_array_interface__
    shape = tuple(int(s) for s in cai["shape"])
    itemsize = np.dtype(cai["typestr"]).itemsize
    strides = cai.get("strides")
    if strides is None:
        strides, step = [], itemsize
        for s in reversed(shape):
            strides.append(step)
            step *= s
        strides = tuple(reversed(strides))
    ptr, read_only = cai["data"]
    if read_only:
        raise ValueError("the output array is read-only")
    return int(ptr), shape, tuple(int(s) for s in strides), cai["typestr"]
