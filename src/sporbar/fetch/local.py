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
and polarisations from the name; Sentinel-2: Level-2A, and Level-1C only where ``ard.mask.method``
reads no SCL (``s2cloudless``) and no Level-2A product of the same acquisition is in the archive;
otherwise a Level-1C product is left out with a warning naming it), then reads the metadata of
folders and zips alike (of a zip, only its metadata files, into a temporary folder): the
footprint must touch the area and (Sentinel-2) the cloud cover be within the limit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.errors import ConfigError, MissingInputError
from sporbar.fetch import s1_names
from sporbar.fetch.archives import extract_safe, metadata_of, removed_on_failure
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
    """(product name, path) of every SAFE folder and product zip below ``folder``, sorted.

    A file counts when its name holds a product name (group 1 of ``name``); a folder wins over
    a zip of it.
    """
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
# A name rule gives the entry, None (outside the dates or filters) or why the product is left out
# (logged as a warning); a metadata rule updates the entry, or says why the product is left out.


def _s2_by_name(cfg: Config, p: SearchParams, name: str) -> dict[str, Any] | str | None:
    d8 = SENTINEL2.archive_name.search(name).group(2)  # type: ignore[union-attr]
    day = date(int(d8[:4]), int(d8[4:6]), int(d8[6:8]))
    if not p.start <= day <= p.end:
        return None
    if "_MSIL1C_" in name and not accepts_l1c(cfg):
        return _NOT_L2A
    return {"datetime": day.isoformat()}


def accepts_l1c(cfg: Config) -> bool:
    """Whether Level-1C products are searched: the ARD mask method reads no SCL (``s2cloudless``)."""
    return str(cfg.data["ard"]["mask"]["method"]) == "s2cloudless"


def _s2_by_metadata(cfg: Config, p: SearchParams, safe: Path) -> dict[str, Any] | str:
    meta = read_safe(safe)
    if meta.level != "L2A" and not accepts_l1c(cfg):
        return _NOT_L2A
    if meta.cloud_cover > p.max_cloud_cover:
        return f"cloud cover {meta.cloud_cover}% over {p.max_cloud_cover}%"
    if meta.footprint and not _touches(meta.footprint, p):
        return "footprint does not touch the area"
    return {"datetime": meta.sensing_datetime.isoformat(), "cloud_cover": meta.cloud_cover}


def _s1_by_name(cfg: Config, p: SearchParams, name: str) -> dict[str, Any] | str | None:
    fields = s1_names.parse_name(name)
    if fields is None or not s1_names.filters(cfg).keeps_name(name) or not p.start <= fields.start.date() <= p.end:
        return None
    return {"datetime": fields.start.isoformat(), "sensor_mode": fields.mode,
            "polarisation": " ".join(fields.polarisations)}


def _s1_by_metadata(cfg: Config, p: SearchParams, safe: Path) -> dict[str, Any] | str:
    meta = read_s1_safe(safe)
    if not _touches(meta.footprint, p):
        return "footprint does not touch the area"
    return {"datetime": meta.start_datetime.isoformat()}


_NOT_L2A = ("a Level-1C (L1C) product; the local Sentinel-2 source takes Level-2A (L2A) products only while "
            "ard.mask.method reads SCL (set ard.mask.method: s2cloudless to use L1C)")
_RULES: dict[str, tuple[Callable[[Config, SearchParams, str], dict[str, Any] | str | None],
                        Callable[[Config, SearchParams, Path], dict[str, Any] | str]]] = {
    SENTINEL2.section: (_s2_by_name, _s2_by_metadata),
    SENTINEL1.section: (_s1_by_name, _s1_by_metadata),
}


def _acquisition(name: str) -> tuple[str, ...]:
    """Mission, sensing time, relative orbit and tile of a Sentinel-2 product name (level and baseline left out)."""
    parts = name.split("_")
    return (parts[0], parts[2], parts[4], parts[5]) if len(parts) >= 6 else (name,)


def _l2a_first(scenes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave out a Level-1C product whose acquisition is also in the list as Level-2A (logged)."""
    l2a = {_acquisition(s["id"]) for s in scenes if "_MSIL2A_" in s["id"]}
    kept = []
    for s in scenes:
        if "_MSIL1C_" in s["id"] and _acquisition(s["id"]) in l2a:
            log.info("%s: the Level-2A product of the same acquisition is in the archive; left out", s["path"])
            continue
        kept.append(s)
    return kept


def search(cfg: Config, *, mission: Mission) -> Found:
    """The products of the local archive that pass the search.

    The search: within the dates, the mission's filters and the area (and, for Sentinel-2, the
    cloud limit and Level-2A, or Level-1C where :func:`accepts_l1c` and the archive has no Level-2A
    of the same acquisition); zips are read like folders (their metadata files only).

    Raises:
        ConfigError, MissingInputError: no archive folder (see :func:`archive`).
        InputDataError: a product's metadata is unreadable, or a zip is (names the file).
        NothingFoundError: none passes (names AOI, dates, filters, how many were indexed and the
            products left out with a warning, e.g. Level-1C ones).
    """
    folder = archive(cfg, mission)
    p = search_params(cfg, mission.section)
    filters = s1_names.filters(cfg).as_dict() if mission is SENTINEL1 else {}
    by_name, by_metadata = _RULES[mission.section]
    found = index(folder, mission.archive_name)
    scenes, left_out = [], {}
    for name, path in found:
        entry = by_name(cfg, p, name)
        if entry is not None and not isinstance(entry, str):
            with metadata_of(path, name) as safe:
                more = by_metadata(cfg, p, safe)
            entry = more if isinstance(more, str) else {**entry, **more}
        if entry is None:
            continue
        if isinstance(entry, str):
            (log.warning if entry == _NOT_L2A else log.info)("%s: %s; left out", path, entry)
            if entry == _NOT_L2A:
                left_out[name] = entry
            continue
        scenes.append({"id": name, "path": str(path.resolve()), **entry})
    scenes = _l2a_first(scenes) if mission is SENTINEL2 else scenes
    scenes.sort(key=lambda x: (x["datetime"], x["id"]))
    if not scenes:
        raise NothingFoundError(
            f"{folder}: the local archive has no {mission.title} products for {p.describe(**filters)} "
            f"({len(found)} products indexed)"
            + "".join(f"; left out {n}: {why}" for n, why in left_out.items())
            + (s1_names.nothing_found_hint() if mission is SENTINEL1 else "")
        )
    return {"path": str(folder), **p.as_dict(), **filters}, scenes


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

    A zip extracted for a fetch that then fails is removed again: nothing half-described stays in raw/.

    Raises:
        MissingInputError: the product is no longer in the archive.
        InputDataError: the zip is unreadable or does not hold the product's SAFE folder, or the
            product's metadata is broken.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    name, src = entry["id"], Path(entry["path"])
    if not src.exists():
        raise MissingInputError(f"{src}: archived {mission.title} product {name} not found (was the archive moved?)")
    guard: AbstractContextManager[Path]
    if src.is_dir():
        safe, how, checksum, guard = src.resolve(), "indexed in place (not copied)", None, nullcontext(src)
    else:
        safe = extract_safe(src, name, item_path.parent).resolve()
        how, checksum, guard = "extracted from its zip", sha256_multihash(src), removed_on_failure(safe)
    with guard:
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
