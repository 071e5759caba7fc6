"""Terrain correction on the demo: per band, the correlation of reflectance with cos(i) within one class.

    .venv/bin/python benchmarks/terrain.py [--class forest] [--method c-correction] [--workdir DIR]

Writes the demo Sentinel-2 scenes of config/config.yaml's area (the demo generator puts terrain
illumination on its reflectance), runs ``make_ard`` on the first tile once without and once with
the terrain correction (BRDF off in both, the DEM the demo terrain as a file), and prints per
band the Pearson r between cos(local illumination) and the reflectance of the clear pixels of
one landscape class, pooled over the scenes (each scene's pixels centred on its mean, so the
season does not count), before and after. Goal: |r| < 0.1 after.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "unit"))


def class_correlations(cube: np.ndarray, cos_i: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per band, r of reflectance vs cos(i) over ``mask`` pixels, pooled over time (centred per scene).

    Args:
        cube: (time, band, y, x) reflectance, NaN where not clear.
        cos_i: (time, y, x) local illumination.
        mask: (y, x) bool, the class's pixels.
    """
    out = []
    for b in range(cube.shape[1]):
        xs, ys = [], []
        for t in range(cube.shape[0]):
            ok = mask & np.isfinite(cube[t, b]) & np.isfinite(cos_i[t])
            if ok.sum() < 50:
                continue
            x, y = cos_i[t][ok].astype(np.float64), cube[t, b][ok].astype(np.float64)
            xs.append(x - x.mean())
            ys.append(y - y.mean())
        x, y = np.concatenate(xs), np.concatenate(ys)
        out.append(float(np.dot(x, y) / np.sqrt(np.dot(x, x) * np.dot(y, y))))
    return np.array(out)


def run(workdir: Path, cls: str, method: str) -> dict[str, tuple[float, float]]:
    """Per band (r before, r after) on the first tile of config/config.yaml's demo area."""
    from _s2_fixtures import fetch_demo_scene, make_source, write_demo_dem

    from sporbar.ard.correct import scene_geometry
    from sporbar.ard.load import read_scenes
    from sporbar.ard.run import make_ard
    from sporbar.ard.terrain import read_dem, terrain_normal
    from sporbar.ard.write import open_cube
    from sporbar.config import load
    from sporbar.demo.landscape import DemoClass, make_landscape
    from sporbar.stac.record import RunContext
    from sporbar.workflow import plan

    data = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    data["root"] = str(workdir / "results")
    dem = write_demo_dem(workdir / "dem.tif", data)
    cubes = {}
    for name, terrain in (("before", "none"), ("after", method)):
        d = {**data, "ard": {**data["ard"], "terrain": {"method": terrain, "dem": str(dem)},
                              "brdf": {"method": "none"}}}
        path = workdir / f"config-{name}.yaml"
        path.write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
        cfg = load(path)
        if name == "before":
            source = workdir / "source"
            source.mkdir(exist_ok=True)
            make_source(cfg, source)
            raw = []
            for s in plan.scene_ids(cfg):
                p = workdir / "raw" / s / "item.json"
                fetch_demo_scene(cfg, source, s, p)
                raw.append(p)
        tile = cfg.tiles[0]
        out = workdir / name / "item.json"
        make_ard(cfg, tile, raw, out, ctx=RunContext.current(), overwrite=True)
        cubes[name] = open_cube(out.parent / "cube.zarr")
    geobox = cfg.grid.geobox(tile)
    normal = terrain_normal(read_dem(dem, geobox), geobox)
    scenes = read_scenes(raw)
    cos_i = np.stack([scene_geometry(s, geobox, normal).cos_i for s in scenes])  # type: ignore[misc]
    land = make_landscape(tuple(data["area"]["bbox"]), seed=data["demo"]["seed"])
    from rasterio.warp import Resampling, reproject

    classes = np.zeros(geobox.shape.yx, np.uint8)
    reproject(land.classes, classes, src_transform=land.transform, src_crs=land.crs,
              dst_transform=geobox.affine, dst_crs=str(geobox.crs), resampling=Resampling.nearest)
    # the class's core: away from its edges, where mixed pixels would add the neighbour's signal
    from scipy import ndimage

    mask = ndimage.binary_erosion(classes == DemoClass[cls], iterations=2)
    bands = [str(b) for b in cubes["before"]["band"].values]
    before = class_correlations(cubes["before"].values, cos_i, mask)
    after = class_correlations(cubes["after"].values, cos_i, mask)
    return {b: (float(x), float(y)) for b, x, y in zip(bands, before, after, strict=True)}


def main() -> None:
    """Print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--class", dest="cls", default="forest")
    ap.add_argument("--method", default="c-correction", choices=["c-correction", "scs+c"])
    ap.add_argument("--workdir", type=Path, default=None)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(a.workdir or Path(tmp), a.cls, a.method)
    print(f"| band | r before | r after ({a.method}) |\n|---|---|---|")
    for b, (x, y) in result.items():
        print(f"| {b} | {x:+.3f} | {y:+.3f} |")


if __name__ == "__main__":
    main()
