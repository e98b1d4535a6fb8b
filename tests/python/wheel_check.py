"""Runs INSIDE the fresh virtual environment that test_wheel.py installs the wheel into (copied
there with stores.py, run with ``python -I``): checks what a user of the wheel gets.

    python -I wheel_check.py MANIFEST.json core      # package, CLI, every store over file/zip/http(s)
    python -I wheel_check.py MANIFEST.json xarray    # the xarray backend (after cuzarr[xarray])

The manifest (written by test_wheel.py) names the expected version, the build tree the package
must not come from, and each store with its expected data (.npy) and its three locations. Prints
one JSON object (what was checked, what failed) and exits 1 when anything failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from importlib import metadata
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # stores.py, copied beside us

import numpy as np  # noqa: E402

from stores import assert_same_array  # noqa: E402


def check_package(manifest: dict, report: dict) -> None:
    import cuzarr
    from cuzarr import _core, _device

    where = Path(cuzarr.__file__).resolve()
    report["package"] = str(where)
    assert where.is_relative_to(Path(sys.prefix).resolve()), f"cuzarr imported from {where}, not from {sys.prefix}"
    assert not where.is_relative_to(Path(manifest["tree"]).resolve()), f"cuzarr imported from the build tree: {where}"
    want = manifest["version"]
    assert cuzarr.__version__ == want, f"cuzarr.__version__ {cuzarr.__version__!r}, wheel {want!r}"
    assert metadata.version("cuzarr") == want, f"installed metadata says {metadata.version('cuzarr')!r}"
    # The wheel is the full build: every store kind and the GPU code, whether or not a GPU is here.
    assert _core.http_built() and _core.zip_built() and _core.cuda_built(), "a feature is missing from the wheel"
    report["gpus"] = _device.gpu_count()  # 0 without a GPU or driver: must not raise
    if report["gpus"] == 0:
        assert _device.resolve_device(None) == "cpu"
    requires = metadata.requires("cuzarr") or []
    report["requires"] = requires
    unconditional = [r for r in requires if "extra ==" not in r]
    assert [r.split(">")[0].split("=")[0].strip() for r in unconditional] == ["numpy"], \
        f"the wheel requires more than numpy: {unconditional}"


def check_cli(manifest: dict, report: dict) -> None:
    exe = Path(sys.prefix) / "bin" / "cuzarr"
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert out == f"cuzarr {manifest['version']}", f"cuzarr --version printed {out!r}"
    report["cli_version"] = out
    # The tool reads with the libraries bundled in the wheel: over HTTP (libcurl) and from a zip.
    case = manifest["cases"][0]
    for kind in ("http", "zip"):
        npy = Path(manifest["work"]) / f"cli-{kind}.npy"
        run = subprocess.run([str(exe), "read", case[kind], "-o", str(npy)], capture_output=True, text=True)
        assert run.returncode == 0, f"cuzarr read {case[kind]}: {run.stderr}"
        assert_same_array(np.load(npy, allow_pickle=True), np.load(case["expected"], allow_pickle=True))


def check_stores(manifest: dict, report: dict) -> None:
    import cuzarr

    failures = report.setdefault("failures", [])
    os.environ["CURL_CA_BUNDLE"] = manifest["ca_bundle"]  # read when each https store opens
    counts = {"file": 0, "zip": 0, "http": 0, "https": 0}
    for case in manifest["cases"]:
        want = np.load(case["expected"], allow_pickle=True)
        for kind in counts:
            try:
                assert_same_array(cuzarr.open(case[kind])[...], want)
                counts[kind] += 1
            except Exception as e:  # every store is tried; failures are listed
                failures.append(f"{case['name']} over {kind}: {type(e).__name__}: {e}")
    report["reads"] = counts


def check_xarray(manifest: dict, report: dict) -> None:
    import pickle

    import xarray as xr

    assert "cuzarr" in xr.backends.list_engines(), "the cuzarr xarray backend is not registered"
    failures = report.setdefault("failures", [])
    opened = 0
    for case in manifest["datasets"]:
        with open(case["expected"], "rb") as f:
            want = pickle.load(f)
        for kind in ("file", "zip", "http"):
            try:
                got = xr.open_dataset(case[kind], engine="cuzarr", device="cpu").load()
                xr.testing.assert_identical(got, want)
                opened += 1
            except Exception as e:
                failures.append(f"xarray {case['name']} over {kind}: {type(e).__name__}: {e}")
    report["datasets"] = opened


def main() -> int:
    manifest = json.loads(Path(sys.argv[1]).read_text())
    steps = {"core": [check_package, check_cli, check_stores], "xarray": [check_xarray]}[sys.argv[2]]
    report: dict = {"failures": []}
    for step in steps:
        try:
            step(manifest, report)
        except Exception:
            report["failures"].append(f"{step.__name__}: {traceback.format_exc(limit=3)}")
    print(json.dumps(report))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
