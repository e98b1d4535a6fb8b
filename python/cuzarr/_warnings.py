"""Warnings attributed to the user's line, not to cuzarr's.

A warning names the file and line where ``warnings.warn`` says it happened. xarray's own helper
skips only xarray's frames, so a warning cuzarr's backend raised through it pointed at
cuzarr/backend.py. Here every frame of cuzarr, xarray and the standard library is skipped: the
warning names the first line of the caller's own code, as engine="zarr" does."""

from __future__ import annotations

import sys
import sysconfig
import warnings
from pathlib import Path

_OURS = str(Path(__file__).resolve().parent)
_STDLIB = str(Path(sysconfig.get_paths()["stdlib"]).resolve())


def _skipped(filename: str) -> bool:
    if filename.startswith(_OURS) or (filename.startswith(_STDLIB) and "-packages" not in filename):
        return True
    xarray = sys.modules.get("xarray")
    return bool(xarray and xarray.__file__ and filename.startswith(str(Path(xarray.__file__).parent)))


def warn_at_caller(message: str, category: type[Warning]) -> None:
    """warnings.warn, with the stack level of the first frame outside cuzarr, xarray and the
    standard library."""
    frame = sys._getframe(1)
    level = 2  # 1 would be this function's own line; 2 the frame that called it
    while frame is not None and _skipped(str(Path(frame.f_code.co_filename).resolve())):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
