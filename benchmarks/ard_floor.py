"""`sporbar ard` against its floor (decoding the band files) and against a plain odc-stac
pipeline, and its peak memory on a 20 km tile as the number of scenes grows.

    .venv/bin/python benchmarks/ard_floor.py                      # all of it
    .venv/bin/python benchmarks/ard_floor.py --repeat 3 --tile-px 1024 --scenes 5 --memory 2 8 16 30

Data: the demo generator (``sporbar.demo.sentinel2.write_scenes``) writes Sentinel-2 L2A
SAFE products for one grid tile (EPSG:25833, 10 m) with N dates spread over May-September,
and the demo source's fetch makes their raw items, as ``sporbar fetch s2`` does. They are cached
under ``--work`` (generating takes ~1 min per 20 km scene on 2 busy cores).

Timing (``--tile-px`` x ``--tile-px`` px tile, ``--scenes`` scenes; medians of ``--repeat``
alternating whole-process runs, each a fresh Python process):

* ``sporbar ard``: the command, as Snakemake runs it (cube + composites + counts + item);
* decode: every band file ARD reads (``ard.bands`` + SCL) read once, whole, with
  ``threads`` reader threads: the floor of any ARD of these files;
* odc-stac: ``odc.stac.load`` (its own reader, one chunk per tile) + the same
  scale/offset, SCL mask, Zarr cube, xarray medians and indices, COGs with
  ``sporbar.raster.write_cog``.

Memory (``--memory``): peak RSS of ``sporbar ard`` on a ``--memory-px`` tile (2000 px =
20 km, the production tile) with each number of scenes, one run each.
No timing is asserted anywhere: this prints numbers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
X0, Y0 = 266240, 7024640  # near the demo area; snapped down to the tile size by _origin


def _origin(tile_m: int) -> tuple[int, int]:
    """A tile-aligned corner south of Trondheim (the demo's landscape)."""
    return (X0 // tile_m) * tile_m, (Y0 // tile_m) * tile_m


def _write_dem(path: Path, land: Any) -> Path:
    from odc.geo.geobox import GeoBox

    from sporbar.raster import write_cog

    return write_cog(path, land.elevation, GeoBox(land.shape, land.transform, land.crs), nodata=float("nan"))


def prepare(work: Path, tile_px: int, n: int) -> tuple[Path, str, list[Path]]:
    """(config, tile id, raw items) of a one-tile area with ``n`` demo scenes; cached in ``work``."""
    from sporbar.config import load
    from sporbar.demo.landscape import make_landscape
    from sporbar.demo.sentinel2 import write_scenes
    from sporbar.fetch.demo_s2 import SOURCE
    from sporbar.stac.record import RunContext

    tile_m = tile_px * 10
    folder = work / f"{tile_px}px-{n}"
    cfg_path = folder / "config.yaml"
    done = folder / "raw.json"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        data = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        x0, y0 = _origin(tile_m)
        data["root"] = str(folder / "results")
        data["area"]["bbox"] = [x0, y0, x0 + tile_m, y0 + tile_m]
        data["grid"]["tile_size"] = tile_m
        d0 = date(2024, 5, 1)
        data["demo"]["dates"] = [(d0 + timedelta(days=int(i * 150 / n))).isoformat() for i in range(n)]
        # the terrain correction's DEM: the demo terrain as a file (the pipeline uses the lidar DTM)
        land = make_landscape(tuple(data["area"]["bbox"]), seed=data["demo"]["seed"])
        data["ard"]["terrain"]["dem"] = str(_write_dem(folder / "dem.tif", land))
        cfg_path.write_text(yaml.safe_dump(data, sort_keys=False))
        cfg = load(cfg_path)
        t0 = time.monotonic()
        source = folder / "source"
        index = source / "index.json"
        if index.exists():
            scenes = json.loads(index.read_text())["sentinel2"]
        else:
            scenes = write_scenes(cfg, land, source)
            index.write_text(json.dumps({"sentinel2": scenes}))
        raw, listing, ctx = [], SOURCE.listing(source_dir=source), RunContext.current(config_hash=cfg.hash)
        for s in scenes:  # as `sporbar fetch s2` does
            item = folder / "raw" / s["id"] / "item.json"
            if not item.exists():
                SOURCE.fetch(ctx, cfg, listing.entry(s["id"]), item)
            raw.append(str(item))
        done.write_text(json.dumps(raw))
        print(f"generated {n} scenes of a {tile_px} px tile in {time.monotonic() - t0:.0f} s", flush=True)
    cfg = load(cfg_path)
    (tile,) = cfg.tiles
    return cfg_path, tile, [Path(p) for p in json.loads(done.read_text())]


def subset(items: list[Path], n: int) -> list[Path]:
    """``n`` of ``items`` spread evenly over the season (both periods get scenes)."""
    if n >= len(items):
        return items
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def band_files(cfg_path: Path, items: list[Path]) -> list[str]:
    """The band files ARD reads: ard.bands + SCL of every item."""
    from sporbar.ard.load import SCL, read_scenes
    from sporbar.ard.run import cube_bands
    from sporbar.config import load

    ard = load(cfg_path).data["ard"]
    bands = [*cube_bands(ard["bands"], ard["indices"]), SCL]
    return [str(s.band_path(b)) for s in read_scenes(items) for b in bands]


def timed(cmd: list[str]) -> tuple[float, int, float]:
    """(wall seconds, peak RSS in bytes, CPU seconds of all threads) of ``cmd`` run in a fresh process.

    CPU time is the steadier number when other work shares the cores.
    """
    probe = (
        "import resource, subprocess, sys, time; t = time.monotonic(); "
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
        "dt = time.monotonic() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "sys.exit(r.stderr[-3000:]) if r.returncode else "
        "print(dt, u.ru_maxrss * 1024, u.ru_utime + u.ru_stime)"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{' '.join(cmd[:3])}...: {out.stderr}")
    dt, rss, cpu = out.stdout.split()
    return float(dt), int(rss), float(cpu)


def ard_cmd(cfg_path: Path, tile: str, items: list[Path], out: Path) -> list[str]:
    return [str(BIN / "sporbar"), "ard", "-c", str(cfg_path), "--tile", tile, "-o", str(out), "--overwrite",
            *map(str, items)]


# ---- the two comparison pipelines, each run as `ard_floor.py _decode|_odc ...` in its own process


def _decode(files: list[str], threads: int) -> None:
    """Read every file's band 1 once, whole."""
    from concurrent.futures import ThreadPoolExecutor

    import rasterio

    def read(path: str) -> int:
        with rasterio.open(path) as ds:
            return int(ds.read(1).size)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(read, files))


def _odc(cfg_path: Path, tile: str, items: list[Path], out: Path) -> None:
    """Plain odc-stac ARD of ``tile``: same masking, cube, medians, indices and COG writer."""
    import dask
    import numpy as np
    import odc.stac
    import xarray as xr

    from sporbar.ard.composite import INDEX_BANDS, Period, period_members
    from sporbar.ard.load import SCL, read_scenes
    from sporbar.ard.run import cube_bands
    from sporbar.ard.write import write_cube
    from sporbar.config import load
    from sporbar.raster import write_cog

    cfg = load(cfg_path)
    ard = cfg.data["ard"]
    geobox = cfg.grid.geobox(tile)
    scenes = read_scenes(items)
    bands = cube_bands(ard["bands"], ard["indices"])
    ny, nx = geobox.shape.yx
    ds = odc.stac.load([s.item for s in scenes], bands=[*bands, SCL], geobox=geobox, groupby="id",
                       resampling={SCL: "nearest", "*": "bilinear"}, chunks={"x": nx, "y": ny})
    layers = []
    for b in bands:
        so = np.array([s.scale_offset(b) for s in scenes], np.float32)
        v = ds[b]
        r = v.astype(np.float32) * xr.DataArray(so[:, 0], dims="time") + xr.DataArray(so[:, 1], dims="time")
        layers.append(r.where(v != 0))
    refl = xr.concat(layers, dim="band").assign_coords(band=bands).transpose("time", "band", "y", "x")
    refl = refl.drop_vars([c for c in refl.coords if c not in ("time", "band", "y", "x")])
    clear = ~ds[SCL].isin(ard["mask_classes"]).drop_vars("spatial_ref")
    cube = refl.where(clear & refl.notnull().all("band")).astype(np.float32)
    out.mkdir(parents=True, exist_ok=True)
    periods = [Period.from_config(p) for p in ard["periods"]]
    with dask.config.set(scheduler="threads", num_workers=cfg.data["threads"]):
        write_cube(out / "cube.zarr", cube)
        stored = xr.open_zarr(out / "cube.zarr")["reflectance"]
        for p, keep in zip(periods, period_members(stored["time"].values, periods), strict=True):
            sub = stored.isel(time=np.flatnonzero(keep))
            med = sub.median("time", skipna=True).astype(np.float32)
            idx = [((med.sel(band=INDEX_BANDS[i][0]) - med.sel(band=INDEX_BANDS[i][1]))
                    / (med.sel(band=INDEX_BANDS[i][0]) + med.sel(band=INDEX_BANDS[i][1]))).astype(np.float32)
                   for i in ard["indices"]]
            comp = np.concatenate([med.sel(band=ard["bands"]).values, np.stack([i.values for i in idx])])
            write_cog(out / f"composite-{p.id}.tif", comp, geobox, nodata=float("nan"),
                      band_names=[*ard["bands"], *ard["indices"]])
            count = sub.notnull().all("band").sum("time").astype(np.uint8).values
            write_cog(out / f"clear-{p.id}.tif", count, geobox, nodata=None, band_names=["clear_count"])


# ----


def gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/sporbar-ard-bench"))
    ap.add_argument("--tile-px", type=int, default=1024, help="tile edge of the timing runs (px of 10 m)")
    ap.add_argument("--scenes", type=int, default=5, help="scenes of the timing runs")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory", type=int, nargs="*", default=[2, 8, 16, 30], help="scene counts of the memory runs")
    ap.add_argument("--memory-px", type=int, default=2000)
    args = ap.parse_args()
    work = args.work.resolve()

    from sporbar.config import load

    if args.repeat:
        cfg_path, tile, items = prepare(work, args.tile_px, args.scenes)
        threads = load(cfg_path).data["threads"]
        files = band_files(cfg_path, items)
        mb = sum(Path(f).stat().st_size for f in files) / 1e6
        print(f"timing: {args.tile_px} x {args.tile_px} px tile, {len(items)} scenes, {len(files)} band files "
              f"({mb:.0f} MB JP2), threads {threads}; medians of {args.repeat} alternating runs", flush=True)
        me = [sys.executable, str(Path(__file__).resolve())]
        runs: dict[str, list[float]] = {"sporbar ard": [], "decode": [], "odc-stac pipeline": []}
        cpus: dict[str, list[float]] = {k: [] for k in runs}
        cmds = {
            "sporbar ard": ard_cmd(cfg_path, tile, items, work / "out" / "sporbar" / "item.json"),
            "decode": [*me, "_decode", str(threads), *files],
            "odc-stac pipeline": [*me, "_odc", str(cfg_path), tile, str(work / "out" / "odc"), *map(str, items)],
        }
        for r in range(args.repeat):
            for name, cmd in cmds.items():
                dt, _, cpu = timed(cmd)
                runs[name].append(dt)
                cpus[name].append(cpu)
                print(f"  run {r + 1}: {name:18s} {dt:6.1f} s wall, {cpu:6.1f} s CPU", flush=True)
        for what, table in (("wall", runs), ("CPU", cpus)):
            med = {k: statistics.median(v) for k, v in table.items()}
            print(f"{what:4s}: sporbar ard / decode            = {med['sporbar ard']:.1f} / {med['decode']:.1f} s "
                  f"= {med['sporbar ard'] / med['decode']:.2f}  (goal <= 1.25)")
            print(f"{what:4s}: sporbar ard / odc-stac pipeline = {med['sporbar ard']:.1f} / "
                  f"{med['odc-stac pipeline']:.1f} s = {med['sporbar ard'] / med['odc-stac pipeline']:.2f}  "
                  "(goal <= 1.0)", flush=True)

    if args.memory:
        cfg_path, tile, items = prepare(work, args.memory_px, max(args.memory))
        print(f"memory: {args.memory_px} x {args.memory_px} px tile, one run per scene count", flush=True)
        for n in args.memory:
            sub = subset(items, n)
            out = work / "out" / f"mem-{n}"
            dt, rss, cpu = timed(ard_cmd(cfg_path, tile, sub, out / "item.json"))
            print(f"  {n:3d} scenes: peak RSS {gib(rss)}, {dt:.0f} s wall ({dt / n:.1f} s per scene), "
                  f"{cpu:.0f} s CPU", flush=True)
            shutil.rmtree(out)  # a 30-scene cube of a 20 km tile is gigabytes: keep the disk for the next run


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_decode":
        _decode(sys.argv[3:], int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_odc":
        _odc(Path(sys.argv[2]), sys.argv[3], [Path(p) for p in sys.argv[5:]], Path(sys.argv[4]))
    else:
        main()
