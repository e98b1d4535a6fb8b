"""cuzarr reads exactly what zarr-python reads, for stores written by zarr-python and tensorstore.

Whole arrays, random outer selections (compared with zarr's ``oindex``), reads into strided
``out=`` buffers, metadata properties, and groups (nested, consolidated)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuzarr
import stores
from stores import assert_same_array, native, outer_index, seed_of

ARRAYS = stores.array_case_names()
GROUPS = list(stores.GROUP_CASES)
SELECTIONS_PER_STORE = 50


def open_zarr(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zarr.open_array(str(path), mode="r")


def zarr_full(z) -> np.ndarray:
    return np.asarray(z[...])


# --------------------------------------------------------------------------------------------
# Random outer selections


def random_dim_selection(rng: np.random.Generator, n: int, *, negative_steps: bool = True):
    """One dimension's index: an int, a slice (any bounds, maybe negative step), a 1-d integer
    index array or list (sorted or not, duplicates allowed), or a boolean mask."""
    kinds = ["slice", "slice", "array", "mask"] + (["int", "int"] if n > 0 else [])
    kind = kinds[rng.integers(len(kinds))]
    if kind == "int":
        return int(rng.integers(-n, n))
    if kind == "slice":
        def bound():
            return None if rng.random() < 0.3 else int(rng.integers(-2 * n - 3, 2 * n + 4))

        steps = [None, 1, 1, 2, 3, 5, max(1, n // 3), n + 2]
        if negative_steps:
            steps += [-1, -1, -2, -3, -max(1, n // 4)]
        return slice(bound(), bound(), steps[rng.integers(len(steps))])
    if kind == "array":
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        count = int(rng.integers(0, min(2 * n, 25) + 1))
        if n > 5000 and rng.random() < 0.5:
            # Clustered: several picks land in the same chunk of a long dimension.
            base = int(rng.integers(0, n - 3000))
            values = base + rng.integers(0, 3000, size=count)
        else:
            values = rng.integers(-n, n, size=count)
        style = rng.integers(4)
        if style == 0:
            values = np.sort(values % n)  # sorted, non-negative
        elif style == 1:
            values = np.concatenate([values, values[: count // 2]])  # duplicates
        elif style == 2:
            return [int(v) for v in values]  # a plain list
        return values.astype([np.int64, np.int32, np.intp][rng.integers(3)])
    p = [0.0, 0.1, 0.5, 0.9, 1.0][rng.integers(5)]
    return rng.random(n) < p


def random_selection(rng: np.random.Generator, shape, *, negative_steps: bool = True) -> tuple:
    key = [random_dim_selection(rng, n, negative_steps=negative_steps) for n in shape]
    if shape and rng.random() < 0.15:
        key = key[: int(rng.integers(0, len(shape)))]  # trailing dimensions left out: read whole
    return tuple(key)


def to_zarr_selection(key: tuple, shape) -> tuple:
    """The same outer selection in a form zarr's oindex accepts: zarr has no negative slice steps,
    so those become the equivalent index arrays; lists become arrays; omitted dims are whole.
    (zarr 3.1 also fails on a boolean mask of a zero-length dimension, so those become empty
    index arrays.)"""
    out = []
    for item, n in zip(key + (slice(None),) * (len(shape) - len(key)), shape):
        if isinstance(item, slice) and item.step is not None and item.step < 0:
            out.append(np.arange(n)[item])
        elif isinstance(item, np.ndarray) and item.dtype == bool and n == 0:
            out.append(np.zeros(0, dtype=np.int64))
        elif isinstance(item, list):
            out.append(np.asarray(item, dtype=np.int64))
        else:
            out.append(item)
    return tuple(out)


def zarr_oindex(z, key: tuple) -> np.ndarray:
    if z.ndim == 0:
        return np.asarray(z[...])
    return np.asarray(z.oindex[to_zarr_selection(key, z.shape)])


def describe(key) -> str:
    return repr(tuple(k.tolist() if isinstance(k, np.ndarray) else k for k in key))


# --------------------------------------------------------------------------------------------
# Whole arrays


@pytest.mark.parametrize("name", ARRAYS)
def test_full_read_matches_zarr(store_factory, name):
    path = store_factory.path(name)
    a = cuzarr.open(path)
    z = open_zarr(path)
    want = zarr_full(z)
    got = a[...]
    assert isinstance(got, np.ndarray)
    assert got.shape == z.shape
    assert got.dtype == native(z.dtype)
    assert_same_array(got, want)
    assert_same_array(a[()], want)
    assert_same_array(a.read(), want)
    assert_same_array(np.asarray(a), want)


@pytest.mark.parametrize("name", ARRAYS)
def test_fixture_sanity_zarr_reads_what_was_written(store_factory, name):
    """Guards the fixtures themselves: the reference reader returns the data we wrote."""
    written = store_factory.written(name)
    if written is None:  # partly written store: its reference is zarr's read alone
        return
    reference = zarr_full(open_zarr(store_factory.path(name)))
    assert_same_array(reference.astype(native(reference.dtype)), written)


# --------------------------------------------------------------------------------------------
# Random selections


@pytest.mark.parametrize("name", ARRAYS)
def test_random_selections_match_zarr_oindex(store_factory, name):
    path = store_factory.path(name)
    a = cuzarr.open(path)
    z = open_zarr(path)
    rng = np.random.default_rng(seed_of("selections/" + name))
    count = SELECTIONS_PER_STORE if a.ndim else 5
    for _ in range(count):
        key = random_selection(rng, a.shape)
        want = zarr_oindex(z, key)
        try:
            got = a[key]
            got_o = a.oindex[key]
        except Exception as e:  # pragma: no cover - reported with the selection
            raise AssertionError(f"{name}: cuzarr failed on selection {describe(key)}: {e!r}") from e
        try:
            assert_same_array(got, want)
            assert_same_array(got_o, want)
        except AssertionError as e:
            raise AssertionError(f"{name}: selection {describe(key)}: {e}") from e


def _selection_strategy(shape):
    def dim(n):
        options = [
            st.builds(slice, st.none() | st.integers(-2 * n - 2, 2 * n + 2),
                      st.none() | st.integers(-2 * n - 2, 2 * n + 2),
                      st.none() | st.integers(1, n + 2) | st.integers(-n - 2, -1)),
            st.lists(st.integers(-n, n - 1) if n else st.nothing(), max_size=12).map(
                lambda v: np.asarray(v, dtype=np.int64)),
            st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: np.asarray(v, dtype=bool)),
        ]
        if n:
            options.append(st.integers(-n, n - 1))
        return st.one_of(options)

    return st.tuples(*[dim(n) for n in shape])


HYPOTHESIS_STORES = ["zarr_v3_4d", "ts_v3_transpose", "zarr_v2_order_F_3d_be", "zarr_v2_missing_nan"]


@pytest.mark.parametrize("name", HYPOTHESIS_STORES)
def test_hypothesis_selections_match_zarr_oindex(store_factory, name):
    path = store_factory.path(name)
    a = cuzarr.open(path)
    z = open_zarr(path)

    @settings(max_examples=50, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(key=_selection_strategy(a.shape))
    def check(key):
        assert_same_array(a[key], zarr_oindex(z, key))

    check()


@pytest.mark.parametrize("name", ["zarr_v3_4d", "zarr_v2_order_F", "ts_v3_int16_be"])
def test_ellipsis_and_new_axes_follow_numpy(store_factory, name):
    path = store_factory.path(name)
    a = cuzarr.open(path)
    full = zarr_full(open_zarr(path))
    keys = [
        (Ellipsis,),
        (1, Ellipsis),
        (Ellipsis, -1),
        (None,),
        (None, Ellipsis, None),
        (slice(None, None, -1), None),
        (0, None, slice(1, None, 2)),
        (Ellipsis, slice(None, None, -3)),
    ]
    for key in keys:
        assert_same_array(a[key], full[key])


def test_integer_like_and_list_indices(store_factory):
    path = store_factory.path("zarr_v3_4d")
    a = cuzarr.open(path)
    full = zarr_full(open_zarr(path))
    assert_same_array(a[np.int64(2), np.uint8(1)], full[2, 1])
    assert_same_array(a[np.array(3)], full[3])
    assert_same_array(a[[4, 0, 4]], full[[4, 0, 4]])
    assert_same_array(a[:, [True, False, True, False, True, True]], full[:, [0, 2, 4, 5]])
    assert_same_array(a[[], 1], full[[], 1])
    assert_same_array(a[-1, -1, -1, -1], full[-1, -1, -1, -1])


def test_one_index_array_is_numpy_fancy_indexing(store_factory):
    path = store_factory.path("zarr_v2_4d")
    a = cuzarr.open(path)
    full = zarr_full(open_zarr(path))
    idx = np.array([6, 0, 3, 3, -1])
    assert_same_array(a[1:4, :, idx], full[1:4, :, idx])


# --------------------------------------------------------------------------------------------
# Reading into caller buffers with any strides

OUT_STORES = [
    "zarr_v2_float64_le",
    "zarr_v2_complex128_be",
    "zarr_v3_int8",
    "zarr_v3_bool",
    "ts_v3_float16_be",
    "zarr_v2_order_F_3d_be",
    "zarr_v3_transpose",
    "zarr_v3_4d",
    "zarr_v3_1d_long",
    "zarr_v2_missing_nan",
    "zarr_v3_0d",
]


def _out_layouts(shape, dtype):
    """Buffers of `shape` that are not C-contiguous (plus a C one for reference)."""
    layouts = {"C": np.empty(shape, dtype=dtype), "F": np.empty(shape, dtype=dtype, order="F")}
    # A strided view into a bigger array: every other element, offset by one, in every dimension.
    big = np.zeros(tuple(2 * s + 3 for s in shape), dtype=dtype)
    layouts["strided"] = big[tuple(slice(1, 1 + 2 * s, 2) for s in shape)] if shape else big[...]
    # Reversed in the first dimension (negative strides).
    if shape:
        layouts["reversed"] = np.empty(shape, dtype=dtype)[::-1]
        # Dimensions permuted in memory.
        perm = tuple(reversed(range(len(shape))))
        layouts["permuted"] = np.empty(tuple(shape[p] for p in perm), dtype=dtype).transpose(perm)
    return layouts


@pytest.mark.parametrize("name", OUT_STORES)
def test_read_into_strided_out(store_factory, name):
    path = store_factory.path(name)
    a = cuzarr.open(path)
    z = open_zarr(path)
    rng = np.random.default_rng(seed_of("out/" + name))
    for i in range(10):
        key = () if i == 0 else random_selection(rng, a.shape, negative_steps=False)
        want = zarr_oindex(z, key)
        for layout, out in _out_layouts(want.shape, a.dtype).items():
            result = a.read(key, out=out)
            assert result is out, "read(out=) must return the buffer it filled"
            try:
                assert_same_array(out, want)
            except AssertionError as e:
                raise AssertionError(f"{name}: out layout {layout}, selection {describe(key)}: {e}") from e


def test_read_into_out_does_not_touch_outside_the_view(store_factory):
    path = store_factory.path("zarr_v2_int16_le")
    a = cuzarr.open(path)
    sentinel = np.int16(-12345)
    big = np.full((40, 50), sentinel, dtype=a.dtype)
    view = big[3:32:2, 5:46:3]
    key = (slice(0, 29, 2), slice(0, 41, 3))
    a.read(key, out=view)
    assert_same_array(view, zarr_oindex(open_zarr(path), key))
    mask = np.ones(big.shape, dtype=bool)
    mask[3:32:2, 5:46:3] = False
    assert np.all(big[mask] == sentinel)


def test_read_out_mismatch_is_rejected(store_factory):
    a = cuzarr.open(store_factory.path("zarr_v3_float32"))
    with pytest.raises((TypeError, ValueError)):
        a.read((slice(0, 4),), out=np.empty((4, 41), dtype=np.float64))
    with pytest.raises(ValueError):
        a.read((slice(0, 4),), out=np.empty((5, 41), dtype=np.float32))
    # The documented limits of out=: no negative steps, no new axes.
    with pytest.raises(ValueError):
        a.read((slice(None, None, -1),), out=np.empty((29, 41), dtype=np.float32))
    with pytest.raises(ValueError):
        a.read((None,), out=np.empty((1, 29, 41), dtype=np.float32))


# --------------------------------------------------------------------------------------------
# Metadata


def _zarr_dimension_names(z):
    if z.metadata.zarr_format == 3:
        names = z.metadata.dimension_names
        return tuple(names) if names is not None else None
    names = z.attrs.get("_ARRAY_DIMENSIONS")
    return tuple(names) if names is not None else None


def _fill_bits(value, dtype) -> bytes:
    if value is None:  # v2 null: zeros, as zarr-python reads it
        return bytes(np.dtype(dtype).itemsize)
    return np.array([value], dtype=np.dtype(dtype).newbyteorder("=")).tobytes()


@pytest.mark.parametrize("name", ARRAYS)
def test_metadata_matches_zarr(store_factory, name):
    path = store_factory.path(name)
    a = cuzarr.open(path)
    z = open_zarr(path)
    assert isinstance(a, cuzarr.Array)
    assert a.shape == tuple(z.shape)
    assert a.chunks == tuple(z.chunks)
    assert a.dtype == native(z.dtype)
    assert a.ndim == len(z.shape)
    assert a.size == int(np.prod(z.shape, dtype=np.int64))
    assert a.nbytes == a.size * a.dtype.itemsize
    assert a.zarr_format == z.metadata.zarr_format == stores.ARRAY_CASES[name].zarr_format
    assert a.attrs == dict(z.attrs)
    assert a.dimension_names == _zarr_dimension_names(z)
    fill = a.fill_value
    assert np.asarray(fill).dtype == a.dtype
    assert _fill_bits(fill, a.dtype) == _fill_bits(z.fill_value, a.dtype)
    if a.ndim:
        assert len(a) == a.shape[0]
    else:
        with pytest.raises(TypeError):
            len(a)
    assert a.path == ""
    assert str(path.name) in repr(a)


def test_dimension_names_and_attributes_spelled_out(store_factory):
    a = cuzarr.open(store_factory.path("zarr_v3_dimnames"))
    assert a.dimension_names == ("time", None, "band")
    assert a.attrs == {"units": "K", "scale": 0.5, "nested": {"a": [1, 2, None]}}
    b = cuzarr.open(store_factory.path("zarr_v2_array_dimensions"))
    assert b.dimension_names == ("y", "x")
    assert b.attrs["long_name"] == "temperature"
    assert b.attrs["_ARRAY_DIMENSIONS"] == ["y", "x"]
    c = cuzarr.open(store_factory.path("ts_v3_dimnames"))
    assert c.dimension_names == ("lat", "lon")
    assert c.attrs == {"title": "by tensorstore"}
    assert cuzarr.open(store_factory.path("zarr_v3_float32")).dimension_names is None
    assert cuzarr.open(store_factory.path("zarr_v2_float32_le")).dimension_names is None


@pytest.mark.parametrize(
    "name, fill",
    [
        ("zarr_v2_missing_fill42", 42),
        ("zarr_v3_missing_fill42", 42),
        ("zarr_v3_missing_fill42_be", 42),
        ("zarr_v3_all_missing", -3),
        ("zarr_v2_missing_nan", np.nan),
        ("zarr_v2_missing_nan_be", np.nan),
        ("zarr_v3_missing_nan", np.nan),
        ("ts_v2_missing_nan_be", np.nan),
        ("ts_v3_missing_complex", complex(1.0, np.nan)),
    ],
)
def test_missing_chunks_read_as_fill_value(store_factory, name, fill):
    path = store_factory.path(name)
    a = cuzarr.open(path)
    assert _fill_bits(a.fill_value, a.dtype) == _fill_bits(fill, a.dtype)
    data = a[...]
    # The unwritten corner (rows 24.., columns 30..) lies in chunks never written.
    corner = data[24:, 30:] if name != "zarr_v3_all_missing" else data
    assert corner.size
    expected = np.full(corner.shape, fill, dtype=a.dtype)
    assert corner.tobytes() == expected.tobytes()
    # ... and those chunks are really absent from the store.
    assert not (path / "4.4").exists() and not (path / "c" / "4" / "4").exists()


# --------------------------------------------------------------------------------------------
# Groups


def _walk_zarr_arrays(group, prefix=""):
    for name, member in group.members():
        full = f"{prefix}{name}"
        if isinstance(member, zarr.Array):
            yield full
        else:
            yield from _walk_zarr_arrays(member, full + "/")


@pytest.mark.parametrize("name", GROUPS)
def test_group_structure(store_factory, name):
    path = store_factory.path(name)
    g = cuzarr.open(path)
    assert isinstance(g, cuzarr.Group)
    assert g.zarr_format == stores.GROUP_CASES[name].zarr_format
    assert g.consolidated == ("consolidated" in stores.GROUP_CASES[name].tags)
    assert g.attrs == {"title": name, "version": 3}
    assert g.keys() == ["sub", "temp"]
    assert g.array_keys() == ["temp"]
    assert g.group_keys() == ["sub"]
    assert list(g) == ["sub", "temp"]
    assert len(g) == 2
    assert "temp" in g and "sub" in g and "sub/deeper/b" in g
    assert "nope" not in g
    sub = g["sub"]
    assert isinstance(sub, cuzarr.Group)
    assert sub.attrs == {"level": 1}
    assert sub.keys() == ["c", "deeper"]
    assert sub.array_keys() == ["c"]
    assert sub.group_keys() == ["deeper"]
    assert sub.path == "sub"
    assert [n for n, _ in g.arrays()] == ["temp"]
    assert [n for n, _ in g.groups()] == ["sub"]
    deeper = g["sub/deeper"]
    assert isinstance(deeper, cuzarr.Group)
    assert deeper.keys() == ["b"]
    b = deeper["b"]
    assert b.path == "sub/deeper/b"
    assert b.name == "/sub/deeper/b"
    assert b.attrs == {"description": "partly written"}
    temp = g["temp"]
    assert temp.dimension_names == ("y", "x", "t")
    assert temp.attrs.get("units") == "K"


@pytest.mark.parametrize("name", GROUPS)
def test_group_arrays_match_zarr(store_factory, name):
    path = store_factory.path(name)
    g = cuzarr.open(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zg = zarr.open_group(str(path), mode="r")
    arrays = sorted(_walk_zarr_arrays(zg))
    assert arrays == sorted(stores.GROUP_ARRAYS)
    for member in arrays:
        want = np.asarray(zg[member][...])
        assert_same_array(g[member][...], want)
        # The same array by walking the groups, and by opening a path inside the store.
        node = g
        for part in member.split("/"):
            node = node[part]
        assert_same_array(node[...], want)
        direct = cuzarr.open(path / member)
        assert_same_array(direct[...], want)
        assert direct.attrs == g[member].attrs
        assert direct.fill_value.tobytes() == g[member].fill_value.tobytes()
        rng = np.random.default_rng(seed_of(name + member))
        z = zg[member]
        for _ in range(10):
            key = random_selection(rng, z.shape)
            assert_same_array(g[member][key], zarr_oindex(z, key))


@pytest.mark.parametrize("fmt", [2, 3])
def test_consolidated_metadata_is_used(store_factory, tmp_path, fmt):
    """With an array's own metadata file gone, only the consolidated copy can describe it."""
    src = store_factory.path(f"zarr_v{fmt}_group_consolidated")
    copy = tmp_path / "copy.zarr"
    shutil.copytree(src, copy)
    want = np.asarray(open_zarr(src / "temp")[...])
    (copy / "temp" / (".zarray" if fmt == 2 else "zarr.json")).unlink()

    g = cuzarr.open(copy)
    assert g.consolidated
    assert g.keys() == ["sub", "temp"]
    assert_same_array(g["temp"][...], want)
    assert g["temp"].dimension_names == ("y", "x", "t")
    g_req = cuzarr.open(copy, consolidated=True)
    assert_same_array(g_req["temp"][...], want)

    g_plain = cuzarr.open(copy, consolidated=False)
    assert not g_plain.consolidated
    assert g_plain.keys() == ["sub"]
    with pytest.raises(cuzarr.KeyNotFoundError):
        g_plain["temp"]


