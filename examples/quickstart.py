"""cuzarr quick start: write a small climate-like store with zarr-python, read it back with cuzarr
(Python and the `cuzarr` command) and check every value against zarr-python's own read.

    python examples/quickstart.py [--dir demo-data]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import zarr

import cuzarr

# zarr-python warns that consolidated metadata is not yet in the v3 spec; cuzarr reads it anyway.
warnings.filterwarnings("ignore", message="Consolidated metadata")


def write_store(path: Path, zarr_format: int) -> None:
    """A group with a 3-d air temperature field (time, lat, lon) and its coordinates."""
    if path.exists():
        shutil.rmtree(path)
    root = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    root.attrs["title"] = "cuzarr quick start"
    nt, ny, nx = 120, 73, 144
    t = np.arange(nt, dtype="f8")
    lat = np.linspace(90, -90, ny, dtype="f4")
    lon = np.linspace(0, 357.5, nx, dtype="f4")
    rng = np.random.default_rng(0)
    air = (
        273.15
        + 30 * np.cos(np.deg2rad(lat))[None, :, None]
        + 10 * np.sin(2 * np.pi * t / 30)[:, None, None] * np.sin(np.deg2rad(lat))[None, :, None]
        + rng.normal(0, 1.5, (nt, ny, nx))
    ).astype("f4")
    names = {"dimension_names": ("time", "lat", "lon")} if zarr_format == 3 else {}
    a = root.create_array("air", shape=air.shape, chunks=(30, 40, 72), dtype="f4",
                          compressors=None, fill_value=np.nan, **names)
    a[:] = air
    a.attrs.update({"units": "K", "long_name": "air temperature"})
    for name, values in (("time", t), ("lat", lat), ("lon", lon)):
        c = root.create_array(name, shape=values.shape, chunks=values.shape, dtype=values.dtype,
                              compressors=None)
        c[:] = values
    zarr.consolidate_metadata(str(path))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="demo-data", help="where to write the sample stores")
    args = parser.parse_args()
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    cli = Path(sys.executable).with_name("cuzarr")

    print(f"cuzarr {cuzarr.__version__}")
    for fmt in (2, 3):
        path = out / f"air_v{fmt}.zarr"
        write_store(path, fmt)
        group = cuzarr.open(path)
        air = group["air"]
        t0 = time.perf_counter()
        data = air[...]
        elapsed = time.perf_counter() - t0
        expected = zarr.open_array(str(path / "air"))[...]
        np.testing.assert_array_equal(data, expected)
        window = air[::30, 36, 0:144:36]
        np.testing.assert_array_equal(window, expected[::30, 36, 0:144:36])
        print(f"\nZarr v{fmt} store {path} (consolidated: {group.consolidated})")
        print(f"  members: {group.keys()}  attrs: {group.attrs}")
        print(f"  air: {air.shape} {air.dtype} chunks {air.chunks} dims {air.dimension_names}")
        print(f"  full read {data.nbytes / 1e6:.1f} MB in {elapsed * 1e3:.1f} ms, identical to zarr-python")
        print(f"  equator mean {data[:, 36, :].mean():.2f} K; air[::30, 36, ::36] =")
        print("   ", np.array2string(window, precision=1, prefix="    "))
        npy = out / f"air_v{fmt}_slice.npy"
        subprocess.run([str(cli), "read", str(path / "air"), "--select", "0,:,::36", "--out", str(npy)],
                       check=True)
        np.testing.assert_array_equal(np.load(npy), expected[0, :, ::36])
        print(f"  `cuzarr read --select 0,:,::36` wrote {npy} {np.load(npy).shape}, identical")
    print("\n`cuzarr info` of the v3 store:")
    subprocess.run([str(cli), "info", str(out / "air_v3.zarr")], check=True)
    print("\ndemo OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
