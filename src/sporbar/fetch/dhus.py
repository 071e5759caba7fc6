"""Sentinel-2 and Sentinel-1 GRD from a DHuS data hub via sentinelsat (default colhub.met.no).

One module for both missions; ``mission`` (:mod:`sporbar.fetch.missions`) picks the
config section. Search: ``SentinelAPI.query`` with the area (bbox transformed to WGS84), the
date range, the product type and the cloud-cover range (Sentinel-2), or the sensor mode
and polarisation (Sentinel-1, :mod:`sporbar.fetch.s1_names`; products beyond the filters
that a hub returns anyway are dropped). Fetch: the product zip from the OData
``$value`` link with :mod:`sporbar.fetch.download` (MD5 from the product's OData entry,
resume, retries), checked as a zip, extracted with ``safe_extract`` beside the item,
the zip deleted; the raw item comes from the SAFE metadata (``Mission.describe``: ``read_safe``
+ ``raw_s2_item``; for a Sentinel-1 GRD product ``read_s1_safe`` + ``raw_s1_item``, its item
in ``raw/sentinel-1-grd/<id>/``, plan pattern ``raw_s1``) with the provenance (redacted
URL, query, MD5, time) in ``sporbar:source``.

Credentials: ``$SPORBAR_DHUS_USER``/``$SPORBAR_DHUS_PASSWORD`` (names configurable) or a
``~/.netrc`` entry for the hub's host.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.fetch import s1_names
from sporbar.fetch.archives import check_zip, extract_safe, removed_on_failure
from sporbar.fetch.checksums import Checksum
from sporbar.fetch.credentials import Credentials
from sporbar.fetch.download import Download, Policy, download
from sporbar.fetch.errors import AuthError, DownloadError, NothingFoundError
from sporbar.fetch.missions import SENTINEL1, SENTINEL2, Mission
from sporbar.fetch.search import SOURCE_PROPERTY, Found, policy, search_params, source_provenance
from sporbar.fetch.source import Source
from sporbar.io import check_writable
from sporbar.redaction import quote_body, redact_url
from sporbar.stac.record import RunContext

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://colhub.met.no/"
PLATFORM = {"S2MSI1C": "Sentinel-2", "S2MSI2A": "Sentinel-2", "GRD": "Sentinel-1"}
DEFAULT_PRODUCT_TYPE = {"sentinel2": "S2MSI2A", "sentinel1": "GRD"}


def settings(cfg: Config, section: str) -> dict[str, Any]:
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
    """The hub's credentials: the settings' env vars, else the ``~/.netrc`` entry of its host."""
    return Credentials(
        user_env=s["user_env"], password_env=s["password_env"], netrc_host=urlsplit(s["api_url"]).hostname
    )


def _api(s: dict[str, Any]) -> Any:
    from sentinelsat import SentinelAPI

    login = credentials(s).login()
    user, pw = login if login else (None, None)
    timeout = policy(s).timeout
    api = SentinelAPI(user, pw, s["api_url"], show_progressbars=False, timeout=timeout)
    api.session.trust_env = False  # credentials only from our env vars / ~/.netrc lookup
    # sentinelsat stores its timeout as `session.timeout`, which requests ignores: a hub that stops
    # answering hung the search for ever. Every request of the session gets it (found by the bad-input trials)
    api.session.request = partial(api.session.request, timeout=timeout)
    return api


def query_keywords(cfg: Config, mission: Mission) -> dict[str, Any]:
    """The OpenSearch keywords of the config's search (what is recorded as the query)."""
    s = settings(cfg, mission.section)
    if mission is SENTINEL1:
        return {**s1_names.filters(cfg).dhus_keywords(), "producttype": s["product_type"]}
    return {
        "producttype": s["product_type"],
        "platformname": PLATFORM[s["product_type"]],
        "cloudcoverpercentage": (0, search_params(cfg, mission.section).max_cloud_cover),
    }


def _kept_s1(cfg: Config, props: dict[str, Any]) -> bool:
    """Whether a hub's Sentinel-1 product passes the section's filters (hubs may return more)."""
    pols = props.get("polarisationmode")
    return s1_names.filters(cfg).keeps(
        product_type=props.get("producttype"),
        mode=props.get("sensoroperationalmode"),
        polarisations=pols.split() if isinstance(pols, str) else None,
    )