@pytest.mark.parametrize("fmt", [2, 3])
def test_consolidated_required_but_absent(store_factory, fmt):
    path = store_factory.path(f"zarr_v{fmt}_group")
    assert not cuzarr.open(path).consolidated
    with pytest.raises(cuzarr.MetadataError, match="consolidated"):
        cuzarr.open(path, consolidated=True)


def test_open_options_are_checked(store_factory):
    path = store_factory.path("zarr_v3_group")
    with pytest.raises(ValueError):
        cuzarr.open(path, consolidated="sometimes")
    with pytest.raises(ValueError):
        cuzarr.open(path, device="tpu")
    assert isinstance(cuzarr.open(path, device="cpu"), cuzarr.Group)


# --------------------------------------------------------------------------------------------
# Threads


def test_concurrent_reads_from_python_threads(store_factory):
    """Reads release the GIL and share one thread pool; results stay exact under contention."""
    names = ["zarr_v3_1d_long", "zarr_v3_4d", "ts_v3_transpose", "zarr_v2_order_F_3d_be"]
    arrays = {n: cuzarr.open(store_factory.path(n)) for n in names}
    fulls = {n: zarr_full(open_zarr(store_factory.path(n))) for n in names}
    failures = []

    def work(seed):
        rng = np.random.default_rng(seed)
        try:
            for i in range(40):
                n = names[(seed + i) % len(names)]
                key = random_selection(rng, arrays[n].shape, negative_steps=False)
                got = arrays[n][key]
                want = outer_index(fulls[n].astype(native(fulls[n].dtype)), key)
                if got.tobytes() != want.tobytes() or got.shape != want.shape:
                    failures.append((n, describe(key)))
        except Exception as e:  # pragma: no cover - reported below
            failures.append(repr(e))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "reads did not finish (deadlock?)"
    assert not failures, failures[:5]


