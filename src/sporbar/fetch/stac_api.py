"""Sentinel-2 L2A from a STAC API via pystac-client (CDSE, Earth Search, Planetary Computer).

Search: collection, the area bbox in WGS84, the date range and ``eo:cloud_cover <= max``
(the ``query`` extension). Each hit is stored whole in ``search.json`` under its SAFE
name (``s2:product_uri``, else the item id), so fetching needs no second search.

Fetch: the wanted assets (sporbar keys B01..B12, SCL, metadata, granule-metadata) are
matched to the API's keys (Earth Search: ``red``, ``scl``, ``granule_metadata``; CDSE:
``B04_10m``...; else by ``eo:bands`` name), their hrefs passed through the
``href_modifier`` hook (signing, e.g. Planetary Computer), and downloaded with
:mod:`sporbar.fetch.http` (``file:checksum``/``file:size`` checked where given, bearer
token from ``token_env`` for CDSE). The raw item keeps the API item's geometry, time,
cloud cover, grids and scale/offset, with sporbar's asset keys and ``sporbar:source``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pystac

from sporbar.config import Config
from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.http import (
    AuthError,
    Checksum,
    Credentials,
    Download,
    DownloadError,
    Policy,
    download_all,
    redact,
    scrub,
)
from sporbar.fetch.search import SOURCE_PROPERTY, NothingFoundError, policy, search_params, source_provenance, workers
from sporbar.io import check_writable
from sporbar.stac import extensions as ext
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item

log = logging.getLogger(__name__)

HrefModifier = Callable[[str], str]

# sporbar key -> keys other APIs use for it
ALIASES: dict[str, tuple[str, ...]] = {
    "B01": ("coastal",), "B02": ("blue",), "B03": ("green",), "B04": ("red",),
    "B05": ("rededge1",), "B06": ("rededge2",), "B07": ("rededge3",), "B08": ("nir",),
    "B8A": ("nir08",), "B09": ("nir09",), "B10": ("cirrus",), "B11": ("swir16",), "B12": ("swir22",),
    "SCL": ("scl",), "metadata": ("product_metadata", "metadata"),
    "granule-metadata": ("granule_metadata", "granule-metadata"),
}
_KEEP_ASSET_FIELDS = ("proj:shape", "proj:transform", "raster:bands", "eo:bands", "gsd", "title", "roles", "type")
_EXTS = (
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
)


def settings(cfg: Config, section: str = "sentinel2") -> dict[str, Any]:
    return dict(cfg.data["sources"][section].get("stac_api") or {})


def credentials(s: dict[str, Any], host: str | None) -> Credentials:
    return Credentials(
        user_env=s.get("user_env"), password_env=s.get("password_env"), token_env=s.get("token_env"),
        netrc_host=host,
    )


def href_modifier(s: dict[str, Any]) -> HrefModifier | None:
    """The signing hook of the settings (None: hrefs used as they are)."""
    if s.get("sign") == "planetary_computer":
        try:
            import planetary_computer  # type: ignore[import-not-found]
        except ImportError as err:
            raise InputDataError(
                "sources.sentinel2.stac_api.sign: 'planetary_computer' needs `pip install planetary-computer`"
            ) from err
        return planetary_computer.sign  # type: ignore[no-any-return]
    return None


def scene_id(item: dict[str, Any]) -> str:
    """The SAFE product name of an API item (``s2:product_uri``), else its id."""
    uri = item.get("properties", {}).get("s2:product_uri")
    return uri.removesuffix(".SAFE") if uri else item["id"]


def search(cfg: Config) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Search the API; return (query, scenes) for the search result file.

    Raises:
        NothingFoundError: no item matches (names AOI, dates and filters).
        AuthError / DownloadError: the API refused or failed.
    """
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    s = settings(cfg)
    p = search_params(cfg)
    creds = credentials(s, urlsplit(s["url"]).hostname)
    query = {
        "url": redact(s["url"]),
        "collections": [s["collection"]],
        **p.as_dict(),
        "query": {"eo:cloud_cover": {"lte": p.max_cloud_cover}},
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # conformance warnings of older APIs
            client = Client.open(s["url"], headers=creds.headers())
            search_ = client.search(
                collections=[s["collection"]],
                bbox=list(p.bbox_wgs84),
                datetime=f"{p.start.isoformat()}/{p.end.isoformat()}",
                query={"eo:cloud_cover": {"lte": p.max_cloud_cover}},
            )
            items = list(search_.items_as_dicts())
    except APIError as err:
        text = scrub(str(err), creds.secrets())
        if getattr(err, "status_code", None) in (401, 403):
            raise AuthError(
                f"{redact(s['url'])}: HTTP {err.status_code} from the STAC API: credentials missing or "
                f"wrong; set {creds.describe()}"
            ) from None
        raise DownloadError(f"{redact(s['url'])}: STAC API search failed: {text[:300]}") from None
    scenes = [
        {
            "id": scene_id(it),
            "item_id": it["id"],
            "datetime": it["properties"].get("datetime"),
            "cloud_cover": it["properties"].get("eo:cloud_cover"),
            "collection": it.get("collection"),
            "item": it,
        }
        for it in items
        if it["properties"].get("eo:cloud_cover", 0) <= p.max_cloud_cover
    ]
    if not scenes:
        raise NothingFoundError(
            f"{redact(s['url'])}: the STAC API search found no items for "
            + p.describe(collection=s["collection"])
            + "; widen the dates (sources.sentinel2.date_range) or the cloud limit"
        )
    return query, scenes


def match_asset(assets: dict[str, Any], key: str) -> str | None:
    """The API's asset key for sporbar key ``key`` (None if the item has none)."""
    if key in assets:
        return key
    for alias in ALIASES.get(key, ()):
        if alias in assets:
            return alias
    for k in sorted(assets):  # CDSE: B04_10m, ... prefer the finest
        if k.startswith(f"{key}_"):
            return k
    for k, a in sorted(assets.items()):
        for b in a.get("eo:bands", []) or a.get("bands", []):
            if b.get("name") == key:
                return k
    return None


def _suffix(href: str, media_type: str | None) -> str:
    name = urlsplit(href).path.rsplit("/", 1)[-1]
    if "." in name:
        return "." + name.rsplit(".", 1)[-1]
    return ".xml" if media_type and "xml" in media_type else ".bin"


def asset_download(a: dict[str, Any], folder: Path, key: str, name: str, s: dict[str, Any],
                   modifier: HrefModifier | None) -> Download:
    """The download of STAC API asset ``a`` to ``folder/<key><suffix>``, with the size and checksum the
    API gives, the source's credentials for its host, and its href signed by ``modifier``."""
    href = modifier(a["href"]) if modifier else a["href"]
    chk = a.get("file:checksum")
    return Download(
        href,
        folder / f"{key}{_suffix(a['href'], a.get('type'))}",
        name=f"{name}/{key}",
        size=a.get("file:size"),
        checksum=Checksum.parse(chk) if chk else None,
        credentials=credentials(s, urlsplit(href).hostname),
    )


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
    s = settings(cfg)
    pol = pol or policy(cfg)
    modifier = modifier or href_modifier(s)
    remote = entry["item"]
    name = entry["id"]
    folder = item_path.parent
    jobs: list[tuple[str, dict[str, Any], Download]] = []
    for key in s["assets"]:
        api_key = match_asset(remote["assets"], key)
        if api_key is None:
            raise MissingInputError(
                f"{name}: the STAC item has no asset for {key!r} (has {', '.join(sorted(remote['assets']))}); "
                "fix sources.sentinel2.stac_api.assets"
            )
        a = remote["assets"][api_key]
        jobs.append((key, a, asset_download(a, folder, key, name, s, modifier)))
    download_all([j[2] for j in jobs], pol, workers=workers(cfg))

    props = remote["properties"]
    item = pystac.Item(
        id=name,
        geometry=remote["geometry"],
        bbox=remote.get("bbox"),
        datetime=datetime.fromisoformat(props["datetime"].replace("Z", "+00:00")),
        properties={},
        stac_extensions=list(_EXTS),
    )
    for k in ("platform", "constellation", "instruments", "eo:cloud_cover", "view:sun_azimuth",
              "view:sun_elevation"):
        if k in props:
            item.properties[k] = props[k]
    code = props.get("proj:code") or (f"EPSG:{props['proj:epsg']}" if props.get("proj:epsg") else None)
    if code:
        item.properties["proj:code"] = code
    tile = props.get("s2:mgrs_tile") or (props.get("grid:code", "").removeprefix("MGRS-") or None)
    if tile:
        item.properties["s2:mgrs_tile"] = tile
    item.properties[ext.PROCESSING_LEVEL] = "L2A" if "L2A" in name else props.get("processing:level", "L1C")
    if props.get("s2:processing_baseline"):
        item.properties[ext.PROCESSING_VERSION] = props["s2:processing_baseline"]
    checks = []
    for key, a, d in jobs:
        asset = pystac.Asset(href=str(d.dest.resolve()))
        for f in _KEEP_ASSET_FIELDS:
            if f in a:
                if f == "type":
                    asset.media_type = a[f]
                elif f == "title":
                    asset.title = a[f]
                elif f == "roles":
                    asset.roles = list(a[f])
                else:
                    asset.extra_fields[f] = a[f]
        item.add_asset(key, asset)
        checks.append(f"{key}={d.checksum}" if d.checksum else f"{key}=none")
    self_href = next((lk["href"] for lk in remote.get("links", []) if lk.get("rel") == "self"), "")
    item.properties[SOURCE_PROPERTY] = source_provenance("stac_api", self_href or s["url"], query, ";".join(checks))
    step = Step(
        lineage=f"Downloaded {len(jobs)} assets of Sentinel-2 item {entry.get('item_id', name)} from the STAC API "
        f"{redact(s['url'])} (collection {s['collection']}), checksums checked where the API gives them.",
        command="fetch s2",
        parameters={"source": "stac_api", "scene": name, "url": redact(s["url"]), "assets": list(s["assets"])},
        rule=rule,
    )
    return record_item(item, item_path, inputs=[], step=step, provenance=Provenance.current(config_hash=cfg.hash))
