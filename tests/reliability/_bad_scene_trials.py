"""Bad-input trials of issue 14: scenes and DEMs the ARD and the raw catalogue must answer by name.

A scene without SCL when SCL is the mask, a Level-1C scene with the SCL mask, a granule without
angle grids, a DEM that does not cover the tile, periods whose every observation is masked, and a
Sentinel-1 copy without its calibration files (catalogued all the same, with a warning).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from bad_input import RULE, Call, Ctx, Trial

ARD_TILE = "E268800N7029760"


def _raw_items(ctx: Ctx) -> tuple[Path, list[Path]]:
    """(source copy, raw items) of the tiny config's demo scenes, fetched into the trial's folder."""
    from _s2_fixtures import fetch_demo_scene

    from sporbar.config import load

    s2 = ctx.shared.s2
    source = shutil.copytree(s2.source, ctx.tmp / "source")
    cfg = load(s2.cfg_path)
    items = []
    for scene in s2.scenes:
        path = ctx.tmp / "raw" / scene / "item.json"
        fetch_demo_scene(cfg, source, scene, path)
        items.append(path)
    return source, items


def _ard(ctx: Ctx, cfg: Path, items: list[Path], *must: str) -> Call:
    return Call(["sporbar", "ard", "-c", str(cfg), "--tile", ARD_TILE, "-o", str(ctx.tmp / "out" / "item.json"),
                 *map(str, items)], must, timeout=300)


def _config(ctx: Ctx, change: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load(ctx.shared.s2.cfg_path.read_text())
    change(data)
    path = ctx.tmp / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _edit_item(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d, indent=2, sort_keys=True))


def _scene_without_scl(ctx: Ctx) -> Call:
    _, items = _raw_items(ctx)
    _edit_item(items[0], lambda d: d["assets"].pop("SCL"))
    return _ard(ctx, ctx.shared.s2.cfg_path, items, str(items[0]), "'SCL'")


def _l1c_scene_with_scl_mask(ctx: Ctx) -> Call:
    _, items = _raw_items(ctx)
    _edit_item(items[0], lambda d: d["properties"].update({"processing:level": "L1C"}))
    return _ard(ctx, ctx.shared.s2.cfg_path, items, str(items[0]), "Level-1C", "s2cloudless")


def _granule_without_angle_grids(ctx: Ctx) -> Call:
    from _stac_fixtures import vouch_for_file

    _, items = _raw_items(ctx)
    d = json.loads(items[0].read_text())
    mtd = (items[0].parent / d["assets"]["granule-metadata"]["href"]).resolve()
    text = mtd.read_text()
    text = re.sub(r"<Sun_Angles_Grid>.*?</Sun_Angles_Grid>", "", text, flags=re.S)
    mtd.write_text(text)
    vouch_for_file(items[0], "granule-metadata")
    return _ard(ctx, ctx.shared.s2.cfg_path, items, str(mtd), "no Sun_Angles_Grid")


def _dem_outside_the_tile(ctx: Ctx) -> Call:
    import numpy as np
    from odc.geo.geobox import GeoBox

    from sporbar.raster import write_cog

    _, items = _raw_items(ctx)
    dem = ctx.tmp / "dem-elsewhere.tif"
    box = GeoBox.from_bbox((100000, 6500000, 100640, 6500640), "EPSG:25833", resolution=10)
    write_cog(dem, np.full((1, *box.shape.yx), 300.0, np.float32), box, nodata=None, band_names=["height"])

    def change(data: dict[str, Any]) -> None:
        data["ard"]["terrain"]["dem"] = str(dem)

    return _ard(ctx, _config(ctx, change), items, str(dem), "covers no pixel of the tile")


def _every_observation_masked(ctx: Ctx) -> Call:
    """SCL classes 0-11 all masked: no period has a clear pixel (as in an all-cloud or all-snow season)."""
    _, items = _raw_items(ctx)

    def change(data: dict[str, Any]) -> None:
        data["ard"]["mask_classes"] = list(range(12))

    return _ard(ctx, _config(ctx, change), items, "WARNING", "no clear observation", "period early",
                "period late", "period_clear")


def _s1_without_calibration(ctx: Ctx) -> Call:
    from _s1_fixtures import PRODUCT, real_s1_safe
    from _s2_fixtures import write_tiny_config

    from sporbar.config import load
    from sporbar.fetch.search import write_search
    from sporbar.workflow import plan

    archive = ctx.tmp / "archive"
    safe = shutil.copytree(real_s1_safe(), archive / f"{PRODUCT}.SAFE")
    shutil.rmtree(safe / "annotation" / "calibration")
    path = write_tiny_config(ctx.tmp / "cfg")
    data = yaml.safe_load(path.read_text())
    data["sources"]["sentinel1"] = {"source": "local", "local": {"path": str(archive)},
                                    "date_range": {"start": "2021-08-01", "end": "2021-08-31"}}
    path.write_text(yaml.safe_dump(data))
    cfg = load(path)
    search = plan.path(cfg, "s1_search")
    write_search(search, "local", {"path": str(archive)},
                 [{"id": PRODUCT, "path": str(safe), "datetime": "2021-08-09T17:39:53+00:00"}])
    out = ctx.tmp / "raw" / PRODUCT / "item.json"
    return Call(["sporbar", "fetch", "s1", "-c", str(path), "--search", str(search), "--scene", PRODUCT, "-o",
                 str(out)], ("WARNING", PRODUCT, "calibration VV", "noise VV", "catalogued"))


SCENES = [
    Trial("bad-scenes", "ard-scene-without-scl", _scene_without_scl),
    Trial("bad-scenes", "ard-level-1c-scene-with-the-scl-mask", _l1c_scene_with_scl_mask),
    Trial("bad-scenes", "ard-granule-without-angle-grids", _granule_without_angle_grids),
    Trial("bad-scenes", "ard-dem-outside-the-tile", _dem_outside_the_tile),
    Trial("bad-scenes", "ard-every-observation-masked", _every_observation_masked, expect=RULE),
    Trial("bad-scenes", "s1-copy-without-calibration-files", _s1_without_calibration, expect=RULE),
]