@pytest.mark.parametrize("threads", ["1", "3"])
def test_thread_count_setting(store_factory, threads):
    path = store_factory.path("zarr_v3_1d_long")
    code = (
        "import sys, cuzarr, numpy as np\n"
        f"a = cuzarr.open({str(path)!r})\n"
        "sys.stdout.write(str(int(a[::7].astype(np.int64).sum() % 1000003)))\n"
    )
    env = {**os.environ, "CUZARR_THREADS": threads}
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    want = int(zarr_full(open_zarr(path))[::7].astype(np.int64).sum() % 1000003)
    assert int(got.stdout) == want


def test_invalid_thread_count_is_a_clear_error(store_factory):
    path = store_factory.path("zarr_v3_4d")
    code = (
        "import cuzarr\n"
        "try:\n"
        f"    cuzarr.open({str(path)!r})[...]\n"
        "except cuzarr.Error as e:\n"
        "    print('ERROR', e)\n"
    )
    env = {**os.environ, "CUZARR_THREADS": "lots"}
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    assert got.stdout.startswith("ERROR") and "CUZARR_THREADS" in got.stdout


# --------------------------------------------------------------------------------------------
# Small corners


@pytest.mark.parametrize("name", ["zarr_v2_0d", "zarr_v3_0d", "ts_v2_0d_be", "ts_v3_0d_be"])
def test_zero_dimensional_indexing(store_factory, name):
    path = store_factory.path(name)
    a = cuzarr.open(path)
    full = zarr_full(open_zarr(path))
    for key in [(), Ellipsis, None, (None, Ellipsis, None), (Ellipsis, None)]:
        got = a[key]
        assert isinstance(got, np.ndarray)
        assert_same_array(got, full[key])
    with pytest.raises(IndexError):
        a[0]


