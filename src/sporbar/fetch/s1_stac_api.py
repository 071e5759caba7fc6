"""Sentinel-1 GRD from a STAC API via pystac-client (Planetary Computer, Earth Search, CDSE).

Search: the collection (default ``sentinel-1-grd``), the area bbox in WGS84 and the date
range; the hits are then filtered on ``sar:product_type``, ``sar:instrument_mode`` and
``sar:polarizations`` (APIs differ in which query languages they take, so the filters are
applied here). Each hit is stored whole in ``search.json`` under its product name
(``s1:product_identifier``, else the item id).

Fetch: per polarisation of the item, the wanted kinds (``sources.sentinel1.stac_api.assets``:
measurement, annotation, calibration, noise, manifest) are matched to the API's keys
(``vv``, ``schema-product-vv``, ``schema-calibration-vv``, ``schema-noise-vv``,
``safe-manifest``), passed through the ``href_modifier`` hook and downloaded with
:mod:`sporbar.fetch.http` (``file:checksum``/``file:size`` checked where given). The raw
item keeps the API item's geometry, times, and sar/sat fields, with sporbar's asset keys
(those of :func:`sporbar.fetch.s1_item.raw_s1_item`) and ``sporbar:source``.
"""

from __future__ import annotations

import logging
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pystac

from sporbar.config import Config
from sporbar.errors import MissingInputError
from sporbar.fetch.http import AuthError, Download, DownloadError, Policy, download_all, redact, scrub
from sporbar.fetch.s1_item import CENTER_FREQUENCY_GHZ, VIEW_SCHEMA_URI
from sporbar.fetch.s1_sources import SECTION, filters, nothing_found_hint
from sporbar.fetch.search import SOURCE_PROPERTY, NothingFoundError, policy, search_params, source_provenance, workers
from sporbar.fetch.stac_api import HrefModifier, asset_download, credentials, href_modifier, settings
from sporbar.io import check_writable
from sporbar.stac import extensions as ext
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item

log = logging.getLogger(__name__)

SAR_SCHEMA_URI = "https://stac-extensions.github.io/sar/v1.0.0/schema.json"
SAT_SCHEMA_URI = "https://stac-extensions.github.io/sat/v1.0.0/schema.json"
# item properties kept from the API item (besides every sar:*, sat:* and s1:* field)
_KEEP_PROPS = ("platform", "constellation", "instruments", "start_datetime", "end_datetime",
               "view:incidence_angle")
_KEEP_ASSET_FIELDS = ("title", "roles", "type")
_TITLES = {"measurement": "amplitude (GRD)", "annotation": "Product annotation",
           "calibration": "Calibration LUTs", "noise": "Thermal noise LUTs"}


def api_keys(kind: str, pol: str | None) -> tuple[str, ...]:
    """The keys APIs use for asset ``kind`` of polarisation ``pol`` (lower case), best first."""
    if kind == "manifest":
        return ("safe-manifest", "safe_manifest", "manifest")
    assert pol is not None
    if kind == "measurement":
        return (pol, pol.upper(), f"measurement-{pol}")
    return (f"schema-{'product' if kind == 'annotation' else kind}-{pol}", f"{kind}-{pol}")


def sporbar_key(kind: str, pol: str | None) -> str:
    """The raw item's key of asset ``kind`` (as :func:`sporbar.fetch.s1_item.raw_s1_item` names it)."""
    if kind == "manifest":
        return "manifest"
    assert pol is not None
    return pol if kind == "measurement" else f"{kind}-{pol}"


def scene_id(item: dict[str, Any]) -> str:
    """The product name of an API item (``s1:product_identifier``), else its id."""
    return str(item.get("properties", {}).get("s1:product_identifier") or item["id"]).removesuffix(".SAFE")


def _polarisations(item: dict[str, Any]) -> list[str]:
    return [str(p).upper() for p in item.get("properties", {}).get("sar:polarizations") or []]


