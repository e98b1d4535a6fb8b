"""A group with broken members, for the tests of listing, info, verify and repr."""

from __future__ import annotations

import json
import warnings

import zarr

BAD_DTYPE = {
    "zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "no_such_type",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4]}},
    "chunk_key_encoding": {"name": "default"}, "fill_value": 0, "codecs": [{"name": "bytes"}],
}


def broken_group(root, zarr_format):
    """A group holding a good array, a good subgroup, and broken members: metadata that is no
    JSON, and (v3) an array of an unknown data type or (v2) a .zarray of a wrong type."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = zarr.open_group(str(root), mode="w", zarr_format=zarr_format)
        g.create_array("good", shape=(4,), dtype="int16", fill_value=3)
        g.create_group("sub").create_array("inner", shape=(2,), dtype="int8", fill_value=1)
        (root / "malformed").mkdir()
        (root / "typed").mkdir()
        if zarr_format == 3:
            (root / "malformed" / "zarr.json").write_text("{ not json")
            (root / "typed" / "zarr.json").write_text(json.dumps(BAD_DTYPE))
        else:
            (root / "malformed" / ".zarray").write_text("{ not json")
            (root / "typed" / ".zarray").write_text(json.dumps({"zarr_format": 2, "shape": "x"}))
    return root


def consolidate_by_hand(root, zarr_format):
    """Consolidated metadata for a broken_group, with the member of a wrong type in it (zarr-python
    will not consolidate what it cannot read); the one that is no JSON cannot be held."""
    def doc(path):
        return json.loads((root / path).read_text())

    if zarr_format == 3:
        group = doc("zarr.json")
        group["consolidated_metadata"] = {"kind": "inline", "must_understand": False, "metadata": {
            "good": doc("good/zarr.json"), "sub": doc("sub/zarr.json"), "sub/inner": doc("sub/inner/zarr.json"),
            "typed": BAD_DTYPE,
        }}
        (root / "zarr.json").write_text(json.dumps(group))
    else:
        metadata = {key: doc(key) for key in (".zgroup", "good/.zarray", "sub/.zgroup", "sub/inner/.zarray")}
        metadata["typed/.zarray"] = doc("typed/.zarray")
        (root / ".zmetadata").write_text(json.dumps({"zarr_consolidated_format": 1, "metadata": metadata}))
    return root
