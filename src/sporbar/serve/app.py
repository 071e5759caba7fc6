"""The ASGI application behind ``sporbar serve``.

One server on one origin, so the browser needs no CORS and hrefs can be root-relative::

    /            -> redirect to /browser/
    /api/...     STAC API (stac-fastapi-pgstac on the pgstac database)   [database mode]
    /browser/    STAC Browser (web/stac-browser/dist, built by web/build.sh)
    /browser/config.js
                 the browser's runtime config: catalogUrl = this server's /api/ or the
                 static catalog.json below /data/, computed from the request's host
    /data/...    the results root (data files, thumbnails, the static catalog)
    /tiles/...   map tiles, mosaics and WMTS (titiler-pgstac, sporbar.serve.tiles) [database mode]
    /tiles/files/...
                 map tiles of the COGs below /data/ (titiler, sporbar.serve.file_tiles) [static mode]
    /metadata/dcat/catalog.ttl, /metadata/iso19139/<id>.xml
                 the exported DCAT-AP-NO catalog and ISO 19139 records (sporbar.serve.harvest)
    /csw         CSW 2.0.2/3.0 over the ISO 19139 records: pycsw, forwarded (sporbar.serve.csw)
                 [when ``csw_url`` is set: ``sporbar serve --csw``]

The API answers in bokmål or English, as the client asks (``Accept-Language``; sporbar.serve.language).

Collections marked ``restricted`` or ``closed`` are served only to requests with a valid token
(``sporbar.serve.auth``: stac-auth-proxy's token check and CQL2 filters, and the access gate of
tiles and data files); open ones to everyone.

Database mode needs PostgreSQL with pgstac (``services/postgres.sh start``); publish with
``sporbar publish --to pgstac --asset-base-url /data/`` so asset hrefs point at ``/data/``.
Static mode (``static_catalog``) serves a ``catalog.json`` that lies below the data root,
no database needed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sporbar.errors import ConfigError, MissingInputError
from sporbar.serve.access import AccessLevels, pgstac_levels, static_levels
from sporbar.serve.auth import AuthSettings, pgstac_search_collections, protect
from sporbar.serve.browser import browser_config_js
from sporbar.serve.csw import csw_routes
from sporbar.serve.harvest import metadata_routes
from sporbar.serve.language import Localise, norwegian_landing
from sporbar.serve.signin import browser_auth_config
from sporbar.stac.language import norwegian_path
from sporbar.stac.layout import ItemLayout

log = logging.getLogger(__name__)

API_PREFIX: Final = "/api"
BROWSER_PREFIX: Final = "/browser"
DATA_PREFIX: Final = "/data"
TILES_PREFIX: Final = "/tiles"
FILE_TILES_PREFIX: Final = TILES_PREFIX + "/files"
#: what ``sporbar publish --to pgstac --asset-base-url`` should be given for this server
ASSET_BASE_URL: Final = DATA_PREFIX + "/"
REPO_ROOT: Final = Path(__file__).resolve().parents[3]


def default_browser_dist() -> Path:
    """Where web/build.sh puts STAC Browser: $SPORBAR_BROWSER_DIST, else the repo's web/stac-browser/dist."""
    env = os.environ.get("SPORBAR_BROWSER_DIST")
    if env:
        return Path(env)
    for base in (REPO_ROOT, Path.cwd()):
        dist = base / "web" / "stac-browser" / "dist"
        if dist.is_dir():
            return dist
    return REPO_ROOT / "web" / "stac-browser" / "dist"