def _edit(path, name, change):
    import json

    doc = json.loads((path / name).read_text())
    change(doc)
    (path / name).write_text(json.dumps(doc))


VARIATIONS = [
    (2, lambda d: d.__setitem__("filters", [])),
    (2, lambda d: d.pop("dimension_separator")),
    (2, lambda d: d.__setitem__("dimension_separator", None)),
    (2, lambda d: d.pop("fill_value")),
    (3, lambda d: d.pop("attributes")),
    (3, lambda d: d.__setitem__("dimension_names", None)),
    (3, lambda d: d.__setitem__("chunk_key_encoding", {"name": "default"})),
    (3, lambda d: d.pop("storage_transformers", None)),
    (3, lambda d: d.__setitem__("codecs", [{"name": "transpose", "configuration": {"order": [0, 1]}}] + d["codecs"])),
]


@pytest.mark.parametrize("fmt, change", VARIATIONS, ids=[f"v{v[0]}-{i}" for i, v in enumerate(VARIATIONS)])
def test_metadata_variations_still_read(tmp_path, fmt, change):
    """Optional fields left out or spelt differently by other writers."""
    path = tmp_path / "v.zarr"
    data = stores.sample_data("int16", (9, 11), 7)
    stores.zarr_array(path, data, zarr_format=fmt, chunks=(4, 5), fill_value=0)
    _edit(path, ".zarray" if fmt == 2 else "zarr.json", change)
    assert_same_array(cuzarr.open(path)[...], data)


