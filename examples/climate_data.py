"""The climate demo's data: a synthetic but realistic 6-hourly surface air temperature field,
written with xarray's ``to_zarr`` into a blosc-compressed Zarr v2 store and a sharded,
zstd-compressed Zarr v3 store (examples/climate_demo.py reads them; see docs/demo.md).

    from climate_data import Grid, choose_grid, write_stores
    paths = write_stores(Path("demo-data"), choose_grid(200 * 2**20))
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

try:
    from tqdm import tqdm
except ImportError:  # the bars are a nicety: everything runs without them
    tqdm = None

STEPS_PER_DAY = 4  # 6-hourly
START = "2021-01-01"
TIME_UNITS = f"hours since {START} 00:00:00"
MIB = 2**20
# Finest first: the default grid is the finest one that still holds MIN_YEARS of data.
RESOLUTIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.75, 5.0, 7.5, 10.0, 15.0)
MIN_YEARS = 3
# Zarr layout: a chunk is 30 days x half the latitudes x half the longitudes; a v3 shard is four
# chunks in time and two in each direction of the grid. Stores are written one shard-long block
# at a time, so every region write covers whole chunks (v2) and whole shards (v3).
CHUNK_DAYS = 30
SHARD_CHUNKS = 4


# --------------------------------------------------------------------------------------------
# The grid


@dataclass(frozen=True)
class Grid:
    """A regular lat/lon grid (latitudes north to south, as ERA5) and a 6-hourly time axis of
    whole years from START."""

    resolution: float
    years: int

    @property
    def lat(self) -> np.ndarray:
        n = int(round(180 / self.resolution)) + 1
        return np.linspace(90, -90, n)

    @property
    def lon(self) -> np.ndarray:
        n = int(round(360 / self.resolution))
        return np.arange(n) * (360 / n)

    @property
    def time(self) -> pd.DatetimeIndex:
        start = pd.Timestamp(START)
        end = start + pd.DateOffset(years=self.years)
        return pd.date_range(start, end, freq="6h", inclusive="left", name="time")

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.time), len(self.lat), len(self.lon)

    @property
    def nbytes(self) -> int:
        return 4 * math.prod(self.shape)

    @property
    def chunks(self) -> tuple[int, int, int]:
        _, ny, nx = self.shape
        return CHUNK_DAYS * STEPS_PER_DAY, (ny + 1) // 2, (nx + 1) // 2

    @property
    def shards(self) -> tuple[int, int, int]:
        # Whole chunks (the last ones reach past the grid's edge when its size is odd).
        ct, cy, cx = self.chunks
        return ct * SHARD_CHUNKS, 2 * cy, 2 * cx

    @property
    def label(self) -> str:
        res = f"{self.resolution:g}".replace(".", "p")
        first = self.time[0].year
        return f"air_{res}deg_{first}-{first + self.years - 1}"

    def describe(self) -> str:
        nt, ny, nx = self.shape
        t = self.time
        return (f"{nt} x {ny} x {nx} float32 ({self.nbytes / MIB:.0f} MiB): 6-hourly "
                f"{t[0]:%Y-%m-%d} to {t[-1]:%Y-%m-%d}, {self.resolution:g} degree grid")


def choose_grid(size: int) -> Grid:
    """The finest grid of RESOLUTIONS that gives at least MIN_YEARS whole years of data closest
    to ``size`` bytes; for sizes too small for that, the coarsest grid."""
    for res in RESOLUTIONS:
        per_year = Grid(res, 1).nbytes
        years = round(size / per_year)
        if years >= MIN_YEARS:
            return Grid(res, years)
    return Grid(RESOLUTIONS[-1], max(1, round(size / Grid(RESOLUTIONS[-1], 1).nbytes)))


def parse_size(text: str) -> int:
    """'200M', '1.5G', '300MiB', '2GB' or a plain number of MiB, to bytes."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgG]?)(i?[bB])?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 200M or 1.5G)")
    scale = {"": MIB, "k": 2**10, "m": MIB, "g": 2**30}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


# --------------------------------------------------------------------------------------------
# The synthetic climate


