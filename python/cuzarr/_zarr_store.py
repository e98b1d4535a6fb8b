"""zarr-python stores (and mappings) as byte sources of the C++ core.

``cuzarr.open(store)`` hands one of the sources below to ``_core.open_source``; the core reads
metadata, plans, decodes and places as for its own stores, and only asks the source for bytes:
whole values, byte ranges, sizes and listings (the methods python_store.hpp documents). The core
calls them from its reader threads, many at once; each call submits one coroutine of the store
to the event loop zarr-python itself runs its stores on (so a store that holds loop-bound state,
e.g. an aiohttp session of an fsspec filesystem, keeps working) and waits for it with the GIL
released, so many requests are in flight on that one loop thread.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import _core
from ._repr import attempt, never_raises

# Stores that answer from this machine's memory or disks: the reader's own thread count suits
# them. Any other store (fsspec, obstore, Icechunk...) waits on a network and gets more requests
# in flight (CUZARR_HTTP_CONCURRENCY, as cuzarr's own HTTP store).
_LOCAL_STORES = ("MemoryStore", "GpuMemoryStore", "LocalStore", "ZipStore")
_MEMORY_STORES = ("MemoryStore", "GpuMemoryStore")


def is_zarr_store(obj) -> bool:
    """Whether ``obj`` is a zarr-python 3 ``zarr.abc.store.Store`` (without importing zarr when
    it was never imported: no such object can exist then)."""
    import sys

    if "zarr" not in sys.modules:
        return False
    from zarr.abc.store import Store

    return isinstance(obj, Store)


def source_for(obj):
    """The byte source for a zarr-python store or a mapping of keys to bytes; None for anything
    else."""
    if is_zarr_store(obj):
        return ZarrStoreSource(obj)
    if isinstance(obj, Mapping):
        try:
            from fsspec.mapping import FSMap
        except ImportError:
            FSMap = ()  # noqa: N806
        if FSMap and isinstance(obj, FSMap):
            # As zarr-python opens an fsspec mapper: through the async store over its filesystem.
            from zarr.storage import FsspecStore

            return ZarrStoreSource(FsspecStore.from_mapper(obj, read_only=True))
        return MappingSource(obj)
    return None


def _as_bytes(value):
    """A zarr Buffer (or bytes-like value) as something with the buffer protocol, without a copy
    where the value lives in host memory."""
    if hasattr(value, "as_numpy_array"):
        return value.as_numpy_array()
    if hasattr(value, "to_bytes"):
        return value.to_bytes()
    return value


class ZarrStoreSource:
    """Synchronous byte access to an async ``zarr.abc.store.Store``."""

    def __init__(self, store):
        from zarr.abc.store import RangeByteRequest, SuffixByteRequest
        from zarr.core.buffer import default_buffer_prototype
        from zarr.core.sync import sync

        self.store = store
        self.description = str(store)
        local = type(store).__name__ in _LOCAL_STORES
        self.concurrency = 0 if local else int(_core.config()["http_concurrency"])
        # Ranges of values held in memory cost a slice; anything else a request (or a decompression).
        self.random_ranges = type(store).__name__ in _MEMORY_STORES
        self._prototype = default_buffer_prototype()
        self._sync = sync
        self._range, self._suffix = RangeByteRequest, SuffixByteRequest
        # zarr-python opens a store before its first use (a ZipStore's archive, for one); so do we.
        ensure_open = getattr(store, "_ensure_open", None)
        if ensure_open is not None:
            sync(ensure_open())

    @never_raises
    def __repr__(self) -> str:
        return f"ZarrStoreSource({attempt(lambda: repr(self.store))})"

    async def _get(self, key, byte_range=None):
        value = await self.store.get(key, prototype=self._prototype, byte_range=byte_range)
        return None if value is None else _as_bytes(value)

    async def _size(self, key):
        try:
            return int(await self.store.getsize(key))
        except (FileNotFoundError, KeyError):
            return None

    def get(self, key: str):
        return self._sync(self._get(key))

    def get_range(self, key: str, offset: int, length: int):
        if length == 0:
            return b"" if self.exists(key) else None
        return self._sync(self._get(key, self._range(offset, offset + length)))

    def get_suffix(self, key: str, length: int):
        if length == 0:
            return b"" if self.exists(key) else None
        return self._sync(self._get(key, self._suffix(length)))

    def get_edge(self, key: str, front: bool, length: int):
        return self._sync(self._edge(key, front, length))

    async def _edge(self, key, front, length):
        import asyncio

        if front:
            # One request answers both when the value is shorter than asked (a chunk's size is
            # below its limit): ask for one byte more than wanted, and the size only when it came.
            data = await self._get(key, self._range(0, length + 1))
            if data is None:
                return None
            n = memoryview(data).nbytes
            if n <= length:
                return data, n
            total = await self._size(key)
            return (None if total is None else (memoryview(data)[:length], total))
        # The end of a value (a shard's index): its size and its tail at once.
        total, tail = await asyncio.gather(self._size(key), self._get(key, self._suffix(max(length, 1))))
        if total is None or tail is None:
            return None
        tail = memoryview(tail)
        return (tail[tail.nbytes - min(length, total):] if length else tail[:0]), total

    def size(self, key: str):
        return self._sync(self._size(key))

    def exists(self, key: str) -> bool:
        return bool(self._sync(self.store.exists(key)))

    def list_dir(self, prefix: str) -> list[str]:
        async def names():
            return [name async for name in self.store.list_dir(prefix)]

        return [name.rstrip("/") for name in self._sync(names())]


class MappingSource:
    """Byte access to a mapping of keys to values (bytes, or zarr Buffers as in a dict that
    zarr-python wraps in a MemoryStore)."""

    def __init__(self, mapping: Mapping):
        self.mapping = mapping
        self.description = f"{type(mapping).__name__}@{id(mapping):#x}"
        self.concurrency = 0
        self.random_ranges = isinstance(mapping, dict)

    @never_raises
    def __repr__(self) -> str:
        return f"MappingSource({type(self.mapping).__name__})"

    def _value(self, key):
        try:
            value = self.mapping[key]
        except KeyError:
            return None
        return memoryview(np.ascontiguousarray(np.frombuffer(_as_bytes(value), dtype=np.uint8)))

    def get(self, key: str):
        return self._value(key)

    def get_range(self, key: str, offset: int, length: int):
        value = self._value(key)
        return None if value is None else value[offset:offset + length]

    def get_suffix(self, key: str, length: int):
        value = self._value(key)
        return None if value is None else value[max(0, value.nbytes - length):]

    def get_edge(self, key: str, front: bool, length: int):
        value = self._value(key)
        if value is None:
            return None
        n = min(length, value.nbytes)
        return (value[:n] if front else value[value.nbytes - n:]), value.nbytes

    def size(self, key: str):
        value = self._value(key)
        return None if value is None else value.nbytes

    def exists(self, key: str) -> bool:
        return key in self.mapping

    def list_dir(self, prefix: str) -> list[str]:
        start = prefix.rstrip("/") + "/" if prefix else ""
        names = set()
        for key in self.mapping:
            if isinstance(key, str) and key.startswith(start) and len(key) > len(start):
                names.add(key[len(start):].split("/", 1)[0])
        return sorted(names)
