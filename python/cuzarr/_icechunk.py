"""Icechunk repositories as cuzarr opens them (docs/references.md): natively, from the repository's
own files (spec version 1, what icechunk 1.x writes), not through the icechunk package. The core
reads the branch's, tag's or snapshot's snapshot file and the manifests it names and serves the
hierarchy like kerchunk references; inline, native and virtual chunks alike."""

from __future__ import annotations

import os

from . import _core


class IcechunkSnapshot:
    """Where an opened Icechunk hierarchy came from: the repository and the snapshot id read. Dask
    workers (and pickles) reopen this, so they see the same snapshot however the branch moves."""

    def __init__(self, location: str, snapshot_id: str, storage_options: dict | None = None):
        self.location = location
        self.snapshot_id = snapshot_id
        self.storage_options = dict(storage_options or {})

    def __repr__(self) -> str:
        return f"IcechunkSnapshot({self.location!r}, {self.snapshot_id!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, IcechunkSnapshot) and (self.location, self.snapshot_id) == (
            other.location, other.snapshot_id)

    def __hash__(self) -> int:
        return hash((self.location, self.snapshot_id))


def _location(path) -> str:
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    return text if "://" in text else os.path.abspath(os.path.expanduser(text))


def is_icechunk_repository(path) -> bool:
    """A local directory holding an Icechunk repository (refs/ and snapshots/) and no Zarr node."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    text = os.fspath(path)
    if isinstance(text, bytes) or "://" in text:
        return False
    if any(os.path.exists(os.path.join(text, name)) for name in ("zarr.json", ".zgroup", ".zarray")):
        return False
    return _core.is_icechunk_directory(text)


def open_icechunk_node(location: str, *, branch, tag, snapshot_id, consolidated: str, storage_options):
    """(core node, IcechunkSnapshot) of the repository at ``location``."""
    from .api import _check_storage_options, _core_options

    if sum(x is not None for x in (branch, tag, snapshot_id)) > 1:
        raise ValueError("give one of branch, tag and snapshot_id")
    for name, value in (("branch", branch), ("tag", tag), ("snapshot_id", snapshot_id)):
        if value is not None and (not isinstance(value, str) or not value):
            raise TypeError(f"{name} must be a non-empty str, got {value!r}")
    location = _location(location)
    options = _check_storage_options(storage_options, location)
    core = _core_options(options, location)
    node, sid = _core.open_icechunk(location, branch or "main", tag or "", snapshot_id or "", consolidated, core)
    return node, IcechunkSnapshot(location, sid, options)
