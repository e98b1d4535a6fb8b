"""A pytest plugin that sends xarray's own zarr backend tests' READS through cuzarr.

Loaded with ``-p cuzarr_reads`` (tests/python/xarray_suite on sys.path; see run_suite.py). It
replaces the backend xarray looks up for ``engine="zarr"`` by one that opens every read of a
path, a zarr-python store or a mapping with ``engine="cuzarr", device="cpu"``; writes, and reads
of objects only xarray's zarr backend knows (its ZarrStore), still go to xarray's zarr backend,
which the tests use to write their data. ``open_dataset``, ``open_zarr``, ``open_datatree`` and
``open_groups`` all find backends through ``xarray.backends.plugins.get_backend``.

At the end it prints (and, with CUZARR_READS_COUNTS=<folder>, writes per process) how many reads
went through cuzarr and how many stayed with zarr, so a run that routed nothing cannot pass for a
successful one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest

COUNTS = {"cuzarr": 0, "zarr": 0}

# The zarr backend's parameters that only concern writing or zarr-python's own objects: a read
# through cuzarr drops them (their read-time meaning is cuzarr's default).
_DROPPED = ("mode", "zarr_format", "zarr_version", "cache_members", "synchronizer", "engine", "store")


def _routable(filename_or_obj, kwargs) -> bool:
    from xarray.backends.common import AbstractDataStore

    if kwargs.get("mode", "r") not in ("r", None) or kwargs.get("store") is not None:
        return False
    if kwargs.get("chunk_store") is not None or kwargs.get("storage_options"):
        return False
    if isinstance(filename_or_obj, AbstractDataStore):
        return False  # xarray's own ZarrStore: an object of the zarr backend
    if isinstance(filename_or_obj, (str, os.PathLike, Mapping)):
        return True
    from zarr.abc.store import Store

    return isinstance(filename_or_obj, Store)


def _cuzarr_kwargs(kwargs) -> dict:
    out = {k: v for k, v in kwargs.items() if k not in _DROPPED and k not in ("chunk_store", "storage_options")}
    out["device"] = "cpu"
    return out


class CuzarrReads:
    """Stands in for xarray's ZarrBackendEntrypoint: reads through cuzarr, the rest through zarr."""

    def __init__(self, zarr_backend, cuzarr_backend):
        self._zarr = zarr_backend
        self._cuzarr = cuzarr_backend

    def __getattr__(self, name):
        return getattr(self._zarr, name)

    def _pick(self, method, filename_or_obj, kwargs):
        if _routable(filename_or_obj, kwargs):
            COUNTS["cuzarr"] += 1
            return getattr(self._cuzarr, method)(filename_or_obj, **_cuzarr_kwargs(kwargs))
        COUNTS["zarr"] += 1
        return getattr(self._zarr, method)(filename_or_obj, **kwargs)

    def open_dataset(self, filename_or_obj, **kwargs):
        return self._pick("open_dataset", filename_or_obj, kwargs)

    def open_datatree(self, filename_or_obj, **kwargs):
        return self._pick("open_datatree", filename_or_obj, kwargs)

    def open_groups_as_dict(self, filename_or_obj, **kwargs):
        return self._pick("open_groups_as_dict", filename_or_obj, kwargs)


@pytest.fixture(autouse=True)
def _reads_through_cuzarr(monkeypatch):
    from xarray.backends import plugins

    from cuzarr.backend import CuzarrBackendEntrypoint

    real = plugins.get_backend
    cuzarr_backend = CuzarrBackendEntrypoint()

    def get_backend(engine):
        backend = real(engine)
        if engine == "zarr":
            return CuzarrReads(backend, cuzarr_backend)
        return backend

    monkeypatch.setattr(plugins, "get_backend", get_backend)
    yield


def pytest_sessionfinish(session):
    # Each xdist worker is its own process: run_suite.py adds the files up.
    folder = os.environ.get("CUZARR_READS_COUNTS")
    if folder:
        import json

        with open(os.path.join(folder, f"{os.getpid()}.json"), "w") as f:
            json.dump(COUNTS, f)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        f"cuzarr_reads: {COUNTS['cuzarr']} reads through engine='cuzarr', {COUNTS['zarr']} left with engine='zarr'"
    )