# Continents as overlapping soft ellipses: (centre lat, centre lon east, half-height, half-width,
# tilt), degrees. Crude, but it puts land about where a reader expects it.
CONTINENTS = (
    # North America, Greenland
    (60, 255, 12, 32, 0), (68, 213, 6, 14, 0), (75, 262, 6, 22, 0), (42, 260, 10, 22, 0),
    (31, 263, 6, 13, 0), (52, 291, 7, 8, 0), (21, 257, 7, 5, -35), (13, 273, 5, 4, -45),
    (74, 318, 9, 12, 0),
    # South America
    (0, 295, 10, 16, 0), (-11, 307, 10, 12, 0), (-27, 297, 12, 9, 0), (-45, 290, 8, 4, 0),
    # Europe
    (50, 12, 8, 20, 0), (64, 20, 7, 9, 30), (55, 42, 10, 16, 0), (40, 356, 4, 6, 0),
    # Asia
    (63, 100, 11, 60, 0), (46, 88, 10, 36, 0), (32, 106, 10, 16, 0), (22, 78, 9, 8, 0),
    (15, 102, 8, 5, 0), (66, 168, 6, 14, 0), (36, 48, 6, 15, 0), (23, 47, 8, 10, 0),
    # Africa
    (17, 12, 9, 26, 0), (27, 18, 5, 17, 0), (9, 355, 6, 9, 0), (0, 23, 12, 14, 0),
    (-17, 27, 11, 12, 0), (-28, 24, 6, 8, 0),
    # Australia
    (-25, 134, 10, 17, 0), (-15, 135, 4, 9, 0),
)
# Planted events (all within 2021-2023): a heat dome over the Pacific Northwest like June 2021's,
# and a zonally symmetric Arctic warm spell.
HEAT_DOME = dict(lat=50.5, lon=238.5, peak="2021-06-29T12", amplitude=24.0, days=2.5, width=(6.0, 9.0))
ARCTIC_SPELL = dict(peak="2022-02-12", amplitude=7.0, days=6.0, edge=62.0)


