"""The codec objects xarray's zarr backend puts in ``encoding``, built from cuzarr's JSON.

engine="zarr" gives zarr-python's own objects: numcodecs codecs for Zarr v2 (``Blosc``,
``Zstd``, ``Delta``...), zarr codecs for v3 (``BloscCodec``, ``BytesCodec``, ``ZstdCodec``,
``numcodecs.zarr3`` wrappers...), evolved for the array's data type as zarr-python does when it
opens an array (a 1-byte type's ``BytesCodec`` has no endian, a ``BloscCodec`` knows its type
size). Code written for engine="zarr" reads their attributes (``.cname``, ``.level``) and
compares them, so engine="cuzarr" gives the same objects when zarr-python and numcodecs are
importable; without them, or for a codec they do not know, the JSON dict as written stays.
"""

from __future__ import annotations

import numpy as np


def _v2_codec(config: dict):
    try:
        import numcodecs
    except ImportError:
        return config
    try:
        return numcodecs.get_codec(dict(config))
    except Exception:  # noqa: BLE001 - a codec numcodecs does not know: keep what was written
        return config


def _array_spec(chunk_shape, dtype: np.dtype):
    """zarr-python's description of one chunk, which its codecs evolve against; None when this
    zarr-python cannot describe the data type."""
    try:
        from zarr.core.array_spec import ArrayConfig, ArraySpec
        from zarr.core.buffer import default_buffer_prototype
        from zarr.core.dtype import parse_dtype

        zdtype = parse_dtype(dtype, zarr_format=3)
        return ArraySpec(shape=tuple(chunk_shape), dtype=zdtype, fill_value=zdtype.default_scalar(),
                         config=ArrayConfig.from_dict({}), prototype=default_buffer_prototype())
    except Exception:  # noqa: BLE001 - older or newer zarr-python, or a type it lacks
        return None


def _v3_codec(config: dict, spec):
    try:
        from zarr.registry import get_codec_class
    except ImportError:
        return config
    try:
        codec = get_codec_class(config["name"]).from_dict(dict(config))
    except Exception:  # noqa: BLE001 - a codec this zarr-python does not know
        return config
    if spec is not None:
        try:
            codec = codec.evolve_from_array_spec(spec)
        except Exception:  # noqa: BLE001 - as parsed, should zarr-python refuse this spec
            pass
    return codec


def as_zarr_objects(encoding: dict, zarr_format: int, dtype: np.dtype, chunks) -> dict:
    """``encoding`` (from backend.codec_encoding) with its ``compressors``, ``filters`` and
    ``serializer`` JSON replaced by the objects engine="zarr" gives; ``chunks`` is the shape of
    the chunks the codecs encode (inner chunks when sharded)."""
    out = dict(encoding)
    if zarr_format == 2:
        out["compressors"] = tuple(_v2_codec(c) for c in encoding["compressors"])
        out["filters"] = tuple(_v2_codec(c) for c in encoding["filters"])
        return out
    spec = _array_spec(chunks, dtype)
    out["filters"] = tuple(_v3_codec(c, spec) for c in encoding["filters"])
    if encoding.get("serializer") is not None:
        out["serializer"] = _v3_codec(encoding["serializer"], spec)
    out["compressors"] = tuple(_v3_codec(c, spec) for c in encoding["compressors"])
    return out
