"""repr() and str() of every cuzarr object never raise: a notebook echoing a group with a broken
member, a group whose store cannot be listed (HTTP has no listing; a store whose listing fails;
a server gone away) or an array whose store went away shows the object and a short note of the
error, never a traceback. Listing goes on past a broken member in v2 and v3."""

from __future__ import annotations

import shutil

import pytest
import zarr

import cuzarr
from cuzarr import _repr
from broken_nodes import broken_group, consolidate_by_hand
from http_fixtures import FaultServer


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_listing_goes_on_past_broken_members(tmp_path, zarr_format):
    g = cuzarr.open(broken_group(tmp_path / "g.zarr", zarr_format), consolidated=False)
    assert g.keys() == ["good", "malformed", "sub", "typed"]
    assert g.group_keys() == ["sub"]
    if zarr_format == 3:
        # The kind of a member is read from node_type alone: an array of an unknown data type is
        # still an array; a document that is no JSON cannot tell.
        assert g.array_keys() == ["good", "typed"]
        assert g.unreadable_keys() == ["malformed"]
    else:
        assert g.array_keys() == ["good", "malformed", "typed"]
        assert g.unreadable_keys() == []
    assert g["good"][:].tolist() == [3, 3, 3, 3]
    for name in ("malformed", "typed"):
        assert name in g
        with pytest.raises(ValueError, match=name):
            g[name]
    assert "absent" not in g
    text = repr(g)
    assert text.startswith("<cuzarr.Group ") and "'good'" in text and "'malformed'" in text, text
    assert ("unreadable=['malformed']" in text) == (zarr_format == 3), text
    assert str(g) == text


def test_repr_of_consolidated_group_with_broken_member(tmp_path):
    root = consolidate_by_hand(broken_group(tmp_path / "g.zarr", 3), 3)
    g = cuzarr.open(root)
    assert g.consolidated and g.keys() == ["good", "sub", "typed"]
    assert "'typed'" in repr(g)
    with pytest.raises(ValueError, match="no_such_type"):
        g["typed"]


def test_repr_of_group_over_http_without_listing(tmp_path):
    """HTTP has no directory listing: a group without consolidated metadata opens, and its repr
    says why its members are unknown instead of raising."""
    root = tmp_path / "www"
    root.mkdir()
    broken_group(root / "g.zarr", 3)
    server = FaultServer(root).start()
    try:
        g = cuzarr.open(f"{server.url}/ok/g.zarr", consolidated=False)
        text = repr(g)
        assert text.startswith("<cuzarr.Group ") and "members=?" in text and "cannot list" in text, text
        assert "UnsupportedError: " in text and "no directory listing" in text and "\n" not in text, text
        with pytest.raises(NotImplementedError):
            g.keys()
        a = g["good"]
        assert "shape=(4,)" in repr(a)
    finally:
        server.stop()
    # The server has gone away: what is held in memory still shows.
    assert "shape=(4,)" in repr(a) and "dtype=int16" in repr(a)
    assert "members=?" in repr(g)


class _FailingListing(dict):
    """A mapping store whose listing breaks once ``broken`` is set (a network mapping whose
    server went away, say), while its keys can still be read."""

    broken = False

    def __iter__(self):
        if self.broken:
            raise ConnectionError("listing failed: 500 Internal Server Error")
        return super().__iter__()


def test_repr_of_group_whose_listing_fails(tmp_path):
    root = broken_group(tmp_path / "g.zarr", 3)
    store = _FailingListing()
    for path in root.rglob("*"):
        if path.is_file():
            store[path.relative_to(root).as_posix()] = path.read_bytes()
    g = cuzarr.open(store, consolidated=False)
    assert g.keys() == ["good", "malformed", "sub", "typed"]
    store.broken = True
    text = repr(g)
    assert "members=? (cannot list:" in text and "500 Internal Server Error" in text, text
    assert g["good"][:].tolist() == [3, 3, 3, 3]


def test_repr_of_array_whose_store_went_away(tmp_path):
    root = broken_group(tmp_path / "g.zarr", 3)
    g = cuzarr.open(root, consolidated=False)
    a = g["good"]
    shutil.rmtree(root)
    assert repr(a) == f"<cuzarr.Array {a._core.display_path} shape=(4,) dtype=int16 chunks=(4,)>"
    assert repr(g).startswith("<cuzarr.Group ")  # a directory gone lists as empty


def test_backend_array_repr(tmp_path):
    pytest.importorskip("xarray")
    from cuzarr.backend import CuzarrBackendArray

    root = broken_group(tmp_path / "g.zarr", 3)
    lazy = CuzarrBackendArray(cuzarr.open(root, consolidated=False)["good"])
    shutil.rmtree(root)
    assert repr(lazy).startswith("CuzarrBackendArray(<cuzarr.Array ") and "device='cpu'" in repr(lazy)


def test_store_source_reprs():
    from cuzarr._zarr_store import MappingSource, ZarrStoreSource

    class BadRepr(zarr.storage.MemoryStore):
        def __repr__(self):
            raise RuntimeError("no repr for you")

    assert repr(MappingSource({})) == "MappingSource(dict)"
    text = repr(ZarrStoreSource(BadRepr()))
    assert text.startswith("ZarrStoreSource(? (RuntimeError: no repr for you") and text.endswith(")"), text


def test_repr_falls_back_when_everything_fails(tmp_path):
    root = broken_group(tmp_path / "g.zarr", 3)
    a = cuzarr.open(root, consolidated=False)["good"]

    class Exploding:
        def __getattr__(self, name):
            raise RuntimeError("core gone\nsecond line")

    a._core = Exploding()
    a.__dict__.pop("shape", None)
    a.__dict__.pop("dtype", None)
    a.__dict__.pop("chunks", None)
    text = repr(a)
    assert text.startswith("<cuzarr.Array ? (RuntimeError: core gone)") and "second line" not in text, text
    g = cuzarr.open(root, consolidated=False)
    g._core = Exploding()
    assert "cannot list: RuntimeError: core gone" in repr(g)

    class Broken:
        @_repr.never_raises
        def __repr__(self):
            raise ValueError("x" * 1000)

    text = repr(Broken())
    assert "repr failed: ValueError: " in text and len(text) < 400, text


def test_error_note_is_short_and_one_line():
    assert _repr.error_note(OSError("a\nb")) == "OSError: a"
    assert _repr.error_note(KeyError()) == "KeyError"
    assert len(_repr.error_note(ValueError("y" * 5000))) < 250
