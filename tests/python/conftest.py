"""Shared fixtures: stores written once per session by real writers (see stores.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import stores  # noqa: E402



@pytest.fixture(scope="session")
def store_factory(tmp_path_factory) -> stores.StoreFactory:
    return stores.StoreFactory(tmp_path_factory.mktemp("stores"))


@pytest.fixture(scope="session")
def cuzarr_cli() -> str:
    """The `cuzarr` command installed next to this Python."""
    exe = Path(sys.executable).parent / "cuzarr"
    if not exe.exists():
        pytest.fail(f"the cuzarr command is not installed next to {sys.executable}")
    return str(exe)
