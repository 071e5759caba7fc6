"""``sporbar ard``: raw scene items -> cloud-masked cube and per-period composites on one tile."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sporbar.ard.composite import Period, period_members
from sporbar.ard.correct import GRANULE_METADATA, correct
from sporbar.ard.dem import corrections_record, tile_dem
from sporbar.ard.gapfill import GAP_FILL_PROPERTY
from sporbar.ard.load import SCL, Scene, load_dn, read_scenes, reflectance
from sporbar.ard.mask import apply_mask
from sporbar.ard.masking import (
    MASK_BANDS,
    MaskSettings,
    check_levels,
    cirrus_scenes,
    clear_of,
    level_of,
    mask_reflectance,
    needs_reflectance,
    quality_flags,
    regression_sample,
)
from sporbar.ard.quality import QUALITY_PROPERTY, period_clear_shares, quality_record, write_quality
from sporbar.ard.terrain import terrain_normal
from sporbar.ard.write import write_cube_computing, write_products
from sporbar.bands import INDEX_BANDS, season_names
from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.io import check_writable
from sporbar.stac.items.ard import ard_item
from sporbar.stac.items.extent import period_span
from sporbar.stac.preview import add_thumbnail, write_thumbnail
from sporbar.stac.record import RunContext, check_input_assets

log = logging.getLogger(__name__)


def select_scenes(
    scenes: Sequence[Scene], max_cloud_cover: float
) -> tuple[list[Scene], list[Scene]]:
    """Split scenes into (kept, dropped) by ``eo:cloud_cover`` <= ``max_cloud_cover`` (percent)."""
    kept: list[Scene] = []
    dropped: list[Scene] = []
    for s in scenes:
        cc = s.cloud_cover
        (dropped if cc is not None and cc > max_cloud_cover else kept).append(s)
    return kept, dropped


def cube_bands(bands: Sequence[str], indices: Sequence[str]) -> list[str]:
    """Bands to load: ``bands`` then any band an index needs that ``bands`` lacks."""
    out = list(bands)
    for name in indices:
        for b in INDEX_BANDS[name]:
            if b not in out:
                out.append(b)
    return out


def make_ard(
    cfg: Config,
    tile: str,
    scene_items: Sequence[Path],
    item_path: Path,
    *,
    ctx: RunContext,
    overwrite: bool = False,
    lidar_item: Path | None = None,
) -> dict[str, Any]:
    """Build the ARD of ``tile`` from raw Sentinel-2 items and record its item.

    Writes ``cube.zarr`` (masked reflectance, time/band/y/x), then per ``ard.periods``
    ``composite-<period>.tif`` (median of clear observations, ``ard.bands`` then
    ``ard.indices``) and ``clear-<period>.tif`` (count), then ``item.json``. A period that
    holds no scene gets an all-NaN composite and a zero count, is logged as a warning and
    recorded in ``sporbar:period_scenes`` (0); ``samples`` and ``predict`` refuse it.
    Dask runs on the scheduler of the caller's ``sporbar.parallel.dask_client`` block
    (threads if there is none).

    Args:
        cfg: the pipeline config (``ard``, ``sources.sentinel2.max_cloud_cover``, grid).
        tile: grid tile id.
        scene_items: raw Sentinel-2 item paths.
        item_path: where to write the ARD item; data files go beside it.
        ctx: who runs the step (provenance, rule).
        overwrite: replace an existing item.
        lidar_item: the tile's lidar products item: its DTM is the DEM of the terrain
            correction (gaps filled from ``ard.terrain.dem`` when set).

    Returns:
        The item dict as written.

    Raises:
        OutputExistsError: the item exists and ``overwrite`` is False.
        MissingInputError: a scene item or its band file is missing.
        InputDataError: a scene lacks a band (names the item file and band), or every
            scene is above ``sources.sentinel2.max_cloud_cover``, or the terrain correction
            has no DEM for the tile, or a scene lacks its angle grids.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    ard = cfg.data["ard"]
    max_cc = float(cfg.data["sources"]["sentinel2"]["max_cloud_cover"])
    geobox = cfg.grid.geobox(tile)
    periods = [Period.from_config(p) for p in ard["periods"]]
    out_bands = list(ard["bands"]) + list(ard["indices"])

    scenes, dropped = select_scenes(read_scenes(scene_items), max_cc)
    for s in dropped:
        log.info("ard: dropping %s: cloud cover %.1f%% > %.1f%%", s.id, s.cloud_cover, max_cc)
    if not scenes:
        raise InputDataError(
            f"{cfg.source}: all {len(dropped)} scene(s) of tile {tile} exceed "
            f"sources/sentinel2/max_cloud_cover {max_cc:g}%; raise it or add scenes"
        )
    season_indices = [b for b in ard["season"]["bands"] if b in INDEX_BANDS]
    bands = cube_bands(ard["bands"], [*ard["indices"], *season_indices])
    terrain, brdf = ard["terrain"]["method"], ard["brdf"]["method"]
    corrected = terrain != "none" or brdf != "none"
    meta = [GRANULE_METADATA] if corrected else []
    for s in scenes:  # the files about to be read are the ones the items record (a missing band: load says so)
        check_input_assets(s.item_path, s.item, [k for k in (*bands, SCL, *meta) if k in s.item.assets])
    dem = tile_dem(cfg, tile, geobox, lidar_item) if terrain != "none" else None
    masking = MaskSettings.from_config(ard, cfg.grid.resolution)
    check_levels(masking, scenes)
    extra = [b for b in MASK_BANDS if b != "B10" and b not in bands] if needs_reflectance(masking) else []
    dn = load_dn(scenes, [*bands, *extra, *([SCL] if masking.needs_scl else [])], geobox=geobox)
    mrefl = None
    if needs_reflectance(masking):
        with_b10 = cirrus_scenes(scenes)
        cirrus = load_dn(with_b10, ["B10"], geobox=geobox) if with_b10 and masking.uses_model else None
        mrefl = mask_reflectance(scenes, dn, cirrus)
    scl = dn[SCL] if masking.needs_scl else None
    flags = quality_flags(masking, scenes, scl, mrefl)
    clear = clear_of(masking, scl, flags)
    refl = reflectance(dn, scenes, bands)
    quality = flags.data
    also: list[Any] = []  # computed with the cube: the terrain c values when corrected
    if corrected:
        fixed = correct(refl, regression_sample(scl, clear, mrefl), scenes, geobox, terrain=terrain, brdf=brdf,
                        normal=None if dem is None else terrain_normal(dem.heights, geobox),
                        flags=flags, strata=ard["terrain"]["strata"])
        refl, quality, also = fixed.cube, fixed.quality, [fixed.c]
    cube = apply_mask(refl, clear)
    members = period_members(cube["time"].values, periods)
    counts = {p.id: int(m.sum()) for p, m in zip(periods, members, strict=True)}
    for p in periods:
        log.info("ard: period %s (%s..%s): %d scene(s)", p.id, p.start, p.end, counts[p.id])
        if counts[p.id] == 0:
            log.warning(
                "ard: period %s (%s..%s) holds no scene on tile %s: its composite is all NaN "
                "(recorded as sporbar:period_scenes %s: 0)", p.id, p.start, p.end, tile, p.id
            )

    folder = item_path.parent.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    log.info("ard: writing cube (%d scenes x %d bands, %s px)", len(scenes), len(bands), geobox.shape.yx)
    cube_path, (flags_np, *c_computed) = write_cube_computing(folder / "cube.zarr", cube, [quality, *also])
    assets: dict[str, Path] = {"cube": cube_path,
                               "quality": write_quality(folder / "quality.tif", flags_np, geobox, scenes)}
    season = ard["season"]
    products = write_products(assets["cube"], folder, periods=periods, bands=ard["bands"], indices=ard["indices"],
                              geobox=geobox, threads=cfg.data["threads"], season_bands=season["bands"],
                              season_percentiles=season["percentiles"], gap_fill=ard["gap_fill"])
    assets.update(products.assets)

    start, end = period_span(ard["periods"])
    item = ard_item(
        tile,
        geobox,
        assets,
        bands=out_bands,
        cube_bands=bands,
        start=start,
        end=end,
        periods=periods,
        period_scenes=counts,
        season_bands=season_names(season["bands"], season["percentiles"]) if season["bands"] else (),
    )
    write_thumbnail(folder / f"composite-{periods[0].id}.tif", folder / "thumbnail.png", kind="true-color")
    add_thumbnail(item, folder, "thumbnail.png", title=f"True colour (B04, B03, B02) of period {periods[0].id}")
    lineage = (
        f"Cloud-masked ({masking.describe()}) and reprojected {len(scenes)} Sentinel-2 "
        f"{'/'.join(sorted({level_of(s) for s in scenes}))} scene(s) onto tile {tile}; per-period medians "
        "of clear observations and indices "
        f"{list(ard['indices'])}"
    )
    if season["bands"]:
        lineage += (f"; percentiles {list(season['percentiles'])} of {list(season['bands'])} over every "
                    "clear observation of the season")
    if ard["gap_fill"] != "none":
        item.properties[GAP_FILL_PROPERTY] = {"method": ard["gap_fill"], "filled": products.filled}
        lineage += ("; where a period has no clear observation of a pixel, its composite is the nearest "
                    "period's (clear count 0)")
    c_values = c_computed[0].tolist() if c_computed else []
    item.properties.update(corrections_record(terrain, brdf, dem, scenes, bands, c_values,
                                              ard["terrain"]["strata"], folder))
    period_clear = period_clear_shares({p.id: products.assets[f"clear-{p.id}"] for p in periods})
    item.properties[QUALITY_PROPERTY] = quality_record(flags_np, scenes, periods, members, masking.record(),
                                                       period_clear)
    for pid, share in period_clear.items():
        if share == 0 and counts[pid] > 0:
            filled = ard["gap_fill"] != "none" and any(v > 0 for v in period_clear.values())
            log.warning(
                "ard: period %s on tile %s has no clear observation (its %d scene(s) are cloud, shadow, snow "
                "or no data everywhere): its composite is %s (recorded as sporbar:quality period_clear %s: 0)",
                pid, tile, counts[pid], "filled from the nearest period" if filled else "all NaN", pid)
    if corrected:
        lineage += (f"; terrain correction {terrain}" + (f" with the DEM {dem.source}" if dem else "")
                    + f"; BRDF normalisation to nadir view {brdf}")
    lineage += "."
    if dropped:
        lineage += f" Dropped for cloud cover > {max_cc:g}%: {', '.join(s.id for s in dropped)}."
    return ctx.record(
        item,
        item_path,
        inputs=[*scene_items, *([dem.item] if dem and dem.item else [])],
        lineage=lineage,
        command="ard",
        parameters={
            "tile": tile,
            "scenes": [str(p) for p in scene_items],
            "periods": {p.id: counts[p.id] for p in periods},
            **({"lidar": str(lidar_item)} if dem and dem.item else {}),
        },
    )
