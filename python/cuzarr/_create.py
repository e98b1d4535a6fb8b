"""create_array and create_group: zarr-python 3's names and meanings, turned into the metadata
fields the core writes (cuzarr::ArrayDefinition). Codecs may be zarr-python codec objects,
numcodecs codecs, or their JSON dicts."""

from __future__ import annotations

import json
import math
import os
import shutil

import numpy as np

from . import _core

_ZSTD_V3 = {"name": "zstd", "configuration": {"level": 0, "checksum": False}}
_ZSTD_V2 = {"id": "zstd", "level": 0}


def _store_root(store) -> str:
    if isinstance(store, (str, os.PathLike)):
        root = os.fspath(store)
    elif type(store).__name__ == "LocalStore" and isinstance(getattr(store, "root", None), (str, os.PathLike)):
        root = os.fspath(store.root)
    else:
        raise TypeError("cuzarr writes to local directory stores: pass a path (str or os.PathLike) or a zarr "
                        f"LocalStore, got {type(store).__name__}")
    if "://" in root or root.endswith(".zip"):
        raise NotImplementedError(f"cannot create nodes in {root!r}: cuzarr writes to local directory stores only")
    return root


def _as_list(codecs) -> list:
    if codecs is None:
        return []
    if isinstance(codecs, (list, tuple)):
        return list(codecs)
    return [codecs]


def _codec_dict(codec, zarr_format: int) -> dict:
    """A codec as its metadata JSON: v3 {"name", "configuration"}, v2 numcodecs {"id", ...}."""
    if isinstance(codec, dict):
        d = dict(codec)
    elif hasattr(codec, "to_dict"):  # zarr-python v3 codecs (numcodecs.zarr3 wrappers too)
        d = codec.to_dict()
    elif hasattr(codec, "get_config"):  # numcodecs
        d = codec.get_config()
    else:
        raise TypeError(f"a codec must be a zarr codec, a numcodecs codec or a dict, got {type(codec).__name__}")
    if zarr_format == 2:
        if d.get("id") == "zstd" and not d.get("checksum", False):
            d.pop("checksum", None)  # as zarr-python writes it; tensorstore refuses the key
        if "id" in d:
            return d
        name = str(d.get("name", ""))
        return {"id": name.removeprefix("numcodecs."), **d.get("configuration", {})}
    if "name" in d:
        return d
    config = {k: v for k, v in d.items() if k != "id"}
    return {"name": f"numcodecs.{d['id']}", "configuration": config}  # as zarr-python names numcodecs codecs


def _complete_v3(codec: dict, dtype: np.dtype) -> dict:
    """Settings zarr-python fills in from the data type before it writes metadata (blosc's
    typesize and shuffle), so that every reader finds them."""
    if codec.get("name") == "blosc":
        config = dict(codec.get("configuration") or {})
        if config.get("typesize") is None:
            config["typesize"] = dtype.itemsize
        if config.get("shuffle") is None:
            config["shuffle"] = "bitshuffle" if dtype.itemsize == 1 else "shuffle"
        config.setdefault("cname", "zstd")
        config.setdefault("clevel", 5)
        config.setdefault("blocksize", 0)
        return {"name": "blosc", "configuration": config}
    return codec


def _fill_json(fill_value, dtype: np.dtype):
    """The fill value as metadata JSON (zarr-python's default: the type's zero)."""
    value = np.zeros((), dtype=dtype)[()] if fill_value is None else np.asarray(fill_value, dtype=dtype)[()]
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iumM":
        return int(np.asarray(value).view(np.int64) if dtype.kind in "mM" else value)
    if dtype.kind == "c":
        return [_float_json(value.real), _float_json(value.imag)]
    if dtype.kind == "f":
        return _float_json(value)
    raise NotImplementedError(f"cuzarr cannot create arrays of {dtype} yet")


def _float_json(x):
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def _v3_dtype_name(dtype: np.dtype) -> str:
    if dtype.kind in "mM":
        raise NotImplementedError(f"cuzarr cannot create v3 arrays of {dtype} yet")
    return "bool" if dtype.kind == "b" else dtype.newbyteorder("=").name


def _auto_chunks(shape) -> tuple:
    """Without chunks: one chunk per array up to about 4 Mi elements; larger arrays are halved
    along their longest dimension until a chunk fits."""
    chunks = [max(1, int(s)) for s in shape]
    while math.prod(chunks) > (4 << 20) and max(chunks) > 1:
        d = chunks.index(max(chunks))
        chunks[d] = (chunks[d] + 1) // 2
    return tuple(chunks)


