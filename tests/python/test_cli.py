"""The `cuzarr` command: --version, info (tree and JSON), read into .npy, and its errors."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import zarr

import cuzarr
import stores
from broken_nodes import broken_group, consolidate_by_hand
from stores import assert_same_array

CUZARR_ERROR = 2
USAGE_ERROR = 1


def run(cli, *args, check_rc=None):
    proc = subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=60)
    if check_rc is not None:
        assert proc.returncode == check_rc, (
            f"cuzarr {' '.join(map(str, args))}: exit {proc.returncode}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


def zarr_read(path, key=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.open_array(str(path), mode="r")
    if key is None or z.ndim == 0:
        return np.asarray(z[...])
    return np.asarray(z.oindex[key])


def assert_clean_error(proc, *fragments):
    assert proc.returncode == CUZARR_ERROR, f"exit {proc.returncode}: {proc.stderr}"
    assert proc.stderr.startswith("cuzarr: error: "), proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert "internal error" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, f"{fragment!r} not in {proc.stderr!r}"


def test_version(cuzarr_cli):
    proc = run(cuzarr_cli, "--version", check_rc=0)
    assert proc.stdout.strip() == f"cuzarr {cuzarr.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", cuzarr.__version__)


def test_version_comes_from_pyproject():
    """One version: pyproject.toml's, compiled into the library (CMake gets it from
    scikit-build-core), reported by cuzarr.__version__ and the installed metadata alike."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert cuzarr.__version__ == cuzarr._core.version() == declared
    assert metadata.version("cuzarr") == declared


def test_command_without_its_tool(monkeypatch, tmp_path, capsys):
    """The `cuzarr` entry point execs the tool inside the package; a build without the tool
    (CUZARR_BUILD_CLI=OFF) says so instead of failing obscurely."""
    from cuzarr import _cli

    monkeypatch.setattr(_cli, "executable", lambda: tmp_path / "bin" / "cuzarr")
    with pytest.raises(SystemExit) as exc:
        _cli.main()
    assert "not part of this installation" in str(exc.value.code) and "CUZARR_BUILD_CLI" in str(exc.value.code)


# --------------------------------------------------------------------------------------------
# info


@pytest.mark.parametrize("name", list(stores.GROUP_CASES))
def test_info_tree(cuzarr_cli, store_factory, name):
    path = store_factory.path(name)
    out = run(cuzarr_cli, "info", path, check_rc=0).stdout
    lines = out.splitlines()
    fmt = stores.GROUP_CASES[name].zarr_format
    consolidated = "consolidated" in stores.GROUP_CASES[name].tags
    assert lines[0].startswith(f"{path}/  group v{fmt}")
    assert ("(consolidated)" in lines[0]) == consolidated
    assert f'@title = "{name}"' in out
    assert "@level = 1" in out

    def array_line(label):
        found = [ln for ln in lines if ln.strip().startswith(label + "  ")]
        assert len(found) == 1, f"no single line for {label!r} in:\n{out}"
        return found[0]

    temp = array_line("temp")
    assert "float32 (10, 12, 4) chunks (4, 5, 3)" in temp
    assert "dims (y, x, t)" in temp
    assert f"v{fmt}" in temp and "bytes" in temp and "NaN" in temp
    assert '@units = "K"' in out
    c = array_line("c")
    assert "uint32 (6, 5) chunks (4, 4)" in c
    assert "bytes" in c
    if fmt == 2:
        assert "transpose" in c  # order F
    b = array_line("b")
    assert "int16 (7,) chunks (3,)" in b and "fill -1" in b
    assert '@description = "partly written"' in out
    # Nesting is shown by indentation: b (in sub/deeper) deeper than c (in sub) deeper than temp.
    indent = {k: len(v) - len(v.lstrip()) for k, v in {"temp": temp, "c": c, "b": b}.items()}
    assert indent["temp"] < indent["c"] < indent["b"]
    for group in ("sub/", "deeper/"):
        assert any(ln.strip().startswith(group) for ln in lines), f"group {group} missing:\n{out}"


