"""Load a static sporbar catalog into PostgreSQL/pgstac (``sporbar publish --to pgstac``).

The static catalog (``sporbar.stac.catalog``) is the source of truth; this module copies
its collections and items into a pgstac database with pypgstac's ``Loader`` in *upsert*
mode, so publishing the same catalog again updates rows and never duplicates them.
Model and training-data versions have ids of their own (``sporbar.stac.versions``), so a
retrained model is a new row: an upsert never replaces an older version, and nothing is
deleted; an older version's row is updated only with what the catalog adds (``deprecated``,
version links).

What changes on the way in, because a database has no folder to be relative to:

- structural links (root, parent, child, item, collection, self) are dropped: the STAC
  API (stac-fastapi-pgstac) generates them; so are the links to the Norwegian versions of
  collections (``alternate`` with ``hreflang``): their titles and descriptions are stored in
  the collection instead (``sporbar:translations``, ``sporbar.stac.language``), and
  ``sporbar serve`` answers in the language the client asks for;
- links to other items of the catalog (``derived_from``) become ``collections/<c>/items/<id>``
  and links to collections ``collections/<c>``, both relative to the API root: the API
  resolves relative link hrefs against its own base URL, so lineage can be walked through
  the API on any host and port;
- an item without geometry (allowed by STAC, refused by pgstac) gets its collection's
  spatial extent as geometry and bbox, marked with ``sporbar:geometry_source``;
- asset hrefs (and links to plain files, e.g. a lineage SVG) become either absolute file
  paths (default), or ``asset_base_url`` + the file's path below ``data_root`` (the results
  root). ``sporbar serve`` serves the results root at ``/data/``, so
  ``asset_base_url="/data/"`` gives hrefs that work on whatever host/port it listens on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from sporbar.errors import SporbarError
from sporbar.stac.catalog import CATALOG_FILENAME, STRUCTURAL_RELS
from sporbar.stac.hrefs import is_local_href, resolve_href
from sporbar.stac.language import TRANSLATIONS, translations
from sporbar.stac.queryables import analyze_collections, declare_queryables
from sporbar.stac.reader import StacDoc, read_catalog

log = logging.getLogger(__name__)

#: The link relations the API infers itself (stac-fastapi-pgstac's INFERRED_LINK_RELS).
API_INFERRED_RELS: Final = STRUCTURAL_RELS | {"items"}
#: Property set on items stored with their collection's extent as geometry (pgstac needs one).
GEOMETRY_SOURCE: Final = "sporbar:geometry_source"


class PgstacError(SporbarError, RuntimeError):
    """The database cannot be reached or refused the data."""


@dataclass(frozen=True)
class PgstacSummary:
    """What ``publish_to_pgstac`` loaded.

    Attributes:
        catalog: the static catalog that was loaded.
        items_per_collection: collection id -> number of items loaded, sorted by id.
        seconds: wall time of the load.
    """

    catalog: Path
    items_per_collection: dict[str, int]
    seconds: float

    @property
    def n_items(self) -> int:
        """Number of items loaded."""
        return sum(self.items_per_collection.values())

    def lines(self) -> list[str]:
        """Human-readable summary, one line per collection, then the total."""
        out = [f"{cid}: {n} item(s)" for cid, n in self.items_per_collection.items()]
        out.append(
            f"pgstac: {len(self.items_per_collection)} collection(s), {self.n_items} item(s) "
            f"upserted from {self.catalog} in {self.seconds:.1f} s"
        )
        return out


class _HrefMapper:
    """Turns the catalog's local hrefs into database hrefs (see the module docstring)."""

    def __init__(
        self,
        collections: Mapping[Path, str],
        items: Mapping[Path, tuple[str, str]],
        *,
        data_root: Path,
        asset_base_url: str | None,
    ) -> None:
        self.collections = collections
        self.items = items
        self.data_root = data_root
        self.base = asset_base_url if asset_base_url is None or asset_base_url.endswith("/") else asset_base_url + "/"

    def file(self, target: Path) -> str:
        """Href of a data file: an absolute path, or a URL below ``asset_base_url``."""
        if self.base is None:
            return target.as_posix()
        try:
            rel = target.relative_to(self.data_root)
        except ValueError:
            return target.as_posix()  # outside the served root: keep the path
        return self.base + quote(rel.as_posix())

    def link(self, href: str, base_dir: Path) -> str | None:
        """Href of a non-structural link, or None to drop it (the catalog root)."""
        if not is_local_href(href):
            return href
        target = resolve_href(href, base_dir)
        if target in self.items:
            cid, iid = self.items[target]
            return f"collections/{quote(cid)}/items/{quote(iid)}"
        if target in self.collections:
            return f"collections/{quote(self.collections[target])}"
        if target.name == CATALOG_FILENAME:
            return None
        return self.file(target)

    def asset(self, href: str, base_dir: Path) -> str:
        """Href of an asset."""
        return self.file(resolve_href(href, base_dir)) if is_local_href(href) else href


