"""What the STAC API sources share (pystac-client; CDSE, Earth Search, Planetary Computer).

Search: the collection, the area bbox in WGS84 and the date range (plus a ``query``
filter where the mission has one); each hit is stored whole in ``search.json`` under its
product name, so fetching needs no second search. Fetch (:func:`fetch_assets`): the
mission module picks the API assets to download and sporbar's key for each; their hrefs
pass through the ``href_modifier`` hook (signing, e.g. Planetary Computer) and are
downloaded with :mod:`sporbar.fetch.download` (``file:checksum``/``file:size`` checked
where given, a bearer token from ``token_env`` for CDSE); the mission's builder makes the
raw item, which gets ``sporbar:source`` and is recorded.

Mission modules: :mod:`sporbar.fetch.s2_stac_api`, :mod:`sporbar.fetch.s1_stac_api`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pystac

from sporbar.config import Config
from sporbar.errors import InputDataError
from sporbar.fetch.checksums import Checksum
from sporbar.fetch.credentials import Credentials
from sporbar.fetch.download import Download, Policy, download_all
from sporbar.fetch.errors import AuthError, DownloadError
from sporbar.fetch.missions import Mission
from sporbar.fetch.search import SOURCE_PROPERTY, SearchParams, policy, source_provenance, workers
from sporbar.io import check_writable
from sporbar.redaction import quote_body, redact_url
from sporbar.stac.record import RunContext

HrefModifier = Callable[[str], str]
# sporbar asset key -> (local path of the downloaded file, the API's asset dict): what builders take
FetchedAssets = Mapping[str, tuple[str, Mapping[str, Any]]]


def settings(cfg: Config, section: str) -> dict[str, Any]:
    """The ``sources.<section>.stac_api`` section."""
    return dict(cfg.data["sources"][section].get("stac_api") or {})


def credentials(s: dict[str, Any], host: str | None) -> Credentials:
    """The API's credentials for ``host``: the settings' env vars, else its ``~/.netrc`` entry."""
    return Credentials(
        user_env=s.get("user_env"), password_env=s.get("password_env"), token_env=s.get("token_env"),
        netrc_host=host,
    )


def href_modifier(s: dict[str, Any]) -> HrefModifier | None:
    """The signing hook of the settings (None: hrefs used as they are).

    Raises:
        InputDataError: ``sign: planetary_computer`` without the planetary-computer package.
    """
    if s.get("sign") == "planetary_computer":
        try:
            import planetary_computer
        except ImportError as err:
            raise InputDataError(
                "sources.*.stac_api.sign: 'planetary_computer' needs `pip install planetary-computer`"
            ) from err
        return planetary_computer.sign  # type: ignore[no-any-return]
    return None


def self_href(remote: Mapping[str, Any]) -> str:
    """The API item's ``self`` link ("" if it has none)."""
    return next((lk["href"] for lk in remote.get("links", []) if lk.get("rel") == "self"), "")


def search_items(s: dict[str, Any], p: SearchParams, **filters: Any) -> list[dict[str, Any]]:
    """The items of ``s["collection"]`` in the area and dates (all pages), with the extra search ``filters``.

    Raises:
        AuthError: the API refused the credentials (names the ones to set).
        DownloadError: the API failed, did not answer within the settings' timeout, or answered
            what is not JSON (its message scrubbed of secrets and cut short).
    """
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    creds = credentials(s, urlsplit(s["url"]).hostname)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # conformance warnings of older APIs
            # without a timeout, pystac-client waits forever on an API that stops answering
            client = Client.open(s["url"], headers=creds.headers(), timeout=policy(s).timeout)
            return list(client.search(
                collections=[s["collection"]],
                bbox=list(p.bbox_wgs84),
                datetime=f"{p.start.isoformat()}/{p.end.isoformat()}",
                **filters,
            ).items_as_dicts())
    except APIError as err:
        if getattr(err, "status_code", None) in (401, 403):
            raise AuthError(
                f"{redact_url(s['url'])}: HTTP {err.status_code} from the STAC API: credentials missing or "
                f"wrong; set {creds.describe()}"
            ) from None
        text = quote_body(str(err))
        raise DownloadError(f"{redact_url(s['url'])}: STAC API search failed: {text}") from None
    except ValueError as err:  # a page that is not JSON (orjson's and json's decode errors are ValueErrors)
        raise DownloadError(
            f"{redact_url(s['url'])}: STAC API search failed: the API answered what is not STAC JSON "
            f"({type(err).__name__}: {quote_body(str(err))})"
        ) from None