@pytest.mark.parametrize("consolidated", [False, True], ids=["listed", "consolidated"])
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_info_and_verify_go_on_past_broken_members(cuzarr_cli, tmp_path, zarr_format, consolidated):
    """One broken member (metadata that is no JSON, a data type cuzarr does not know) is reported
    with its path and the reason, and the rest of the hierarchy is still described and verified,
    in v2 and v3, listed from the store or from consolidated metadata."""
    root = broken_group(tmp_path / "g.zarr", zarr_format)
    if consolidated:
        consolidate_by_hand(root, zarr_format)
    tree = run(cuzarr_cli, "info", root, check_rc=0).stdout
    lines = [ln.strip() for ln in tree.splitlines()]

    def line(prefix):
        found = [ln for ln in lines if ln.startswith(prefix)]
        assert len(found) == 1, f"no single line {prefix!r} in:\n{tree}"
        return found[0]

    assert line("good  int16 (4,)") and line("sub/  group") and line("inner  int8 (2,)")
    reason = "no_such_type" if zarr_format == 3 else "typed/.zarray"
    assert line("typed  array, unreadable: ").count(reason) >= 1, tree
    if consolidated:
        assert not any(ln.startswith("malformed") for ln in lines), tree  # not in the consolidated list
    else:
        # v2 tells an array by its .zarray; a v3 zarr.json that is no JSON cannot say what it is.
        kind = "array, " if zarr_format == 2 else ""
        assert "malformed/" in line(f"malformed  {kind}unreadable: "), tree

    doc = json.loads(run(cuzarr_cli, "info", "--json", root, check_rc=0).stdout)
    children = doc["children"]
    assert children["good"]["readable"] is True and children["sub"]["children"]["inner"]["readable"] is True
    assert children["typed"] == {"node_type": "array", "path": "typed", "readable": False,
                                 "error": children["typed"]["error"]}
    assert reason in children["typed"]["error"]
    if not consolidated:
        assert children["malformed"]["readable"] is False
        assert children["malformed"]["node_type"] == ("array" if zarr_format == 2 else "unknown")
        assert "malformed" in children["malformed"]["error"]

    proc = run(cuzarr_cli, "verify", root, check_rc=1)
    out = proc.stdout.splitlines()
    assert any(ln.startswith("ok ") and ln.split(":")[0].endswith("/good") for ln in out), proc.stdout
    assert any(ln.startswith("ok ") and ln.split(":")[0].endswith("/sub/inner") for ln in out), proc.stdout
    failed = [ln for ln in out if ln.startswith("FAILED ")]
    assert len(failed) == (1 if consolidated else 2), proc.stdout
    assert any("/typed: " in ln and reason in ln for ln in failed), proc.stdout
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_info_of_group_that_cannot_be_listed(cuzarr_cli, tmp_path):
    """A group over HTTP (no directory listing) without consolidated metadata: info shows the
    group and why its members are unknown; verify fails with the same reason."""
    from http_fixtures import FaultServer

    root = tmp_path / "www"
    root.mkdir()
    broken_group(root / "g.zarr", 3)
    server = FaultServer(root).start()
    try:
        url = f"{server.url}/ok/g.zarr"
        tree = run(cuzarr_cli, "info", url, check_rc=0).stdout
        assert "group v3" in tree and "(members cannot be listed: " in tree and "no directory listing" in tree, tree
        doc = json.loads(run(cuzarr_cli, "info", "--json", url, check_rc=0).stdout)
        assert doc["children"] == {} and "no directory listing" in doc["children_error"]
        proc = run(cuzarr_cli, "verify", url, check_rc=1)
        assert proc.stdout.startswith("FAILED ") and "no directory listing" in proc.stdout, proc.stdout
    finally:
        server.stop()


