"""Shared fixtures: stores written once per session by real writers (see stores.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import warnings

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

# S3 stores opened without credentials end their credential chain at the EC2 instance metadata
# service: the tests must not take a CI machine's instance role (or wait for a service that is
# not there). test_s3_credentials.py turns it on against its own fake service.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

import stores  # noqa: E402
from stores import sample_data, seed_of  # noqa: E402


# Tests marked long("what it does") say so before they start, so that a quiet progress line is
# not taken for a hang: once per distinct text (a module-level mark announces its first test).
_announced: set[str] = set()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    mark = item.get_closest_marker("long")
    if mark is None or not mark.args or mark.args[0] in _announced:
        return
    _announced.add(mark.args[0])
    reporter = item.config.pluginmanager.get_plugin("terminalreporter")
    capture = item.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        reporter.write_line(f"{item.nodeid}: {mark.args[0]} ...")


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


@pytest.fixture(scope="session")
def sharded_stores(tmp_path_factory) -> dict[str, tuple[Path, np.ndarray]]:
    """zarr-python v3 sharded arrays: index at the end and at the start, and one with missing
    inner chunks and a missing shard."""
    zarr = pytest.importorskip("zarr")
    root = tmp_path_factory.mktemp("sharded")
    out = {}
    for name, index_location, partial in [("shard_end", "end", False), ("shard_start", "start", False),
                                          ("shard_partial", "end", True)]:
        data = sample_data("float32", (64, 48), seed_of(name))
        path = root / f"{name}.zarr"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from zarr.codecs import BytesCodec, ShardingCodec, ZstdCodec
            a = zarr.create_array(
                str(path), shape=data.shape, dtype=data.dtype, chunks=(32, 24), fill_value=-1.0,
                serializer=ShardingCodec(chunk_shape=(8, 8), codecs=[BytesCodec(), ZstdCodec(level=1)],
                                         index_location=index_location),
                compressors=None,
            )
            if partial:
                a[0:5, 0:20] = data[0:5, 0:20]  # some inner chunks of one shard; other shards absent
                want = np.full(data.shape, -1.0, dtype="f4")
                want[0:5, 0:20] = data[0:5, 0:20]
            else:
                a[...] = data
                want = data
        out[name] = (path, want)
    return out