def create_array(store, *, name=None, shape, dtype, chunks=None, shards=None, filters=None, compressors="auto",
                 serializer="auto", fill_value=None, order=None, zarr_format=3, attributes=None,
                 dimension_names=None, chunk_key_encoding=None, overwrite=False):
    """Create an array in a local directory store and return it, open for writing (``a[sel] = x``).

    zarr-python 3's arguments and meanings: ``shards`` (v3) groups ``chunks`` into shards
    (sharding_indexed, index bytes + crc32c); ``compressors`` default to zstd level 0 (v3 and v2;
    None: none); ``filters`` are array-to-array codecs (v2: numcodecs filters); ``serializer`` is
    v3's array-to-bytes codec (default bytes, in the byte order of ``dtype``); codecs are zarr
    codec objects, numcodecs codecs or their JSON dicts. ``fill_value`` defaults to the type's
    zero; chunks that hold only it are not stored. ``chunk_key_encoding``: {"name": "default" (v3)
    or "v2", "separator": "/" or "."}. ``overwrite`` removes what is at ``name`` first.
    """
    from .api import _wrap

    root = _store_root(store)
    name = (name or "").strip("/")
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format must be 2 or 3, got {zarr_format!r}")
    dtype = np.dtype(dtype)
    shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    chunks = _auto_chunks(shape) if chunks in (None, "auto") else tuple(int(c) for c in chunks)
    if shards is not None and zarr_format == 2:
        raise ValueError("shards need zarr_format=3")
    compressors = ([_ZSTD_V3] if zarr_format == 3 else [_ZSTD_V2]) if compressors == "auto" else _as_list(compressors)
    separator = ""
    if chunk_key_encoding is not None:
        encoding = dict(chunk_key_encoding)
        if encoding.get("name", "default") != ("default" if zarr_format == 3 else "v2"):
            raise NotImplementedError(f"chunk_key_encoding {encoding!r} is not supported by cuzarr's writer yet")
        separator = encoding.get("separator", "")
    big = dtype.byteorder == ">" or (dtype.byteorder == "=" and np.little_endian is False)
    v3_codecs, v2_filters, v2_compressor = "", "null", ""
    if zarr_format == 3:
        if serializer == "auto":
            serializer = {"name": "bytes", "configuration": {"endian": "big" if big else "little"}}
        codecs = [_codec_dict(c, 3) for c in _as_list(filters)] + [_codec_dict(serializer, 3)]
        codecs += [_complete_v3(_codec_dict(c, 3), dtype) for c in compressors]
        v3_codecs = json.dumps(codecs)
        type_name = _v3_dtype_name(dtype)
    else:
        if serializer != "auto":
            raise ValueError("serializer is a zarr_format=3 argument")
        if len(compressors) > 1:
            raise ValueError("zarr_format=2 arrays take one compressor")
        v2_filters = json.dumps([_codec_dict(f, 2) for f in _as_list(filters)] or None)
        v2_compressor = json.dumps(_codec_dict(compressors[0], 2) if compressors else None)
        type_name = dtype.str
    fill = json.dumps(_fill_json(fill_value, dtype))
    names = list(dimension_names) if dimension_names is not None else []
    if overwrite:
        _remove_node(root, name)
    core = _core.create_array(root, name, zarr_format, list(shape), type_name, list(chunks),
                              list(shards) if shards is not None else None, v3_codecs, v2_filters, v2_compressor,
                              order or "C", fill, json.dumps(attributes or {}), names, separator)
    return _wrap(core, root=root, device="cpu", consolidated=False, mode="r+")


def create_group(store, *, path=None, zarr_format=3, attributes=None, overwrite=False):
    """Create a group in a local directory store (parents as needed) and return it."""
    from .api import _wrap

    root = _store_root(store)
    path = (path or "").strip("/")
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format must be 2 or 3, got {zarr_format!r}")
    if overwrite:
        _remove_node(root, path)
    core = _core.create_group(root, path, zarr_format, json.dumps(attributes or {}))
    return _wrap(core, root=root, device="cpu", consolidated=False, mode="r+")


def _remove_node(root: str, name: str) -> None:
    """What zarr-python's overwrite=True does for a directory store: the node's keys go first."""
    target = os.path.join(root, name) if name else root
    if not os.path.isdir(target):
        return
    if name:
        shutil.rmtree(target)
        return
    for entry in os.listdir(target):  # the store's root itself stays
        p = os.path.join(target, entry)
        shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)