@pytest.mark.parametrize("name", list(stores.GROUP_CASES))
def test_info_json(cuzarr_cli, store_factory, name):
    path = store_factory.path(name)
    doc = json.loads(run(cuzarr_cli, "info", "--json", path, check_rc=0).stdout)
    fmt = stores.GROUP_CASES[name].zarr_format
    assert doc["node_type"] == "group"
    assert doc["zarr_format"] == fmt
    assert doc["consolidated"] == ("consolidated" in stores.GROUP_CASES[name].tags)
    assert doc["attributes"] == {"title": name, "version": 3}
    assert set(doc["children"]) == {"sub", "temp"}
    sub = doc["children"]["sub"]
    assert sub["node_type"] == "group" and set(sub["children"]) == {"c", "deeper"}
    b = sub["children"]["deeper"]["children"]["b"]
    assert b["node_type"] == "array"
    assert b["path"] == "sub/deeper/b"
    assert b["shape"] == [7] and b["chunks"] == [3]
    assert b["dtype"] == "int16" and b["fill_value"] == -1
    assert b["attributes"] == {"description": "partly written"}
    temp = doc["children"]["temp"]
    assert temp["dimension_names"] == ["y", "x", "t"]
    assert temp["fill_value"] == "NaN"
    assert "bytes" in temp["decode_chain"]
    assert temp["codecs"]  # as written in the metadata
    # Agrees with the Python API.
    g = cuzarr.open(path)
    for member in stores.GROUP_ARRAYS:
        node = doc
        for part in member.split("/"):
            node = node["children"][part]
        a = g[member]
        assert tuple(node["shape"]) == a.shape and tuple(node["chunks"]) == a.chunks
        assert np.dtype(node["dtype"]) == a.dtype
        assert node["attributes"] == a.attrs
        assert node["zarr_format"] == a.zarr_format == fmt


def test_info_on_array_inside_store(cuzarr_cli, store_factory):
    path = store_factory.path("zarr_v3_group") / "sub" / "deeper" / "b"
    tree = run(cuzarr_cli, "info", path, check_rc=0).stdout
    assert "int16 (7,) chunks (3,)" in tree
    doc = json.loads(run(cuzarr_cli, "info", "--json", path, check_rc=0).stdout)
    assert doc["node_type"] == "array" and doc["shape"] == [7]


# --------------------------------------------------------------------------------------------
# read


READ_STORES = [
    "zarr_v2_float64_be",
    "zarr_v2_float16_le",
    "ts_v3_complex64_be",
    "zarr_v3_bool",
    "zarr_v2_datetime64_ns_be",
    "zarr_v2_timedelta64_s_le",
    "zarr_v3_transpose_be",
    "zarr_v2_order_F_3d_be",
    "zarr_v3_missing_nan",
    "zarr_v3_0d",
    "ts_v2_0d_be",
    "zarr_v3_empty_dim",
]


@pytest.mark.parametrize("name", READ_STORES)
def test_read_whole_array(cuzarr_cli, store_factory, tmp_path, name):
    path = store_factory.path(name)
    out = tmp_path / "x.npy"
    run(cuzarr_cli, "read", path, "--out", out, check_rc=0)
    got = np.load(out)
    want = zarr_read(path)
    assert got.dtype.isnative, f".npy holds {got.dtype.str}, not native byte order"
    assert_same_array(got, want)


@pytest.mark.parametrize(
    "select, key",
    [
        ("0:10,5,::2", (slice(0, 10), 5, slice(None, None, 2))),
        ("[3,1,2]", (np.array([3, 1, 2]),)),
        ("[3,1,2],:,-1", (np.array([3, 1, 2]), slice(None), -1)),
        ("[9,0,0,9],[11,-1,4],1:3", (np.array([9, 0, 0, 9]), np.array([11, -1, 4]), slice(1, 3))),
        (" 2 , 1:7:3 ", (2, slice(1, 7, 3))),
        ("-1", (-1,)),
        ("-100:100:3,::5", (slice(-100, 100, 3), slice(None, None, 5))),
        ("5:2", (slice(5, 2),)),
        ("[]", (np.array([], dtype=np.int64),)),
        ("", ()),
        ("1,2,3", (1, 2, 3)),
    ],
)
@pytest.mark.parametrize("name", ["zarr_v3_group", "zarr_v2_group_consolidated"])
def test_read_selection(cuzarr_cli, store_factory, tmp_path, name, select, key):
    path = store_factory.path(name) / "temp"
    out = tmp_path / "sel.npy"
    run(cuzarr_cli, "read", path, "--select", select, "--out", out, check_rc=0)
    want = zarr_read(path, key)
    assert_same_array(np.load(out), want)
    # The Python API agrees.
    assert_same_array(cuzarr.open(path)[key], want)


