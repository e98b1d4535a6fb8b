"""cuzarr climate demo: from Zarr to picture, on the GPU when there is one.

1. Writes (once) a synthetic but realistic multi-year 6-hourly surface air temperature field on a
   lat/lon grid (climate_data.py: seasonal and diurnal cycles, land/sea contrast, drifting
   spatially correlated weather, planted events) with xarray's ``to_zarr``, as a blosc-compressed
   Zarr v2 store and a sharded, zstd-compressed Zarr v3 store.
2. Opens each store with ``xr.open_dataset(..., engine="cuzarr")`` (device auto) and reads it a
   block of chunks at a time: into GPU memory (CuPy) when cuzarr and CuPy can use a GPU, else
   into host memory (NumPy); and, to compare, the same with ``engine="zarr"`` on the CPU.
3. Computes, on the device the data lives on: daily means, the climatology by day of year,
   anomalies, the warmest-anomaly event and a zonal-mean Hovmoeller diagram.
4. Draws a PNG (anomaly map of the event, Hovmoeller diagram, time series at the event's grid
   point) and prints the read and compute time of each engine.

    python examples/climate_demo.py [--dir demo-data] [--size 200M] [--device auto|cpu|cuda]

The default size is about 200 MiB of float32 data without a GPU and about 1.5 GiB with one.
See docs/demo.md.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import cuzarr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from climate_data import (  # noqa: E402
    HEAT_DOME,
    MIB,
    STEPS_PER_DAY,
    STORES,
    Grid,
    StoreSpec,
    choose_grid,
    disk_usage,
    parse_size,
    progress_bar,
    write_stores,
)

# zarr-python warns that consolidated metadata is not in the v3 spec yet; cuzarr reads it anyway.
warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CPU_SIZE = 200 * MIB
DEFAULT_GPU_SIZE = 1536 * MIB


# --------------------------------------------------------------------------------------------
# Devices: the only code that knows about CuPy


def array_module(x):
    """numpy or cupy, whichever owns ``x``."""
    try:
        import cupy
    except ImportError:
        return np
    return cupy.get_array_module(x)


def synchronize(x) -> None:
    """Wait for the GPU work queued for ``x`` (nothing to wait for on the CPU)."""
    xp = array_module(x)
    if xp is not np:
        xp.cuda.runtime.deviceSynchronize()


def to_host(x) -> np.ndarray:
    xp = array_module(x)
    return x if xp is np else xp.asnumpy(x)


def gpu_usable() -> tuple[bool, str]:
    """Whether cuzarr can read into a GPU here, and why not when it cannot."""
    if not cuzarr._core.cuda_built():
        return False, "this cuzarr build has no CUDA"
    if cuzarr._core.cuda_device_count() == 0:
        return False, "no GPU"
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False, "a GPU but no CuPy: scripts/bootstrap --cuda installs it"
    return True, ""


def device_name(x) -> str:
    xp = array_module(x)
    if xp is np:
        return "cpu"
    dev = xp.cuda.Device()
    name = xp.cuda.runtime.getDeviceProperties(dev.id)["name"]
    return f"cuda:{dev.id} ({name.decode() if isinstance(name, bytes) else name})"


# --------------------------------------------------------------------------------------------
# Reading


def open_air(path: Path, engine: str, device) -> xr.Dataset:
    """The dataset, lazily: metadata and coordinates only. No ``chunks=``: with dask, xarray
    (2026.9) turns each block into NumPy through ``np.asarray`` on its lazy indexing adapter, so
    GPU reads would come back to the host (pydata/xarray#11383). Indexing the lazy dataset keeps
    the backend's arrays, CuPy included."""
    kwargs = {"device": device} if engine == "cuzarr" else {}
    return xr.open_dataset(path, engine=engine, **kwargs)


def read_blocks(grid: Grid) -> list[slice]:
    """Time blocks to read one at a time: one v3 shard (four v2 chunks) long, the whole grid, so
    that each read takes many Zarr chunks at once."""
    step, nt = grid.shards[0], grid.shape[0]
    return [slice(start, min(start + step, nt)) for start in range(0, nt, step)]


def zarr_chunks_in(grid: Grid, block: slice) -> int:
    ct, cy, cx = grid.chunks
    _, ny, nx = grid.shape
    return math.ceil((block.stop - block.start) / ct) * math.ceil(ny / cy) * math.ceil(nx / cx)


def warm_up(path: Path, engine: str, device) -> None:
    """One small untimed read, so that the timings leave out one-off costs (imports, plugin
    discovery, thread pools, the CUDA context)."""
    air = open_air(path, engine, device)["air"]
    synchronize(air.isel(time=slice(0, STEPS_PER_DAY)).compute().data)


def read_air(path: Path, engine: str, device, grid: Grid, *, progress: bool = True):
    """Open ``path`` with ``engine`` and read ``air`` whole into memory -- NumPy, or CuPy when
    the backend reads to a GPU -- one block at a time, with a bar counting the Zarr chunks read.
    Returns (air, the land-sea mask on the host, seconds)."""
    t0 = time.perf_counter()
    ds = open_air(path, engine, device)
    lazy = ds["air"]
    blocks = read_blocks(grid)
    total = sum(zarr_chunks_in(grid, b) for b in blocks)
    out = None
    with progress_bar(total=total, unit="chunk", desc=f"reading {path.name} ({engine})",
                      disable=not progress, leave=False) as bar:
        for block in blocks:
            data = lazy.isel(time=block).compute().data  # reads only this block's chunks
            if out is None:  # the first block tells which memory the backend reads into
                out = array_module(data).empty_like(data, shape=lazy.shape)
            out[block] = data
            bar.update(zarr_chunks_in(grid, block))
    air = xr.DataArray(out, coords=lazy.coords, dims=lazy.dims, attrs=lazy.attrs, name="air")
    synchronize(out)
    seconds = time.perf_counter() - t0
    lsm = ds["lsm"].compute()
    return air, lsm.copy(data=to_host(lsm.data)), seconds


# --------------------------------------------------------------------------------------------
# The analysis: plain xarray, on whatever array type the data has


@dataclass
class Analysis:
    """What the pipeline computes. ``daily``, ``climatology`` and ``anomalies`` stay on the
    device of the input; the rest is small and on the host."""

    daily: xr.DataArray | None  # (time: days, lat, lon), K
    climatology: xr.DataArray | None  # (dayofyear, lat, lon), K
    anomalies: xr.DataArray | None  # (time: days, lat, lon), K
    event: dict = field(default_factory=dict)  # the warmest anomaly: time, lat, lon, value, index
    event_map: xr.DataArray | None = None  # (lat, lon) anomaly on the event's day
    hovmoller: xr.DataArray | None = None  # (time, lat) zonal-mean anomaly
    point: dict = field(default_factory=dict)  # at the event's grid point: 6-hourly, daily, climatology
    global_mean: float = float("nan")  # area-weighted mean over the whole period, K


def analyse(air: xr.DataArray) -> Analysis:
    """Daily means, climatology by day of year, anomalies, warmest-anomaly event, zonal-mean
    Hovmoeller diagram. ``air`` is (time, lat, lon), 6-hourly, in memory as NumPy or CuPy. Every
    step is an xarray operation, which runs on the array's own module (CuPy on a GPU); only one
    index and the small results travel to the host."""
    xp = array_module(air.data)
    # flox, when installed, would take over groupby with NumPy-only code; xarray's own
    # groupby works on any array type.
    with xr.set_options(use_flox=False, keep_attrs=True):
        daily = air.coarsen(time=STEPS_PER_DAY, boundary="trim", coord_func="min").mean()
        doy = daily["time"].dt.dayofyear
        climatology = daily.groupby(doy).mean("time")
        anomalies = (daily.groupby(doy) - climatology).drop_vars("dayofyear")
        anomalies.attrs.update(long_name="surface air temperature anomaly", units="K")

        flat = int(xp.argmax(anomalies.data))
        it, iy, ix = (int(i) for i in np.unravel_index(flat, anomalies.shape))
        event = {
            "time": pd.Timestamp(anomalies["time"].values[it]),
            "lat": float(anomalies["lat"].values[iy]),
            "lon": float(anomalies["lon"].values[ix]),
            "value": float(anomalies.data[it, iy, ix]),
            "index": (it, iy, ix),
        }
        event_map = anomalies.isel(time=it)
        hovmoller = anomalies.mean("lon")
        zonal = daily.mean(("time", "lon"))
        point = {
            "six_hourly": air.isel(lat=iy, lon=ix),
            "daily": daily.isel(lat=iy, lon=ix),
            "climatology": climatology.isel(lat=iy, lon=ix).sel(dayofyear=doy).drop_vars("dayofyear"),
        }
    zonal = zonal.as_numpy()
    weights = np.cos(np.deg2rad(zonal["lat"].values))
    return Analysis(
        daily=daily, climatology=climatology, anomalies=anomalies, event=event,
        event_map=event_map.as_numpy(), hovmoller=hovmoller.as_numpy(),
        point={k: v.as_numpy() for k, v in point.items()},
        global_mean=float((zonal.values * weights).sum() / weights.sum()),
    )


def timed_analysis(air: xr.DataArray, repeat: int = 1) -> tuple[Analysis, float]:
    """``analyse`` after an untimed warm-up on the first two months (CuPy compiles its kernels on
    first use), synchronised so that GPU time is real; the median time of ``repeat`` runs."""
    analyse(air.isel(time=slice(0, 60 * STEPS_PER_DAY)))
    synchronize(air.data)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = analyse(air)
        synchronize(result.anomalies.data)
        times.append(time.perf_counter() - t0)
    return result, float(np.median(times))


def check_closure(anomalies: xr.DataArray) -> float:
    """The largest |mean anomaly| over the days sharing a day of year (by construction 0, up to
    rounding): what a climatology promises."""
    doy = anomalies["time"].dt.dayofyear
    with xr.set_options(use_flox=False):
        per_doy = anomalies.groupby(doy).mean("time")
    return float(to_host(abs(per_doy).max().data))  # float() of a CuPy-backed DataArray would refuse


# --------------------------------------------------------------------------------------------
# The figure


def lon_label(x, _pos=None) -> str:
    x = (x + 180) % 360 - 180
    if abs(x) < 1e-9 or abs(abs(x) - 180) < 1e-9:
        return f"{abs(x):.0f}°"
    return f"{abs(x):.0f}°{'E' if x > 0 else 'W'}"


def lat_label(y, _pos=None) -> str:
    return "0°" if abs(y) < 1e-9 else f"{abs(y):.0f}°{'N' if y > 0 else 'S'}"


def where(lat: float, lon: float) -> str:
    return f"{lat_label(lat)} {lon_label(lon)}"


def plot(result: Analysis, lsm: xr.DataArray, title: str, png: Path, dpi: int = 110) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    ev = result.event
    fig = plt.figure(figsize=(11, 13), layout="constrained")
    rows = fig.add_gridspec(3, 1, height_ratios=[1.25, 1, 0.8])
    fig.suptitle(title, fontsize=12)

    def seasons(ax):
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))

    def latitudes(ax):
        ax.set_ylim(-90, 90)
        ax.yaxis.set_major_locator(MultipleLocator(30))
        ax.yaxis.set_major_formatter(FuncFormatter(lat_label))
        ax.set_ylabel("latitude")

    # (a) anomaly map on the event's day
    ax = fig.add_subplot(rows[0])
    emap = result.event_map
    limit = float(np.abs(emap).max())
    mesh = ax.pcolormesh(emap["lon"], emap["lat"], emap, cmap="RdBu_r", vmin=-limit, vmax=limit, shading="nearest")
    ax.contour(lsm["lon"], lsm["lat"], lsm, levels=[0.5], colors="0.3", linewidths=0.7)
    ax.plot(ev["lon"], ev["lat"], marker="o", mfc="none", mec="k", ms=16, mew=1.5)
    ax.set_aspect("equal")
    ax.set_xlim(float(emap["lon"].min()), float(emap["lon"].max()))
    ax.xaxis.set_major_locator(MultipleLocator(60))
    ax.xaxis.set_major_formatter(FuncFormatter(lon_label))
    ax.set_xlabel("longitude")
    latitudes(ax)
    ax.set_title(f"(a) Daily-mean anomaly on {ev['time']:%Y-%m-%d}, the day of the warmest anomaly: "
                 f"{ev['value']:+.1f} K at {where(ev['lat'], ev['lon'])} (circle).\n"
                 "Grey line: the coast of the dataset's (synthetic) land-sea mask.", fontsize=9.5, loc="left")
    fig.colorbar(mesh, ax=ax, label="temperature anomaly (K)", shrink=0.9, pad=0.01)

    # (b) zonal-mean Hovmoeller diagram
    ax = fig.add_subplot(rows[1])
    hov = result.hovmoller
    limit = float(np.percentile(np.abs(hov.values), 99.5))
    mesh = ax.pcolormesh(hov["time"], hov["lat"], hov.T, cmap="RdBu_r", vmin=-limit, vmax=limit, shading="nearest")
    ax.axvline(ev["time"], color="k", lw=0.8, ls=":")
    seasons(ax)
    latitudes(ax)
    ax.set_xlabel("time (one column per day)")
    ax.set_title("(b) Zonal-mean daily anomaly, time x latitude (Hovmöller diagram). Dotted: the event's day",
                 fontsize=9.5, loc="left")
    fig.colorbar(mesh, ax=ax, label="zonal-mean anomaly (K)", shrink=0.9, pad=0.01, extend="both")

    # (c) time series at the event's grid point
    ax = fig.add_subplot(rows[2])
    p = result.point
    t = p["six_hourly"]["time"].values
    ax.plot(t, p["six_hourly"], color="tab:orange", lw=0.4, alpha=0.6, label="6-hourly")
    ax.plot(p["daily"]["time"], p["daily"], color="tab:red", lw=0.9, label="daily mean")
    ax.plot(p["climatology"]["time"], p["climatology"], color="k", lw=0.9, ls="--",
            label="climatology (mean of the same day of year)")
    ax.axvline(ev["time"], color="k", lw=0.8, ls=":")
    seasons(ax)
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel("time")
    ax.set_ylabel("surface air temperature (K)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, ncols=3)
    ax.set_title(f"(c) Surface air temperature at the event's grid point, {where(ev['lat'], ev['lon'])}",
                 fontsize=9.5, loc="left")

    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=dpi)
    plt.close(fig)
    return png


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Run:
    store: StoreSpec
    engine: str
    device: str
    read_s: float
    compute_s: float
    result: Analysis
    anomalies: np.ndarray  # host copy, to compare the runs


