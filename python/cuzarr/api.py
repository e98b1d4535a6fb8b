"""The Python face of cuzarr: open a store, browse groups, read arrays into NumPy."""

from __future__ import annotations

import json
import os
from functools import cached_property

import numpy as np

from . import _core
from ._device import cuda_array_interface, cupy_module, resolve_device
from ._indexing import plan_index
from ._references import is_references, open_references
from ._virtual import is_virtual, open_virtual
from ._icechunk import IcechunkSnapshot, is_icechunk_repository, open_icechunk_node
from ._repr import attempt, error_note, never_raises

_CONSOLIDATED = {None: "auto", True: "require", False: "ignore"}


_STORAGE_OPTIONS = {"headers": dict, "concurrency": int, "retries": int, "timeout": (int, float)}
# s3:// only; the secrets (secret, token) never appear in an error or repr. client_kwargs and
# config_kwargs are s3fs's spellings (endpoint_url / region_name, {"s3": {"addressing_style"}}).
_S3_OPTIONS = {"key": str, "secret": str, "token": str, "anon": bool, "endpoint_url": str, "region": str,
               "profile": str, "addressing_style": str, "client_kwargs": dict, "config_kwargs": dict}
# gs:// only, as gcsfs users write them: token is "anon", an access token, a credentials file's path
# or the credentials themselves (a dict); key and secret are an HMAC key.
_GCS_OPTIONS = {"token": (str, dict), "key": str, "secret": str, "anon": bool, "project": str, "endpoint_url": str}
# az:// and abfs:// only, as adlfs users write them.
_AZURE_OPTIONS = {"account_name": str, "account_key": str, "sas_token": str, "connection_string": str, "anon": bool,
                  "account_host": str, "endpoint_url": str, "tenant_id": str, "client_id": str, "client_secret": str}


def _cloud_of(path) -> str:
    """Which cloud's options a location takes: "s3", "gcs", "azure", or "" (S3's names are then
    accepted here and refused by the core, which says they belong to s3:// URLs)."""
    if not isinstance(path, str):
        return ""
    lower = path[:8].lower()
    if lower.startswith(("gs://", "gcs://")):
        return "gcs"
    if lower.startswith(("az://", "abfs://", "abfss://")):
        return "azure"
    if lower.startswith("https://") and path[8:].split("/", 1)[0].lower().endswith(".blob.core.windows.net"):
        return "azure"
    return "s3" if lower.startswith("s3://") else ""


def _cloud_options(path) -> tuple[str, dict]:
    cloud = _cloud_of(path)
    return cloud, {"gcs": _GCS_OPTIONS, "azure": _AZURE_OPTIONS}.get(cloud, _S3_OPTIONS)


def _check_storage_options(storage_options, path=None) -> dict:
    options = dict(storage_options or {})
    cloud, cloud_options = _cloud_options(path)
    scheme = {"gcs": "gs://", "azure": "az://"}.get(cloud, "s3://")
    for key, value in options.items():
        if key not in _STORAGE_OPTIONS and key not in cloud_options:
            raise ValueError(
                f"unknown storage option {key!r}; cuzarr takes "
                f"{', '.join(sorted(_STORAGE_OPTIONS))} and, for {scheme} URLs, {', '.join(sorted(cloud_options))}"
            )
        want = _STORAGE_OPTIONS.get(key) or cloud_options[key]
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            raise TypeError(f"storage option {key!r} has the wrong type ({type(value).__name__})")
    headers = options.get("headers", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise TypeError("storage option 'headers' must map header names (str) to values (str)")
    _cloud_core_options(options, cloud)  # checks the cloud part now, not at the first read
    return options


def _cloud_core_options(options: dict, cloud: str) -> dict:
    """The options of one cloud as the core takes them: names to strings."""
    if cloud == "":
        cloud = "s3"
    if cloud == "s3":
        return _s3_core_options(options)
    names = _GCS_OPTIONS if cloud == "gcs" else _AZURE_OPTIONS
    out = {}
    for key, value in options.items():
        if key not in names:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, dict):  # gcsfs's token given as the credentials themselves
            value = json.dumps(value)
        out[key] = value
    return out