@pytest.mark.parametrize("member", stores.GROUP_ARRAYS)
def test_read_path_inside_store(cuzarr_cli, store_factory, tmp_path, member):
    path = store_factory.path("zarr_v2_group") / member
    out = tmp_path / "m.npy"
    run(cuzarr_cli, "read", path, "-o", out, check_rc=0)
    got = np.load(out)
    assert got.dtype.isnative
    assert_same_array(got, zarr_read(path))


def test_read_consolidated_option(cuzarr_cli, store_factory, tmp_path):
    root = store_factory.path("zarr_v3_group_consolidated")
    out = tmp_path / "c.npy"
    run(cuzarr_cli, "read", root / "temp", "--consolidated", "ignore", "--out", out, check_rc=0)
    assert_same_array(np.load(out), zarr_read(root / "temp"))
    proc = run(cuzarr_cli, "info", store_factory.path("zarr_v3_group"), "--consolidated", "require")
    assert_clean_error(proc, "consolidated")


# --------------------------------------------------------------------------------------------
# errors


def test_read_missing_path(cuzarr_cli, tmp_path):
    missing = tmp_path / "nothing-here.zarr"
    out = tmp_path / "x.npy"
    assert_clean_error(run(cuzarr_cli, "read", missing, "--out", out), str(missing))
    assert not out.exists()
    assert_clean_error(run(cuzarr_cli, "info", missing), str(missing), "does not exist")


def test_a_file_where_a_store_was_meant(cuzarr_cli, tmp_path):
    """A path that exists but is a plain file is told apart from one that does not exist."""
    not_a_store = tmp_path / "notes.txt"
    not_a_store.write_text("hello")
    proc = run(cuzarr_cli, "info", not_a_store)
    assert_clean_error(proc, str(not_a_store), "not a directory")
    assert "does not exist" not in proc.stderr


def test_read_says_what_it_wrote(cuzarr_cli, store_factory, tmp_path):
    root = store_factory.path("zarr_v3_group")
    out = tmp_path / "part.npy"
    proc = run(cuzarr_cli, "read", root / "temp", "--select", "0:2", "--out", out, check_rc=0)
    got = np.load(out)
    shape = ", ".join(map(str, got.shape))
    assert proc.stdout == f"wrote {out}: {got.dtype.name} ({shape}) from {root / 'temp'} [0:2]\n", proc.stdout


def test_read_missing_member(cuzarr_cli, store_factory, tmp_path):
    path = store_factory.path("zarr_v3_group") / "sub" / "nope"
    assert_clean_error(run(cuzarr_cli, "read", path, "--out", tmp_path / "x.npy"), "nope")


