"""The wheel as a user installs it (make wheel, then make test-wheel; skipped unless CUZARR_WHEEL
names a wheel file).

This harness (in .venv) writes the conformance suite's array stores with zarr-python and
tensorstore, zips them, serves them with nginx, and saves what zarr-python reads as the expected
data. A fresh virtual environment outside the build tree, without system site-packages and
without .venv, gets only the wheel and what it declares (numpy); wheel_check.py then runs there:
`import cuzarr`, `cuzarr --version`, every store read exactly over file, zip, HTTP and HTTPS
(a self-signed certificate named by CURL_CA_BUNDLE). Then the
same environment gets ``cuzarr[xarray]`` and the xarray backend reads datasets written by xarray,
and examples/cpp is built against the C++ library, headers and CMake package inside the wheel.
`auditwheel show` must find a manylinux wheel that needs no library outside the manylinux
allow-list.

Environment: CUZARR_WHEEL (the wheel), CUZARR_WHEEL_PYTHON (the Python to make the fresh venv
with; python3 by default; its version must match the wheel's cpXY tag), CUZARR_AUDITWHEEL
(auditwheel; by default the one scripts/build-wheel installed for that Python)."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import stores
from nginx_server import Nginx, find_nginx, self_signed_certificate

pytestmark = [
    pytest.mark.wheel,
    pytest.mark.skipif(not os.environ.get("CUZARR_WHEEL"), reason="no wheel to test: make wheel && make test-wheel"),
]

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# Libraries that must never be inside the wheel nor NEEDED by it: the GPU driver (the static
# CUDA runtime dlopens it) and the run-time-loaded cuFile and nvCOMP.
NEVER_BUNDLED = re.compile(r"^lib(cuda|cudart|nvcomp|cufile)[.-]")


def wheel_file() -> Path:
    path = Path(os.environ["CUZARR_WHEEL"]).resolve()
    assert path.is_file() and path.suffix == ".whl", f"CUZARR_WHEEL={path} is not a wheel file"
    return path


def wheel_tags(path: Path) -> tuple[str, str, str, str]:
    """(version, python tag, abi tag, platform tags) from the file name (PEP 427)."""
    name, version, python_tag, abi_tag, platform_tag = path.stem.split("-")
    assert name == "cuzarr", path.name
    return version, python_tag, abi_tag, platform_tag


def python_for_wheel(path: Path) -> str:
    python = os.environ.get("CUZARR_WHEEL_PYTHON") or "python3"
    tag = subprocess.run([python, "-c", 'import sys; print("cp%d%d" % sys.version_info[:2])'],
                         capture_output=True, text=True, check=True).stdout.strip()
    want = wheel_tags(path)[1]
    if tag != want:
        pytest.fail(f"{python} is {tag} but the wheel is {want}: set CUZARR_WHEEL_PYTHON (make test-wheel PYTHON=...)")
    return python


def clean_env(venv: Path) -> dict[str, str]:
    """The environment a user's shell would give the fresh venv: none of this harness's Python
    settings, the venv's bin first."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_", "CUZARR_", "LD_"))}
    env["PATH"] = f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(args, *, env, cwd) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


# --------------------------------------------------------------------------------------------
# Fixtures written by the real writers, in .venv, before the fresh venv exists