def land_fraction(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """0 (sea) to 1 (land) on the grid, with a smooth coast. The continents' ellipses are
    merged as "metaballs" (their Gaussian bumps add up), so that neighbours join into one coast."""
    la, lo = lat[:, None], lon[None, :]
    bumps = np.zeros((lat.size, lon.size))
    for c_lat, c_lon, half_h, half_w, tilt in CONTINENTS:
        x = (lo - c_lon + 180) % 360 - 180
        y = la - c_lat
        t = np.deg2rad(tilt)
        u, v = x * np.cos(t) + y * np.sin(t), -x * np.sin(t) + y * np.cos(t)
        bumps += np.exp(-((u / half_w) ** 2 + (v / half_h) ** 2))
    # A ragged coast rather than a geometric one.
    rag = 0.25 * (np.sin(np.deg2rad(7 * la) + 1) * np.cos(np.deg2rad(5 * lo)) + np.sin(np.deg2rad(9 * lo + 4 * la)))
    # An isolated ellipse's edge is where its bump is exp(-1).
    land = 1 / (1 + np.exp(-(np.log(bumps + 1e-30) + 1 + rag) / 0.15))
    antarctica = 1 / (1 + np.exp((lat[:, None] + 70) / 1.5))
    return np.maximum(land, antarctica)


class SyntheticClimate:
    """Surface air temperature (K) as a sum of physically motivated parts:

    - an annual mean falling from ~300 K at the equator to ~250 K at the poles (colder on land,
      coldest on the Antarctic plateau);
    - a seasonal cycle, opposite in the two hemispheres, far larger and earlier over land;
    - a diurnal cycle peaking at 15:00 local solar time, large over land only;
    - weather: a Gaussian random field with ~1500 km correlation length, AR(1) in time (3 days),
      drifting eastwards, strongest over mid/high-latitude land in winter;
    - an ENSO-like oscillation in the tropical Pacific, a small warming trend;
    - the planted heat dome and Arctic warm spell.

    ``block(start, n)`` returns time steps [start, start + n) and must be called in order (the
    weather carries its state from one block to the next); the result depends only on the grid
    and the seed, not on how the time axis is cut into blocks.
    """

    CORRELATION_DEG = 13.5
    MEMORY_DAYS = 3.0
    DRIFT_DEG_PER_STEP = 2.0

    def __init__(self, grid: Grid, seed: int = 2021):
        self.grid = grid
        self.lat, self.lon, self.time = grid.lat, grid.lon, grid.time
        self.land = land_fraction(self.lat, self.lon)
        phi = np.deg2rad(self.lat)[:, None]
        s, L = np.abs(np.sin(phi)), self.land
        south = (self.lat[:, None] < 0).astype(float)
        self.annual = (300.0 - 46 * s**3 - 4 * L * s**2
                       - 22 * L * south * np.clip((-self.lat[:, None] - 62) / 20, 0, 1))
        self.season_amp = 0.5 + s**1.2 * (4 + 20 * L)
        self.season_lag = 17 + 28 * (1 - L)  # days after the solstice that the warmest day comes
        self.hemisphere = np.sign(self.lat)[:, None]
        self.diurnal_amp = 0.3 + 5.5 * L * (1 - 0.5 * s)
        self.weather_sigma = 0.6 + (1.0 + 1.6 * L) * s
        dlon = (self.lon[None, :] - 230 + 180) % 360 - 180
        self.enso_pattern = np.exp(-0.5 * ((self.lat[:, None] / 10) ** 2 + (dlon / 40) ** 2))
        self._init_weather(seed)
        self._next = 0

    def _init_weather(self, seed: int) -> None:
        res = self.grid.resolution
        ny, nx = self.lat.size, self.lon.size
        # Pad latitudes so that the periodic FFT field does not tie the two poles together.
        self._ny = ny
        pad = int(math.ceil(3 * self.CORRELATION_DEG / res))
        ky = np.fft.fftfreq(ny + pad)[:, None]
        kx = np.fft.fftfreq(nx)[None, :]
        length = self.CORRELATION_DEG / res  # in grid steps
        self._filter = np.exp(-2 * (np.pi * length) ** 2 * (kx**2 + ky**2)).astype(np.float32)
        n = self._filter.size
        # Re(ifft2(filter * c)) with E|c|^2 = 1 has this standard deviation everywhere.
        self._norm = math.sqrt(float((self._filter.astype(np.float64) ** 2).sum()) / (2 * n * n))
        self._drift = np.exp(-2j * np.pi * kx * (self.DRIFT_DEG_PER_STEP / res)).astype(np.complex64)
        self._ar = math.exp(-1 / (STEPS_PER_DAY * self.MEMORY_DAYS))
        self._rng = np.random.default_rng(seed)
        self._coeffs = self._white(self._filter.shape)

    def _white(self, shape) -> np.ndarray:
        re, im = self._rng.standard_normal((2, *shape), dtype=np.float32)
        return (re + 1j * im) * np.float32(math.sqrt(0.5))

    def _weather(self, n: int) -> np.ndarray:
        """n unit-variance weather fields, continuing the AR(1) sequence."""
        spectra = np.empty((n, *self._filter.shape), np.complex64)
        ar, keep = np.float32(self._ar), np.float32(math.sqrt(1 - self._ar**2))
        for i in range(n):
            self._coeffs = ar * self._coeffs * self._drift + keep * self._white(self._filter.shape)
            spectra[i] = self._coeffs
        spectra *= self._filter
        fields = np.fft.ifft2(spectra, axes=(-2, -1)).real[:, : self._ny, :]
        return fields / self._norm

    def block(self, start: int, n: int) -> np.ndarray:
        if start != self._next:
            raise ValueError(f"blocks must come in order: expected step {self._next}, got {start}")
        self._next = start + n
        t = self.time[start : start + n]
        day = (t.day_of_year.to_numpy() - 1 + t.hour.to_numpy() / 24)[:, None, None]
        hour = t.hour.to_numpy()[:, None, None]
        years = ((t - self.time[0]) / pd.Timedelta(days=365.25)).to_numpy()[:, None, None]

        season = self.hemisphere * np.cos(2 * np.pi * (day - 172 - self.season_lag) / 365.25)
        solar_hour = (hour + self.lon[None, None, :] / 15) % 24
        winter = 1 - 0.3 * season  # weather is stormier in winter
        air = (self.annual
               + self.season_amp * season
               + self.diurnal_amp * np.cos(2 * np.pi * (solar_hour - 15) / 24)
               + 2.0 * np.sin(2 * np.pi * years / 3.6 + 0.4) * self.enso_pattern
               + 0.03 * years
               + self.weather_sigma * winter * self._weather(n))
        air += self._events(t)
        return air.astype(np.float32)

    def _events(self, t: pd.DatetimeIndex) -> np.ndarray:
        out = np.zeros((t.size, self.lat.size, self.lon.size))
        dome = HEAT_DOME
        days = ((t - pd.Timestamp(dome["peak"])) / pd.Timedelta(days=1)).to_numpy()
        in_time = np.exp(-0.5 * (days / dome["days"]) ** 2)
        if in_time.max() > 1e-4:
            dlat = self.lat[:, None] - dome["lat"]
            dlon = (self.lon[None, :] - dome["lon"] + 180) % 360 - 180
            hy, hx = dome["width"]
            space = np.exp(-0.5 * ((dlat / hy) ** 2 + (dlon / hx) ** 2))
            out += dome["amplitude"] * in_time[:, None, None] * space
        spell = ARCTIC_SPELL
        days = ((t - pd.Timestamp(spell["peak"])) / pd.Timedelta(days=1)).to_numpy()
        in_time = np.exp(-0.5 * (days / spell["days"]) ** 2)
        if in_time.max() > 1e-4:
            polar = 1 / (1 + np.exp(-(self.lat - spell["edge"]) / 3))
            out += spell["amplitude"] * in_time[:, None, None] * polar[None, :, None]
        return out


# --------------------------------------------------------------------------------------------
# Writing the stores


@dataclass(frozen=True)
class StoreSpec:
    name: str
    zarr_format: int
    label: str


STORES = (
    StoreSpec("v2_blosc", 2, "v2 blosc"),
    StoreSpec("v3_sharded_zstd", 3, "v3 sharded"),
)


def store_path(directory: Path, grid: Grid, spec: StoreSpec) -> Path:
    return directory / f"{grid.label}_{spec.name}.zarr"


def progress_bar(**kwargs):
    """A tqdm bar, or a stand-in that does nothing (disable=True, no tqdm installed, or standard
    error is not a terminal: in a piped log a bar is a long run of carriage returns)."""
    if kwargs.pop("disable", False):
        return _NoBar()
    if tqdm is None or not sys.stderr.isatty():
        if kwargs.get("desc"):
            print(f"{kwargs['desc']} ...", file=sys.stderr, flush=True)  # one line instead of a bar
        return _NoBar()
    return tqdm(**kwargs)


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def _encoding(spec: StoreSpec, grid: Grid) -> dict:
    import numcodecs
    import zarr

    if spec.zarr_format == 2:
        air = {"chunks": grid.chunks,
               "compressors": (numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),)}
    else:
        air = {"chunks": grid.chunks, "shards": grid.shards,
               "compressors": (zarr.codecs.ZstdCodec(level=3),)}
    return {
        "air": air,
        "time": {"units": TIME_UNITS, "calendar": "proleptic_gregorian", "dtype": "int64"},
    }


