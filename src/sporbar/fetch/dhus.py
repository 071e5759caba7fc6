"""Sentinel-2 and Sentinel-1 GRD from a DHuS data hub via sentinelsat (default colhub.met.no).

One module for both missions; ``section`` (``"sentinel2"`` or ``"sentinel1"``) picks the
config section. Search: ``SentinelAPI.query`` with the area (bbox transformed to WGS84), the
date range, the product type and the cloud-cover range (Sentinel-2), or the sensor mode
and polarisation (Sentinel-1, :mod:`sporbar.fetch.s1_sources`; products beyond the filters
that a hub returns anyway are dropped). Fetch: the product zip from the OData
``$value`` link with :mod:`sporbar.fetch.http` (MD5 from the product's OData entry,
resume, retries), checked as a zip, extracted with ``safe_extract`` beside the item,
the zip deleted; the raw item comes from the SAFE metadata (``read_safe`` +
``raw_s2_item``; for a Sentinel-1 GRD product ``read_s1_safe`` + ``raw_s1_item``, its item
in ``raw/sentinel-1-grd/<id>/``, plan pattern ``raw_s1``) with the provenance (redacted
URL, query, MD5, time) in ``sporbar:source``.

Credentials: ``$SPORBAR_DHUS_USER``/``$SPORBAR_DHUS_PASSWORD`` (names configurable) or a
``~/.netrc`` entry for the hub's host.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.fetch.demo_s2 import raw_s2_item
from sporbar.fetch.http import (
    AuthError,
    Checksum,
    Credentials,
    Download,
    DownloadError,
    Policy,
    check_zip,
    download,
    redact,
    safe_extract,
    scrub,
)
from sporbar.fetch.s1_item import raw_s1_item
from sporbar.fetch.s1_safe import is_s1_product, read_s1_safe
from sporbar.fetch.s1_sources import filters as s1_filters
from sporbar.fetch.s1_sources import nothing_found_hint as s1_hint
from sporbar.fetch.safe import read_safe
from sporbar.fetch.search import (
    SOURCE_PROPERTY,
    NothingFoundError,
    policy,
    search_params,
    source_provenance,
)
from sporbar.io import check_writable
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://colhub.met.no/"
PLATFORM = {"S2MSI1C": "Sentinel-2", "S2MSI2A": "Sentinel-2", "GRD": "Sentinel-1"}
DEFAULT_PRODUCT_TYPE = {"sentinel2": "S2MSI2A", "sentinel1": "GRD"}


def settings(cfg: Config, section: str = "sentinel2") -> dict[str, Any]:
    """The ``sources.<section>.dhus`` section with defaults."""
    d = dict((cfg.data["sources"].get(section) or {}).get("dhus") or {})
    d.setdefault("api_url", DEFAULT_API_URL)
    d.setdefault("product_type", DEFAULT_PRODUCT_TYPE[section])
    d.setdefault("user_env", "SPORBAR_DHUS_USER")
    d.setdefault("password_env", "SPORBAR_DHUS_PASSWORD")
    if not d["api_url"].endswith("/"):
        d["api_url"] += "/"
    return d


def credentials(s: dict[str, Any]) -> Credentials:
    return Credentials(
        user_env=s["user_env"], password_env=s["password_env"], netrc_host=urlsplit(s["api_url"]).hostname
    )


def _api(s: dict[str, Any]) -> Any:
    from sentinelsat import SentinelAPI

    login = credentials(s).login()
    user, pw = login if login else (None, None)
    api = SentinelAPI(user, pw, s["api_url"], show_progressbars=False, timeout=60)
    api.session.trust_env = False  # credentials only from our env vars / ~/.netrc lookup
    return api


def query_keywords(cfg: Config, section: str = "sentinel2") -> dict[str, Any]:
    """The OpenSearch keywords of the config's search (what is recorded as the query)."""
    s = settings(cfg, section)
    if section == "sentinel1":
        return {**s1_filters(cfg).dhus_keywords(), "producttype": s["product_type"]}
    return {
        "producttype": s["product_type"],
        "platformname": PLATFORM[s["product_type"]],
        "cloudcoverpercentage": (0, search_params(cfg, section).max_cloud_cover),
    }


def _kept_s1(cfg: Config, props: dict[str, Any]) -> bool:
    """Whether a hub's Sentinel-1 product passes the section's filters (hubs may return more)."""
    pols = props.get("polarisationmode")
    return s1_filters(cfg).keeps(
        product_type=props.get("producttype"),
        mode=props.get("sensoroperationalmode"),
        polarisations=pols.split() if isinstance(pols, str) else None,
    )


