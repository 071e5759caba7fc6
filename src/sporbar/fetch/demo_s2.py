"""``fetch s2`` from the demo source: copy a SAFE product into raw/ and record its raw item.

The SAFE folder is copied whole (atomically) beside ``item.json``; the item is the one
stactools-sentinel2 makes from the product's metadata (:func:`raw_s2_item`), pointing at
the band files inside the folder under sporbar's asset keys.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pystac
from pystac.extensions.eo import Band
from stactools.sentinel2.constants import SENTINEL2_EXTENSION_SCHEMA

from sporbar.config import Config
from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.safe import SceneMeta, read_safe
from sporbar.io import atomic_path, check_writable
from sporbar.stac import extensions as ext
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item

log = logging.getLogger(__name__)

SOURCE_SUBDIR = "sentinel-2"
INDEX = "index.json"
# stactools' s2:* fields, unprefixed (the sentinel-2 extension schema is not bundled offline)
S2_PROPERTY = "sporbar:s2"

# band -> (common name, centre wavelength um, full width half max um), Sentinel-2A MSI
BAND_INFO: dict[str, tuple[str | None, float, float]] = {
    "B01": ("coastal", 0.443, 0.027),
    "B02": ("blue", 0.490, 0.098),
    "B03": ("green", 0.560, 0.045),
    "B04": ("red", 0.665, 0.038),
    "B05": ("rededge", 0.704, 0.019),
    "B06": ("rededge", 0.740, 0.018),
    "B07": ("rededge", 0.783, 0.028),
    "B08": ("nir", 0.842, 0.145),
    "B8A": ("nir08", 0.865, 0.033),
    "B09": ("nir09", 0.945, 0.026),
    "B10": ("cirrus", 1.374, 0.075),
    "B11": ("swir16", 1.610, 0.143),
    "B12": ("swir22", 2.190, 0.242),
}


def eo_band(name: str) -> Band:
    """The ``eo:bands`` entry of a Sentinel-2 band (name, common name, wavelengths in um)."""
    common, center, fwhm = BAND_INFO[name]
    return Band.create(
        name=name, common_name=common, center_wavelength=center, full_width_half_max=fwhm
    )


def locate_scene(source_dir: Path, scene: str) -> Path:
    """The SAFE folder of ``scene`` in the demo source.

    Raises:
        MissingInputError: naming the source folder and scene, and the scenes it has.
    """
    source_dir = Path(source_dir)
    safe = source_dir / SOURCE_SUBDIR / f"{scene}.SAFE"
    index = source_dir / INDEX
    known: list[str] = []
    if index.exists():
        known = sorted(
            s["id"] for s in json.loads(index.read_text(encoding="utf-8")).get("sentinel2", [])
        )
    elif (source_dir / SOURCE_SUBDIR).is_dir():
        known = sorted(
            p.name.removesuffix(".SAFE") for p in (source_dir / SOURCE_SUBDIR).glob("*.SAFE")
        )
    if not safe.is_dir() or (index.exists() and scene not in known):
        have = ", ".join(known) or "none"
        raise MissingInputError(
            f"{source_dir}: scene {scene!r} not in the demo source (has: {have}); "
            "run `sporbar demo generate` with the same config"
        )
    return safe


def raw_s2_item(meta: SceneMeta) -> pystac.Item:
    """The raw item of a SAFE product (asset hrefs absolute; made relative when recorded).

    It is the item stactools-sentinel2 made from the product's metadata (``meta.stac``):
    its geometry (split at the antimeridian), datetime (``PRODUCT_START_TIME``), platform,
    providers, ``eo:cloud_cover``, ``sat:*``, ``proj:*``, ``mgrs:*``, ``grid:code``,
    ``view:*`` and its assets' roles, titles, ``eo:bands`` and ``raster:bands`` (scale,
    offset; the SCL classes), with these changes:

    - id: the product name (``meta.product_id``), as in sporbar's paths;
    - no ``created``: a clock time, and raw items must come out the same when reproduced;
    - the ``s2:*`` fields move, unprefixed, into the ``sporbar:s2`` object and the
      sentinel-2 extension is dropped: its schema is not in the offline validation bundle;
    - ``processing:level`` (L2A/L1C) and ``processing:version`` (the processing baseline);
    - sporbar's asset keys: ``B01``..``B12``/``B8A`` and ``SCL`` at native resolution,
      ``<band>_<res>m`` for the resampled files, ``metadata``, ``granule-metadata``,
      ``manifest``, and ``inspire-metadata``/``datastrip-metadata`` where those files exist;
      stactools' AOT, WVP, TCI and preview assets are left out;
    - ``proj:shape``/``proj:transform``/``proj:bbox`` of each band from the granule's grid
      (stactools swaps rows and columns there, which only shows on non-square granules).
    """
    d = copy.deepcopy(meta.stac)
    d["id"] = meta.product_id
    d["links"] = []
    d["stac_extensions"] = [u for u in d["stac_extensions"] if u != SENTINEL2_EXTENSION_SCHEMA]
    props = d["properties"]
    props.pop("created", None)
    props[S2_PROPERTY] = {k.removeprefix("s2:"): props.pop(k) for k in sorted(props) if k.startswith("s2:")}
    props[ext.PROCESSING_LEVEL] = meta.level
    props[ext.PROCESSING_VERSION] = meta.processing_baseline
    by_path = {Path(a["href"]): a for a in d["assets"].values() if a.get("href")}
    assets: dict[str, Any] = {}
    for bf in meta.band_files:
        key = bf.band if bf == meta.band_file(bf.band) else f"{bf.band}_{bf.resolution}m"
        if bf.path not in by_path:
            raise InputDataError(f"{meta.metadata_path}: stactools-sentinel2 made no asset for {bf.path.name}")
        asset = by_path[bf.path]
        g = meta.grid(bf.resolution)
        a, _, c, _, e, f = g.transform
        asset["proj:shape"] = list(g.shape)
        asset["proj:transform"] = list(g.transform)
        asset["proj:bbox"] = [c, f + e * g.shape[0], c + a * g.shape[1], f]
        assets[key] = asset
    for key, stactools_key, title in (
        ("metadata", "product_metadata", "Product metadata"),
        ("granule-metadata", "granule_metadata", "Granule metadata"),
        ("manifest", "safe_manifest", "SAFE manifest"),
        ("inspire-metadata", "inspire_metadata", "INSPIRE metadata (ISO 19139)"),
        ("datastrip-metadata", "datastrip_metadata", "Datastrip metadata"),
    ):
        asset = d["assets"].get(stactools_key) or {}
        if asset.get("href") and Path(asset["href"]).is_file():
            assets[key] = {**asset, "title": title}
    d["assets"] = assets
    # No "collection" field: record_item writes no collection link, which the core schema
    # requires with it; `sporbar publish` sets collection sentinel-2-l2a-raw from the path.
    d.pop("collection", None)
    return pystac.Item.from_dict(d)


def fetch_scene(
    cfg: Config,
    source_dir: Path,
    scene: str,
    item_path: Path,
    *,
    overwrite: bool = False,
    rule: str | None = None,
) -> dict[str, Any]:
    """Copy ``scene`` from the demo source beside ``item_path`` and write its raw item.

    Returns:
        The item dict as written.

    Raises:
        MissingInputError: the scene is not in the source.
        OutputExistsError: ``item_path`` exists and ``overwrite`` is False.
        InputDataError: the SAFE metadata is incomplete.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    src = locate_scene(source_dir, scene)
    src_meta = read_safe(src)
    if src_meta.product_id != scene:
        raise InputDataError(
            f"{src_meta.metadata_path}: PRODUCT_URI is {src_meta.product_id!r}, expected {scene!r}"
        )
    dest = item_path.parent / src.name
    log.info("fetch s2: copying %s -> %s", src, dest)
    with atomic_path(dest) as tmp:
        shutil.copytree(src, tmp)
    meta = read_safe(dest.resolve())
    item = raw_s2_item(meta)
    step = Step(
        lineage=f"Copied Sentinel-2 L2A product {scene} (SAFE folder) from the demo source.",
        command="fetch s2",
        parameters={"source_dir": str(source_dir), "scene": scene},
        rule=rule,
    )
    return record_item(
        item, item_path, inputs=[], step=step, provenance=Provenance.current(config_hash=cfg.hash)
    )