def search(cfg: Config, *, mission: Mission = SENTINEL2) -> Found:
    """Query the hub for ``sources.<mission>``; return (query, scenes) for the search result file.

    Raises:
        AuthError: the hub refused the credentials (names the env vars / ~/.netrc host).
        NothingFoundError: no product matches (names AOI, dates and filters).
        DownloadError: the hub failed.
    """
    from sentinelsat.exceptions import SentinelAPIError, UnauthorizedError

    s1 = mission is SENTINEL1
    s = settings(cfg, mission.section)
    p = search_params(cfg, mission.section)
    kw = query_keywords(cfg, mission)
    creds = credentials(s)
    try:
        products = _api(s).query(area=p.wkt_wgs84, date=(p.start, p.end), **kw)
    except UnauthorizedError:
        raise AuthError(
            f"{redact_url(s['api_url'])}: HTTP 401 from the DHuS search: credentials missing or wrong; "
            f"set {creds.describe()}"
        ) from None
    except (SentinelAPIError, requests.RequestException) as err:
        raise DownloadError(f"{redact_url(s['api_url'])}: DHuS search failed: {_hub_answer(err)}") from None
    query = {"api_url": redact_url(s["api_url"]), **p.as_dict(), "product_type": s["product_type"]}
    filters: dict[str, Any] = {"product_type": s["product_type"]}
    if s1:
        filters = s1_names.filters(cfg).as_dict()
        query.update(filters)
    scenes = []
    for uuid, props in products.items():
        if s1 and not _kept_s1(cfg, props):
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
        if s1:
            entry.update(sensor_mode=props.get("sensoroperationalmode"), polarisation=props.get("polarisationmode"))
        else:
            entry["cloud_cover"] = props.get("cloudcoverpercentage")
        scenes.append(entry)
    if not scenes:
        raise NothingFoundError(
            f"{redact_url(s['api_url'])}: the DHuS search found no products for "
            + p.describe(**filters)
            + (s1_names.nothing_found_hint() if s1 else
               "; widen the dates (sources.sentinel2.date_range) or the cloud limit")
        )
    return query, scenes


def _hub_answer(err: Exception) -> str:
    """The hub's answer of a failed search, quoted from its raw body (redacted, cut short).

    Not sentinelsat's message: it renders an HTML page as text first, which can change a secret
    the page echoes ("&x?" becomes "&x;?") so that redaction no longer finds it.
    """
    resp = getattr(err, "response", None)
    if resp is None or not getattr(resp, "text", None):
        return quote_body(str(err))
    return quote_body(f"HTTP {resp.status_code} {resp.reason}: {resp.text}")


def product_md5(s: dict[str, Any], uuid: str, pol: Policy) -> str | None:
    """The product's MD5 from its OData entry (None if the hub gives none).

    Raises:
        AuthError: 401/403 (names the credential to set).
        DownloadError: another HTTP error.
    """
    url = f"{s['api_url']}odata/v1/Products('{uuid}')?$format=json"
    creds = credentials(s)
    r = requests.get(url, headers=creds.headers(), timeout=pol.timeout)
    if r.status_code in (401, 403):
        raise AuthError(
            f"{uuid}: HTTP {r.status_code} from {redact_url(url)}: credentials missing or wrong; "
            f"set {creds.describe()}"
        )
    if r.status_code != 200:
        raise DownloadError(f"{uuid}: HTTP {r.status_code} from {redact_url(url)} (product metadata): "
                            f"{quote_body(r.text)}")
    try:
        d = r.json().get("d", {})
    except (ValueError, AttributeError):
        raise DownloadError(
            f"{uuid}: the product metadata from {redact_url(url)} is not OData JSON: {quote_body(r.text)}"
        ) from None
    chk = d.get("Checksum") or {}
    return chk.get("Value") if (chk.get("Algorithm") or "MD5").upper() == "MD5" else None


def fetch(
    ctx: RunContext,
    cfg: Config,
    entry: dict[str, Any],
    item_path: Path,
    *,
    mission: Mission = SENTINEL2,
    query: dict[str, Any] | None = None,
    overwrite: bool = False,
    pol: Policy | None = None,
) -> dict[str, Any]:
    """Download one searched product of ``sources.<mission>`` beside ``item_path``, unzip it, record its raw item.

    Raises:
        AuthError, IntegrityError, DownloadError: see :func:`sporbar.fetch.download.download`.
        InputDataError: the product is of the other mission, the zip holds members outside
            its folder, or the SAFE is not the product.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    s = settings(cfg, mission.section)
    pol = pol or policy(s)
    name = entry["id"]
    if s1_names.is_s1_product(name) != (mission is SENTINEL1):
        other = "s1" if s1_names.is_s1_product(name) else "s2"
        raise InputDataError(
            f"{name}: a Sentinel-{other[1]} product, but fetched for sources.{mission.section}; "
            f"fetch it with `sporbar fetch {other}`"
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
        safe = extract_safe(zpath, name, folder)
    finally:
        zpath.unlink(missing_ok=True)
    with removed_on_failure(safe):  # a product that cannot be described is not left in raw/
        item = mission.describe(safe.resolve(), name)
        item.properties[SOURCE_PROPERTY] = source_provenance(
            "dhus", url, query, f"md5:{md5.lower()}" if md5 else None
        )
        return ctx.record(
            item,
            item_path,
            inputs=[],
            lineage=f"Downloaded {mission.title} product {name} from the DHuS hub {redact_url(s['api_url'])} "
            "(MD5 checked), unzipped the SAFE folder and described it from its metadata.",
            command=mission.command,
            parameters={"source": "dhus", "scene": name, "api_url": redact_url(s["api_url"])},
        )


S2_SOURCE = Source(mission="sentinel2", kind="dhus", search=partial(search, mission=SENTINEL2),
                   fetch=partial(fetch, mission=SENTINEL2))
S1_SOURCE = Source(mission="sentinel1", kind="dhus", search=partial(search, mission=SENTINEL1),
                   fetch=partial(fetch, mission=SENTINEL1))