def _suffix(href: str, media_type: str | None) -> str:
    name = urlsplit(href).path.rsplit("/", 1)[-1]
    if "." in name:
        return "." + name.rsplit(".", 1)[-1]
    return ".xml" if media_type and "xml" in media_type else ".bin"


def asset_download(a: Mapping[str, Any], folder: Path, key: str, name: str, s: dict[str, Any],
                   modifier: HrefModifier | None) -> Download:
    """The download of STAC API asset ``a`` to ``folder/<key><suffix>``.

    With the size and checksum the API gives, the source's credentials for its host, and its
    href signed by ``modifier``.
    """
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


def fetch_assets(
    ctx: RunContext,
    cfg: Config,
    entry: dict[str, Any],
    item_path: Path,
    *,
    mission: Mission,
    wanted: Callable[[Mapping[str, Any], dict[str, Any]], Sequence[tuple[str, Mapping[str, Any]]]],
    build: Callable[[Mapping[str, Any], dict[str, Any], FetchedAssets], pystac.Item],
    query: dict[str, Any] | None = None,
    overwrite: bool = False,
    pol: Policy | None = None,
    modifier: HrefModifier | None = None,
) -> dict[str, Any]:
    """Download the wanted assets of one searched item beside ``item_path``; record the raw item.

    Args:
        ctx: the run context.
        cfg: the config.
        entry: the item's entry in the search result (``id``, ``item_id``, ``item``).
        item_path: where the raw item goes; the files go beside it.
        mission: the mission (config section, sub-command).
        wanted: (API item, settings) -> [(sporbar key, API asset)] to download, in order.
        build: (API item, entry, fetched assets) -> the raw item.
        query: the search as recorded.
        overwrite: replace an existing item.
        pol: the download policy (default: the settings' ``download`` section).
        modifier: the href hook (default: the settings' ``sign``).

    Raises:
        MissingInputError: the API item lacks a wanted asset (raised by ``wanted``).
        AuthError, IntegrityError, DownloadError: see :func:`sporbar.fetch.download.download`.
    """
    item_path = Path(item_path)
    check_writable(item_path, overwrite=overwrite)
    s = settings(cfg, mission.section)
    pol = pol or policy(s)
    modifier = modifier or href_modifier(s)
    remote, name = entry["item"], entry["id"]
    jobs = [(key, a, asset_download(a, item_path.parent, key, name, s, modifier)) for key, a in wanted(remote, s)]
    download_all([d for _, _, d in jobs], pol, workers=workers(s))
    item = build(remote, entry, {key: (str(d.dest.resolve()), a) for key, a, d in jobs})
    checks = ";".join(f"{key}={d.checksum}" if d.checksum else f"{key}=none" for key, _, d in jobs)
    item.properties[SOURCE_PROPERTY] = source_provenance("stac_api", self_href(remote) or s["url"], query, checks)
    return ctx.record(
        item,
        item_path,
        inputs=[],
        lineage=f"Downloaded {len(jobs)} assets of {mission.product.removesuffix(' product')} item "
        f"{entry.get('item_id', name)} from the STAC API {redact_url(s['url'])} (collection {s['collection']}), "
        "checksums checked where the API gives them.",
        command=mission.command,
        parameters={"source": "stac_api", "scene": name, "url": redact_url(s["url"]), "assets": list(s["assets"])},
    )
