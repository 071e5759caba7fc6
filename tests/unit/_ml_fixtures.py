"""A tiny synthetic area for the training/ml/predict tests: real files, real items.

Two 640 m tiles (64 x 64 pixels at 10 m) whose composites and lidar products depend on
a known class raster plus seeded noise, label polygons traced from that raster, and
ARD / lidar / labels items recorded with ``record_item`` like the real stages do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pystac
import yaml
from rasterio.features import shapes
from shapely.geometry import shape

from sporbar.bands import season_names
from sporbar.config import Config, load
from sporbar.lidar_bands import metric_names
from sporbar.raster import write_cog
from sporbar.stac import extensions as ext
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item
from sporbar.stac.validate import validate_item_dict

REPO = Path(__file__).resolve().parents[2]
TILES = ("E268800N7029760", "E269440N7029760")
BBOX = [268800, 7029760, 270080, 7030400]
CELL = 8  # pixels per class cell
NOW = datetime(2024, 10, 1, tzinfo=UTC)


@dataclass
class Area:
    """Paths and truth of the synthetic area."""

    cfg_path: Path
    cfg: Config
    tiles: list[str]
    ard: dict[str, Path] = field(default_factory=dict)
    lidar: dict[str, Path] = field(default_factory=dict)
    truth: dict[str, np.ndarray] = field(default_factory=dict)
    labels: Path | None = None
    models: dict[str, Path] = field(default_factory=dict)


def write_config(tmp_path: Path, **overrides: Any) -> Path:
    """A test config from config/config.yaml: small tiles, blocks, samples, models."""
    data = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    data["root"] = str(tmp_path / "results")
    data["area"]["bbox"] = BBOX
    data["grid"]["tile_size"] = 640
    data["training"] = {"samples_per_class": 60, "block_size": 160, "folds": 3, "seed": 7}
    data["models"] = [
        {"id": "rf", "kind": "random_forest", "n_estimators": 25},
        {"id": "mlp", "kind": "torch_mlp", "epochs": 40, "hidden": 32},
        {"id": "hgb", "kind": "hgb", "max_iter": 30},
    ]
    data["threads"] = 1
    data["sources"].pop("sentinel1", None)  # Sentinel-2 and lidar features only (S1: tests/unit/test_s1_ard.py)
    for k, v in overrides.items():
        data[k] = v
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def class_raster(cfg: Config, tile: str, seed: int = 11) -> np.ndarray:
    """Class values (1..n) on the tile grid: seeded random CELL x CELL pixel cells."""
    n = len(cfg.data["classes"])
    geobox = cfg.grid.geobox(tile)
    h, w = geobox.shape.yx
    x0 = int(geobox.affine.c) // (CELL * cfg.grid.resolution)
    y0 = int(geobox.affine.f) // (CELL * cfg.grid.resolution)
    out = np.zeros((h, w), dtype=np.uint8)
    for r in range(h // CELL):
        for c in range(w // CELL):
            rng = np.random.default_rng([seed, x0 + c, y0 - r])
            out[r * CELL : (r + 1) * CELL, c * CELL : (c + 1) * CELL] = rng.integers(1, n + 1)
    return out


def _item(item_id: str, collection: str, cfg: Config, tile: str) -> pystac.Item:
    b = cfg.grid.geobox(tile).extent.to_crs("EPSG:4326").boundingbox
    bbox = [b.left, b.bottom, b.right, b.top]
    geom = {
        "type": "Polygon",
        "coordinates": [
            [
                [bbox[0], bbox[1]],
                [bbox[2], bbox[1]],
                [bbox[2], bbox[3]],
                [bbox[0], bbox[3]],
                [bbox[0], bbox[1]],
            ]
        ],
    }
    assert collection in ext.COLLECTIONS  # implied by the path (no collection link offline)
    return pystac.Item(item_id, geom, bbox, NOW, {})


def _record(item: pystac.Item, path: Path) -> None:
    d = record_item(
        item,
        path,
        inputs=[],
        step=Step("test stand-in", "test"),
        provenance=Provenance.current(now=NOW),
    )
    validate_item_dict(d)


def write_tile_inputs(
    cfg: Config,
    tile: str,
    truth: np.ndarray,
    *,
    seed: int = 3,
    ard_bands: list[str] | None = None,
    nan_rows: int = 2,
) -> tuple[Path, Path]:
    """Write the ARD and lidar stand-ins of one tile; return their item paths."""
    geobox = cfg.grid.geobox(tile)
    names = ard_bands or [*cfg.data["ard"]["bands"], *cfg.data["ard"]["indices"]]
    n_cls = len(cfg.data["classes"])
    sig = np.random.default_rng(99).uniform(
        0.02, 0.5, size=(len(cfg.data["ard"]["periods"]), n_cls + 1, len(names))
    )
    rng = np.random.default_rng([seed, int(tile[1:7])])
    ard_dir = cfg.root / "ard" / "sentinel-2-l2a" / tile
    ard_dir.mkdir(parents=True, exist_ok=True)
    item = _item(f"ard-{tile}", ext.COLLECTION_ARD, cfg, tile)
    for p_i, period in enumerate(cfg.data["ard"]["periods"]):
        data = sig[p_i][truth].transpose(2, 0, 1) + rng.normal(
            0, 0.1, size=(len(names), *truth.shape)
        )
        data = data.astype(np.float32)
        if nan_rows:
            data[:, :nan_rows, :] = np.nan  # no data along the top edge
        f = write_cog(
            ard_dir / f"composite-{period['id']}.tif", data, geobox, nodata=np.nan, band_names=names
        )
        item.add_asset(f"composite-{period['id']}", pystac.Asset(f"./{f.name}", media_type=ext.COG))
    season = cfg.data["ard"]["season"]
    if season["bands"]:  # the time-series features, as `sporbar ard` writes them
        s_names = season_names(season["bands"], season["percentiles"])
        s_sig = np.random.default_rng(98).uniform(0.02, 0.5, size=(n_cls + 1, len(s_names)))
        data = (s_sig[truth].transpose(2, 0, 1) + rng.normal(0, 0.1, size=(len(s_names), *truth.shape)))
        data = data.astype(np.float32)
        if nan_rows:
            data[:, :nan_rows, :] = np.nan
        f = write_cog(ard_dir / "season.tif", data, geobox, nodata=np.nan, band_names=s_names)
        item.add_asset("season", pystac.Asset(f"./{f.name}", media_type=ext.COG))
    if cfg.data["training"]["timeseries"]["bands"]:  # the cloud-masked cube the time series come from
        f = write_test_cube(ard_dir / "cube.zarr", cfg, truth, rng)
        item.add_asset("cube", pystac.Asset(f"./{f.name}", media_type=ext.ZARR))
    ard_path = ard_dir / "item.json"
    _record(item, ard_path)

    lid_dir = cfg.root / "lidar" / "products" / tile
    lid_dir.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0 : truth.shape[0], 0 : truth.shape[1]]
    dtm = (200 + 0.5 * xx + 0.2 * yy + rng.normal(0, 0.2, truth.shape)).astype(np.float32)
    heights = np.array([0, 18, 0.2, 0.5, 0.3, 0, 0, 9], dtype=np.float32)[np.minimum(truth, 7)]
    chm = np.clip(heights + rng.normal(0, 1.0, truth.shape), 0, None).astype(np.float32)
    item = _item(f"lidar-products-{tile}", ext.COLLECTION_LIDAR_PRODUCTS, cfg, tile)
    for key, arr in {
        "dtm": dtm,
        "dsm": dtm + chm,
        "chm": chm,
        "density": np.full(truth.shape, 2.0, np.float32),
    }.items():
        f = write_cog(lid_dir / f"{key}.tif", arr, geobox, nodata=np.nan, band_names=[key])
        item.add_asset(key, pystac.Asset(f"./{f.name}", media_type=ext.COG))
    # area-based metrics named as the lidar stage names them (the feature builder finds them by name)
    names = metric_names(cfg.data["lidar"])
    metrics = np.stack([chm * (0.5 + 0.5 * i / len(names)) for i in range(len(names) - 1)] + [chm > 2]
                       ).astype(np.float32)
    f = write_cog(lid_dir / "metrics.tif", metrics, geobox, nodata=np.nan, band_names=names)
    item.add_asset("metrics", pystac.Asset(f"./{f.name}", media_type=ext.COG,
                                           extra_fields={"bands": [{"name": n} for n in names]}))
    lidar_path = lid_dir / "item.json"
    _record(item, lidar_path)
    return ard_path, lidar_path


#: the cube's dates: two in May, none in June (every pixel's June step is masked), one a month after
CUBE_DATES = ("2024-05-03", "2024-05-20", "2024-07-10", "2024-08-12", "2024-09-15")


def write_test_cube(path: Path, cfg: Config, truth: np.ndarray, rng: np.random.Generator) -> Path:
    """A Zarr cube (time, band, y, x) of ``ard.bands`` as ``sporbar ard`` writes it: a class signal
    that differs by date (so only the time series tells some classes apart), a quarter of the
    observations clouded (NaN)."""
    import pandas as pd
    import xarray as xr

    from sporbar.ard.write import write_cube

    bands = list(cfg.data["ard"]["bands"])
    n_cls = len(cfg.data["classes"])
    sig = np.random.default_rng(97).uniform(0.02, 0.5, size=(len(CUBE_DATES), n_cls + 1, len(bands)))
    data = sig[:, truth].transpose(0, 3, 1, 2) + rng.normal(0, 0.05, size=(len(CUBE_DATES), len(bands), *truth.shape))
    data = data.astype(np.float32)
    cloud = rng.random((len(CUBE_DATES), *truth.shape)) < 0.25
    data[np.broadcast_to(cloud[:, None], data.shape)] = np.nan
    geobox = cfg.grid.geobox(str(path.parent.name))
    xs, ys = geobox.coordinates["x"].values, geobox.coordinates["y"].values
    cube = xr.DataArray(
        data,
        dims=("time", "band", "y", "x"),
        coords={"time": pd.to_datetime(list(CUBE_DATES)), "band": bands, "y": ys, "x": xs},
        attrs={"crs": "EPSG:25833"},
    )
    return write_cube(path, cube)


def write_labels(
    cfg: Config, truth: dict[str, np.ndarray], *, crs: str = "EPSG:25833", name: str = "labels"
) -> Path:
    """Trace label polygons from the class rasters and record a labels item."""
    by_value = {c["value"]: c["name"] for c in cfg.data["classes"]}
    rows = []
    for tile, arr in sorted(truth.items()):
        aff = cfg.grid.geobox(tile).affine
        for geom, value in shapes(arr, mask=arr > 0, transform=aff):
            rows.append({"class_name": by_value[int(value)], "geometry": shape(geom)})
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:25833").to_crs(crs)
    folder = cfg.root / "raw" / name / cfg.data["area"]["name"]
    folder.mkdir(parents=True, exist_ok=True)
    gdf.to_file(folder / "labels.gpkg", layer="labels", driver="GPKG")
    tile = sorted(truth)[0]
    item = _item(f"labels-{cfg.data['area']['name']}", ext.COLLECTION_LABELS_RAW, cfg, tile)
    item.add_asset("labels", pystac.Asset("./labels.gpkg", media_type=ext.GEOPACKAGE))
    _record(item, folder / "item.json")
    return folder / "item.json"


def make_area(tmp_path: Path, *, tiles: tuple[str, ...] = TILES, **overrides: Any) -> Area:
    """Config + ARD + lidar + labels for ``tiles``."""
    cfg_path = write_config(tmp_path, **overrides)
    cfg = load(cfg_path)
    area = Area(cfg_path=cfg_path, cfg=cfg, tiles=list(tiles))
    for t in tiles:
        area.truth[t] = class_raster(cfg, t)
        area.ard[t], area.lidar[t] = write_tile_inputs(cfg, t, area.truth[t])
    area.labels = write_labels(cfg, area.truth)
    return area


def write_samples(area: Any) -> Path:
    """Run the real sample extraction on a synthetic area; return the training item path."""
    from sporbar.stac.record import RunContext
    from sporbar.stac.versions import version_path
    from sporbar.training.run import run_samples

    series = area.cfg.root / "training" / "test"
    d = run_samples(
        area.cfg,
        labels_item=area.labels,
        ard_items=list(area.ard.values()),
        lidar_items=list(area.lidar.values()),
        series_dir=series,
        ctx=RunContext.current(config_hash=area.cfg.hash),
    )
    return version_path(series, d["properties"]["version"])


def train_model(area: Any, model_id: str, samples: Path, *, cfg: Any = None) -> tuple[Path, dict[str, Any]]:
    """Run the real training of ``model_id`` (a version below ``models/<id>``); return (item path, item)."""
    from sporbar.ml.run_train import run_train
    from sporbar.stac.record import RunContext
    from sporbar.stac.versions import version_path

    cfg = cfg or area.cfg
    series = cfg.root / "models" / model_id
    d = run_train(cfg, model_id=model_id, samples_item=samples, series_dir=series, ctx=RunContext.current())
    return version_path(series, d["properties"]["version"]), d
