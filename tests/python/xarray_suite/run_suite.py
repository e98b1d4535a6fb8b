"""Run xarray's own zarr backend tests with every read through engine="cuzarr".

    python tests/python/xarray_suite/run_suite.py [--workers N] [pytest args...]

Selects, from the installed xarray's tests (xarray/tests/test_backends.py and
test_backends_datatree.py), the directory-store, write-empty, dict-store and datatree classes and
the module-level zarr tests, and runs them with the cuzarr_reads plugin (reads through cuzarr,
writes through zarr). Every test that fails is run again without the plugin, i.e. with
engine="zarr" itself: a test that fails both ways fails because of this environment (for example
zarr-python 3.1 where the tests expect a later release, or pytest-asyncio missing), not because
of cuzarr. The run fails when a test fails only through cuzarr, unless it is one of
ZARR_IS_WRONG below (each with the reason) or one of ZARR_INTERNALS failing on its spy of
zarr-python's own method, or when too few reads went through cuzarr.
Exit status 0 when it passes, 1 when not, 2 when xarray's tests are not installed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

SELECTION = ("TestZarrDirectoryStore or TestZarrWriteEmpty or TestZarrDictStore or TestZarrDatatreeIO "
             "or (not Test and zarr)")

# Tests that fail through cuzarr because engine="zarr" is wrong there, with the reason.
ZARR_IS_WRONG = {
    # xarray's ZarrBackendEntrypoint.open_dataset drops the use_zarr_fill_value_as_mask argument
    # (it passes None to ZarrStore.open_group), so a v2 array's fill_value becomes _FillValue
    # even with use_zarr_fill_value_as_mask=False, and the test expects that. cuzarr honours
    # the argument, as the xarray documentation of the parameter describes.
    "test_zarr_fill_value_setting[2-int]": "engine='zarr' ignores use_zarr_fill_value_as_mask=False",
    "test_zarr_fill_value_setting[2-float]": "engine='zarr' ignores use_zarr_fill_value_as_mask=False",
}

# Tests that spy on zarr-python's own read method (AsyncArray.getitem, patched with a mock) to check
# that engine="zarr" reads asynchronously through it: through cuzarr that method is never called,
# by design. They fail on the mock's assertion only, which is checked (the loaded data they also
# compare is asserted after it). cuzarr's async_getitem runs its read in a worker thread.
ZARR_INTERNALS = ("test_indexing", "test_concurrent_load_multiple_objects", "test_async_load_multiple_variables")
ZARR_INTERNALS_REASON = re.compile(r"Expected 'getitem' to have been called|call_count|assert_awaited")

# A run must route at least this many reads through cuzarr (about 1700 in the full selection).
MIN_ROUTED = 500


def xarray_tests() -> Path | None:
    import xarray

    folder = Path(xarray.__file__).parent / "tests"
    return folder if (folder / "test_backends.py").is_file() else None


def pytest_command(tests: Path, args: list[str], workers: int, plugin: bool) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", f"--rootdir={tests}",
           "-c", os.devnull, "-W", "ignore"]
    if plugin:
        cmd += ["-p", "cuzarr_reads"]
    if workers > 1:
        cmd += ["-n", str(workers)]
    return cmd + args


def failures(output: str) -> dict[str, str]:
    """Failed test id -> the short reason pytest's summary gives."""
    return {m[0]: m[1] for m in re.findall(r"^FAILED (\S+)(?: - (.*))?$", output, re.MULTILINE)}


def failed_ids(output: str) -> list[str]:
    return sorted(failures(output))


def run(cmd: list[str], env: dict, cwd: Path) -> str:
    # Run in the tests' folder, so that the ids of failed tests name them from there.
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=cwd)
    return proc.stdout + proc.stderr


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (default 2; 1: none)")
    opts, extra = parser.parse_known_args(argv)
    tests = xarray_tests()
    if tests is None:
        print("run_suite: the installed xarray has no tests (xarray/tests/test_backends.py); install "
              "xarray's sdist to run them")
        return 2
    env = dict(os.environ)
    env["COLUMNS"] = "1000"  # whole failure reasons in pytest's summary
    env["PYTHONPATH"] = os.pathsep.join([str(HERE)] + [p for p in [env.get("PYTHONPATH")] if p])
    files = ["test_backends.py", "test_backends_datatree.py"]
    with tempfile.TemporaryDirectory() as counts:
        env["CUZARR_READS_COUNTS"] = counts
        out = run(pytest_command(tests, files + ["-k", SELECTION] + extra, opts.workers, True), env, tests)
        routed = {"cuzarr": 0, "zarr": 0}
        for name in os.listdir(counts):
            with open(os.path.join(counts, name)) as f:
                for k, v in json.load(f).items():
                    routed[k] += v
    summary = [line for line in out.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    print("through cuzarr:", summary[-1] if summary else out[-3000:])
    print(f"reads through engine='cuzarr': {routed['cuzarr']}, left with engine='zarr': {routed['zarr']}")
    reasons = failures(out)
    failed = sorted(reasons)
    also_zarr = []
    if failed:
        env.pop("CUZARR_READS_COUNTS")
        again = run(pytest_command(tests, failed + extra, opts.workers, False), env, tests)
        also_zarr = failed_ids(again)
    only_cuzarr = [t for t in failed if t not in also_zarr]
    excused = [t for t in only_cuzarr if t.rsplit("::", 1)[-1] in ZARR_IS_WRONG]
    spying = [t for t in only_cuzarr if t.rsplit("::", 1)[-1].split("[")[0] in ZARR_INTERNALS
              and ZARR_INTERNALS_REASON.search(reasons[t] or "")]
    wrong = [t for t in only_cuzarr if t not in excused and t not in spying]
    for t in also_zarr:
        print(f"  fails with engine='zarr' too (this environment): {t}")
    for t in excused:
        print(f"  engine='zarr' is wrong here ({ZARR_IS_WRONG[t.rsplit('::', 1)[-1]]}): {t}")
    for t in spying:
        print(f"  spies on zarr-python's AsyncArray.getitem, which cuzarr does not call: {t}")
    for t in wrong:
        print(f"  FAILS ONLY THROUGH CUZARR: {t}")
    if wrong:
        print(out[-20000:])
    ok = not wrong and routed["cuzarr"] >= MIN_ROUTED
    if routed["cuzarr"] < MIN_ROUTED:
        print(f"run_suite: only {routed['cuzarr']} reads went through cuzarr (at least {MIN_ROUTED} expected)")
    print("run_suite:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