def run_pipeline(path: Path, spec: StoreSpec, engine: str, device, grid: Grid, *,
                 repeat: int = 1, progress: bool = True) -> tuple[Run, xr.DataArray]:
    """Read and analyse one store with one engine; times are medians of ``repeat`` runs."""
    warm_up(path, engine, device)
    read_times = []
    for _ in range(repeat):
        air = None  # let the previous copy go before reading the next
        air, lsm, seconds = read_air(path, engine, device, grid, progress=progress)
        read_times.append(seconds)
    result, compute_s = timed_analysis(air, repeat)
    run = Run(spec, engine, device_name(air.data), float(np.median(read_times)), compute_s, result,
              to_host(result.anomalies.data))
    # Only what the figure and the comparison need stays (this frees GPU memory too).
    result.daily = result.climatology = result.anomalies = None
    return run, lsm


def report_table(runs: list[Run], nbytes: int) -> list[str]:
    lines = [f"  {'store':<11} {'engine':<7} {'device':<28} {'read':>7} {'GB/s':>6} {'compute':>8} {'total':>7}"]
    for r in runs:
        lines.append(f"  {r.store.label:<11} {r.engine:<7} {r.device[:28]:<28} {r.read_s:6.2f}s "
                     f"{nbytes / r.read_s / 1e9:6.2f} {r.compute_s:7.2f}s {r.read_s + r.compute_s:6.2f}s")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--dir", type=Path, default=REPO / "demo-data",
                        help="where the stores and the figure go (default: demo-data/ in the repository)")
    parser.add_argument("--size", type=parse_size, default=None,
                        help="data size (float32), e.g. 200M or 1.5G; default 1.5G with a GPU, 200M without")
    parser.add_argument("--years", type=int, default=None, help="whole years of data (instead of --size's choice)")
    parser.add_argument("--resolution", type=float, default=None,
                        help="grid spacing in degrees (instead of --size's choice)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where engine='cuzarr' reads to; auto: the GPU when one is usable")
    parser.add_argument("--no-compare", action="store_true", help="skip the engine='zarr' runs")
    parser.add_argument("--rewrite", action="store_true", help="write the stores even if they exist")
    parser.add_argument("--png", type=Path, default=None, help="figure path (default: DIR/climate_demo.png)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each read and compute (median shown)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    t_start = time.perf_counter()
    progress = not args.no_progress

    usable, why_not = gpu_usable()
    if args.device == "cuda" and not usable:
        parser.error(f"--device cuda: {why_not}")
    on_gpu = usable and args.device != "cpu"
    device = None if on_gpu else "cpu"  # None: the backend picks, which is the GPU here

    grid = choose_grid(args.size or (DEFAULT_GPU_SIZE if on_gpu else DEFAULT_CPU_SIZE))
    if args.years or args.resolution:
        grid = Grid(args.resolution or grid.resolution, args.years or grid.years)

    print(f"cuzarr {cuzarr.__version__} climate demo")
    print(f"  data: {grid.describe()}")
    where_to = "the GPU (device=None)" if on_gpu else f"cpu ({why_not or '--device cpu'})"
    print(f"  engine='cuzarr' reads to: {where_to}")
    sys.stdout.flush()
    t0 = time.perf_counter()
    paths = write_stores(args.dir, grid, progress=progress, force=args.rewrite)
    if hasattr(os, "sync"):
        os.sync()  # so that the timed reads do not compete with the write-back of the new stores
    write_s = time.perf_counter() - t0
    for spec, path in zip(STORES, paths):
        print(f"  store: {path} ({spec.label}, {disk_usage(path) / MIB:.0f} MiB on disk)")
    sys.stdout.flush()

    runs: list[Run] = []
    for spec, path in zip(STORES, paths):
        engines = [("cuzarr", device)] + ([] if args.no_compare else [("zarr", None)])
        for engine, dev in engines:
            run, lsm = run_pipeline(path, spec, engine, dev, grid, repeat=args.repeat, progress=progress)
            runs.append(run)

    shown = next(r for r in reversed(runs) if r.engine == "cuzarr")  # the v3 sharded store
    result, ev = shown.result, shown.result.event
    reference = runs[-1].anomalies
    max_diff = max(float(np.abs(r.anomalies - reference).max()) for r in runs)
    closure = check_closure(xr.DataArray(reference, dims=("time", "lat", "lon"),
                                         coords={"time": result.hovmoller["time"]}))
    png = args.png or args.dir / "climate_demo.png"
    title = (f"cuzarr climate demo: synthetic surface air temperature, {grid.describe().split(': ', 1)[1]}\n"
             f"read from Zarr v3 (sharded, zstd) with engine='cuzarr' on {shown.device}")
    plot(result, lsm, title, png)

    found = (abs(ev["lat"] - HEAT_DOME["lat"]) < 10 and abs(ev["lon"] - HEAT_DOME["lon"]) < 15
             and abs((ev["time"] - pd.Timestamp(HEAT_DOME["peak"])).days) <= 3)
    print()
    print(f"Read: open the dataset and read all {grid.nbytes / MIB:.0f} MiB of air into memory (warm page cache).")
    print("Compute: daily means, climatology, anomalies, event, Hovmöller, results to the host.")
    print(f"Median of {args.repeat} runs each:")
    for line in report_table(runs, grid.nbytes):
        print(line)
    if not args.no_compare:
        for spec in STORES:
            c = next(r for r in runs if r.store == spec and r.engine == "cuzarr")
            z = next(r for r in runs if r.store == spec and r.engine == "zarr")
            print(f"  {spec.label}: engine='zarr' (cpu) takes {z.read_s / c.read_s:.1f}x the read time and "
                  f"{(z.read_s + z.compute_s) / (c.read_s + c.compute_s):.1f}x the total time of "
                  f"engine='cuzarr' ({c.device.split(' ')[0]})")
    print()
    print(f"Warmest anomaly: {ev['value']:+.1f} K on {ev['time']:%Y-%m-%d} at {where(ev['lat'], ev['lon'])}"
          + (" (the planted Pacific Northwest heat dome)" if found else " (not the planted heat dome)"))
    print(f"Global-mean surface air temperature: {result.global_mean:.2f} K")
    print(f"Anomalies average to zero for each day of year (largest |mean|: {closure:.1e} K)")
    print(f"The {len(runs)} runs agree: largest difference between their anomalies {max_diff:.1e} K")
    print(f"Figure: {png}")
    print(f"Time: writing the stores {write_s:.1f} s, the whole demo {time.perf_counter() - t_start:.1f} s")
    print("demo OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
