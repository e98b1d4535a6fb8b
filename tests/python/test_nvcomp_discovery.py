"""How the Python package points the library at nvCOMP (cuzarr[gpu]): the nvidia-libnvcomp wheel's
libnvcomp.so.6 is named in CUZARR_NVCOMP_LIBRARY unless the variable is already set. No GPU needed:
the library itself is loaded only on a GPU decode."""

from __future__ import annotations

import os
import sys

from cuzarr import _device


def fake_wheel(root, lib="lib64"):
    d = root / "nvidia" / "libnvcomp" / lib
    d.mkdir(parents=True)
    (d / "libnvcomp.so.6").write_bytes(b"")
    return d / "libnvcomp.so.6"


def test_the_wheels_library_is_found(tmp_path, monkeypatch):
    so = fake_wheel(tmp_path)
    monkeypatch.delenv("CUZARR_NVCOMP_LIBRARY", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "nvidia" or m.startswith("nvidia.")]:
        monkeypatch.delitem(sys.modules, name)
    assert _device.find_nvcomp() == str(so)
    assert os.environ["CUZARR_NVCOMP_LIBRARY"] == str(so)


def test_an_explicit_setting_wins(tmp_path, monkeypatch):
    fake_wheel(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("CUZARR_NVCOMP_LIBRARY", "/opt/mine/libnvcomp.so.6")
    assert _device.find_nvcomp() == "/opt/mine/libnvcomp.so.6"


def test_without_the_wheel_nothing_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv("CUZARR_NVCOMP_LIBRARY", raising=False)
    for name in [m for m in sys.modules if m == "nvidia" or m.startswith("nvidia.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "site-packages" not in p and p != str(tmp_path)])
    assert _device.find_nvcomp() is None
    assert "CUZARR_NVCOMP_LIBRARY" not in os.environ
