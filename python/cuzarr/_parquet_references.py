"""kerchunk's Parquet references: a folder (``refs.parq``) holding ``.zmetadata`` -- the Zarr
metadata documents and a record size -- and, per array, files ``<array>/refs.<i>.parq`` of
``record_size`` rows each, row ``r`` of file ``i`` being the chunk whose C-order number is
``i * record_size + r``, with columns ``path``, ``offset``, ``size`` (0 and 0: the whole file)
and ``raw`` (inline bytes). Read with pyarrow and handed to the core as plain lists
(cuzarr._core.open_manifest), which does the rest as for JSON references. The folder may be local
or behind a URL (http(s)://, s3://, gs://, az://): its files are then fetched through cuzarr's own
stores (cuzarr._core.fetch_key), with the references' own storage options."""

from __future__ import annotations

import io
import json
import math
import os

import numpy as np

SUFFIXES = (".parq", ".parquet")


def is_parquet_references(path: str) -> bool:
    """A folder named ``*.parq`` / ``*.parquet``: a local one holding kerchunk's ``.zmetadata``, or
    a URL (whose ``.zmetadata`` is looked for when it is read)."""
    if not path.rstrip("/").lower().endswith(SUFFIXES):
        return False
    return "://" in path or os.path.isfile(os.path.join(path, ".zmetadata"))


def _reader(root: str, options: dict | None):
    """A function from a file's name inside ``root`` to its bytes (None when it is missing)."""
    if "://" not in root:
        def local(name: str) -> bytes | None:
            where = os.path.join(root, name)
            if not os.path.exists(where):
                return None
            with open(where, "rb") as f:
                return f.read()
        return local
    from . import _core

    base = root.rstrip("/")
    return lambda name: _core.fetch_key(base, name, options or {})


def _document(value) -> bytes:
    if isinstance(value, bytes):
        return value
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


def read_parquet_references(root: str, options: dict | None = None):
    """(inline, keys, targets, offsets, lengths) of the references in the folder ``root`` (local,
    or a URL read with the core store ``options``): inline maps keys to bytes; the rest are
    parallel, a length of -1 meaning the whole target."""
    try:
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover - pyarrow is a test dependency
        raise ImportError("reading kerchunk Parquet references needs pyarrow (pip install pyarrow)") from e
    read = _reader(root, options)
    where = f"{root.rstrip('/')}/.zmetadata"
    text = read(".zmetadata")
    if text is None:
        raise FileNotFoundError(f"{where}: no such file (not kerchunk Parquet references)")
    try:
        meta = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{where}: not JSON ({e})") from e
    if not isinstance(meta, dict) or not isinstance(meta.get("metadata"), dict) or \
            not isinstance(meta.get("record_size"), int) or meta["record_size"] < 1:
        raise ValueError(f"{where}: not kerchunk Parquet references (needs 'metadata' and a positive 'record_size')")
    record_size = meta["record_size"]
    inline = {key: _document(value) for key, value in meta["metadata"].items()}
    keys, targets, offsets, lengths = [], [], [], []
    for name, zarray in meta["metadata"].items():
        if not name.endswith("/.zarray"):
            continue
        field = name[: -len("/.zarray")]
        zarray = json.loads(_document(zarray))
        grid = [math.ceil(s / c) for s, c in zip(zarray["shape"], zarray["chunks"])] or [1]
        total = math.prod(grid)
        separator = zarray.get("dimension_separator") or "."
        for record in range(math.ceil(total / record_size)):
            data = read(f"{field}/refs.{record}.parq")
            if data is None:
                continue  # no chunk of this record was referenced
            table = pq.read_table(io.BytesIO(data))
            rows = min(table.num_rows, total - record * record_size)
            column = {c: table[c].to_pylist()[:rows] for c in ("path", "offset", "size", "raw") if c in table.column_names}
            coords = np.unravel_index(record * record_size + np.arange(rows), grid)
            for r in range(rows):
                key = f"{field}/{separator.join(str(int(c[r])) for c in coords)}"
                raw = column.get("raw", [None] * rows)[r]
                target = column.get("path", [None] * rows)[r]
                if raw is not None:
                    inline[key] = raw
                elif target is not None:
                    offset, size = column["offset"][r], column["size"][r]
                    keys.append(key)
                    targets.append(target)
                    offsets.append(offset)
                    lengths.append(-1 if offset == 0 and size == 0 else size)
    return inline, keys, targets, np.asarray(offsets, dtype=np.int64), np.asarray(lengths, dtype=np.int64)
