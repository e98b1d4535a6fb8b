"""kerchunk references as cuzarr opens them: a references file's path or URL (``.json``), a local
folder of Parquet references (``.parq``), a dict of references (version 0 or 1), or fsspec's
``"reference://"`` with ``storage_options={"fo": ...}``;
and fsspec's ReferenceFileSystem options, mapped to the core's. The core parses the references
and reads the referenced files itself (docs/references.md)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping

from . import _core
from ._parquet_references import is_parquet_references, read_parquet_references

# fsspec's ReferenceFileSystem options: `fo` the references (with "reference://"),
# `remote_protocol` / `remote_options` for the referenced files, `target_protocol` /
# `target_options` for the references file itself.
REFERENCE_OPTIONS = ("fo", "remote_protocol", "remote_options", "target_protocol", "target_options")
_PREFIX = "reference://"


def looks_like_references(obj) -> bool:
    """A dict of kerchunk references, not a mapping of keys to stored bytes: version 1's
    {"version": 1, "refs": {...}}, or version 0's keys to text, [url, offset, length] or objects."""
    if not isinstance(obj, dict) or not obj:
        return False
    if obj.get("version") == 1 and isinstance(obj.get("refs", {}), dict):
        return True
    values = obj.values()
    return any(isinstance(v, (str, list, tuple, dict)) for v in values) and all(
        isinstance(v, (str, list, tuple, dict, bytes)) for v in values
    )


def is_references(path, storage_options=None) -> bool:
    """Whether cuzarr.open(path, storage_options=...) opens kerchunk references."""
    if isinstance(path, (str, os.PathLike)):
        text = os.fspath(path)
        if isinstance(text, bytes):
            text = os.fsdecode(text)
        if text.startswith(_PREFIX) or is_parquet_references(text):
            return True
        # A folder named *.json is a store like any other (as for the core's open_store).
        return text.lower().endswith(".json") and ("://" in text or not os.path.isdir(text))
    return isinstance(path, Mapping) and looks_like_references(path)


def _jsonable(refs: dict) -> dict:
    """References with inline bytes (as kerchunk's translate() may leave them) as "base64:" text."""
    def value(v):
        return "base64:" + base64.b64encode(v).decode("ascii") if isinstance(v, (bytes, bytearray)) else v

    if refs.get("version") == 1 and isinstance(refs.get("refs"), dict):
        return {**refs, "refs": {k: value(v) for k, v in refs["refs"].items()}}
    return {k: value(v) for k, v in refs.items()}


def open_references(path, storage_options, consolidated: str):
    """The core node at the root of the references ``path`` (see is_references)."""
    from .api import _check_storage_options, _core_options

    options = dict(storage_options or {})
    refs = {k: options.pop(k) for k in REFERENCE_OPTIONS if k in options}
    protocol = refs.get("remote_protocol") or ""
    if isinstance(protocol, (list, tuple)):
        protocol = protocol[0] if protocol else ""
    if not isinstance(protocol, str):
        raise TypeError("storage option 'remote_protocol' must be a str")
    # The targets' cloud (which options apply to them) by their protocol: s3 (and HTTP) unless
    # remote_protocol names gs/gcs or az/abfs.
    remote_cloud = f"{protocol}://" if protocol else None
    common = _check_storage_options(options, remote_cloud)
    remote = _check_storage_options(refs["remote_options"], remote_cloud) if "remote_options" in refs else common
    own = _check_storage_options(refs["target_options"]) if "target_options" in refs else common
    source = path
    if isinstance(path, str) and path.startswith(_PREFIX):
        if "fo" not in refs:
            raise ValueError("'reference://' needs storage_options={'fo': <the references: a path, a URL or a dict>}")
        source = refs["fo"]
    elif "fo" in refs:
        raise ValueError("storage option 'fo' goes with the location 'reference://'")
    targets = _core_options(remote, remote_cloud)
    if isinstance(source, Mapping):
        if not looks_like_references(dict(source)):
            raise ValueError("'fo' is not kerchunk references (a dict of version 0 or 1)")
        text = json.dumps(_jsonable(dict(source)))
        return _core.open_references(text, True, "", protocol, consolidated, targets, {})
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"kerchunk references are a path, a URL or a dict, not {type(source).__name__}")
    source = os.fspath(source)
    if isinstance(source, bytes):
        source = os.fsdecode(source)
    target_protocol = refs.get("target_protocol")
    if target_protocol and "://" not in source and target_protocol not in ("file", "local"):
        source = f"{target_protocol}://{source}"
    if "://" not in source:
        source = os.path.abspath(os.path.expanduser(source))
    if is_parquet_references(source):
        inline, keys, paths, offsets, lengths = read_parquet_references(source, _core_options(own, source))
        folder = source.rstrip("/").rsplit("/", 1)[0] if "://" in source else os.path.dirname(source.rstrip("/"))
        return _core.open_manifest(inline, keys, paths, offsets, lengths, source, folder, protocol, consolidated, targets)
    return _core.open_references(source, False, "", protocol, consolidated, targets, _core_options(own))