def _s3_core_options(options: dict) -> dict:
    """The S3 options as the core takes them: names to strings, s3fs's nesting flattened."""
    out = {k: ("true" if v else "false") if k == "anon" else v
           for k, v in options.items() if k in _S3_OPTIONS and k not in ("client_kwargs", "config_kwargs")}
    for name, value in options.get("client_kwargs", {}).items():
        core = {"endpoint_url": "endpoint_url", "region_name": "region"}.get(name)
        if core is None:
            raise ValueError(f"storage option client_kwargs[{name!r}] is not supported; cuzarr takes "
                             "client_kwargs endpoint_url and region_name")
        if not isinstance(value, str):
            raise TypeError(f"storage option client_kwargs[{name!r}] must be a str")
        out.setdefault(core, value)
    config = options.get("config_kwargs", {})
    s3 = config.get("s3", {}) if isinstance(config.get("s3", {}), dict) else None
    if s3 is None or set(config) - {"s3"} or set(s3) - {"addressing_style"}:
        raise ValueError("storage option config_kwargs is supported only as {'s3': {'addressing_style': ...}}")
    if "addressing_style" in s3:
        out.setdefault("addressing_style", str(s3["addressing_style"]))
    return out


def _core_options(options: dict, path=None) -> dict:
    """Keyword arguments of _core.open for checked storage options."""
    core = {k: v for k, v in options.items() if k in _STORAGE_OPTIONS}
    cloud = _cloud_of(path) or "s3"
    cloud_options = _cloud_core_options(options, cloud)
    if cloud_options:
        core[cloud] = cloud_options
    return core