@pytest.mark.parametrize("member", ["", "sub", "sub/deeper"])
def test_read_of_a_group(cuzarr_cli, store_factory, tmp_path, member):
    path = store_factory.path("zarr_v2_group")
    path = path / member if member else path
    out = tmp_path / "x.npy"
    proc = run(cuzarr_cli, "read", path, "--out", out)
    assert_clean_error(proc, str(path), "not an array")
    assert not out.exists()
    # What to name instead: the group's arrays, or its groups when it holds no array itself.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group = zarr.open_group(str(path), mode="r")
    arrays = sorted(name for name, _ in group.arrays())
    if arrays:
        assert "its arrays: " + ", ".join(arrays) in proc.stderr, proc.stderr
        assert f"e.g. '{path / arrays[0]}'" in proc.stderr, proc.stderr
    else:
        assert "only the groups " + ", ".join(sorted(name for name, _ in group.groups())) in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "select",
    ["1:2:3:4", "[1,2", "1,2]", "a", "0,0,0,0", "100", "-11", "0:3:0", "[0,12]", "1,,2", "[[1]]", "1.5"],
)
def test_read_invalid_selection(cuzarr_cli, store_factory, tmp_path, select):
    path = store_factory.path("zarr_v3_group") / "temp"
    out = tmp_path / "x.npy"
    proc = run(cuzarr_cli, "read", path, "--select", select, "--out", out)
    assert_clean_error(proc)
    assert len(proc.stderr.strip()) > len("cuzarr: error: ")
    assert not out.exists()


def test_read_unwritable_output(cuzarr_cli, store_factory, tmp_path):
    path = store_factory.path("zarr_v3_group") / "temp"
    target = tmp_path / "no-such-dir" / "x.npy"
    assert_clean_error(run(cuzarr_cli, "read", path, "--out", target), str(target))


@pytest.mark.parametrize(
    "args",
    [[], ["read", "somewhere.zarr"], ["info", "x", "--consolidated", "maybe"]],
    ids=["no-subcommand", "read-without-out", "bad-choice"],
)
def test_usage_errors_exit_1(cuzarr_cli, args):
    """README: "Exit codes: 0 success, 1 usage error, 2 a cuzarr error"."""
    proc = run(cuzarr_cli, *args)
    assert proc.stderr.strip(), "a usage error should say what is wrong on stderr"
    assert "Traceback" not in proc.stderr
    assert proc.returncode == USAGE_ERROR, f"exit {proc.returncode} for {args}: {proc.stderr!r}"


@pytest.mark.parametrize(
    "args, rc",
    [
        # A typo for '=': the argument may be the secret itself.
        (["info", "somewhere.zarr", "-S", "secret:sk-7Hq2ZpL"], CUZARR_ERROR),
        (["info", "somewhere.zarr", "-S", "=sk-7Hq2ZpL"], CUZARR_ERROR),
        # CLI11's own usage errors repeat arguments they did not expect.
        (["info", "somewhere.zarr", "-S", "secret=sk-7Hq2ZpL", "sk-7Hq2ZpL"], USAGE_ERROR),
        (["info", "-S", "token=sk-7Hq2ZpL", "somewhere.zarr", "--no-such-flag=sk-7Hq2ZpL"], USAGE_ERROR),
        (["read", "-Ssecret=sk-7Hq2ZpL", "somewhere.zarr"], USAGE_ERROR),  # no --out
    ],
    ids=["colon-typo", "no-name", "extra-argument", "unknown-flag", "attached"],
)
def test_storage_option_values_are_not_echoed(cuzarr_cli, args, rc):
    """docs/reliability.md, "Secrets": no message repeats the value of a -S argument."""
    proc = run(cuzarr_cli, *args)
    assert proc.returncode == rc, proc.stderr
    assert proc.stderr.strip()
    assert "7Hq2ZpL" not in proc.stderr + proc.stdout, proc.stderr


# --------------------------------------------------------------------------------------------
# copy and write


