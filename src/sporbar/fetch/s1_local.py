"""Sentinel-1 GRD from a local archive (e.g. a NIRD project folder) of SAFE folders or zips.

The same decision as for Sentinel-2 (:mod:`sporbar.fetch.local`): SAFE folders are
indexed in place (the raw item's assets point into the archive, checksummed by
``record_item``), zipped products are extracted beside the item. The search reads the
date, mode, product type and polarisations from the product name, and for folders the
footprint from the manifest, which must touch the area.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from sporbar.config import Config
from sporbar.fetch.local import archive, index, open_product
from sporbar.fetch.s1_item import raw_s1_item
from sporbar.fetch.s1_safe import read_s1_safe
from sporbar.fetch.s1_sources import SECTION, filters, nothing_found_hint, parse_name
from sporbar.fetch.search import SOURCE_PROPERTY, NothingFoundError, search_params, source_provenance
from sporbar.io import check_writable
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item

log = logging.getLogger(__name__)
# a Sentinel-1 product name inside a file name (X.SAFE, X.zip, X.SAFE.zip)
_NAME = re.compile(
    r"(S1[A-D]_[A-Z0-9]{2}_[A-Z]{3}[FHM_]_\d[SA](?:SH|SV|DH|DV|HH|VV|HV|VH)_\d{8}T\d{6}_\d{8}T\d{6}_\d{6}_"
    r"[0-9A-F]{6}_[0-9A-F]{4})"
)


def search(cfg: Config) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """GRD products of the archive within the dates, mode, polarisation and (folders) the AOI.

    Raises:
        NothingFoundError: none passes (names AOI, dates, filters and how many were indexed).
    """
    folder = archive(cfg, SECTION)
    p = search_params(cfg, SECTION)
    f = filters(cfg)
    w, s, e, n = p.bbox_wgs84
    found = index(folder, _NAME)
    scenes = []
    for name, path in found:
        fields = parse_name(name)
        if fields is None or not f.keeps_name(name) or not p.start <= fields.start.date() <= p.end:
            continue
        entry: dict[str, Any] = {"id": name, "path": str(path.resolve()), "datetime": fields.start.isoformat(),
                                 "sensor_mode": fields.mode, "polarisation": " ".join(fields.polarisations)}
        if path.is_dir():
            meta = read_s1_safe(path)
            lons = [q[0] for q in meta.footprint]
            lats = [q[1] for q in meta.footprint]
            if min(lons) > e or max(lons) < w or min(lats) > n or max(lats) < s:
                log.info("%s: footprint does not touch the area, skipped", name)
                continue
            entry["datetime"] = meta.start_datetime.isoformat()
        scenes.append(entry)
    scenes.sort(key=lambda x: (x["datetime"], x["id"]))
    if not scenes:
        raise NothingFoundError(
            f"{folder}: the local archive has no Sentinel-1 products for {p.describe(**f.as_dict())} "
            f"({len(found)} products indexed)" + nothing_found_hint()
        )
    return {"path": str(folder), **p.as_dict(), **f.as_dict()}, scenes


def fetch_scene(cfg: Config, entry: dict[str, Any], item_path: Path, *, query: dict[str, Any] | None = None,
                overwrite: bool = False, rule: str | None = None) -> dict[str, Any]:
    """Record the raw item of one archived product (folder: in place; zip: extracted beside the item).

    Raises:
        MissingInputError: the product is no longer in the archive.
        InputDataError: the zip is unreadable or does not hold the product's SAFE folder.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    name, src = entry["id"], Path(entry["path"])
    safe, how, checksum = open_product(name, src, item_path.parent, "Sentinel-1")
    item = raw_s1_item(read_s1_safe(safe))
    item.properties[SOURCE_PROPERTY] = source_provenance("local", str(src), query, checksum)
    step = Step(
        lineage=f"Sentinel-1 GRD product {name} from the local archive, {how}; described from its metadata.",
        command="fetch s1",
        parameters={"source": "local", "scene": name, "path": str(src)},
        rule=rule,
    )
    return record_item(item, item_path, inputs=[], step=step, provenance=Provenance.current(config_hash=cfg.hash))