def open(path, *, mode="r", device="cpu", consolidated=None, storage_options=None):  # noqa: A001 - mirrors zarr.open
    """Open the Zarr array or group at ``path``: a directory (it may lie inside a store, e.g.
    ``"data.zarr/group/var"``), a ``.zip`` file holding a store, or an ``http://`` / ``https://``
    or ``s3://`` URL of one. ``path`` may also be a zarr-python store (``zarr.abc.store.Store``: MemoryStore,
    ZipStore, FsspecStore, ObjectStore, an Icechunk session's store...) or a mapping of keys to
    bytes: cuzarr then fetches keys and byte ranges through it and does everything else itself
    (a LocalStore is opened as its directory).

    mode: "r" reads only; "r+" also writes (``a[sel] = x``; local directory stores).
    consolidated: None uses consolidated metadata when the group has it, True requires it,
    False ignores it. device: "cpu" (NumPy results), "cuda" / "cuda:N" / N (CuPy results on that
    GPU; needs a CUDA build), or None (a GPU when one is usable, else "cpu").
    storage_options (HTTP and S3): ``headers`` (dict sent with every request, e.g. a bearer token;
    never shown in errors), ``concurrency`` (requests in flight), ``retries`` (further attempts
    after a 5xx, timeout or broken transfer) and ``timeout`` (seconds without progress); unset ones
    take the CUZARR_HTTP_* settings. For ``s3://bucket/prefix`` URLs also ``key``, ``secret``,
    ``token`` (credentials; otherwise AWS_* variables or a profile), ``anon`` (unsigned requests),
    ``endpoint_url`` (an S3-compatible server), ``region``, ``profile`` (in ~/.aws/credentials and
    ~/.aws/config) and ``addressing_style`` ("path", "virtual", "auto"); s3fs's
    ``client_kwargs={"endpoint_url": ..., "region_name": ...}`` works too. For ``gs://bucket/prefix``
    (Google Cloud Storage) gcsfs's ``token`` ("anon", an access token, a credentials file's path or a
    dict of credentials), ``key``/``secret`` (an HMAC key), ``anon``, ``project`` and
    ``endpoint_url``. For ``az://container/prefix`` (also ``abfs://`` and
    ``https://<account>.blob.core.windows.net/...``) adlfs's ``account_name``, ``account_key``,
    ``sas_token``, ``connection_string``, a service principal's ``tenant_id``, ``client_id`` and
    ``client_secret`` (Microsoft Entra ID), ``anon``, ``account_host`` and ``endpoint_url``
    (docs/stores.md).

    kerchunk references (docs/references.md): ``path`` a references file (``"refs.json"``, a
    path or URL), a dict of references (version 0 or 1), or ``"reference://"`` with
    ``storage_options={"fo": <file or dict>}``; ``storage_options`` may then hold fsspec's
    ``remote_protocol`` and ``remote_options`` (the referenced files' storage options) and
    ``target_options`` (the references file's).

    VirtualiZarr (docs/references.md): ``path`` a virtual dataset (the xarray Dataset of
    ``ManifestArray`` variables that ``virtualizarr.open_virtual_dataset`` returns), a
    ``ManifestGroup`` or a ``ManifestStore``: read through its manifests, nothing written;
    ``storage_options`` are then the referenced files' options.
    """
    device = resolve_device(device)
    if consolidated not in _CONSOLIDATED:
        raise ValueError(f"consolidated must be None, True or False, got {consolidated!r}")
    if mode not in ("r", "r+"):
        raise ValueError(f"mode must be 'r' or 'r+', got {mode!r} (create nodes with cuzarr.create_array / create_group)")
    if isinstance(path, IcechunkSnapshot) or is_icechunk_repository(path):
        if mode != "r":
            raise NotImplementedError("cuzarr reads Icechunk repositories only: open them with mode='r'")
        snapshot = path if isinstance(path, IcechunkSnapshot) else None
        node, root = open_icechunk_node(
            snapshot.location if snapshot else path, branch=None, tag=None,
            snapshot_id=snapshot.snapshot_id if snapshot else None, consolidated=_CONSOLIDATED[consolidated],
            storage_options=snapshot.storage_options if snapshot else storage_options)
        return _wrap(node, root=root, device=device, consolidated=consolidated)
    if is_virtual(path):
        if mode != "r":
            raise NotImplementedError("virtual datasets are read-only: open them with mode='r'")
        node = open_virtual(path, storage_options, _CONSOLIDATED[consolidated])
        return _wrap(node, root=path, device=device, consolidated=consolidated,
                     storage_options=dict(storage_options or {}))
    if is_references(path, storage_options):
        if mode != "r":
            raise NotImplementedError("kerchunk references are read-only: open them with mode='r'")
        node = open_references(path, storage_options, _CONSOLIDATED[consolidated])
        return _wrap(node, root=path, device=device, consolidated=consolidated,
                     storage_options=dict(storage_options or {}))
    options = _check_storage_options(storage_options, path)
    if not isinstance(path, (str, bytes, os.PathLike)):
        if mode != "r" and type(path).__name__ == "LocalStore":
            path = path.root
        elif mode != "r":
            raise NotImplementedError("cuzarr writes to local directory stores only: open a path with mode='r+'")
        else:
            return _open_store_object(path, device=device, consolidated=consolidated, storage_options=options)
    root = os.fspath(path)
    node = _core.open(root, _CONSOLIDATED[consolidated], **_core_options(options, root), mode=mode)
    return _wrap(node, root=root, device=device, consolidated=consolidated, storage_options=options, mode=mode)


def open_icechunk(location, *, branch=None, tag=None, snapshot_id=None, device="cpu", consolidated=None,
                  storage_options=None):
    """Open an Icechunk repository natively (docs/references.md): ``location`` a directory or an
    ``s3://``, ``gs://``, ``az://`` or ``http(s)://`` URL of one; one of ``branch`` (default
    ``"main"``), ``tag`` or ``snapshot_id`` (20 characters, as icechunk prints them). Reads the
    repository's files itself (spec version 1: icechunk 1.x): inline, native and virtual chunks;
    ``storage_options`` are the repository's and its virtual chunks' store options. The snapshot is
    fixed when opened: ``root.store_root.snapshot_id`` says which, and dask workers read that one.
    A local repository directory also opens with ``cuzarr.open(path)`` (its ``main`` branch)."""
    device = resolve_device(device)
    if consolidated not in _CONSOLIDATED:
        raise ValueError(f"consolidated must be None, True or False, got {consolidated!r}")
    node, root = open_icechunk_node(location, branch=branch, tag=tag, snapshot_id=snapshot_id,
                                    consolidated=_CONSOLIDATED[consolidated], storage_options=storage_options)
    return _wrap(node, root=root, device=device, consolidated=consolidated)


