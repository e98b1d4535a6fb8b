"""VirtualiZarr's virtual datasets as cuzarr opens them (docs/references.md): an xarray Dataset
whose variables wrap ``ManifestArray`` objects (what ``virtualizarr.open_virtual_dataset`` gives),
a ``ManifestGroup`` or a ``ManifestStore``. Nothing is written: each array's Zarr v3 metadata and
its manifest (path, offset and length of every chunk, as NumPy arrays) go to the core's manifest
store as they are, the variables VirtualiZarr loaded into memory (dimension coordinates, by
default) as inline chunks, and the core reads the referenced files itself, as for kerchunk."""

from __future__ import annotations

import base64
import json
import math
import os
import struct
import sys

import numpy as np

from . import _core

_MANIFEST_ARRAY = ("virtualizarr.manifests.array", "ManifestArray")
_MANIFEST_GROUP = ("virtualizarr.manifests.group", "ManifestGroup")
_MANIFEST_STORE = ("virtualizarr.manifests.store", "ManifestStore")


def _is(obj, kind) -> bool:
    t = type(obj)
    return (t.__module__, t.__name__) == kind


def _is_virtual_dataset(obj) -> bool:
    xr = sys.modules.get("xarray")  # no Dataset can exist before xarray is imported: not imported here
    return xr is not None and isinstance(obj, xr.Dataset) and any(_is(getattr(v, "_data", None), _MANIFEST_ARRAY) for v in obj.variables.values())


def is_virtual(obj) -> bool:
    """Whether cuzarr.open(obj) opens ``obj`` as VirtualiZarr manifests."""
    return _is(obj, _MANIFEST_GROUP) or _is(obj, _MANIFEST_STORE) or _is_virtual_dataset(obj)


def _json_value(value):
    """An attribute value as JSON: NumPy scalars and arrays as Python numbers and lists; floats
    that JSON lacks (NaN, infinities) as the strings zarr-python writes for them."""
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _attributes(attrs: dict, dtype: np.dtype) -> dict:
    """Variable attributes for a v3 array: a floating ``_FillValue`` as xarray's zarr backend
    writes it for v3 (base64 of a little-endian double), so NaN survives JSON."""
    out = {}
    for name, value in attrs.items():
        if name == "_FillValue" and np.dtype(dtype).kind in "fc":
            values = np.atleast_1d(np.asarray(value)).astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64)
            parts = [base64.standard_b64encode(struct.pack("<d", p)).decode("ascii")
                     for v in values[:1] for p in ((v.real, v.imag) if np.iscomplexobj(v) else (v,))]
            out[name] = parts if np.dtype(dtype).kind == "c" else parts[0]
        else:
            out[str(name)] = _json_value(value)
    return out


def _chunk_keys(name: str, grid_index: tuple[np.ndarray, ...], encoding: dict) -> list[str]:
    """Keys of the chunks at ``grid_index`` (one array of indices per dimension) under ``name``."""
    kind = encoding.get("name", "default")
    separator = (encoding.get("configuration") or {}).get("separator", "/" if kind == "default" else ".")
    prefix = f"{name}/" if name else ""
    if not grid_index:
        return [prefix + ("c" if kind == "default" else "0")]
    head = f"{prefix}c{separator}" if kind == "default" else prefix
    columns = [idx.astype(str) for idx in grid_index]
    keys = columns[0]
    for column in columns[1:]:
        keys = np.char.add(np.char.add(keys, separator), column)
    return np.char.add(head, keys).tolist() if len(keys) else []