@pytest.fixture
def copy_source(tmp_path):
    """A v3 hierarchy written by zarr-python: attributes, dimension names, a sharded array in a
    subgroup, a 0-d array, a chunk never written; and a v2 big-endian array."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = zarr.open_group(str(tmp_path / "src.zarr"), mode="w", zarr_format=3)
        g.attrs["title"] = "copied"
        a = g.create_array("a", shape=(50, 40), chunks=(10, 16), dtype="f4", dimension_names=["y", "x"],
                           fill_value=np.nan)
        a[:40] = np.arange(1600, dtype="f4").reshape(40, 40) / 7
        a.attrs["units"] = "K"
        s = g.create_array("sub/s", shape=(64, 64), chunks=(8, 8), shards=(32, 32), dtype="i2")
        s[:] = np.arange(64 * 64).reshape(64, 64)
        z = g.create_array("z", shape=(), dtype="f8", fill_value=1.5)
        z[...] = 3.25
        v2 = zarr.open_group(str(tmp_path / "v2.zarr"), mode="w", zarr_format=2)
        b = v2.create_array("b", shape=(30,), chunks=(7,), dtype=">u4", fill_value=0)
        b[:] = np.arange(30) * 1000
    return tmp_path


def assert_copied(src, dst, names):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            want, got = zarr.open_array(f"{src}/{name}", mode="r"), zarr.open_array(f"{dst}/{name}", mode="r")
            np.testing.assert_array_equal(got[...], want[...], err_msg=name)
            assert got.dtype == want.dtype.newbyteorder("=") or got.dtype == want.dtype, name


@pytest.mark.parametrize("codec, zarr_format", [(None, None), ("zstd:3", None), ("blosc-lz4", 3), ("blosc-zstd:5", 3),
                                                ("gzip:6", 3), ("lz4", 3), ("none", 3), ("zlib:4", 2), ("zstd", 2)])
def test_copy_recompresses_a_hierarchy(cuzarr_cli, copy_source, codec, zarr_format):
    src, dst = copy_source / "src.zarr", copy_source / "dst.zarr"
    args = ["copy", src, dst] + (["--codec", codec] if codec else []) + (["--zarr-format", zarr_format] if zarr_format else [])
    proc = run(cuzarr_cli, *args, check_rc=0)
    assert "copied 3 array(s) and 2 group(s)" in proc.stdout, proc.stdout
    assert_copied(src, dst, ["a", "sub/s", "z"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = zarr.open_group(str(dst), mode="r")
        a, s = root["a"], root["sub/s"]
    assert root.attrs["title"] == "copied" and a.attrs["units"] == "K"
    assert root.metadata.zarr_format == (zarr_format or 3)
    if (zarr_format or 3) == 3:
        assert a.metadata.dimension_names == ("y", "x")
        assert s.shards == (32, 32) and s.chunks == (8, 8)  # the shards stay
    else:
        assert a.attrs["_ARRAY_DIMENSIONS"] == ["y", "x"]
    if codec:
        # The compressor asked for, in the metadata zarr-python reads.
        want = {"zstd": "zstd", "blosc-lz4": "blosc", "blosc-zstd": "blosc", "gzip": "gzip", "lz4": "numcodecs.lz4",
                "zlib": "zlib", "none": None}[codec.split(":")[0]]
        if (zarr_format or 3) == 3:
            names = [c["name"] for c in json.loads((dst / "a" / "zarr.json").read_text())["codecs"]]
            assert names == ["bytes"] + ([want] if want else []), names
        else:
            assert json.loads((dst / "a" / ".zarray").read_text())["compressor"]["id"] == want
    # The chunk never written stays unwritten: only the fill value's chunks are skipped.
    assert not any((dst / "a").rglob("4*")) if (zarr_format or 3) == 2 else not (dst / "a" / "c" / "4").exists()


def test_copy_one_array_with_new_chunks_and_a_v2_source(cuzarr_cli, copy_source):
    run(cuzarr_cli, "copy", copy_source / "src.zarr/a", copy_source / "a.zarr", "--chunks", "25,20", "--codec", "lz4",
        check_rc=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert zarr.open_array(str(copy_source / "a.zarr"), mode="r").chunks == (25, 20)
    np.testing.assert_array_equal(zarr_read(copy_source / "a.zarr"), zarr_read(copy_source / "src.zarr/a"))
    # v2 big-endian to v3 (little-endian bytes codec): the same values.
    run(cuzarr_cli, "copy", copy_source / "v2.zarr", copy_source / "b3.zarr", "--zarr-format", "3", check_rc=0)
    np.testing.assert_array_equal(zarr_read(copy_source / "b3.zarr/b"), np.arange(30) * 1000)


def test_copy_errors_write_nothing(cuzarr_cli, copy_source):
    src = copy_source / "src.zarr"
    run(cuzarr_cli, "copy", src, copy_source / "once.zarr", check_rc=0)
    assert_clean_error(run(cuzarr_cli, "copy", src, copy_source / "once.zarr"), "already there")
    bad = copy_source / "bad.zarr"
    assert_clean_error(run(cuzarr_cli, "copy", src, bad, "--codec", "bogus"), "--codec 'bogus'", "zstd[:LEVEL]")
    assert_clean_error(run(cuzarr_cli, "copy", src, bad, "--codec", "zstd:99"), "level")
    assert_clean_error(run(cuzarr_cli, "copy", src, bad, "--codec", '{"id": "zstd"}', "--zarr-format", "3"), "v2 compressor")
    assert not bad.exists()
    assert run(cuzarr_cli, "copy", src, bad, "--zarr-format", "4").returncode == USAGE_ERROR
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = zarr.open_group(str(copy_source / "text.zarr"), mode="w", zarr_format=3)
        t.create_array("names", shape=(3,), dtype=str)[:] = ["a", "bb", "ccc"]
    assert_clean_error(run(cuzarr_cli, "copy", copy_source / "text.zarr", copy_source / "t2.zarr"),
                       "names", "variable-length")


def test_write_npy_into_a_selection(cuzarr_cli, copy_source, tmp_path):
    run(cuzarr_cli, "copy", copy_source / "src.zarr", tmp_path / "w.zarr", check_rc=0)
    target = tmp_path / "w.zarr/a"
    want = zarr_read(target)
    c = np.full((10, 16), 7, "f4")
    f = np.asfortranarray(np.arange(160, dtype="f4").reshape(10, 16))
    np.save(tmp_path / "c.npy", c)
    np.save(tmp_path / "f.npy", f)
    proc = run(cuzarr_cli, "write", target, "-i", tmp_path / "c.npy", "--select", "0:10,0:16", check_rc=0)
    assert "wrote" in proc.stdout and "[0:10,0:16]" in proc.stdout
    run(cuzarr_cli, "write", target, "-i", tmp_path / "f.npy", "--select", "40:50,16:32", check_rc=0)
    want[0:10, 0:16], want[40:50, 16:32] = c, f
    np.testing.assert_array_equal(zarr_read(target), want)
    np.save(tmp_path / "whole.npy", np.zeros((64, 64), "i2"))
    run(cuzarr_cli, "write", tmp_path / "w.zarr/sub/s", "-i", tmp_path / "whole.npy", check_rc=0)
    assert not zarr_read(tmp_path / "w.zarr/sub/s").any()
    assert not any(p.is_file() for p in (tmp_path / "w.zarr/sub/s").rglob("c/*"))  # all fill value: no shards
    # Errors: the file's type, its shape, not a .npy file, a truncated one, a read-only store.
    np.save(tmp_path / "f8.npy", np.zeros((10, 16)))
    assert_clean_error(run(cuzarr_cli, "write", target, "-i", tmp_path / "f8.npy", "--select", "0:10,0:16"),
                       "'<f8'", "float32")
    assert_clean_error(run(cuzarr_cli, "write", target, "-i", tmp_path / "c.npy", "--select", "0:10"), "shape")
    (tmp_path / "not.npy").write_bytes(b"hello")
    assert_clean_error(run(cuzarr_cli, "write", target, "-i", tmp_path / "not.npy"), "not a NumPy .npy file")
    (tmp_path / "cut.npy").write_bytes((tmp_path / "c.npy").read_bytes()[:-10])
    assert_clean_error(run(cuzarr_cli, "write", target, "-i", tmp_path / "cut.npy", "--select", "0:10,0:16"),
                       "fewer values")
    before = zarr_read(target)
    assert_clean_error(run(cuzarr_cli, "write", target, "-i", tmp_path / "missing.npy"), "missing.npy")
    np.testing.assert_array_equal(zarr_read(target), before)