def _open_store_object(store, *, device, consolidated, storage_options):
    """A zarr-python store or a mapping: a local directory store is opened as its path; any other
    one becomes the byte source of the core (cuzarr._zarr_store), which does the rest."""
    from ._zarr_store import source_for

    root = getattr(store, "root", None)
    if type(store).__name__ == "LocalStore" and isinstance(root, (str, os.PathLike)):
        return open(root, device=device, consolidated=consolidated, storage_options=storage_options)
    source = source_for(store)
    if source is None:
        raise TypeError(
            "cuzarr.open takes a path or URL (str or os.PathLike), a zarr-python store "
            f"(zarr.abc.store.Store) or a mapping of keys to bytes, got {type(store).__name__}"
        )
    if storage_options:
        raise ValueError("storage_options apply to paths and URLs; a store object brings its own settings")
    node = _core.open_source(source, _CONSOLIDATED[consolidated])
    return _wrap(node, root=store, device=device, consolidated=consolidated)


def _wrap(node, *, root, device, consolidated, storage_options=None, mode="r"):
    cls = Array if isinstance(node, _core.Array) else Group
    return cls(node, root=root, device=device, consolidated=consolidated, storage_options=storage_options, mode=mode)


def _reopen(root, path, device, consolidated, storage_options=None, mode="r"):
    node = open(root, device=device, consolidated=consolidated, storage_options=storage_options, mode=mode)
    return node[path] if path else node


class _Node:
    def __init__(self, core, *, root, device, consolidated, storage_options=None, mode="r"):
        self._core = core
        self._root = root
        self._device = device
        self._consolidated = consolidated
        self._storage_options = storage_options or {}
        self._mode = mode

    @property
    def path(self) -> str:
        """Path of this node inside the store opened ("" for the node that was opened)."""
        return self._core.path

    @property
    def name(self) -> str:
        return "/" + self._core.path

    @property
    def zarr_format(self) -> int:
        return self._core.zarr_format

    @cached_property
    def attrs(self) -> dict:
        return json.loads(self._core.attributes_json)

    def __reduce__(self):
        # Workers of dask.distributed reopen the node from its location.
        return (_reopen, (self._root, self._core.path, self._device, self._consolidated, self._storage_options,
                          self._mode))