def write_dataset(path: Path, fmt: int):
    """A small CF dataset through xarray's own zarr writer; returns what engine="zarr" reads."""
    import pandas as pd
    import xarray as xr

    rng = np.random.default_rng(21 + fmt)
    air = (250 + 30 * rng.random((6, 4, 5))).astype("f4")
    air[0, 0, 0] = np.nan
    ds = xr.Dataset(
        {"air": (("time", "lat", "lon"), air, {"units": "degK", "long_name": "air temperature"}),
         "count": (("lat", "lon"), rng.integers(0, 1000, (4, 5)).astype("i4"))},
        coords={"time": pd.date_range("2020-01-01", periods=6, freq="6h"),
                "lat": np.linspace(60, 30, 4).astype("f4"), "lon": np.linspace(0, 40, 5).astype("f4")},
        attrs={"title": f"wheel test, zarr v{fmt}"},
    )
    encoding = {"air": {"chunks": (2, 4, 5)}, "count": {"chunks": (2, 5)}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_zarr(path, mode="w", zarr_format=fmt, consolidated=True, encoding=encoding)
        read = xr.open_dataset(path, engine="zarr", consolidated=True).load()
    # Values, coordinates and attributes only: a pickle of the dataset as read would refer to
    # zarr's backend objects, and the fresh venv has no zarr.
    return xr.Dataset.from_dict(read.to_dict(data="array"))


@pytest.fixture(scope="module")
def fixtures(store_factory, tmp_path_factory):
    """Writes the stores and the manifest; serves them over HTTP while the module runs."""
    if find_nginx() is None or shutil.which("openssl") is None:
        pytest.skip("nginx and the openssl command are needed (scripts/bootstrap installs them)")
    import zarr

    work = tmp_path_factory.mktemp("wheel-fixtures")
    www, expected = work / "www", work / "expected"
    www.mkdir()
    expected.mkdir()
    cert, key = self_signed_certificate(work / "tls")
    with Nginx(www, work / "nginx") as server, Nginx(www, work / "nginx-tls", tls=(cert, key)) as tls_server:
        cases = []
        for name in stores.array_case_names():
            path = store_factory.path(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = np.asarray(zarr.open_array(str(path), mode="r")[...])
            npy = expected / f"{name}.npy"
            np.save(npy, want, allow_pickle=True)
            shutil.copytree(path, www / f"{name}.zarr")
            archive = stores.zip_store(path, www / f"{name}.zip", "stored")
            cases.append({"name": name, "expected": str(npy), "file": str(path), "zip": str(archive),
                          "http": f"{server.url}/{name}.zarr", "https": f"{tls_server.url}/{name}.zarr"})
        datasets = []
        for fmt in (2, 3):
            name = f"xarray_v{fmt}"
            path = www / f"{name}.zarr"
            ref = expected / f"{name}.pkl"
            ref.write_bytes(pickle.dumps(write_dataset(path, fmt)))
            archive = stores.zip_store(path, www / f"{name}.zip", "stored")
            datasets.append({"name": name, "expected": str(ref), "file": str(path), "zip": str(archive),
                             "http": f"{server.url}/{name}.zarr"})
        # The https server's certificate is its own CA: the bundled libcurl and OpenSSL must
        # verify against the bundle CURL_CA_BUNDLE names.
        manifest = {"version": wheel_tags(wheel_file())[0], "tree": str(ROOT), "work": str(work),
                    "ca_bundle": str(cert), "cases": cases, "datasets": datasets}
        (work / "manifest.json").write_text(json.dumps(manifest))
        yield work / "manifest.json"


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv with the wheel and nothing else but its declared dependencies (pip resolves
    numpy at constraints.txt's version, from PyPI or pip's cache)."""
    wheel = wheel_file()
    python = python_for_wheel(wheel)
    base = tmp_path_factory.mktemp("wheel-venv")
    assert not base.resolve().is_relative_to(ROOT), "the fresh venv must live outside the build tree"
    venv = base / "venv"
    env = clean_env(venv)
    run([python, "-m", "venv", venv], env=env, cwd=base)
    shutil.copy(ROOT / "constraints.txt", base / "constraints.txt")
    run([venv / "bin/python", "-m", "pip", "install", "--quiet", "-c", "constraints.txt", wheel], env=env, cwd=base)
    for script in ("wheel_check.py", "stores.py"):
        shutil.copy(HERE / script, base / script)
    return venv


def check(venv: Path, manifest: Path, step: str) -> dict:
    base = venv.parent
    proc = subprocess.run([venv / "bin/python", "-I", base / "wheel_check.py", manifest, step],
                          env=clean_env(venv), cwd=base, capture_output=True, text=True)
    try:
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        pytest.fail(f"wheel_check.py {step} crashed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    assert not report["failures"], "\n".join(report["failures"][:30])
    assert proc.returncode == 0, proc.stderr[-4000:]
    return report


# --------------------------------------------------------------------------------------------
# The tests


def test_only_the_wheel_is_installed(venv):
    """The fresh venv holds cuzarr and what the wheel declares (numpy), nothing else."""
    out = run([venv / "bin/python", "-m", "pip", "list", "--format=json"], env=clean_env(venv), cwd=venv.parent)
    names = {p["name"].lower() for p in json.loads(out.stdout)} - {"pip", "setuptools", "wheel"}
    assert names == {"cuzarr", "numpy"}
    cfg = (venv / "pyvenv.cfg").read_text()
    assert re.search(r"include-system-site-packages\s*=\s*false", cfg), cfg


def test_package_cli_and_every_store(venv, fixtures):
    report = check(venv, fixtures, "core")
    cases = len(json.loads(fixtures.read_text())["cases"])
    assert cases == len(stores.array_case_names()) > 20
    assert report["reads"] == {"file": cases, "zip": cases, "http": cases, "https": cases}
    assert report["cli_version"] == f"cuzarr {wheel_tags(wheel_file())[0]}"


def test_xarray_extra(venv, fixtures):
    """`pip install cuzarr[xarray]` adds the backend's dependencies; the backend then reads
    xarray-written datasets over file, zip and HTTP as engine="zarr" does."""
    env = clean_env(venv)
    run([venv / "bin/python", "-m", "pip", "install", "--quiet", "-c", "constraints.txt",
         f"cuzarr[xarray] @ {wheel_file().as_uri()}"], env=env, cwd=venv.parent)
    report = check(venv, fixtures, "xarray")
    assert report["datasets"] == 2 * 3


def test_readme_runs_as_written(venv, tmp_path):
    """The README's install lines (pip install dist/cuzarr-*.whl, then its xarray extra) and every
    snippet and command it marks to run, in the fresh venv, from a folder holding dist/ and
    nothing else. PIP_CONSTRAINT keeps the extras at constraints.txt's versions, the commands as
    written."""
    import readme_snippets

    (tmp_path / "dist").mkdir()
    shutil.copy(wheel_file(), tmp_path / "dist")
    env = {**clean_env(venv), "PIP_CONSTRAINT": str(venv.parent / "constraints.txt")}
    failures = readme_snippets.run_blocks({"install", "python", "shell"}, python=str(venv / "bin/python"),
                                          cwd=tmp_path, env=env)
    assert not failures, "\n".join(failures)


def test_cpp_example_against_the_wheel(venv, tmp_path):
    """The wheel carries cuzarr's headers, static library, CMake package and pkg-config file:
    examples/cpp builds against them (python -m cuzarr --cmake-dir / --pkgconfig-dir) and reads a
    store exactly. Building needs the -dev packages of what the library links, as from source."""
    import cpp_example

    env = clean_env(venv)

    def where(option: str) -> Path:
        return Path(run([venv / "bin/python", "-m", "cuzarr", option], env=env, cwd=venv.parent).stdout.strip())

    cmake_dir, pc_dir = where("--cmake-dir"), where("--pkgconfig-dir")
    assert cmake_dir.is_relative_to(venv) and (cmake_dir / "cuzarr-config.cmake").is_file()
    store, expected = cpp_example.reference_store(tmp_path)
    program = cpp_example.build_with_cmake(tmp_path / "example", f"-Dcuzarr_DIR={cmake_dir}")
    cpp_example.check_program(program, store, expected, tmp_path)
    program = cpp_example.build_with_pkg_config(tmp_path / "read_array_pc", pc_dir)
    cpp_example.check_program(program, store, expected, tmp_path)


def auditwheel() -> str:
    found = os.environ.get("CUZARR_AUDITWHEEL")
    if not found:
        tag = wheel_tags(wheel_file())[1]
        found = str(ROOT / "build" / "wheel" / tag / "venv" / "bin" / "auditwheel")
    if not os.access(found, os.X_OK):
        pytest.skip(f"no auditwheel at {found} (scripts/build-wheel installs it; or set CUZARR_AUDITWHEEL)")
    return found


def manylinux_allow_list(auditwheel_exe: str, policy: str) -> set[str]:
    """The libraries a manylinux policy lets a wheel take from the system, from auditwheel's own
    policy file."""
    code = ("import json, sys, auditwheel.policy as p, pathlib;"
            "d = json.loads((pathlib.Path(p.__file__).parent / 'manylinux-policy.json').read_text());"
            "print(json.dumps([x for x in d if x['name'] == sys.argv[1]][0]['lib_whitelist']))")
    python = Path(auditwheel_exe).parent / "python"
    out = subprocess.run([python, "-c", code, policy], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_auditwheel_show(tmp_path):
    """auditwheel: a manylinux wheel needing no external library; and checked independently,
    every ELF file's NEEDED entries are either inside the wheel or on the allow-list."""
    exe = auditwheel()
    wheel = wheel_file()
    out = subprocess.run([exe, "show", "--json", wheel], capture_output=True, text=True, check=True).stdout
    show = json.loads(out)
    tag = show["overall_tag"]
    assert re.fullmatch(r"manylinux_\d+_\d+_x86_64", tag), show
    assert tag in wheel_tags(wheel)[3].split("."), (tag, wheel.name)
    assert show["external_libs"] == {}, f"libraries neither bundled nor allowed: {show['external_libs']}"
    assert not (show["pyfpe"] or show["ucs2"] or show["unsupported_isa"]), show

    # The dynamic loader comes with libc (the static CUDA runtime links it for its TLS calls).
    allowed = manylinux_allow_list(exe, tag.removesuffix("_x86_64")) | {"ld-linux-x86-64.so.2"}
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp_path)
    elves = [p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes()[:4] == b"\x7fELF"]
    names = {p.name for p in elves}
    assert {"cuzarr"} <= names and any(n.startswith("_core.") for n in names), names
    assert not [n for n in names if NEVER_BUNDLED.match(n)], names
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf (binutils) is not installed")
    for elf in elves:
        dynamic = subprocess.run([readelf, "-d", elf], capture_output=True, text=True, check=True).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
        outside = [n for n in needed if n not in names and n not in allowed]
        assert not outside, f"{elf.relative_to(tmp_path)} needs {outside}, neither in the wheel nor allowed"
        assert not [n for n in needed if NEVER_BUNDLED.match(n)], f"{elf.name} links {needed}"