class _Manifest:
    """What open_manifest takes, gathered node by node."""

    def __init__(self):
        self.inline: dict[str, bytes] = {}
        self.keys: list[str] = []
        self.paths: list[str] = []
        self.offsets: list[np.ndarray] = []
        self.lengths: list[np.ndarray] = []

    def group(self, path: str, attributes: dict) -> None:
        doc = {"zarr_format": 3, "node_type": "group", "attributes": _json_value(dict(attributes))}
        self.inline[f"{path}/zarr.json" if path else "zarr.json"] = json.dumps(doc).encode()

    def manifest_array(self, path: str, marr, attributes=None, dims=None) -> None:
        from zarr.core.buffer import default_buffer_prototype

        doc = json.loads(marr.metadata.to_buffer_dict(default_buffer_prototype())["zarr.json"].to_bytes())
        if attributes is not None:
            doc["attributes"] = _attributes(attributes, marr.dtype)
        if dims is not None:
            doc["dimension_names"] = [str(d) for d in dims]
        self.inline[f"{path}/zarr.json"] = json.dumps(doc).encode()
        manifest = marr.manifest
        paths = np.asarray(manifest._paths)
        offsets, lengths = np.asarray(manifest._offsets), np.asarray(manifest._lengths)
        present = np.nonzero(paths != "")  # no path: the chunk is missing (the fill value)
        keys = _chunk_keys(path, present if paths.ndim else (), doc.get("chunk_key_encoding", {}))
        if paths.ndim == 0 and not str(paths):
            return
        chosen = [str(p) for p in paths[present]] if paths.ndim else [str(paths)]
        offsets = offsets[present] if paths.ndim else offsets.reshape(1)
        lengths = lengths[present] if paths.ndim else lengths.reshape(1)
        self.keys += keys
        self.paths += chosen
        self.offsets.append(offsets.astype(np.int64))
        self.lengths.append(lengths.astype(np.int64))

    def loaded_array(self, path: str, values: np.ndarray, attributes: dict, dims) -> None:
        """An array VirtualiZarr loaded into memory: one inline chunk, raw little-endian bytes."""
        values = np.asarray(values)
        if values.dtype.kind not in "biufc":
            raise TypeError(f"{path}: a loaded variable of dtype {values.dtype} cannot be opened from a virtual "
                            "dataset (numbers and booleans only); leave it virtual (loadable_variables=[])")
        name = "bool" if values.dtype.kind == "b" else values.dtype.name
        doc = {
            "zarr_format": 3, "node_type": "array", "shape": list(values.shape), "data_type": name,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [max(1, n) for n in values.shape]}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": False if values.dtype.kind == "b" else 0,
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "attributes": _attributes(attributes, values.dtype),
            "dimension_names": [str(d) for d in dims],
        }
        self.inline[f"{path}/zarr.json"] = json.dumps(doc).encode()
        if values.size:
            key = _chunk_keys(path, tuple(np.zeros(1, dtype=np.int64) for _ in values.shape), doc["chunk_key_encoding"])[0]
            self.inline[key] = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes()

    def manifest_group(self, path: str, group) -> None:
        self.group(path, group.metadata.attributes)
        prefix = f"{path}/" if path else ""
        for name, marr in group.arrays.items():
            self.manifest_array(prefix + name, marr)
        for name, sub in group.groups.items():
            self.manifest_group(prefix + name, sub)

    def dataset(self, ds) -> None:
        from xarray.conventions import encode_cf_variable, encode_dataset_coordinates

        variables, attrs = encode_dataset_coordinates(ds)
        self.group("", attrs)
        for name, var in variables.items():
            if _is(var._data, _MANIFEST_ARRAY):
                self.manifest_array(str(name), var._data, var.attrs, var.dims)
            else:
                try:
                    encoded = encode_cf_variable(var, name=name)
                except Exception as e:
                    raise TypeError(f"{name}: the loaded variable cannot be encoded for reading back ({e})") from e
                self.loaded_array(str(name), encoded.values, encoded.attrs, encoded.dims)

    def arrays(self):
        offsets = np.concatenate(self.offsets) if self.offsets else np.zeros(0, dtype=np.int64)
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, dtype=np.int64)
        return self.inline, self.keys, self.paths, offsets, lengths


def _scheme(paths: list[str]) -> str:
    """The targets' protocol by their first URL ("" for local paths and file://)."""
    for p in paths:
        head, sep, _ = p.partition("://")
        if sep and head not in ("file", "local"):
            return head
        return ""
    return ""


def open_virtual(obj, storage_options, consolidated: str):
    """The core node at the root of the virtual dataset, group or store ``obj``; storage_options
    apply to the referenced files (their cloud by the first target's URL)."""
    from .api import _check_storage_options, _core_options

    gathered = _Manifest()
    if _is(obj, _MANIFEST_STORE):
        gathered.manifest_group("", obj._group)
    elif _is(obj, _MANIFEST_GROUP):
        gathered.manifest_group("", obj)
    else:
        gathered.dataset(obj)
    inline, keys, paths, offsets, lengths = gathered.arrays()
    protocol = _scheme(paths)
    cloud = f"{protocol}://" if protocol else None
    options = _check_storage_options(storage_options, cloud)
    source = f"the virtual dataset ({type(obj).__name__})"
    return _core.open_manifest(inline, keys, paths, offsets, lengths, source, os.getcwd(), protocol, consolidated,
                               _core_options(options, cloud))