class Array(_Node):
    """A Zarr array. Indexing reads only the chunks the selection touches and returns NumPy."""

    @cached_property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._core.shape)

    @cached_property
    def chunks(self) -> tuple[int, ...]:
        """The chunk shape as zarr-python reports it: a sharded array's inner chunks."""
        return tuple(self._core.chunks)

    @cached_property
    def shards(self) -> tuple[int, ...] | None:
        """The shard shape of a sharded array (``sharding_indexed`` its only codec), else None."""
        shards = self._core.shards
        return None if shards is None else tuple(shards)

    @cached_property
    def dtype(self) -> np.dtype:
        # Variable-length text reads as NumPy's StringDType, as zarr-python 3 returns it; bytes
        # and vlen-array items as objects.
        if self._core.dtype_name == "string":
            return np.dtypes.StringDType()
        return np.dtype(self._core.dtype)

    @property
    def _is_text(self) -> bool:
        """Text and object items (fixed-width "S"/"U", variable-length): always read to host."""
        return self.dtype.kind in "SUOT"

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @cached_property
    def dimension_names(self) -> tuple[str | None, ...] | None:
        names = self._core.dimension_names
        return tuple(names) if names else None

    @cached_property
    def fill_value(self):
        raw = self._core.fill_value_bytes
        if self.dtype.kind in "OT":
            # A record (offset, size) and the item's bytes: see kVlenRecordSize in dtype.hpp.
            item = raw[16:]
            if self.dtype.kind == "T":
                return item.decode("utf-8")
            if self._core.dtype_name.startswith("vlen-array"):
                return np.frombuffer(item, dtype=self._core.dtype_name[len("vlen-array["):-1])
            return item
        return np.frombuffer(raw, dtype=self.dtype)[0]

    @property
    def codecs(self):
        """The codecs as written in the metadata (v3 list, or v2 order/filters/compressor)."""
        return json.loads(self._core.codecs_json)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    @never_raises
    def __repr__(self) -> str:
        # Metadata held in memory only: no store access, so an array whose store went away shows.
        shape = attempt(lambda: str(self.shape))
        dtype = attempt(lambda: str(self.dtype), default=attempt(lambda: self._core.dtype_name))
        chunks = attempt(lambda: str(self.chunks))
        return f"<cuzarr.Array {attempt(lambda: self._core.display_path)} shape={shape} dtype={dtype} chunks={chunks}>"

    def __getitem__(self, key):
        """Outer (orthogonal) indexing, like zarr's ``oindex``: integers, slices (any step),
        ``...``, ``None`` and 1-d integer or boolean arrays, each applied to its own dimension."""
        return self.read(key)

    def __setitem__(self, key, value):
        """Write ``value`` into ``self[key]`` (outer indexing, as for reads; positive steps). See
        :meth:`write`."""
        self.write(key, value)

    def write(self, key, value):
        """Write ``value`` (NumPy, a scalar, anything ``numpy.asarray`` takes, or CuPy, which is
        copied to host memory with ``cupy.asnumpy`` first: the GPU encoders are a later step) into
        the selection ``key``, broadcast to its shape. Its dtype must cast safely to the array's
        (NumPy's "safe" rule; Python scalars must keep their value). The array must be open for
        writing (``cuzarr.open(..., mode="r+")`` or ``cuzarr.create_array``)."""
        where = f"array '{self._core.display_path}'"
        if self.dtype.kind in "OTSUV":
            raise NotImplementedError(f"{where}: writing {self.dtype} items is not supported")
        try:
            plan = plan_index(key, self.shape)
        except _core.SelectionError as e:
            raise _core.SelectionError(f"{where}: {e}") from None
        if plan.needs_post:
            raise _core.SelectionError(f"{where}: writes take positive steps and no new axes")
        shape = tuple(self._core.result_shape(plan.selection))
        values = _host_values(value, self.dtype, where)
        try:
            values = np.broadcast_to(values, shape)
        except ValueError:
            raise ValueError(f"{where}: a value of shape {values.shape} does not fit the selection's shape {shape}") from None
        if values.dtype.kind in "mM":
            values = values.view(np.int64)
        self._core.write_raw(plan.selection, values.ctypes.data, list(shape), list(values.strides))

    @property
    def oindex(self):
        return _OIndex(self)

    @property
    def device(self):
        """"cpu" or the GPU number results go to."""
        return self._device

    def read(self, key=(), out=None, *, device=None):
        """Read ``self[key]`` into a new array on this array's device (NumPy or CuPy), or on
        ``device`` when given ("cpu" or a GPU). With ``out`` (any strides, matching shape and
        dtype) read into it instead: a NumPy array, or any GPU array exposing
        ``__cuda_array_interface__`` (CuPy, PyTorch, Numba). Text and object arrays ("S", "U",
        variable-length strings and bytes) have no GPU form: they are always read into NumPy."""
        device = self._device if device is None else resolve_device(device)
        if self._is_text and out is None:
            device = "cpu"  # text has no GPU form: it is read to host memory (NumPy) on any device
        try:
            plan = plan_index(key, self.shape)
        except _core.SelectionError as e:
            raise _core.SelectionError(f"array '{self._core.display_path}': {e}") from None
        shape = tuple(self._core.result_shape(plan.selection))
        if out is not None:
            if plan.needs_post:
                raise ValueError("out= cannot be combined with negative steps or new axes")
            self._read_into(plan.selection, shape, out, device)
            return out
        if self.dtype.kind in "OT":
            result = self._read_vlen(plan.selection, shape)
            return result[plan.post] if plan.needs_post else result
        if device == "cpu":
            result = np.empty(shape, dtype=self.dtype)
        elif self.dtype.kind in "mM":
            raise _core.UnsupportedError(
                f"array '{self._core.display_path}': CuPy has no {self.dtype} arrays; read it with "
                "device='cpu' (or into a GPU int64 array with read_into)"
            )
        else:
            cupy = cupy_module()
            with cupy.cuda.Device(device):
                result = cupy.empty(shape, dtype=self.dtype)
        self._read_into(plan.selection, shape, result, device)
        return result[plan.post] if plan.needs_post else result

    def _read_vlen(self, selection, shape):
        items, _ = self._core.read_vlen(selection)
        if self.dtype.kind == "T":
            return np.array(items, dtype=self.dtype).reshape(shape)
        result = np.empty(len(items), dtype=object)
        name = self._core.dtype_name
        if name.startswith("vlen-array"):
            item_dtype = np.dtype(name[len("vlen-array["):-1])
            for i, b in enumerate(items):
                result[i] = np.frombuffer(b, dtype=item_dtype)
        else:
            result[:] = items
        return result.reshape(shape)

    def read_into(self, out, key=()):
        """Fill ``out`` with ``self[key]``; see :meth:`read`."""
        return self.read(key, out=out)

    def _read_into(self, selection, shape, out, device):
        if self.dtype.kind in "OT":
            raise TypeError(f"array '{self._core.display_path}' has variable-length items ({self.dtype}): "
                            "read it without out=")
        if isinstance(out, np.ndarray):
            if out.dtype != self.dtype:
                raise TypeError(f"out has dtype {out.dtype}, the array has {self.dtype}")
            if tuple(out.shape) != shape:
                raise ValueError(f"out has shape {out.shape}, the selection has {shape}")
            if out.dtype.kind in "SU":
                # Fixed-width text has no DLPack type: hand over the memory as a raw host pointer.
                if not out.flags.writeable:
                    raise ValueError("the output array is read-only")
                self._core.read_into_raw(selection, out.ctypes.data, list(shape), list(out.strides), None)
                return
            # datetime64/timedelta64 travel as their int64 storage: the buffer protocol lacks them.
            self._core.read_into(selection, out.view(np.int64) if out.dtype.kind in "mM" else out)
            return
        if not hasattr(out, "__cuda_array_interface__"):
            raise TypeError(f"out must be a NumPy array or a GPU array with __cuda_array_interface__, got {type(out)}")
        ptr, out_shape, strides, typestr = cuda_array_interface(out)
        want = np.dtype(np.int64) if self.dtype.kind in "mM" else self.dtype  # datetimes as int64
        if np.dtype(typestr) != want.newbyteorder("=") and np.dtype(typestr) != want:
            raise TypeError(f"out has dtype {np.dtype(typestr)}, the array has {self.dtype}")
        if out_shape != shape:
            raise ValueError(f"out has shape {out_shape}, the selection has {shape}")
        stream = 0
        try:
            import cupy

            stream = cupy.cuda.get_current_stream().ptr
        except ImportError:
            pass
        gpu = device if isinstance(device, int) else -1  # -1: the GPU that owns the pointer
        self._core.read_into_raw(selection, ptr, list(shape), list(strides), gpu, stream)

    def __array__(self, dtype=None, copy=None):
        data = self.read()
        if not isinstance(data, np.ndarray):
            data = data.get()
        return data if dtype is None else data.astype(dtype, copy=False)


