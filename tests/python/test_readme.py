"""The README's snippets and commands run as written (readme_snippets.py says which): here in this
environment, with the installed package, in an empty folder; test_wheel.py also runs them, and
the install lines, in a fresh venv with the wheel."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import readme_snippets


def test_readme_marks_blocks_to_run():
    kinds = [b.kind for b in readme_snippets.blocks()]
    assert kinds.count("python") >= 3 and kinds.count("shell") >= 2 and kinds.count("install") == 1, kinds
    first = readme_snippets.blocks()[0]
    assert first.kind == "python" and len(first.code.splitlines()) <= 10, "the first read is ten lines at most"
    assert 'engine="cuzarr"' in first.code


def test_readme_python_blocks_import_what_they_use():
    for block in readme_snippets.blocks():
        if block.kind == "python" and "np." in block.code:
            assert "import numpy as np" in block.code, f"README.md:{block.line} uses np without importing it"


def test_readme_runs_as_written(tmp_path):
    pytest.importorskip("zarr")
    pytest.importorskip("xarray")
    env = readme_snippets.environment(Path(sys.executable).parent)
    failures = readme_snippets.run_blocks({"python", "shell"}, python=sys.executable, cwd=tmp_path, env=env)
    assert not failures, "\n".join(failures)
    # What the first read wrote is what `cuzarr read` (the Command line section) gives back.
    air = np.random.default_rng(0).normal(280, 10, (120, 73, 144)).astype("f4")
    np.testing.assert_array_equal(np.load(tmp_path / "air.npy"), air)
    np.testing.assert_array_equal(np.load(tmp_path / "part.npy"), air[0:10, 5, ::2])