@dataclass(frozen=True)
class ServeConfig:
    """What to serve.

    Attributes:
        data_root: the results root, served at /data/.
        static_catalog: a catalog.json below ``data_root`` to browse without a database;
            None serves the STAC API on pgstac.
        browser_dist: built STAC Browser; None or a missing folder serves no browser.
        dsn: libpq connection string for the API; "" takes the PG* environment variables.
        title: title of the API landing page and the browser.
        auth: how tokens are validated (``serve.auth`` of the config); None accepts none, so only
            open collections are served.
        layout: where the run writes each collection's items, to tell a data file's collection.
        csw_url: loopback URL of the running pycsw (``sporbar.serve.csw.start_csw``) that
            ``/csw`` forwards to; None serves no CSW.
        csw_check: reloads pycsw's records when the exported ones changed (``CswProcess.watch.check``).
        background: the browser's background map (``serve.background_map`` of the config);
            None: Kartverket's topographic map.
    """

    data_root: Path
    static_catalog: Path | None = None
    browser_dist: Path | None = None
    dsn: str = ""
    title: str = "sporbar"
    auth: AuthSettings | None = None
    layout: ItemLayout | None = None
    csw_url: str | None = None
    csw_check: Callable[[], None] | None = None
    background: Mapping[str, Any] | None = None

    @property
    def static(self) -> bool:
        """True when no database is used."""
        return self.static_catalog is not None

    def catalog_path(self, *, norwegian: bool = False) -> str:
        """URL path of the static catalog below /data/ (``norwegian``: its bokmål version, where there is one)."""
        assert self.static_catalog is not None
        catalog = self.static_catalog
        if norwegian and norwegian_path(catalog).is_file():
            catalog = norwegian_path(catalog)
        try:
            rel = catalog.resolve().relative_to(self.data_root.resolve())
        except ValueError as err:
            raise ConfigError(
                f"{self.static_catalog}: the static catalog must lie below the data root "
                f"{self.data_root} (served at {DATA_PREFIX}/); give --data-root"
            ) from err
        return f"{DATA_PREFIX}/{rel.as_posix()}"

    def has_browser(self) -> bool:
        """True when a built STAC Browser is there."""
        return self.browser_dist is not None and (self.browser_dist / "index.html").is_file()


#: Settings of the API's database sessions. No parallel workers: a search returns one page
#: (10 items by default) found through the queryables', geometry or date indexes, and starting
#: workers cost more than they save: at 1 M items on 2 busy cores, pgstac.search for collection +
#: bbox + datetime took 156 ms (p50) with workers, 27 ms without; bbox 87 ms against 50 ms
#: (benchmarks/pgstac_publish.py --parallel). The database's own settings stay as they are.
API_SESSION_SETTINGS: Final[Mapping[str, str]] = {"max_parallel_workers_per_gather": "0"}