def _host_values(value, dtype: np.dtype, where: str) -> np.ndarray:
    """`value` as a NumPy array of `dtype` in native byte order, refusing casts that lose values."""
    if hasattr(value, "__cuda_array_interface__") and not isinstance(value, np.ndarray):
        value = cupy_module().asnumpy(value)  # GPU encode is a later step: encode on the host
    native = dtype.newbyteorder("=")
    if isinstance(value, (bool, int, float, complex)) and not isinstance(value, np.generic):
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                cast = np.asarray(value, dtype=native)
        except (OverflowError, ValueError, TypeError) as e:
            raise TypeError(f"{where}: {value!r} does not fit {dtype}: {e}") from None
        got = cast.item()
        if dtype.kind in "fc" and not isinstance(value, complex) or dtype.kind == "c":
            # floating point rounds; what it must not do is overflow to infinity
            lost = np.isfinite(value) and not np.isfinite(cast)
        else:
            lost = got != value
        if lost:
            raise TypeError(f"{where}: {value!r} cannot be stored in {dtype} without changing it")
        return cast
    arr = np.asarray(value)
    if not np.can_cast(arr.dtype, dtype, casting="safe"):
        raise TypeError(f"{where}: values of dtype {arr.dtype} do not cast safely to the array's {dtype}; "
                        f"convert them first (x.astype({str(dtype)!r}))")
    return np.asarray(arr, dtype=native)


