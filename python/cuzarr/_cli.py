"""The `cuzarr` command pip installs: it runs the C++ tool that ships inside the package.

The tool lives in ``cuzarr/bin/`` rather than in the environment's ``bin/`` so that a wheel can
carry it with the libraries it links (auditwheel points its rpath at ``cuzarr.libs/``). Importing
the package first also sets CUZARR_NVCOMP_LIBRARY from an installed nvCOMP wheel, which the tool
inherits."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def executable() -> Path:
    """Where the C++ `cuzarr` tool of this installation is."""
    return Path(__file__).resolve().parent / "bin" / "cuzarr"


def main() -> None:
    exe = executable()
    if not os.access(exe, os.X_OK):
        sys.exit(f"cuzarr: the command-line tool is not part of this installation ({exe} is missing; "
                 "it is built unless CUZARR_BUILD_CLI=OFF)")
    sys.stdout.flush()
    # exec: the tool's exit status, signals and standard streams are the command's own.
    os.execv(exe, ["cuzarr", *sys.argv[1:]])