def _clean_links(doc: StacDoc, mapper: _HrefMapper) -> list[dict[str, Any]]:
    out = []
    for link in doc.data.get("links", []):
        if link.get("rel") in API_INFERRED_RELS:
            continue
        if link.get("rel") == "alternate" and "hreflang" in link:
            continue  # another language's static document (sporbar.stac.language): the API has none
        href = mapper.link(str(link.get("href", "")), doc.path.parent)
        if href is not None:
            out.append({**link, "href": href})
    return out


def _db_doc(doc: StacDoc, mapper: _HrefMapper, collection: str | None = None) -> dict[str, Any]:
    d = dict(doc.data)
    d["links"] = _clean_links(doc, mapper)
    if d.get("type") == "Collection" and (texts := translations(doc.data, doc.path.parent)):
        d[TRANSLATIONS] = texts
    if "assets" in d:
        d["assets"] = {
            key: {**asset, "href": mapper.asset(str(asset["href"]), doc.path.parent)}
            for key, asset in d["assets"].items()
        }
    if collection is not None:
        d["collection"] = collection
    return d


def _bbox_polygon(bbox: list[float]) -> dict[str, Any]:
    w, s, e, n = bbox[0], bbox[1], bbox[-2], bbox[-1]
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _with_geometry(item: dict[str, Any], collection: Mapping[str, Any]) -> dict[str, Any]:
    """Pgstac stores no item without geometry: give such an item its collection's extent, marked."""
    if item.get("geometry") is not None:
        return item
    bboxes = collection.get("extent", {}).get("spatial", {}).get("bbox") or [[-180.0, -90.0, 180.0, 90.0]]
    bbox = [float(v) for v in bboxes[0]]
    item["geometry"] = _bbox_polygon(bbox)
    item["bbox"] = [bbox[0], bbox[1], bbox[-2], bbox[-1]]
    item["properties"] = {**item.get("properties", {}), GEOMETRY_SOURCE: "collection extent"}
    return item


