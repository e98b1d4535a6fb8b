"""The xarray backend: ``xr.open_dataset(path, engine="cuzarr")`` (also ``engine="kvikio"``).

It follows xarray's own zarr backend so that datasets come out the same: a lazy
:class:`CuzarrBackendArray` per variable that reads only the selected region (OUTER indexing
through ``explicit_indexing_adapter``), dimension coordinates read at once into NumPy so pandas
indexes can be built, the same ``encoding`` keys (``chunks``, ``preferred_chunks``,
``compressors``, ``filters``, ``shards``, and for Zarr v3 ``serializer`` and ``fill_value``), the same
fill value rules, and CF decoding done by xarray itself (``StoreBackendEntrypoint``).

Every read goes through :func:`_read`, the one place that knows about output memory: NumPy for
``device="cpu"``, CuPy for a GPU (the same core read with a device output). Dimension coordinates,
datetime64/timedelta64, text and object variables (CuPy has no such arrays), variables that CF
decoding turns into times, and -- unless ``coords="device"`` -- non-index coordinates are read to
host memory. Chunked with dask, GPU variables carry a CuPy ``_meta`` (:class:`_DeviceVariable`).
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Iterable

import numpy as np
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.backends.common import AbstractDataStore, datatree_from_dict_with_io_cleanup
from xarray.backends.store import StoreBackendEntrypoint
from xarray.core import indexing
from xarray.core.utils import FrozenDict, close_on_error
from xarray.namedarray.utils import is_duck_dask_array
from xarray.core.variable import Variable

from . import _core
from ._device import resolve_device
from ._references import is_references
from ._repr import attempt, never_raises
from ._warnings import warn_at_caller
from ._zarr_codecs import as_zarr_objects
from .api import Array, Group
from .api import open as _open

__all__ = ["CuzarrBackendArray", "CuzarrBackendEntrypoint", "CuzarrDataStore", "KvikioBackendEntrypoint"]

# v2 arrays name their dimensions in this attribute (xarray's convention); v3 arrays in metadata.
DIMENSION_KEY = "_ARRAY_DIMENSIONS"

# v3 codecs that turn an array into bytes; the ones before are filters, the ones after compressors.
_ARRAY_TO_BYTES = {"bytes", "endian", "sharding_indexed", "vlen-utf8", "vlen-bytes", "vlen-array",
                   "numcodecs.pcodec", "numcodecs.zfpy"}


# --------------------------------------------------------------------------------------------
# Devices and the one read function


def _read(array: Array, key: tuple, device):
    """Read ``array[key]`` (outer indexing: integers, slices, 1-d index arrays) into the memory
    of ``device``: NumPy for "cpu", CuPy for a GPU number. Every read of the backend goes
    through here."""
    if not _has_device_form(array.dtype):
        device = "cpu"
    return array.read(key, device=device)


def _has_device_form(dtype: np.dtype) -> bool:
    """CuPy has no datetime64/timedelta64, text or object arrays: such variables stay NumPy."""
    return dtype.kind not in "mMSUOT"


def _is_cf_time(attrs: dict, decoders: dict) -> bool:
    """Whether xarray's CF decoding turns the variable into times or time deltas, which pandas
    and cftime compute on the host: such variables are read to host memory."""
    from xarray.coding.times import TIME_UNITS

    units = attrs.get("units")
    if not isinstance(units, str):
        return False
    if decoders.get("decode_times", True) is not False and " since " in units:
        return True
    return decoders.get("decode_timedelta") is not False and units.strip() in TIME_UNITS


def _device_meta(ndim: int, dtype):
    """An empty CuPy array: the ``_meta`` of dask arrays whose chunks are read to the GPU."""
    from ._device import cupy_module

    return cupy_module().empty((0,) * ndim, dtype=dtype)


class _DeviceChunks:
    """What dask reads a GPU variable's chunks from: indexing it reads the region into GPU memory
    and returns that CuPy array itself. (xarray hands dask its lazy arrays with dask's default
    getter, which passes every chunk through ``np.asarray``: the chunks would come back to host
    memory.)"""

    __slots__ = ("_data", "dtype", "ndim", "shape")

    def __init__(self, data):
        self._data = data
        self.shape = tuple(data.shape)
        self.dtype = data.dtype
        self.ndim = len(self.shape)

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        out = indexing.apply_indexer(self._data, indexing.BasicIndexer(key))
        return out.get_duck_array() if hasattr(out, "get_duck_array") else out

    def __getstate__(self):
        return self._data

    def __setstate__(self, data):
        self.__init__(data)


class _DeviceVariable(Variable):
    """A variable whose lazily read data lands in GPU memory. Chunking it (``chunks=`` at open,
    ``.chunk()`` later) gives dask arrays whose chunks are read straight into GPU memory
    (:class:`_DeviceChunks`) and whose ``_meta`` is a CuPy array rather than the NumPy one
    xarray gives every backend array, so dask and xarray (``sum(min_count=1)``, ``where``,
    groupby, resample) pick CuPy code paths. The chunks are the ones xarray chose."""

    __slots__ = ()

    def chunk(self, *args, **kwargs):
        chunked = super().chunk(*args, **kwargs)
        data = chunked._data
        if is_duck_dask_array(data) and type(data._meta) is np.ndarray:
            import dask.array as da

            meta = _device_meta(data.ndim, data.dtype)
            if is_duck_dask_array(self._data):  # already dask: keep its graph, fix its meta
                data = da.Array(data.dask, data.name, data.chunks, meta=meta)
            else:  # lazily read backend data: read each chunk to the GPU
                data = da.from_array(_DeviceChunks(self._data), chunks=data.chunks, name=f"cuzarr-gpu-{data.name}",
                                     asarray=False, meta=meta)
            chunked = chunked._replace(data=data)
        return chunked


# --------------------------------------------------------------------------------------------
# Lazy arrays


class CuzarrBackendArray(BackendArray):
    """A Zarr array as xarray sees it before loading: shape and dtype, and OUTER indexing that
    reads only the selected region. It holds no mutable state, so threads may index it at once
    (the core's reads are thread-safe); it pickles as its location (store path, array path) and
    device, and reopens the array on unpickling."""

    # No public attribute names the cuzarr.Array: xarray's array-type checks follow an ``array``
    # attribute of lazy arrays as if this wrapped another array type.
    __slots__ = ("_array", "device", "dtype", "shape")

    def __init__(self, array: Array, device="cpu"):
        self._array = array
        self.device = device
        self.shape = array.shape
        self.dtype = array.dtype

    def _raw_getitem(self, key: tuple):
        return _read(self._array, key, self.device)

    def __getitem__(self, key: indexing.ExplicitIndexer):
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER, self._raw_getitem
        )

    async def async_getitem(self, key: indexing.ExplicitIndexer):
        # The core releases the GIL while reading, so a worker thread reads in parallel.
        return await asyncio.to_thread(self.__getitem__, key)

    def __reduce__(self):
        # cuzarr.Array pickles as (store path, array path, device, consolidated) and reopens.
        return (type(self), (self._array, self.device))

    @never_raises
    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._array!r}, device={attempt(lambda: repr(self.device))})"


# --------------------------------------------------------------------------------------------
# Metadata → xarray variables


def _decode_fill_attribute(value, dtype: np.dtype):
    """A v3 ``_FillValue`` attribute as xarray writes it (floats as base64 of a little-endian
    double, complex as two of them) to a Python scalar, as xarray's zarr backend decodes it.
    Plain JSON numbers are accepted for floats too."""
    kind = dtype.kind
    if kind == "f":
        if isinstance(value, (str, bytes)):
            return struct.unpack("<d", base64.standard_b64decode(value))[0]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TypeError(f"_FillValue for dtype {dtype}: expected a base64 string, got {value!r}")
    if kind == "c":
        if isinstance(value, (list, tuple)) and len(value) == 2:
            parts = [_decode_fill_attribute(v, np.dtype("f8")) for v in value]
            return complex(parts[0], parts[1])
        raise TypeError(f"_FillValue for dtype {dtype}: expected two base64 strings, got {value!r}")
    if kind == "b":
        return bool(value)
    if kind in "iu":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
        raise TypeError(f"_FillValue for dtype {dtype}: expected a number, got {value!r}")
    if kind == "S":
        return base64.standard_b64decode(value)
    if kind == "U":
        return str(value)
    return value


def _is_hidden_attribute(name: str) -> bool:
    # NCZarr's own attributes, which xarray hides too.
    return name.lower().startswith("_nc")


def _dimensions_and_attributes(array: Array) -> tuple[tuple[str, ...], dict]:
    attrs = dict(array.attrs)
    # A missing name is a KeyError with the message of xarray's zarr backend.
    if array.zarr_format == 3:
        names = array.dimension_names or ()
        if len(names) != array.ndim:
            raise KeyError(
                f"Zarr object is missing the `dimension_names` metadata which is required for xarray "
                f"to determine variable dimensions (array '{array.name}')."
            )
        if any(n is None for n in names):
            raise _core.MetadataError(
                f"array '{array.name}' has no dimension name for each of its {array.ndim} "
                f"dimensions (dimension_names: {list(names)}); xarray needs them"
            )
        return tuple(names), attrs
    try:
        names = attrs.pop(DIMENSION_KEY)
    except KeyError:
        raise KeyError(
            f"Zarr object is missing the attribute `{DIMENSION_KEY}`, which is required for xarray "
            f"to determine variable dimensions (array '{array.name}')."
        ) from None
    if (not isinstance(names, list) or len(names) != array.ndim
            or not all(isinstance(n, str) for n in names)):
        raise _core.MetadataError(
            f"array '{array.name}': {DIMENSION_KEY} must list one name per dimension "
            f"({array.ndim}), got {names!r}"
        )
    attrs = {k: v for k, v in attrs.items() if not _is_hidden_attribute(k)}
    return tuple(names), attrs


def codec_encoding(array: Array) -> dict:
    """The codec-related encoding keys xarray's zarr backend gives this array, with cuzarr's
    JSON dicts as values (the dataset holds zarr-python's objects: _zarr_codecs): ``chunks``
    (inner chunks when sharded), ``shards``, ``filters``, ``compressors`` and, for v3,
    ``serializer``."""
    codecs = array.codecs
    if array.zarr_format == 2:
        compressor = codecs.get("compressor")
        return {
            "chunks": array.chunks,
            "compressors": (compressor,) if compressor is not None else (),
            "filters": tuple(codecs.get("filters") or ()),
            "shards": None,
        }
    chunks, shards, chain = array.chunks, array.shards, list(codecs)
    # As zarr-python: a sharded array's filters, serializer and compressors are its inner codecs.
    if shards is not None:
        chain = list(chain[0].get("configuration", {}).get("codecs", []))
    names = [c.get("name") for c in chain]
    at = next((i for i, n in enumerate(names) if n in _ARRAY_TO_BYTES), None)
    if at is None:
        filters, serializer, compressors = (), None, tuple(chain)
    else:
        filters, serializer, compressors = tuple(chain[:at]), chain[at], tuple(chain[at + 1:])
    return {
        "chunks": chunks,
        "compressors": compressors,
        "filters": filters,
        "shards": shards,
        "serializer": serializer,
    }


def _zarr_fill_value(array: Array):
    """The array's fill value as a NumPy scalar, or None where the metadata says null."""
    if array._core.fill_value_json == "null":
        return None
    return array.fill_value


def _apply_mask_on_device(data, encoded_fill_values, decoded_fill_value, dtype):
    """xarray's fill-value masking, for any array with NumPy's methods (CuPy): xarray's own
    version converts to NumPy, which a GPU array refuses."""
    data = data.astype(dtype, copy=True)
    if encoded_fill_values:
        condition = None
        for fv in encoded_fill_values:
            hit = data == fv
            condition = hit if condition is None else condition | hit
        data[condition] = decoded_fill_value
    return data


def _mask_and_scale_on_device(variable: Variable, name: str, decoders: dict) -> Variable:
    """CF masking and scaling done here for GPU variables, with xarray's own coders deciding
    every rule (fill values, dtypes, encoding); only the masking kernel is swapped for one that
    runs on the device. xarray's later decoding then finds nothing left to do for them."""
    from functools import partial

    from xarray.coding import common as cf_common
    from xarray.coding import variables as cf_vars

    original_dtype = variable.dtype
    variable = cf_vars.CFMaskCoder(decode_times=decoders.get("decode_times", True),
                                   decode_timedelta=decoders.get("decode_timedelta")).decode(variable, name=name)
    data = variable._data
    func = getattr(data, "func", None)
    if isinstance(data, cf_common._ElementwiseFunctionArray) and isinstance(func, partial) \
            and func.func is cf_vars._apply_mask:
        data = cf_common.lazy_elemwise_func(data.array, partial(_apply_mask_on_device, **func.keywords), data.dtype)
        variable = Variable(variable.dims, data, variable.attrs, variable.encoding, fastpath=True)
    variable = cf_vars.CFScaleOffsetCoder(decode_times=decoders.get("decode_times", True),
                                          decode_timedelta=decoders.get("decode_timedelta")).decode(variable, name=name)
    variable.encoding.setdefault("dtype", original_dtype)  # what xarray records for the stored type
    return variable


class CuzarrDataStore(AbstractDataStore):
    """One Zarr group as an xarray data store (read-only)."""

    def __init__(self, group: Group, *, device="cpu", use_zarr_fill_value_as_mask=None,
                 drop_variables: Iterable[str] = (), coords="host"):
        self.group = group
        self.device = device
        self.coords = _check_coords(coords)
        # Names of the variables whose data is read to the GPU (filled by get_variables).
        self.device_variables: set[str] = set()
        if use_zarr_fill_value_as_mask is None:
            # xarray's default: v2's fill_value means "missing"; v3 uses the _FillValue attribute.
            use_zarr_fill_value_as_mask = group.zarr_format == 2
        self._fill_as_mask = bool(use_zarr_fill_value_as_mask)
        self._drop = frozenset(drop_variables)
        # CF decoders that must run on the device array (set by the entrypoint before loading).
        self.device_decoders: dict = {}

    @classmethod
    def open(cls, filename_or_obj, *, group=None, consolidated=None, device=None,
             use_zarr_fill_value_as_mask=None, drop_variables=None, coords="host",
             storage_options=None) -> CuzarrDataStore:
        coords = _check_coords(coords)
        device = resolve_device(device)
        node = _open_group(filename_or_obj, group=group, consolidated=consolidated,
                           storage_options=storage_options)
        return cls(node, device=device, use_zarr_fill_value_as_mask=use_zarr_fill_value_as_mask,
                   drop_variables=_as_names(drop_variables), coords=coords)

    def get_child_store(self, group: str) -> CuzarrDataStore:
        child = self.group[group]
        if not isinstance(child, Group):
            raise ValueError(f"'{child.name}' is a Zarr array, not a group")
        return self._sibling(child)

    def _sibling(self, group: Group) -> CuzarrDataStore:
        return type(self)(group, device=self.device, use_zarr_fill_value_as_mask=self._fill_as_mask,
                          drop_variables=self._drop, coords=self.coords)

    def arrays(self) -> list[tuple[str, Array]]:
        return [(name, array) for name, array in self.group.arrays() if name not in self._drop]

    def _coordinate_names(self, arrays) -> set[str]:
        """Non-index coordinates as CF decoding will find them: the names listed in the variables'
        (and the group's) ``coordinates`` attributes."""
        if self.device_decoders.get("decode_coords", True) is False:
            return set()
        listed = [self.group.attrs.get("coordinates")]
        listed += [array.attrs.get("coordinates") for _, array in arrays]
        return {n for text in listed if isinstance(text, str) for n in text.split()}

    def _variable_device(self, name: str, array: Array, dims, attrs, coordinates: set[str]):
        """Where a non-index variable's reads go: the store's device, except for data with no
        GPU form, CF times and, unless ``coords="device"``, coordinates."""
        if self.device == "cpu" or not _has_device_form(array.dtype):
            return "cpu"
        if _is_cf_time(attrs, self.device_decoders):
            return "cpu"
        if name in coordinates and self.coords == "host":
            return "cpu"
        return self.device

    def open_store_variable(self, name: str, array: Array, coordinates: frozenset = frozenset()) -> Variable:
        dims, attrs = _dimensions_and_attributes(array)
        codecs = codec_encoding(array)
        encoding = {"chunks": codecs.pop("chunks")}
        if array.dtype.kind == "T":
            # As xarray's zarr backend: the StringDType is kept (not turned into objects) when the
            # encoding names it.
            encoding["dtype"] = array.dtype
        encoding["preferred_chunks"] = dict(zip(dims, encoding["chunks"]))
        encoding.update(as_zarr_objects(codecs, array.zarr_format, array.dtype, encoding["chunks"]))
        fill = _zarr_fill_value(array)
        if self._fill_as_mask:
            # The zarr fill value marks missing data, as netCDF's _FillValue does.
            if fill is not None:
                attrs["_FillValue"] = fill
        else:
            if array.zarr_format == 3:
                encoding["fill_value"] = fill
            if "_FillValue" in attrs:
                attrs["_FillValue"] = _decode_fill_attribute(attrs["_FillValue"], array.dtype)
        if dims == (name,):
            # A dimension coordinate becomes a pandas index: read it now, to host memory.
            data = _read(array, (), "cpu")
        else:
            device = self._variable_device(name, array, dims, attrs, coordinates)
            data = indexing.LazilyIndexedArray(CuzarrBackendArray(array, device))
            if device != "cpu":
                self.device_variables.add(name)
                if self.device_decoders.get("mask_and_scale"):
                    return _mask_and_scale_on_device(Variable(dims, data, attrs, encoding), name, self.device_decoders)
        return Variable(dims, data, attrs, encoding)

    def get_variables(self):
        arrays = self.arrays()
        coordinates = frozenset(self._coordinate_names(arrays))
        return FrozenDict((name, self.open_store_variable(name, array, coordinates)) for name, array in arrays)

    def get_attrs(self):
        return {k: v for k, v in self.group.attrs.items() if not _is_hidden_attribute(k)}

    def get_dimensions(self):
        sizes: dict[str, int] = {}
        for _name, array in self.arrays():
            dims, _ = _dimensions_and_attributes(array)
            for dim, size in zip(dims, array.shape):
                if sizes.setdefault(dim, size) != size:
                    raise ValueError(
                        f"found conflicting lengths for dimension {dim} ({size} != {sizes[dim]})"
                    )
        return sizes

    def get_encoding(self):
        return {}

    def close(self):
        pass  # the core holds no open files between reads


def _check_coords(coords) -> str:
    if coords not in ("host", "device"):
        raise ValueError(f"coords must be 'host' or 'device', got {coords!r}")
    return coords


def _as_names(drop_variables) -> tuple[str, ...]:
    if drop_variables is None:
        return ()
    if isinstance(drop_variables, str):
        return (drop_variables,)
    return tuple(drop_variables)


def _is_url(path: str) -> bool:
    return path[:8].lower().startswith(("http://", "https://", "s3://", "gs://", "gcs://", "az://", "abfs://", "abfss://"))


def _shown(location) -> str:
    """``location`` for a message: a URL without its user name and password. Everything up to
    the last '@' goes, as the core does when a password holds an unencoded '/' (at worst too
    little of the URL is shown, never the password)."""
    text = str(location)
    scheme, sep, rest = text.partition("://")
    if not sep or "@" not in rest:
        return text
    return f"{scheme}://{rest.rpartition('@')[2]}"


def _open_group(filename_or_obj, *, group=None, consolidated=None, storage_options=None) -> Group:
    """The cuzarr Group that a dataset is read from: the store (or a group inside it) at the path,
    or a zarr-python store or mapping (cuzarr reads its bytes through it), then ``group`` below
    it. Host memory: lazy reads pick their device in :func:`_read`. Missing stores and missing
    consolidated metadata are reported as xarray's zarr backend reports them."""
    if isinstance(filename_or_obj, Group):
        root = filename_or_obj
    elif isinstance(filename_or_obj, (str, os.PathLike)):
        path = os.fspath(filename_or_obj)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not _is_url(path) and not path.startswith("reference://"):
            # Absolute, so that pickled arrays reopen from any working directory.
            path = os.path.abspath(os.path.expanduser(path))
        root = _open_root(path, consolidated, storage_options)
    elif is_store_object(filename_or_obj):
        if not getattr(filename_or_obj, "supports_consolidated_metadata", True):
            consolidated = False  # as xarray: such a store (Icechunk) never has any
        root = _open_root(filename_or_obj, consolidated, storage_options)
    else:
        raise TypeError(
            "engine='cuzarr' opens Zarr stores from a directory, a .zip file, an http(s), s3://, gs:// or az:// URL, a "
            "zarr-python store (zarr.abc.store.Store) or a mapping of keys to bytes; got "
            f"{type(filename_or_obj).__name__}"
        )
    if isinstance(root, Array):
        raise ValueError(
            f"{_shown(filename_or_obj)} is a Zarr array, not a group: open the group that holds it "
            "(xarray reads groups as datasets)"
        )
    name = (group or "").strip("/")
    if not name:
        return root
    try:
        node = root[name]
    except _core.KeyNotFoundError as e:
        raise _core.KeyNotFoundError(f"group {group!r} not found in {_shown(filename_or_obj)}: {e}") from e
    if not isinstance(node, Group):
        raise ValueError(f"group {group!r} in {_shown(filename_or_obj)} is a Zarr array, not a group")
    return node


def is_store_object(obj) -> bool:
    """A zarr-python store or a mapping, which cuzarr reads through (cuzarr._zarr_store)."""
    from collections.abc import Mapping

    from ._zarr_store import is_zarr_store

    return is_zarr_store(obj) or isinstance(obj, Mapping)


_NOT_CONSOLIDATED = (
    "Failed to open Zarr store with consolidated metadata, but successfully read with "
    "non-consolidated metadata. This is typically much slower for opening a dataset. To silence "
    "this warning, consider:\n"
    "1. Consolidating metadata in this existing store with zarr.consolidate_metadata().\n"
    "2. Explicitly setting consolidated=False, to avoid trying to read consolidate metadata, or\n"
    "3. Explicitly setting consolidated=True, to raise an error in this case instead of falling "
    "back to try reading non-consolidated metadata."
)


def _open_root(location, consolidated, storage_options):
    """cuzarr.open for a dataset: a missing store is xarray's FileNotFoundError, and a group
    read without consolidated metadata that it was not told to ignore warns as xarray does."""
    try:
        root = _open(location, device="cpu", consolidated=consolidated, storage_options=storage_options)
    except _core.KeyNotFoundError as e:
        # What engine="zarr" raises (cuzarr's message is the cause): zarr-python's LocalStore
        # error for a path that does not exist, zarr-python's GroupNotFoundError (a
        # FileNotFoundError) for a store without Zarr metadata at its root.
        if isinstance(location, str) and not _is_url(location) and not os.path.exists(location):
            raise FileNotFoundError(f"{location} does not exist") from e
        raise _group_not_found(location) from e
    # References list their keys without a request: no warning for their missing .zmetadata.
    if (consolidated is None and isinstance(root, Group) and not root.consolidated
            and not is_references(location, storage_options)):
        warn_at_caller(_NOT_CONSOLIDATED, RuntimeWarning)
    return root


def _group_not_found(location) -> Exception:
    try:
        from zarr.errors import GroupNotFoundError

        error = GroupNotFoundError(_shown(location), "")
        if isinstance(error, FileNotFoundError):
            return error
    except Exception:  # noqa: BLE001 - no zarr-python, or one whose error differs
        pass
    return FileNotFoundError(f"No such file or directory: '{_shown(location)}'")  # xarray's own message


def _walk_groups(group: Group, path: str):
    yield path, group
    for name, child in group.groups():
        yield from _walk_groups(child, path.rstrip("/") + "/" + name)


# --------------------------------------------------------------------------------------------
# Entry points


class CuzarrBackendEntrypoint(BackendEntrypoint):
    """Open Zarr v2 and v3 stores with cuzarr: ``xr.open_dataset(path, engine="cuzarr")``.

    Backend parameters besides xarray's decoders: ``device`` ("cpu", "cuda", "cuda:N" or a GPU
    number; None: "cuda" when cuzarr can read into a usable GPU, else "cpu"), ``group`` (a group
    path inside the store, "a/b"), ``consolidated`` (None: use consolidated metadata when present,
    True: require it, False: ignore it), ``use_zarr_fill_value_as_mask`` (None: True for v2,
    False for v3, as in xarray's zarr backend), ``coords`` ("host", the default: coordinates
    are NumPy; "device": non-index coordinates such as 2-d lat/lon stay on the GPU with the data;
    index coordinates are always NumPy) and ``storage_options`` (for http(s), s3://, gs:// and
    az:// URLs: ``headers``, ``concurrency``, ``retries``, ``timeout``; for s3:// also ``key``,
    ``secret``, ``token``, ``anon``, ``endpoint_url``, ``region``, ``profile`` and s3fs's
    ``client_kwargs``; for gs:// gcsfs's ``token``, ``project``, ``endpoint_url``; for az:// adlfs's
    ``account_name``, ``account_key``, ``sas_token``, ``connection_string``, ``tenant_id``,
    ``client_id``, ``client_secret``, ``anon``; see
    ``cuzarr.open``).
    """

    description = "Open Zarr v2/v3 stores (.zarr) with cuzarr, into host or GPU memory"
    url = "docs/xarray.md in the cuzarr repository (no public web page yet)"
    supports_groups = True
    open_dataset_parameters = (
        "filename_or_obj",
        "mask_and_scale",
        "decode_times",
        "concat_characters",
        "decode_coords",
        "drop_variables",
        "use_cftime",
        "decode_timedelta",
        "device",
        "group",
        "consolidated",
        "use_zarr_fill_value_as_mask",
        "coords",
        "storage_options",
    )

    def guess_can_open(self, filename_or_obj) -> bool:
        # Only what no other engine opens: a cuzarr Group. xarray tries engines in name order
        # ("cuzarr" and "kvikio" before "zarr"), so claiming ".zarr" paths would change what
        # xr.open_dataset("data.zarr") gives everyone who installs cuzarr (and CuPy arrays for
        # users with a GPU). Name engine="cuzarr" to read with cuzarr.
        return isinstance(filename_or_obj, Group)

    def open_dataset(
        self,
        filename_or_obj,
        *,
        mask_and_scale=True,
        decode_times=True,
        concat_characters=True,
        decode_coords=True,
        drop_variables=None,
        use_cftime=None,
        decode_timedelta=None,
        device=None,
        group=None,
        consolidated=None,
        use_zarr_fill_value_as_mask=None,
        coords="host",
        storage_options=None,
    ):
        store = CuzarrDataStore.open(
            filename_or_obj, group=group, consolidated=consolidated, device=device,
            use_zarr_fill_value_as_mask=use_zarr_fill_value_as_mask, drop_variables=drop_variables,
            coords=coords,
            storage_options=storage_options,
        )
        return self._dataset(store, mask_and_scale=mask_and_scale, decode_times=decode_times,
                             concat_characters=concat_characters, decode_coords=decode_coords,
                             drop_variables=drop_variables, use_cftime=use_cftime,
                             decode_timedelta=decode_timedelta)

    @staticmethod
    def _dataset(store: CuzarrDataStore, **decoders):
        store.device_decoders = decoders
        with close_on_error(store):
            ds = StoreBackendEntrypoint().open_dataset(store, **decoders)
        # Variables read to the GPU chunk into dask arrays with CuPy meta (see _DeviceVariable).
        for name in store.device_variables & set(ds.variables):
            var = ds.variables[name]
            ds._variables[name] = _DeviceVariable(var.dims, var._data, var.attrs, var.encoding, fastpath=True)
        return ds

    def open_groups_as_dict(
        self,
        filename_or_obj,
        *,
        mask_and_scale=True,
        decode_times=True,
        concat_characters=True,
        decode_coords=True,
        drop_variables=None,
        use_cftime=None,
        decode_timedelta=None,
        device=None,
        group=None,
        consolidated=None,
        use_zarr_fill_value_as_mask=None,
        coords="host",
        storage_options=None,
    ):
        """Every group at and below ``group`` as a Dataset, keyed "/", "/a", "/a/b", ..."""
        top = CuzarrDataStore.open(
            filename_or_obj, group=group, consolidated=consolidated, device=device,
            use_zarr_fill_value_as_mask=use_zarr_fill_value_as_mask, drop_variables=drop_variables,
            coords=coords,
            storage_options=storage_options,
        )
        decoders = dict(mask_and_scale=mask_and_scale, decode_times=decode_times,
                        concat_characters=concat_characters, decode_coords=decode_coords,
                        drop_variables=drop_variables, use_cftime=use_cftime,
                        decode_timedelta=decode_timedelta)
        groups = {}
        for path, node in _walk_groups(top.group, "/"):
            groups[path] = self._dataset(top._sibling(node), **decoders)
        return groups

    def open_datatree(self, filename_or_obj, **kwargs):
        return datatree_from_dict_with_io_cleanup(self.open_groups_as_dict(filename_or_obj, **kwargs))


class KvikioBackendEntrypoint(CuzarrBackendEntrypoint):
    """``engine="kvikio"``: the name the original GPU Zarr experiment used; the same backend."""

    description = "Open Zarr stores with cuzarr (engine name of the kvikio experiment)"
