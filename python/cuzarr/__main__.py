"""``python -m cuzarr``: where this installation's C++ development files are.

The package carries cuzarr's headers, its static library and a CMake package (``cuzarr::cuzarr``),
so a C++ program can be built against the same cuzarr as the Python code (docs/cpp.md)::

    cmake -S . -B build -Dcuzarr_DIR="$(python -m cuzarr --cmake-dir)"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _existing(path: Path, what: str) -> str:
    if not path.exists():
        sys.exit(f"cuzarr: this installation has no {what} ({path} is missing)")
    return str(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cuzarr", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="store_true", help="print cuzarr's version")
    parser.add_argument("--cmake-dir", action="store_true",
                        help="print the folder of cuzarr-config.cmake (for cuzarr_DIR or CMAKE_PREFIX_PATH)")
    parser.add_argument("--include-dir", action="store_true", help="print the folder holding cuzarr/*.hpp")
    parser.add_argument("--pkgconfig-dir", action="store_true", help="print the folder of cuzarr.pc (for PKG_CONFIG_PATH)")
    args = parser.parse_args(argv)
    lines = []
    if args.version:
        from . import __version__
        lines.append(__version__)
    if args.cmake_dir:
        lines.append(_existing(_HERE / "lib" / "cmake" / "cuzarr", "CMake package"))
    if args.include_dir:
        lines.append(_existing(_HERE / "include", "C++ headers"))
    if args.pkgconfig_dir:
        lines.append(_existing(_HERE / "lib" / "pkgconfig", "pkg-config file"))
    if not lines:
        parser.print_help()
        sys.exit(1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