class _OIndex:
    def __init__(self, array: Array):
        self._array = array

    def __getitem__(self, key):
        return self._array.read(key)


class Group(_Node):
    """A Zarr group: a mapping of names to arrays and subgroups."""

    def _members(self) -> list[tuple[str, str]]:
        """(name, "array" | "group" | "unreadable") per direct child, from one listing of the store.
        A child whose metadata cannot be read is listed, not skipped: opening it says why."""
        return list(self._core.members())

    def array_keys(self) -> list[str]:
        return [name for name, kind in self._members() if kind == "array"]

    def group_keys(self) -> list[str]:
        return [name for name, kind in self._members() if kind == "group"]

    def unreadable_keys(self) -> list[str]:
        """Children whose metadata cannot be read far enough to tell an array from a group
        (``self[name]`` raises with the reason); they are among :meth:`keys`."""
        return [name for name, kind in self._members() if kind == "unreadable"]

    def keys(self) -> list[str]:
        return sorted(name for name, _ in self._members())

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, name) -> bool:
        try:
            self[name]
        except (KeyError, _core.KeyNotFoundError):
            return False
        except (_core.MetadataError, _core.UnsupportedError, _core.CodecError):
            return True  # there, but broken: g[name] says why
        return True

    def arrays(self):
        return [(n, self[n]) for n in self.array_keys()]

    def groups(self):
        return [(n, self[n]) for n in self.group_keys()]

    def create_array(self, name: str, **kwargs) -> Array:
        """Create an array below this group (``cuzarr.create_array``'s other arguments)."""
        from ._create import create_array

        return create_array(self._writable_root(), name=self._child(name), **kwargs)

    def create_group(self, name: str, **kwargs) -> Group:
        """Create a group below this group (``cuzarr.create_group``'s other arguments)."""
        from ._create import create_group

        return create_group(self._writable_root(), path=self._child(name), **kwargs)

    def _child(self, name: str) -> str:
        return "/".join(p for p in (self._core.path, name.strip("/")) if p)

    def _writable_root(self):
        if self._mode != "r+" or not isinstance(self._root, (str, os.PathLike)):
            raise OSError(f"group '{self._core.display_path}' was opened read-only: open it with mode='r+' "
                          "(a local directory store)")
        return self._root

    @property
    def consolidated(self) -> bool:
        return self._core.consolidated

    def __getitem__(self, name: str):
        if not isinstance(name, str):
            raise TypeError(f"group members are named by strings, got {name!r}")
        node = self._core.open(name.strip("/"))
        return _wrap(node, root=self._root, device=self._device, consolidated=self._consolidated,
                     storage_options=self._storage_options, mode=self._mode)

    @never_raises
    def __repr__(self) -> str:
        # The listing reads the store (over the network, perhaps): when it fails, say so and why.
        where = attempt(lambda: self._core.display_path)
        try:
            members = self._members()
        except Exception as e:  # noqa: BLE001 - a repr never raises
            return f"<cuzarr.Group {where} members=? (cannot list: {error_note(e)})>"
        names = sorted(name for name, _ in members)
        broken = sorted(name for name, kind in members if kind == "unreadable")
        return f"<cuzarr.Group {where} members={names}" + (f" unreadable={broken}>" if broken else ">")
