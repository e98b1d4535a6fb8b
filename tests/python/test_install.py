"""cuzarr's C++ library as a C++ user installs it (docs/cpp.md).

`cmake -S . -B build/install-test/lib`, `cmake --build`, `cmake --install --prefix <tmp>` (the
defaults: a static library, CUDA when nvcc is found), then examples/cpp is built against that
prefix with find_package(cuzarr) and with `pkg-config --cflags --libs cuzarr`, and against the
copy the Python package carries (`python -m cuzarr --cmake-dir` / `--pkgconfig-dir`); each program
must read a store another library wrote exactly. The library's build tree is kept under build/
so that a second run only relinks; the first compiles the library once more (ccache helps)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cpp_example import ROOT, build_with_cmake, build_with_pkg_config, check_program, reference_store, run

pytestmark = [
    pytest.mark.long("builds and installs the C++ library, then examples/cpp against it: a few minutes the first time"),
    # Under make test-asan the package's library is instrumented (a program would need the
    # sanitizer runtime to link it) and every compiler run would carry it preloaded: packaging is
    # checked by the plain suite.
    pytest.mark.skipif(bool(os.environ.get("CUZARR_SANITIZED")), reason="packaging, not memory safety"),
]

BUILD = ROOT / "build" / "install-test"


@pytest.fixture(scope="module")
def prefix(tmp_path_factory) -> Path:
    """cmake --install of a plain CMake build, as the README says."""
    tree = BUILD / "lib"
    jobs = str(os.cpu_count() or 2)
    # Ninja where there is one, as scikit-build-core uses for build/py: the same compile commands,
    # so a compiler cache serves both trees.
    generator = ["-G", "Ninja"] if shutil.which("ninja") and not (tree / "CMakeCache.txt").exists() else []
    run(["cmake", "-S", ROOT, "-B", tree, "-DCMAKE_BUILD_TYPE=Release", *generator])
    run(["cmake", "--build", tree, "--parallel", jobs])
    where = tmp_path_factory.mktemp("prefix")
    run(["cmake", "--install", tree, "--prefix", where])
    return where


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return reference_store(tmp_path_factory.mktemp("reference"))


def test_install_tree(prefix):
    """The library, the public headers, the CMake package, the pkg-config file and the tool."""
    for rel in ("lib/libcuzarr.a", "include/cuzarr/cuzarr.hpp", "include/cuzarr/array.hpp",
                "lib/cmake/cuzarr/cuzarr-config.cmake", "lib/cmake/cuzarr/cuzarr-config-version.cmake",
                "lib/cmake/cuzarr/cuzarr-targets.cmake", "lib/pkgconfig/cuzarr.pc", "bin/cuzarr"):
        assert (prefix / rel).is_file(), rel
    # Only the public API: no internal header leaks into include/.
    headers = sorted(p.name for p in (prefix / "include" / "cuzarr").iterdir())
    assert headers == sorted(p.name for p in (ROOT / "cpp" / "include" / "cuzarr").iterdir())
    import cuzarr

    assert run([prefix / "bin" / "cuzarr", "--version"]).stdout.strip() == f"cuzarr {cuzarr.__version__}"


def test_example_with_find_package(prefix, reference, tmp_path):
    program = build_with_cmake(BUILD / "example-cmake", f"-DCMAKE_PREFIX_PATH={prefix}")
    printed = check_program(program, *reference, tmp_path)
    assert "float32, shape (40, 33, 5)" in printed


def test_example_with_pkg_config(prefix, reference, tmp_path):
    program = build_with_pkg_config(tmp_path / "read_array_pc", prefix / "lib" / "pkgconfig")
    check_program(program, *reference, tmp_path)


def test_installed_prefix_can_move(prefix, reference, tmp_path):
    """The package and the .pc file locate everything relative to themselves."""
    moved = tmp_path / "elsewhere"
    run(["cp", "-a", prefix, moved])
    program = build_with_cmake(BUILD / "example-moved", f"-Dcuzarr_DIR={moved / 'lib/cmake/cuzarr'}")
    check_program(program, *reference, tmp_path)
    cache = (BUILD / "example-moved" / "CMakeCache.txt").read_text()
    assert str(prefix) not in cache.replace(str(moved), "")


def test_example_against_the_python_package(reference, tmp_path):
    """The installed Python package (here .venv's) carries the headers, the static library and
    the CMake package; python -m cuzarr says where."""
    def where(option: str) -> Path:
        return Path(run([sys.executable, "-m", "cuzarr", option]).stdout.strip())

    cmake_dir, include_dir, pc_dir = where("--cmake-dir"), where("--include-dir"), where("--pkgconfig-dir")
    assert (cmake_dir / "cuzarr-config.cmake").is_file()
    assert (include_dir / "cuzarr" / "cuzarr.hpp").is_file()
    program = build_with_cmake(BUILD / "example-package", f"-Dcuzarr_DIR={cmake_dir}")
    check_program(program, *reference, tmp_path)
    check_program(build_with_pkg_config(tmp_path / "read_array_pc", pc_dir), *reference, tmp_path)


def test_python_m_cuzarr_without_an_option_prints_its_usage():
    proc = subprocess.run([sys.executable, "-m", "cuzarr"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "--cmake-dir" in proc.stdout