def search(cfg: Config, section: str = "sentinel2") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Query the hub for ``sources.<section>``; return (query, scenes) for the search result file.

    Raises:
        AuthError: the hub refused the credentials (names the env vars / ~/.netrc host).
        NothingFoundError: no product matches (names AOI, dates and filters).
        DownloadError: the hub failed.
    """
    from sentinelsat.exceptions import SentinelAPIError, UnauthorizedError

    s = settings(cfg, section)
    p = search_params(cfg, section)
    kw = query_keywords(cfg, section)
    creds = credentials(s)
    try:
        products = _api(s).query(area=p.wkt_wgs84, date=(p.start, p.end), **kw)
    except UnauthorizedError:
        raise AuthError(
            f"{redact(s['api_url'])}: HTTP 401 from the DHuS search: credentials missing or wrong; "
            f"set {creds.describe()}"
        ) from None
    except (SentinelAPIError, requests.RequestException) as err:
        raise DownloadError(
            f"{redact(s['api_url'])}: DHuS search failed: {scrub(str(err), creds.secrets())}"
        ) from None
    query = {
        "api_url": redact(s["api_url"]),
        **p.as_dict(),
        "product_type": s["product_type"],
    }
    filters: dict[str, Any] = {"product_type": s["product_type"]}
    if section == "sentinel1":
        query.update(s1_filters(cfg).as_dict())
        filters = s1_filters(cfg).as_dict()
    scenes = []
    for uuid, props in products.items():
        if section == "sentinel1" and not _kept_s1(cfg, props):
            log.info("%s: not %s, skipped", props.get("title"), filters)
            continue
        begin = props.get("beginposition")
        entry = {
            "id": props["title"],
            "uuid": uuid,
            "href": props.get("link") or f"{s['api_url']}odata/v1/Products('{uuid}')/$value",
            "datetime": begin.isoformat() if hasattr(begin, "isoformat") else str(begin or ""),
            "product_type": props.get("producttype"),
            "size": props.get("size"),
        }
        if section == "sentinel1":
            entry.update(sensor_mode=props.get("sensoroperationalmode"), polarisation=props.get("polarisationmode"))
        else:
            entry["cloud_cover"] = props.get("cloudcoverpercentage")
        scenes.append(entry)
    if not scenes:
        raise NothingFoundError(
            f"{redact(s['api_url'])}: the DHuS search found no products for "
            + p.describe(**filters)
            + (s1_hint() if section == "sentinel1" else
               "; widen the dates (sources.sentinel2.date_range) or the cloud limit")
        )
    return query, scenes


def product_md5(s: dict[str, Any], uuid: str, pol: Policy) -> str | None:
    """The product's MD5 from its OData entry (None if the hub gives none)."""
    url = f"{s['api_url']}odata/v1/Products('{uuid}')?$format=json"
    creds = credentials(s)
    r = requests.get(url, headers=creds.headers(), timeout=pol.timeout)
    if r.status_code in (401, 403):
        raise AuthError(
            f"{uuid}: HTTP {r.status_code} from {redact(url)}: credentials missing or wrong; "
            f"set {creds.describe()}"
        )
    if r.status_code != 200:
        raise DownloadError(f"{uuid}: HTTP {r.status_code} from {redact(url)} (product metadata)")
    d = r.json().get("d", {})
    chk = d.get("Checksum") or {}
    return chk.get("Value") if (chk.get("Algorithm") or "MD5").upper() == "MD5" else None


def fetch_product(
    cfg: Config,
    entry: dict[str, Any],
    item_path: Path,
    *,
    query: dict[str, Any] | None = None,
    overwrite: bool = False,
    rule: str | None = None,
    pol: Policy | None = None,
    section: str = "sentinel2",
) -> dict[str, Any]:
    """Download one searched product of ``sources.<section>`` beside ``item_path``, unzip it, record its raw item.

    Raises:
        AuthError, IntegrityError, DownloadError: see :func:`sporbar.fetch.http.download`.
        InputDataError: the product is of the other mission, the zip holds members outside
            its folder, or the SAFE is not the product.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    s = settings(cfg, section)
    pol = pol or policy(cfg, section)
    name = entry["id"]
    s1 = section == "sentinel1"
    if is_s1_product(name) != s1:
        raise InputDataError(
            f"{name}: a Sentinel-{1 if is_s1_product(name) else 2} product, but fetched for sources.{section}; "
            f"fetch it with `sporbar fetch {'s1' if is_s1_product(name) else 's2'}`"
        )
    folder = item_path.parent
    md5 = entry.get("md5") or product_md5(s, entry["uuid"], pol)
    # the href in search.json is redacted; the real one is rebuilt from the configured hub
    url = f"{s['api_url']}odata/v1/Products('{entry['uuid']}')/$value"
    zpath = folder / f"{name}.zip"
    download(
        Download(
            url,
            zpath,
            name=name,
            checksum=Checksum("md5", md5.lower()) if md5 else None,
            credentials=credentials(s),
            validate=check_zip,
        ),
        pol,
    )
    try:
        tops = safe_extract(zpath, folder)
    finally:
        zpath.unlink(missing_ok=True)
    safe = folder / f"{name}.SAFE"
    if safe not in tops:
        raise InputDataError(f"{url and redact(url)}: zip of {name} holds {[t.name for t in tops]}, not {safe.name}")
    if s1:  # Sentinel-1 GRD: its own reader and item (raw/sentinel-1-grd/)
        item = raw_s1_item(read_s1_safe(safe.resolve()))
        mission = "Sentinel-1"
    else:
        meta = read_safe(safe.resolve())
        if meta.product_id != name:
            raise InputDataError(f"{meta.metadata_path}: PRODUCT_URI is {meta.product_id!r}, expected {name!r}")
        item = raw_s2_item(meta)
        mission = "Sentinel-2"
    item.properties[SOURCE_PROPERTY] = source_provenance(
        "dhus", url, query, f"md5:{md5.lower()}" if md5 else None
    )
    step = Step(
        lineage=f"Downloaded {mission} product {name} from the DHuS hub {redact(s['api_url'])} "
        "(MD5 checked), unzipped the SAFE folder and described it from its metadata.",
        command="fetch s1" if s1 else "fetch s2",
        parameters={"source": "dhus", "scene": name, "api_url": redact(s["api_url"])},
        rule=rule,
    )
    return record_item(item, item_path, inputs=[], step=step, provenance=Provenance.current(config_hash=cfg.hash))
