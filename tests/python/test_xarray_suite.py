"""xarray's own zarr backend tests with every read through engine="cuzarr" (xarray_suite/).

One test: run_suite.py runs the selected classes of the installed xarray's test_backends.py and
test_backends_datatree.py (about 1260 tests, 2-3 minutes on 2 cores) with reads routed to cuzarr,
and fails when a test fails only through cuzarr. `make test-xarray-suite` runs it with its report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = Path(__file__).parent / "xarray_suite" / "run_suite.py"


@pytest.mark.long("xarray's own zarr backend tests, every read through cuzarr: 2-3 minutes")
@pytest.mark.skipif(bool(os.environ.get("CUZARR_SANITIZED")),
                    reason="parity with engine='zarr', not memory safety: too slow under ASan for what it adds")
def test_xarray_zarr_backend_tests_pass_with_reads_through_cuzarr():
    pytest.importorskip("zarr")
    pytest.importorskip("xdist")
    proc = subprocess.run([sys.executable, str(SUITE)], capture_output=True, text=True, timeout=1200)
    if proc.returncode == 2:
        pytest.skip(proc.stdout.strip())
    assert proc.returncode == 0, proc.stdout[-30000:] + proc.stderr[-5000:]
    assert "run_suite: OK" in proc.stdout
