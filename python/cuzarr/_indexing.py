"""Turning NumPy-style keys into the core's outer selection, and the small view fix-ups
(negative steps, new axes) applied to the result afterwards."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import numpy as np

from ._core import SelectionError


@dataclass
class IndexPlan:
    selection: list = field(default_factory=list)  # one entry per array dimension, for _core
    post: tuple = ()  # index applied to the raw result (reversals, new axes); () when none
    needs_post: bool = False


def _is_integer(item) -> bool:
    if isinstance(item, (bool, np.bool_)):
        return False
    if isinstance(item, np.ndarray):
        return item.ndim == 0 and item.dtype.kind in "iu"
    try:
        operator.index(item)
    except TypeError:
        return False
    return True


def _index_array(item, length: int, dim: int) -> np.ndarray:
    arr = np.asarray(item)
    if arr.dtype == bool:
        if arr.ndim != 1 or arr.shape[0] != length:
            raise SelectionError(
                f"boolean index for dimension {dim} must be 1-d of length {length}, got shape {arr.shape}"
            )
        return np.nonzero(arr)[0].astype(np.int64)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1:
        raise SelectionError(
            f"index arrays must be 1-d (outer indexing), got shape {arr.shape} for dimension {dim}"
        )
    if arr.dtype.kind not in "iu":
        raise SelectionError(f"index array for dimension {dim} must hold integers, got {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def plan_index(key, shape: tuple[int, ...]) -> IndexPlan:
    """Outer (orthogonal) indexing: integers drop a dimension, slices and 1-d integer or boolean
    arrays select along one dimension each, independently (as zarr's ``oindex`` and xarray's
    OUTER indexing). ``...`` and ``None`` work as in NumPy."""
    if type(key) is tuple and len(key) == len(shape) and all(type(k) is slice for k in key):
        # The common case, a slice per dimension with positive steps: no fix-ups afterwards (a
        # read of one small chunk costs a few microseconds, so this path stays short).
        selection = []
        for k, n in zip(key, shape):
            start, stop, step = k.indices(n)
            if step <= 0:
                break
            selection.append((start, stop, min(step, n + 1)))
        else:
            return IndexPlan(selection, (slice(None),) * len(shape), False)
    if not isinstance(key, tuple):
        key = (key,)
    ellipses = sum(1 for k in key if k is Ellipsis)
    if ellipses > 1:
        raise SelectionError("an index can only have a single ellipsis ('...')")
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    if used > len(shape):
        raise SelectionError(f"too many indices: the array has {len(shape)} dimensions but {used} were indexed")
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded.extend([slice(None)] * (len(shape) - used))
        else:
            expanded.append(k)
    if not ellipses:
        expanded.extend([slice(None)] * (len(shape) - used))

    plan = IndexPlan()
    post = []
    dim = 0
    for item in expanded:
        if item is None:
            post.append(None)
            plan.needs_post = True
            continue
        length = shape[dim]
        if _is_integer(item):
            index = operator.index(item)
            if not -length <= index < length:
                raise SelectionError(f"index {index} is out of range for dimension {dim} of length {length}")
            plan.selection.append(index)
        elif isinstance(item, slice):
            start, stop, step = item.indices(length)
            # Any step at least the length selects one element; keep it within int64.
            step = max(-length - 1, min(step, length + 1))
            if step > 0:
                plan.selection.append((start, stop, step))
                post.append(slice(None))
            else:
                count = len(range(start, stop, step))
                if count == 0:
                    plan.selection.append((0, 0, 1))
                    post.append(slice(None))
                else:
                    last = start + (count - 1) * step
                    plan.selection.append((last, start + 1, -step))
                    post.append(slice(None, None, -1))
                    plan.needs_post = True
        elif isinstance(item, (list, np.ndarray)) or (isinstance(item, tuple)):
            plan.selection.append(_index_array(item, length, dim))
            post.append(slice(None))
        else:
            raise SelectionError(
                f"unsupported index {item!r} for dimension {dim}: use integers, slices, 1-d integer or boolean arrays"
            )
        dim += 1
    plan.post = tuple(post)
    return plan
