"""Sentinel-2 from a local archive (e.g. a NIRD project folder) of SAFE folders or zips.

Decision: **SAFE folders are indexed, not copied.** The raw item's assets point at the
band and metadata files inside the archive (``record_item`` writes them as relative
hrefs and checksums them), so a 1 TB archive costs no space in ``raw/``; moving the
archive breaks the items (``sporbar verify`` reports it). Symlinks were not used: they
hide the dependency from the item and break the same way. **Zipped products** cannot be
read band by band through a plain path, so they are extracted (``safe_extract``,
refusing members outside the target) beside the item: the one case that copies.
"""

from __future__ import annotations

import logging
import re
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.errors import ConfigError, InputDataError, MissingInputError
from sporbar.fetch.demo_s2 import raw_s2_item
from sporbar.fetch.http import safe_extract
from sporbar.fetch.safe import read_safe
from sporbar.fetch.search import SOURCE_PROPERTY, NothingFoundError, search_params, source_provenance
from sporbar.io import check_writable, sha256_multihash
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item

log = logging.getLogger(__name__)
_NAME = re.compile(r"(S2[A-D]_MSIL(?:1C|2A)_(\d{8})T\d{6}_N\d{4}_R\d{3}_T\d{2}[A-Z]{3}_\d{8}T\d{6})")


MISSIONS = {"sentinel2": "Sentinel-2", "sentinel1": "Sentinel-1"}


def archive(cfg: Config, section: str = "sentinel2") -> Path:
    """The archive folder of ``sources.<section>.local.path``.

    Raises:
        ConfigError: no path configured.
        MissingInputError: the folder does not exist.
    """
    p = ((cfg.data["sources"].get(section) or {}).get("local") or {}).get("path")
    if not p:
        raise ConfigError(f"{cfg.source}: key sources/{section}/local/path: required when source is 'local'")
    path = Path(p)
    if not path.is_dir():
        raise MissingInputError(
            f"{path}: local {MISSIONS[section]} archive folder not found (sources.{section}.local.path)")
    return path


def index(folder: Path, name: re.Pattern[str] = _NAME) -> list[tuple[str, Path]]:
    """(product name, path) of every SAFE folder and product zip below ``folder`` whose file name
    holds a product name (group 1 of ``name``), sorted; a folder wins over a zip of it."""
    out: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        m = name.search(p.name)
        if not m:
            continue
        if p.is_dir() and p.suffix == ".SAFE":
            out[m.group(1)] = p
        elif p.is_file() and p.suffix == ".zip":
            out.setdefault(m.group(1), p)
    return sorted(out.items())


def open_product(name: str, src: Path, item_dir: Path, mission: str) -> tuple[Path, str, str | None]:
    """The SAFE folder of archived product ``name``: in place (a folder), or extracted from its zip
    into ``item_dir``. Returns (SAFE folder, how it was got, checksum of the zip or None).

    Raises:
        MissingInputError: the product is no longer in the archive.
        InputDataError: the zip is unreadable or does not hold the product's SAFE folder.
    """
    if not src.exists():
        raise MissingInputError(f"{src}: archived {mission} product {name} not found (was the archive moved?)")
    if src.is_dir():
        return src.resolve(), "indexed in place (not copied)", None
    try:
        tops = safe_extract(src, item_dir)
    except zipfile.BadZipFile as err:
        raise InputDataError(f"{src}: not a readable zip: {err}") from err
    safe = item_dir / f"{name}.SAFE"
    if safe not in tops:
        raise InputDataError(f"{src}: zip holds {[t.name for t in tops]}, not {safe.name}")
    return safe.resolve(), "extracted from its zip", sha256_multihash(src)


def search(cfg: Config) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Products of the archive within the dates, cloud limit and AOI (folders: from metadata)."""
    folder = archive(cfg)
    p = search_params(cfg)
    w, s, e, n = p.bbox_wgs84
    scenes = []
    for name, path in index(folder):
        d8 = _NAME.search(name).group(2)  # type: ignore[union-attr]
        day = date(int(d8[:4]), int(d8[4:6]), int(d8[6:8]))
        if not p.start <= day <= p.end:
            continue
        entry: dict[str, Any] = {"id": name, "path": str(path.resolve()), "datetime": day.isoformat()}
        if path.is_dir():
            meta = read_safe(path)
            if meta.cloud_cover > p.max_cloud_cover:
                continue
            if meta.footprint:
                lons = [q[0] for q in meta.footprint]
                lats = [q[1] for q in meta.footprint]
                if min(lons) > e or max(lons) < w or min(lats) > n or max(lats) < s:
                    continue
            entry.update(datetime=meta.sensing_datetime.isoformat(), cloud_cover=meta.cloud_cover)
        scenes.append(entry)
    scenes.sort(key=lambda e: (e["datetime"][:10], e["id"]))
    if not scenes:
        raise NothingFoundError(
            f"{folder}: the local archive has no products for {p.describe()} "
            f"({len(index(folder))} products indexed)"
        )
    return {"path": str(folder), **p.as_dict()}, scenes


def fetch_scene(cfg: Config, entry: dict[str, Any], item_path: Path, *, query: dict[str, Any] | None = None,
                overwrite: bool = False, rule: str | None = None) -> dict[str, Any]:
    """Record the raw item of one archived product (folder: in place; zip: extracted beside the item)."""
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    name, src = entry["id"], Path(entry["path"])
    safe, how, checksum = open_product(name, src, item_path.parent, "Sentinel-2")
    meta = read_safe(safe)
    item = raw_s2_item(meta)
    item.properties[SOURCE_PROPERTY] = source_provenance("local", str(src), query, checksum)
    step = Step(
        lineage=f"Sentinel-2 product {name} from the local archive, {how}; described from its metadata.",
        command="fetch s2",
        parameters={"source": "local", "scene": name, "path": str(src)},
        rule=rule,
    )
    return record_item(item, item_path, inputs=[], step=step, provenance=Provenance.current(config_hash=cfg.hash))