def catalog_records(
    catalog_json: Path, *, data_root: Path | None = None, asset_base_url: str | None = None
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The collections and items of ``catalog_json`` as pgstac will store them.

    Args:
        catalog_json: the root ``catalog.json`` written by ``sporbar publish``.
        data_root: the folder served at ``asset_base_url`` (default: the folder above the
            catalog folder, i.e. the results root for ``<root>/catalog/catalog.json``).
        asset_base_url: URL (absolute, or root-relative like ``/data/``) of ``data_root``;
            None keeps absolute file paths.
    """
    catalog_json = Path(catalog_json).resolve()
    colls, items = read_catalog(catalog_json)
    coll_paths = {c.path: str(c.data["id"]) for c in colls}
    item_paths = {i.path: (cid, str(i.data["id"])) for cid, docs in items.items() for i in docs}
    mapper = _HrefMapper(
        coll_paths,
        item_paths,
        data_root=(data_root or catalog_json.parent.parent).resolve(),
        asset_base_url=asset_base_url,
    )
    by_id = {str(c.data["id"]): c.data for c in colls}
    out_items = {
        cid: [
            _with_geometry(_db_doc(i, mapper, collection=cid), by_id[cid])
            for i in sorted(docs, key=lambda d: str(d.data["id"]))
        ]
        for cid, docs in items.items()
    }
    return [_db_doc(c, mapper) for c in colls], out_items


def load_records(
    collections: Iterable[Mapping[str, Any]],
    items: Iterable[Mapping[str, Any]],
    dsn: str = "",
    *,
    chunksize: int = 10000,
) -> None:
    """Upsert collections, then items, into the pgstac database at ``dsn`` ("" = PG* env).

    Then declare the queryables staff filter on, with their indexes, and refresh the planner
    statistics of the loaded collections' partitions (``sporbar.stac.queryables``).
    """
    try:
        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader, Methods
    except ImportError as err:  # pragma: no cover - depends on the install
        raise PgstacError(f"pypgstac is not installed ({err}); pip install 'pypgstac[psycopg]==0.10.0'") from err
    import psycopg

    where = _where(dsn)
    try:
        # one direct connection first: fails in ms (pypgstac's pool retries for 30 s)
        psycopg.connect(dsn, connect_timeout=10).close()
        with PgstacDB(dsn=dsn) as db:
            loader = Loader(db=db)
            loader.load_collections(_dicts(collections), insert_mode=Methods.upsert)
            loaded: set[str] = set()
            loader.load_items(_dicts(items, loaded), insert_mode=Methods.upsert, chunksize=chunksize)
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            created = declare_queryables(conn)
            if not created:  # new indexes come with statistics of the whole table
                analyze_collections(conn, loaded)
        if created:
            log.info("%s: indexed %d queryable item properties", where, len(created))
    except psycopg.OperationalError as err:
        raise PgstacError(
            f"{where}: cannot connect to PostgreSQL ({_one_line(err)}); start it with "
            '`eval "$(services/postgres.sh start)"` or give --dsn'
        ) from err
    except psycopg.Error as err:
        raise PgstacError(f"{where}: pgstac refused the data: {_one_line(err)}") from err


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _dicts(records: Iterable[Mapping[str, Any]], collections: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """Each record as a dict; the ``collection`` of each goes into ``collections`` when given."""
    for r in records:
        if collections is not None and r.get("collection"):
            collections.add(str(r["collection"]))
        yield dict(r)


def _where(dsn: str) -> str:
    if dsn:
        try:
            from psycopg.conninfo import conninfo_to_dict

            info = conninfo_to_dict(dsn)
            info.pop("password", None)
            return "postgresql://{}@{}:{}/{}".format(
                info.get("user", ""), info.get("host", ""), info.get("port", ""), info.get("dbname", "")
            )
        except Exception:  # noqa: BLE001 - only for the message
            return "the database given by --dsn"
    import os

    return "postgresql://{}@{}:{}/{} (PG* environment)".format(
        os.environ.get("PGUSER", ""),
        os.environ.get("PGHOST", ""),
        os.environ.get("PGPORT", ""),
        os.environ.get("PGDATABASE", ""),
    )


def publish_to_pgstac(
    catalog_json: Path,
    dsn: str = "",
    *,
    data_root: Path | None = None,
    asset_base_url: str | None = None,
) -> PgstacSummary:
    """Upsert every collection and item of a static catalog into pgstac.

    Idempotent: publishing the same catalog twice leaves one row per item (pgstac upsert
    replaces the content of an item with the same collection and id).

    Args:
        catalog_json: the root ``catalog.json`` written by ``sporbar publish``.
        dsn: libpq connection string; "" takes PGHOST, PGPORT, PGUSER, PGPASSWORD and
            PGDATABASE from the environment.
        data_root: see ``catalog_records``.
        asset_base_url: see ``catalog_records`` (``sporbar serve`` serves data at ``/data/``).

    Raises:
        MissingInputError / CatalogError: the catalog cannot be read.
        PgstacError: the database cannot be reached or refused the data.
    """
    t0 = time.perf_counter()
    collections, items = catalog_records(catalog_json, data_root=data_root, asset_base_url=asset_base_url)
    load_records(collections, (i for cid in sorted(items) for i in items[cid]), dsn)
    summary = PgstacSummary(
        catalog=Path(catalog_json),
        items_per_collection={cid: len(items[cid]) for cid in sorted(items)},
        seconds=time.perf_counter() - t0,
    )
    log.info("%s", summary.lines()[-1])
    return summary