def _template(grid: Grid, land: np.ndarray) -> xr.Dataset:
    """The whole dataset with a lazy (dask) `air`, so that to_zarr(compute=False) writes the
    metadata, the coordinates and the land mask, and no temperatures yet."""
    import dask.array as da

    air = da.zeros(grid.shape, dtype="f4", chunks=grid.shards)
    return xr.Dataset(
        {
            "air": (("time", "lat", "lon"), air, {
                "units": "K",
                "standard_name": "air_temperature",
                "long_name": "surface air temperature",
            }),
            "lsm": (("lat", "lon"), land.astype("f4"), {
                "units": "1",
                "standard_name": "land_area_fraction",
                "long_name": "land-sea mask",
            }),
        },
        coords={
            "time": ("time", grid.time, {"standard_name": "time", "long_name": "time"}),
            "lat": ("lat", grid.lat, {"units": "degrees_north", "standard_name": "latitude",
                                      "long_name": "latitude"}),
            "lon": ("lon", grid.lon, {"units": "degrees_east", "standard_name": "longitude",
                                      "long_name": "longitude"}),
        },
        attrs={
            "title": "cuzarr climate demo: synthetic 6-hourly surface air temperature",
            "source": "examples/climate_demo.py (synthetic; not observations)",
            "Conventions": "CF-1.8",
            "demo_grid": f"{grid.resolution:g} deg, {grid.years} years from {START}",
        },
    )


def write_stores(directory: Path, grid: Grid, *, progress: bool = True, force: bool = False) -> list[Path]:
    """Write the stores of ``grid`` under ``directory`` unless they are already there. Each is
    written under a temporary name and renamed when complete, so an interrupted run leaves no
    store that looks finished."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [store_path(directory, grid, spec) for spec in STORES]
    todo = [(spec, p) for spec, p in zip(STORES, paths) if force or not p.exists()]
    if not todo:
        return paths
    climate = SyntheticClimate(grid)
    partial = {}
    for spec, path in todo:
        tmp = path.with_name(path.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        _template(grid, climate.land).to_zarr(tmp, mode="w", compute=False, zarr_format=spec.zarr_format,
                                             consolidated=True, encoding=_encoding(spec, grid))
        partial[spec.name] = tmp
    nt = grid.shape[0]
    block = grid.shards[0]
    names = " + ".join(spec.label for spec, _ in todo)
    with progress_bar(total=grid.nbytes / MIB, unit="MiB", desc=f"writing {names}", disable=not progress,
                   bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} MiB [{elapsed}<{remaining}]") as bar:
        for start in range(0, nt, block):
            n = min(block, nt - start)
            values = climate.block(start, n)
            part = xr.Dataset({"air": (("time", "lat", "lon"), values)})
            for spec, _ in todo:
                part.to_zarr(partial[spec.name], region={"time": slice(start, start + n)},
                             mode="r+", zarr_format=spec.zarr_format, consolidated=False)
            bar.update(values.nbytes / MIB)
    for spec, path in todo:
        shutil.rmtree(path, ignore_errors=True)
        os.replace(partial[spec.name], path)
    return paths


def disk_usage(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
