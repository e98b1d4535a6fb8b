"""cuzarr: read Zarr v2 and v3 arrays fast, into host or GPU memory."""

from ._core import (
    CodecError,
    CudaError,
    Error,
    KeyNotFoundError,
    MetadataError,
    SelectionError,
    StoreError,
    UnsupportedError,
)
from ._core import version as _version
from .api import Array, Group, open

__version__ = _version()

__all__ = [
    "Array",
    "CodecError",
    "CudaError",
    "Error",
    "Group",
    "KeyNotFoundError",
    "MetadataError",
    "SelectionError",
    "StoreError",
    "UnsupportedError",
    "__version__",
    "open",
]