def test_group_listing_skips_non_zarr_entries(store_factory, tmp_path):
    copy = tmp_path / "g.zarr"
    shutil.copytree(store_factory.path("zarr_v3_group"), copy)
    (copy / "notes").mkdir()
    (copy / "notes" / "readme.txt").write_text("not zarr")
    (copy / ".hidden").mkdir()
    (copy / "stray.json").write_text("{}")
    g = cuzarr.open(copy)
    assert g.keys() == ["sub", "temp"]
    assert "notes" not in g


def test_unusual_paths(store_factory, tmp_path):
    """Spaces and non-ASCII names, trailing slashes, str or PathLike: all open the same nodes."""
    folder = tmp_path / "with space ü"
    folder.mkdir()
    root = folder / "grüne data.zarr"
    shutil.copytree(store_factory.path("zarr_v2_group"), root)
    want = zarr_full(open_zarr(root / "sub" / "c"))
    assert_same_array(cuzarr.open(root)["sub/c"][...], want)
    assert_same_array(cuzarr.open(str(root / "sub" / "c"))[...], want)
    assert_same_array(cuzarr.open(str(root / "sub" / "c") + "/")[...], want)
    assert_same_array(cuzarr.open(str(root) + "/sub/../sub/c")[...], want)
    assert cuzarr.open(str(root) + "/").keys() == ["sub", "temp"]
    assert_same_array(cuzarr.open(root)["/sub/c/"][...], want)