def search(cfg: Config) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Search the API; return (query, scenes) for the search result file.

    Raises:
        NothingFoundError: no item passes (names AOI, dates and filters).
        AuthError / DownloadError: the API refused or failed.
    """
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    s = settings(cfg, SECTION)
    p = search_params(cfg, SECTION)
    f = filters(cfg)
    creds = credentials(s, urlsplit(s["url"]).hostname)
    query = {"url": redact(s["url"]), "collections": [s["collection"]], **p.as_dict(), **f.as_dict()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # conformance warnings of older APIs
            client = Client.open(s["url"], headers=creds.headers())
            items = list(client.search(
                collections=[s["collection"]],
                bbox=list(p.bbox_wgs84),
                datetime=f"{p.start.isoformat()}/{p.end.isoformat()}",
            ).items_as_dicts())
    except APIError as err:
        if getattr(err, "status_code", None) in (401, 403):
            raise AuthError(
                f"{redact(s['url'])}: HTTP {err.status_code} from the STAC API: credentials missing or "
                f"wrong; set {creds.describe()}"
            ) from None
        text = scrub(str(err), creds.secrets())[:300]
        raise DownloadError(f"{redact(s['url'])}: STAC API search failed: {text}") from None
    scenes = []
    for it in items:
        props = it.get("properties", {})
        pols = _polarisations(it)
        if not (props.get("sar:instrument_mode") and pols) or not f.keeps(
            product_type=props.get("sar:product_type"), mode=props["sar:instrument_mode"], polarisations=pols
        ):  # not a SAR item (an API answering more than the collection), or beyond the filters
            log.info("%s: not %s, skipped", it.get("id"), f.as_dict())
            continue
        scenes.append({
            "id": scene_id(it),
            "item_id": it["id"],
            "datetime": props.get("datetime") or props.get("start_datetime"),
            "collection": it.get("collection"),
            "sensor_mode": props.get("sar:instrument_mode"),
            "polarisation": " ".join(pols),
            "item": it,
        })
    scenes.sort(key=lambda x: (x["datetime"] or "", x["id"]))
    if not scenes:
        raise NothingFoundError(
            f"{redact(s['url'])}: the STAC API search found no Sentinel-1 items for "
            + p.describe(collection=s["collection"], **f.as_dict()) + nothing_found_hint()
        )
    return query, scenes


def _match(assets: dict[str, Any], kind: str, pol: str | None) -> str | None:
    return next((k for k in api_keys(kind, pol) if k in assets), None)


def fetch_scene(
    cfg: Config,
    entry: dict[str, Any],
    item_path: Path,
    *,
    query: dict[str, Any] | None = None,
    overwrite: bool = False,
    rule: str | None = None,
    pol: Policy | None = None,
    modifier: HrefModifier | None = None,
) -> dict[str, Any]:
    """Download the wanted assets of one searched item beside ``item_path``; record the raw item.

    Raises:
        MissingInputError: the API item lacks a wanted asset (names the keys it has).
        AuthError, IntegrityError, DownloadError: see :func:`sporbar.fetch.http.download`.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    s = settings(cfg, SECTION)
    pol = pol or policy(cfg, SECTION)
    modifier = modifier or href_modifier(s)
    remote = entry["item"]
    name = entry["id"]
    folder = item_path.parent
    pols = [p.lower() for p in _polarisations(remote)]
    wanted: list[tuple[str, str | None]] = [(kind, None) for kind in s["assets"] if kind == "manifest"]
    wanted += [(kind, p) for p in pols for kind in s["assets"] if kind != "manifest"]
    jobs: list[tuple[str, str, str | None, dict[str, Any], Download]] = []
    for kind, p in wanted:
        api_key = _match(remote["assets"], kind, p)
        if api_key is None:
            raise MissingInputError(
                f"{name}: the STAC item has no {kind} asset{f' for {p.upper()}' if p else ''} (tried "
                f"{', '.join(api_keys(kind, p))}; has {', '.join(sorted(remote['assets']))}); "
                "fix sources.sentinel1.stac_api.assets"
            )
        a = remote["assets"][api_key]
        key = sporbar_key(kind, p)
        jobs.append((key, kind, p, a, asset_download(a, folder, key, name, s, modifier)))
    download_all([j[4] for j in jobs], pol, workers=workers(cfg, SECTION))

    item = _item(name, entry, remote)
    checks = []
    for key, kind, p, a, d in jobs:
        asset = pystac.Asset(
            href=str(d.dest.resolve()),
            media_type=a.get("type") or (pystac.MediaType.GEOTIFF if kind == "measurement" else ext.XML),
            title=a.get("title") or (f"{_TITLES[kind]} {p.upper()}" if p else "SAFE manifest"),
            roles=list(a.get("roles") or (["data"] if kind == "measurement" else ["metadata"])),
        )
        if kind == "measurement" and p:
            asset.extra_fields["sar:polarizations"] = [p.upper()]
        item.add_asset(key, asset)
        checks.append(f"{key}={d.checksum}" if d.checksum else f"{key}=none")
    self_href = next((lk["href"] for lk in remote.get("links", []) if lk.get("rel") == "self"), "")
    item.properties[SOURCE_PROPERTY] = source_provenance("stac_api", self_href or s["url"], query, ";".join(checks))
    step = Step(
        lineage=f"Downloaded {len(jobs)} assets of Sentinel-1 GRD item {entry.get('item_id', name)} from the STAC "
        f"API {redact(s['url'])} (collection {s['collection']}), checksums checked where the API gives them.",
        command="fetch s1",
        parameters={"source": "stac_api", "scene": name, "url": redact(s["url"]), "assets": list(s["assets"])},
        rule=rule,
    )
    return record_item(item, item_path, inputs=[], step=step, provenance=Provenance.current(config_hash=cfg.hash))


def _item(name: str, entry: dict[str, Any], remote: dict[str, Any]) -> pystac.Item:
    """The raw item (no assets yet) from the API item's geometry, times and sar/sat fields."""
    props = remote["properties"]
    when = props.get("datetime") or props["start_datetime"]
    item = pystac.Item(
        id=name,
        geometry=remote["geometry"],
        bbox=remote.get("bbox"),
        datetime=datetime.fromisoformat(when.replace("Z", "+00:00")),
        properties={},
    )
    for k, v in sorted(props.items()):
        if k in _KEEP_PROPS or k.startswith(("sar:", "sat:", "s1:")):
            item.properties[k] = v
    # the fields the sar v1.0.0 schema requires, where an API leaves them out
    item.properties.setdefault("sar:instrument_mode", entry.get("sensor_mode") or "IW")
    item.properties.setdefault("sar:frequency_band", "C")
    item.properties.setdefault("sar:center_frequency", CENTER_FREQUENCY_GHZ)
    item.properties.setdefault("sar:product_type", "GRD")
    item.properties.setdefault("sar:polarizations", _polarisations(remote))
    item.properties.setdefault("constellation", "sentinel-1")
    item.properties.setdefault("instruments", ["c-sar"])
    item.properties[ext.PROCESSING_LEVEL] = "L1"
    item.stac_extensions = [SAR_SCHEMA_URI, ext.PROCESSING_SCHEMA_URI]
    if any(k.startswith("sat:") for k in item.properties):
        item.stac_extensions.append(SAT_SCHEMA_URI)
    if "view:incidence_angle" in item.properties:
        item.stac_extensions.append(VIEW_SCHEMA_URI)
    return item