def postgres_settings(dsn: str = "") -> Any:
    """stac-fastapi-pgstac's PostgresSettings of a libpq DSN or the PG* environment; sessions: API_SESSION_SETTINGS."""
    from stac_fastapi.pgstac.config import PostgresSettings, ServerSettings

    server_settings = ServerSettings(**API_SESSION_SETTINGS)
    if not dsn:
        missing = [v for v in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE") if v not in os.environ]
        if missing:
            raise ConfigError(
                f'no database given: set {", ".join(missing)} (eval "$(services/postgres.sh start)") '
                "or give --dsn postgresql://user:password@host:port/db"
            )
        return PostgresSettings(server_settings=server_settings)
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(dsn)
    return PostgresSettings(
        pguser=str(info.get("user", os.environ.get("PGUSER", "postgres"))),
        pgpassword=str(info.get("password", os.environ.get("PGPASSWORD", ""))),
        pghost=str(info.get("host", os.environ.get("PGHOST", "127.0.0.1"))),
        pgport=int(str(info.get("port", os.environ.get("PGPORT", 5432)))),  # values are str (typed str|int|None)
        pgdatabase=str(info.get("dbname", os.environ.get("PGDATABASE", "postgres"))),
        server_settings=server_settings,
    )


def _browser_config_js(cfg: ServeConfig, request: Request) -> Response:
    base = str(request.base_url).rstrip("/")
    body = browser_config_js(
        # STAC Browser opens in bokmål: straight into the Norwegian catalog, not via a redirect
        catalog_url=base + (cfg.catalog_path(norwegian=True) if cfg.static else API_PREFIX + "/"),
        title=cfg.title,
        path_prefix=BROWSER_PREFIX + "/",
        tiles_url=base + (FILE_TILES_PREFIX if cfg.static else TILES_PREFIX),
        file_tiles_of=DATA_PREFIX + "/" if cfg.static else None,
        background=cfg.background,
        auth_config=browser_auth_config(cfg.auth.token_help) if cfg.auth else None,
    )
    return Response(body, media_type="application/javascript", headers={"Cache-Control": "no-store"})


def _common_routes(cfg: ServeConfig) -> list[Any]:
    if not cfg.data_root.is_dir():
        raise MissingInputError(f"{cfg.data_root}: data root not found (the results folder to serve at /data/)")
    routes: list[Any] = []
    if cfg.has_browser():
        assert cfg.browser_dist is not None
        routes += [
            Route("/", lambda r: RedirectResponse(BROWSER_PREFIX + "/"), include_in_schema=False),
            Route(BROWSER_PREFIX, lambda r: RedirectResponse(BROWSER_PREFIX + "/"), include_in_schema=False),
            Route(BROWSER_PREFIX + "/config.js", lambda r: _browser_config_js(cfg, r), include_in_schema=False),
            Mount(BROWSER_PREFIX, StaticFiles(directory=cfg.browser_dist, html=True), name="browser"),
        ]
    else:
        hint = (
            f"STAC Browser is not built ({cfg.browser_dist}/index.html missing): run web/build.sh. "
            f"The {'catalog' if cfg.static else 'STAC API'} is at "
            f"{cfg.catalog_path() if cfg.static else API_PREFIX + '/'}\n"
        )
        routes.append(Route("/", lambda r: PlainTextResponse(hint), include_in_schema=False))
    routes += metadata_routes(cfg.data_root / "metadata")
    if cfg.csw_url:
        routes += csw_routes(cfg.csw_url, cfg.csw_check)
    routes.append(Mount(DATA_PREFIX, StaticFiles(directory=cfg.data_root), name="data"))
    return routes


def create_app(cfg: ServeConfig) -> Any:
    """The ASGI app serving the API (or static catalog), STAC Browser and the data root, access levels enforced.

    Raises:
        MissingInputError: the data root or the static catalog does not exist.
        ConfigError: no database settings (database mode), or the catalog is not below the data root.
    """
    if cfg.static:
        assert cfg.static_catalog is not None
        if not cfg.static_catalog.is_file():
            raise MissingInputError(f"{cfg.static_catalog}: catalog not found (run `sporbar publish` first)")
        cfg.catalog_path()  # checks it is below the data root
        from sporbar.serve.file_tiles import create_file_tiles_app
        from sporbar.serve.tiles import MountedApp

        file_tiles = Mount(FILE_TILES_PREFIX, MountedApp(create_file_tiles_app(cfg.data_root, DATA_PREFIX)))
        levels = AccessLevels(static_levels(cfg.static_catalog))
        return protect(Starlette(routes=[*_common_routes(cfg), file_tiles]), levels=levels, data_root=cfg.data_root,
                       auth=cfg.auth, api=False, layout=cfg.layout)

    from contextlib import asynccontextmanager

    from sporbar import __version__

    landing = {
        "STAC_FASTAPI_TITLE": cfg.title,
        "STAC_FASTAPI_DESCRIPTION": "sporbar land-ecology products and their provenance",
        "STAC_FASTAPI_LANDING_ID": "sporbar",
        "STAC_FASTAPI_VERSION": __version__,
    }
    for key, value in landing.items():  # before the import: stac_fastapi builds Settings() on import
        os.environ.setdefault(key, value)
    from stac_fastapi.pgstac.app import instantiate_api
    from stac_fastapi.pgstac.config import Settings
    from stac_fastapi.pgstac.db import close_db_connection, connect_to_db

    from sporbar.serve.tiles import MountedApp, create_tiles_app, open_pool, pool_conninfo

    pg = postgres_settings(cfg.dsn)
    tiles = create_tiles_app(cfg.data_root, DATA_PREFIX)

    @asynccontextmanager
    async def lifespan(app: Any) -> Any:
        await connect_to_db(app, postgres_settings=pg)
        close_tiles_pool = open_pool(tiles, pool_conninfo(pg))
        try:
            yield
        finally:
            close_tiles_pool()
            await close_db_connection(app)

    settings = Settings(
        prefix_path=API_PREFIX,
        stac_fastapi_title=cfg.title,
        stac_fastapi_description=landing["STAC_FASTAPI_DESCRIPTION"],
        stac_fastapi_landing_id="sporbar",
        stac_fastapi_version=__version__,
        openapi_url=API_PREFIX + "/api",
        docs_url=API_PREFIX + "/api.html",
    )
    api = instantiate_api(settings=settings, lifespan=lifespan)
    app: Starlette = api.app
    for route in _common_routes(cfg):
        app.router.routes.append(route)
    app.router.routes.append(Mount(TILES_PREFIX, MountedApp(tiles), name="tiles"))
    conninfo = pool_conninfo(pg)
    return protect(
        Localise(app, prefix=API_PREFIX, landing=norwegian_landing(cfg.title)),
        levels=AccessLevels(pgstac_levels(conninfo)),
        data_root=cfg.data_root,
        auth=cfg.auth,
        search_collections=pgstac_search_collections(conninfo),
        layout=cfg.layout,
    )
