"""cuzarr: read Zarr v2 and v3 arrays fast, into host or GPU memory; create and write them from host memory."""

from ._device import find_nvcomp as _find_nvcomp

_find_nvcomp()  # before the library reads its configuration

from ._core import (  # noqa: E402
    CodecError,
    CudaError,
    Error,
    KeyNotFoundError,
    MetadataError,
    SelectionError,
    StoreError,
    UnsupportedError,
)
from ._core import version as _version  # noqa: E402
from ._create import create_array, create_group  # noqa: E402
from .api import Array, Group, open, open_icechunk  # noqa: E402

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
    "create_array",
    "create_group",
    "open",
    "open_icechunk",
]
