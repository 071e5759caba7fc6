"""Sentinel-2 and Sentinel-1 GRD from a local archive (e.g. a NIRD project folder) of SAFE folders or zips.

Decision: **SAFE folders are indexed, not copied.** The raw item's assets point at the
band and metadata files inside the archive (``record`` writes them as relative hrefs and
checksums them), so a 1 TB archive costs no space in ``raw/``; moving the archive breaks
the items (``sporbar verify`` reports it). Symlinks were not used: they hide the
dependency from the item and break the same way. **Zipped products** cannot be read band
by band through a plain path, so they are extracted (``safe_extract``, refusing members
outside the target) beside the item: the one case that copies.

Search lists the products whose file name holds a product name (``X.SAFE``, ``X.zip``,
``X.SAFE.zip``) within the dates and the mission's filters (Sentinel-1: mode, product type
and polarisations from the name), then, for folders, reads the metadata: the footprint
must touch the area and (Sentinel-2) the cloud cover be within the limit.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.errors import ConfigError, InputDataError, MissingInputError
from sporbar.fetch import s1_names
from sporbar.fetch.archives import safe_extract
from sporbar.fetch.errors import NothingFoundError
from sporbar.fetch.missions import SENTINEL1, SENTINEL2, Mission
from sporbar.fetch.s1_safe import read_s1_safe
from sporbar.fetch.safe import read_safe
from sporbar.fetch.search import SOURCE_PROPERTY, Found, SearchParams, search_params, source_provenance
from sporbar.fetch.source import Source
from sporbar.io import check_writable, sha256_multihash
from sporbar.stac.record import RunContext

log = logging.getLogger(__name__)


def archive(cfg: Config, mission: Mission) -> Path:
    """The archive folder of ``sources.<mission>.local.path``.

    Raises:
        ConfigError: no path configured.
        MissingInputError: the folder does not exist.
    """
    section = mission.section
    p = ((cfg.data["sources"].get(section) or {}).get("local") or {}).get("path")
    if not p:
        raise ConfigError(f"{cfg.source}: key sources/{section}/local/path: required when source is 'local'")
    path = Path(p)
    if not path.is_dir():
        raise MissingInputError(
            f"{path}: local {mission.title} archive folder not found (sources.{section}.local.path)"
        )
    return path


def index(folder: Path, name: re.Pattern[str]) -> list[tuple[str, Path]]:
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


def _touches(footprint: tuple[tuple[float, float], ...], p: SearchParams) -> bool:
    """Whether a (lon, lat) footprint's box touches the searched WGS84 bbox."""
    w, s, e, n = p.bbox_wgs84
    lons = [q[0] for q in footprint]
    lats = [q[1] for q in footprint]
    return not (min(lons) > e or max(lons) < w or min(lats) > n or max(lats) < s)


# --- what each mission reads from a name and from the metadata ---------------------------
# A name rule gives the entry (None: skipped); a metadata rule updates it (a str: why skipped).


def _s2_by_name(cfg: Config, p: SearchParams, name: str) -> dict[str, Any] | None:
    d8 = SENTINEL2.archive_name.search(name).group(2)  # type: ignore[union-attr]
    day = date(int(d8[:4]), int(d8[4:6]), int(d8[6:8]))
    return {"datetime": day.isoformat()} if p.start <= day <= p.end else None


def _s2_by_metadata(p: SearchParams, safe: Path) -> dict[str, Any] | str:
    meta = read_safe(safe)
    if meta.cloud_cover > p.max_cloud_cover:
        return f"cloud cover {meta.cloud_cover}% over {p.max_cloud_cover}%"
    if meta.footprint and not _touches(meta.footprint, p):
        return "footprint does not touch the area"
    return {"datetime": meta.sensing_datetime.isoformat(), "cloud_cover": meta.cloud_cover}


def _s1_by_name(cfg: Config, p: SearchParams, name: str) -> dict[str, Any] | None:
    fields = s1_names.parse_name(name)
    if fields is None or not s1_names.filters(cfg).keeps_name(name) or not p.start <= fields.start.date() <= p.end:
        return None
    return {"datetime": fields.start.isoformat(), "sensor_mode": fields.mode,
            "polarisation": " ".join(fields.polarisations)}


def _s1_by_metadata(p: SearchParams, safe: Path) -> dict[str, Any] | str:
    meta = read_s1_safe(safe)
    if not _touches(meta.footprint, p):
        return "footprint does not touch the area"
    return {"datetime": meta.start_datetime.isoformat()}


_RULES: dict[str, tuple[Callable[[Config, SearchParams, str], dict[str, Any] | None],
                        Callable[[SearchParams, Path], dict[str, Any] | str]]] = {
    SENTINEL2.section: (_s2_by_name, _s2_by_metadata),
    SENTINEL1.section: (_s1_by_name, _s1_by_metadata),
}


def search(cfg: Config, *, mission: Mission) -> Found:
    """The products of the archive within the dates, the mission's filters and (folders) the area.

    Raises:
        ConfigError, MissingInputError: no archive folder (see :func:`archive`).
        NothingFoundError: none passes (names AOI, dates, filters and how many were indexed).
    """
    folder = archive(cfg, mission)
    p = search_params(cfg, mission.section)
    filters = s1_names.filters(cfg).as_dict() if mission is SENTINEL1 else {}
    by_name, by_metadata = _RULES[mission.section]
    found = index(folder, mission.archive_name)
    scenes = []
    for name, path in found:
        entry = by_name(cfg, p, name)
        if entry is None:
            continue
        if path.is_dir():
            more = by_metadata(p, path)
            if isinstance(more, str):
                log.info("%s: %s, skipped", name, more)
                continue
            entry.update(more)
        scenes.append({"id": name, "path": str(path.resolve()), **entry})
    scenes.sort(key=lambda x: (x["datetime"], x["id"]))
    if not scenes:
        raise NothingFoundError(
            f"{folder}: the local archive has no {mission.title} products for {p.describe(**filters)} "
            f"({len(found)} products indexed)" + (s1_names.nothing_found_hint() if mission is SENTINEL1 else "")
        )
    return {"path": str(folder), **p.as_dict(), **filters}, scenes


def open_product(name: str, src: Path, item_dir: Path, mission: Mission) -> tuple[Path, str, str | None]:
    """The SAFE folder of archived product ``name``: in place (a folder), or extracted from its zip
    into ``item_dir``. Returns (SAFE folder, how it was got, checksum of the zip or None).

    Raises:
        MissingInputError: the product is no longer in the archive.
        InputDataError: the zip is unreadable or does not hold the product's SAFE folder.
    """
    if not src.exists():
        raise MissingInputError(f"{src}: archived {mission.title} product {name} not found (was the archive moved?)")
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


def fetch(
    ctx: RunContext,
    cfg: Config,
    entry: dict[str, Any],
    item_path: Path,
    *,
    mission: Mission,
    query: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Record the raw item of one archived product (folder: in place; zip: extracted beside the item).

    Raises:
        MissingInputError: the product is no longer in the archive.
        InputDataError: the zip is unreadable or does not hold the product's SAFE folder.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    name, src = entry["id"], Path(entry["path"])
    safe, how, checksum = open_product(name, src, item_path.parent, mission)
    item = mission.describe(safe, name)
    item.properties[SOURCE_PROPERTY] = source_provenance("local", str(src), query, checksum)
    return ctx.record(
        item,
        item_path,
        inputs=[],
        lineage=f"{mission.product} {name} from the local archive, {how}; described from its metadata.",
        command=mission.command,
        parameters={"source": "local", "scene": name, "path": str(src)},
    )


S2_SOURCE = Source(mission="sentinel2", kind="local", search=partial(search, mission=SENTINEL2),
                          fetch=partial(fetch, mission=SENTINEL2))
S1_SOURCE = Source(mission="sentinel1", kind="local", search=partial(search, mission=SENTINEL1),
                          fetch=partial(fetch, mission=SENTINEL1))
