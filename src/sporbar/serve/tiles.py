"""Map tiles from the catalog: titiler-pgstac mounted in ``sporbar serve`` at ``/tiles/``.

Routes (below ``/tiles``), all titiler-pgstac's own except ``/mosaics``::

    /collections/{collection}/items/{item}/tiles/{tms}/{z}/{x}/{y}.png?assets=classes&colormap=...
    /collections/{collection}/items/{item}/WMTSCapabilities.xml    one layer per legend render
    /searches/register  (POST), /searches/{id}/tiles/..., /searches/{id}/WMTSCapabilities.xml
    /mosaics/{collection}                      registers "every item of the collection" as a
                                               mosaic (one layer) and returns its id and links
    /mosaics/{collection}/WMTSCapabilities.xml redirect to that mosaic's WMTS (QGIS, ArcGIS)

Asset hrefs published with ``--asset-base-url /data/`` are root-relative; the readers here map
them to the files below the served data root, so tiles are read from disk, not over HTTP. The
legend colours come from the items' ``classification:classes`` (``sporbar.serve.legend``) as
renders, so each WMTS lists a ``<asset>-legend`` layer drawn in the class colours.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import attr
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from psycopg.rows import dict_row
from rio_tiler.errors import EmptyMosaicError, InvalidColorFormat, NoAssetFoundError
from starlette import status
from starlette.responses import JSONResponse, RedirectResponse, Response
from titiler.core.dependencies import ColorMapParams
from titiler.core.errors import DEFAULT_STATUS_CODES, add_exception_handlers
from titiler.core.factory import MultiBaseTilerFactory
from titiler.extensions.wmts import wmtsExtension
from titiler.mosaic.errors import MOSAIC_STATUS_CODES
from titiler.mosaic.extensions.wmts import wmtsExtension as wmtsExtensionMosaic
from titiler.pgstac import model
from titiler.pgstac.dependencies import ItemIdParams, SearchIdParams, register_search_in_db
from titiler.pgstac.errors import PGSTAC_STATUS_CODES
from titiler.pgstac.extensions import searchInfoExtension
from titiler.pgstac.factory import MosaicTilerFactory, add_search_list_route, add_search_register_route
from titiler.pgstac.reader import PgSTACReader, SimpleSTACReader

from sporbar.serve.legend import legend_renders, render_query

#: the web map tile grid browsers and GIS tools ask for
WEB_MERCATOR: Final = "WebMercatorQuad"


def local_href(href: str, data_root: Path, data_prefix: str) -> str:
    """The file below ``data_root`` that a root-relative ``data_prefix`` href names; other hrefs unchanged.

    Args:
        href: an asset href as stored in pgstac (``/data/maps/...`` or a full URL).
        data_root: the folder served at ``data_prefix``.
        data_prefix: URL path of the data root, e.g. ``/data``.

    Returns:
        A local path for rasterio, or ``href`` itself.

    Raises:
        HTTPException: 404 when the href climbs out of the data root (``..``).
    """
    prefix = data_prefix.rstrip("/") + "/"
    if not href.startswith(prefix):
        return href
    root = data_root.resolve()
    path = (root / href[len(prefix) :]).resolve()
    if not path.is_relative_to(root):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{href}: asset href outside the served data root")
    return str(path)


def _readers(data_root: Path, data_prefix: str) -> tuple[type[PgSTACReader], type[SimpleSTACReader]]:
    """Item and mosaic readers that read ``/data/`` assets from ``data_root``."""

    @attr.s
    class ItemReader(PgSTACReader):
        """PgSTACReader over the served data root."""

        def _get_asset_info(self, asset: Any) -> Any:
            info = super()._get_asset_info(asset)
            info["url"] = local_href(info["url"], data_root, data_prefix)
            return info

    @attr.s
    class MosaicItemReader(SimpleSTACReader):
        """SimpleSTACReader (one item of a mosaic) over the served data root."""

        def _get_asset_info(self, asset: Any) -> Any:
            info = super()._get_asset_info(asset)
            info["url"] = local_href(info["url"], data_root, data_prefix)
            return info

    return ItemReader, MosaicItemReader


def colormap_params(
    colormap_name: str | None = Query(None, description="Colormap name (titiler's named colormaps)"),
    colormap: str | None = Query(None, description='JSON colormap {"<pixel value>": "#RRGGBB", ...}'),
) -> Any:
    """Titiler's colormap parameters, with a malformed colormap answered 400 (titiler gives 500 for some)."""
    try:
        return ColorMapParams(colormap_name=colormap_name, colormap=colormap)
    except HTTPException:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, InvalidColorFormat) as err:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"colormap={colormap!r}: not a JSON object of pixel value -> colour ({err})",
        ) from err


def _as_tile_params(renders: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Renders in titiler's query form: the colormap as a JSON string, no title."""
    return {name: dict(render_query(render)) for name, render in renders.items()}


def _item_renders(reader: Any) -> dict[str, dict[str, Any]]:
    return _as_tile_params(legend_renders({key: asset.to_dict() for key, asset in reader.item.assets.items()}))


def _search_renders(backend: Any) -> dict[str, dict[str, Any]]:
    renders: dict[str, dict[str, Any]] = backend.info().metadata.defaults or {}
    return _as_tile_params(renders)


class MountedApp:
    """ASGI wrapper that makes the mount path (``/tiles``) part of the app's own base URL.

    Starlette builds ``request.base_url`` from the top-level app's root, so URLs that titiler
    writes (tilejson, WMTS tile templates) would miss ``/tiles``; here the mounted app's
    ``root_path`` becomes its ``app_root_path``.
    """

    def __init__(self, app: FastAPI) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Call the app with ``app_root_path`` = the mount's ``root_path``."""
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "app_root_path": scope.get("root_path", "")}
        await self.app(scope, receive, send)


def _first_item(request: Request, collection_id: str) -> dict[str, Any]:
    """One item of the collection (its assets carry the legend), from pgstac."""
    query = json.dumps({"collections": [collection_id], "limit": 1})
    with request.app.state.dbpool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute("SELECT * FROM pgstac.search(%s);", (query,))
        features = (cursor.fetchone() or {}).get("search", {}).get("features") or []
    if not features:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"collection {collection_id!r} has no items in the STAC API: nothing to draw "
            "(publish it with `sporbar publish --to pgstac`)",
        )
    feature: dict[str, Any] = features[0]
    return feature


def register_collection_mosaic(request: Request, collection_id: str, datetime: str | None) -> dict[str, Any]:
    """Register "every item of ``collection_id`` (in ``datetime``)" as a pgstac search with legend renders.

    Registering the same search again returns the same id (pgstac hashes the search).

    Returns:
        ``{"id", "renders", "links"}``: the search id and its tilejson/WMTS URLs.
    """
    item = _first_item(request, collection_id)
    renders = legend_renders(item.get("assets") or {})
    body: dict[str, Any] = {"collections": [collection_id]}
    if datetime:
        body["datetime"] = datetime
    try:
        search = model.PgSTACSearch.model_validate(body)
    except ValueError as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"datetime={datetime!r}: {err}") from err
    metadata = model.Metadata(name=f"{collection_id} mosaic", defaults=renders or None)
    with request.app.state.dbpool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
        info = register_search_in_db(cursor, search, metadata)
    search_id = info.id
    base = str(request.base_url).rstrip("/")  # ends in /tiles (see MountedApp)
    query = ""
    if renders:  # the legend render (the first, by asset key) as the default drawing
        query = "?" + urlencode(render_query(next(iter(renders.values()))), doseq=True)
    links = {
        "tilejson": f"{base}/searches/{search_id}/{WEB_MERCATOR}/tilejson.json{query}",
        "wmts": f"{base}/searches/{search_id}/WMTSCapabilities.xml",
        "tiles": f"{base}/searches/{search_id}/tiles/{WEB_MERCATOR}/{{z}}/{{x}}/{{y}}.png{query}",
        "viewer": f"{base}/searches/{search_id}/{WEB_MERCATOR}/map.html{query}",
    }
    return {"id": search_id, "collection": collection_id, "renders": renders, "links": links}


def _mosaic_routes(app: FastAPI) -> None:
    @app.get("/mosaics/{collection_id}", tags=["sporbar"])
    def collection_mosaic(
        request: Request,
        collection_id: str = PathParam(description="STAC collection whose items form the mosaic"),
        datetime: str | None = Query(None, description="RFC 3339 interval, e.g. 2024-01-01/2024-12-31"),
    ) -> JSONResponse:
        """Register the collection (optionally one time span) as one mosaic layer; its id and links."""
        return JSONResponse(register_collection_mosaic(request, collection_id, datetime))

    @app.get("/mosaics/{collection_id}/WMTSCapabilities.xml", tags=["sporbar"])
    def collection_mosaic_wmts(
        request: Request,
        collection_id: str = PathParam(description="STAC collection whose items form the mosaic"),
        datetime: str | None = Query(None, description="RFC 3339 interval"),
    ) -> Response:
        """Redirect to the WMTS GetCapabilities of the collection's mosaic (for QGIS/ArcGIS)."""
        mosaic = register_collection_mosaic(request, collection_id, datetime)
        return RedirectResponse(mosaic["links"]["wmts"], status_code=status.HTTP_307_TEMPORARY_REDIRECT)


def supported_tms() -> Any:
    """The tile grids served: web mercator (browsers, QGIS) and CRS84 (GIS tools in lon/lat).

    Fewer grids than titiler's default dozen keep each WMTS document short: every grid is a
    layer per render there.
    """
    import morecantile

    return morecantile.defaults.TileMatrixSets(
        {name: morecantile.tms.get(name) for name in (WEB_MERCATOR, "WorldCRS84Quad")}
    )


def create_tiles_app(data_root: Path, data_prefix: str) -> FastAPI:
    """The titiler-pgstac app to mount at ``/tiles``; ``app.state.dbpool`` is set by the caller's lifespan.

    Args:
        data_root: the folder served at ``data_prefix`` (where ``/data/`` asset hrefs point).
        data_prefix: URL path of the data root.

    Returns:
        The FastAPI app (item tiles, search mosaics, WMTS, sporbar's collection mosaics).
    """
    item_reader, mosaic_reader = _readers(data_root, data_prefix)
    app = FastAPI(title="sporbar map tiles (titiler-pgstac)", openapi_url="/api", docs_url="/api.html")
    errors: dict[type[Exception], int] = {**DEFAULT_STATUS_CODES, **MOSAIC_STATUS_CODES}
    errors.update((exc, code) for exc, code in PGSTAC_STATUS_CODES.items())
    # titiler answers a mosaic tile with no data 204; a tile outside the map is a clear 404 here
    errors[NoAssetFoundError] = status.HTTP_404_NOT_FOUND
    errors[EmptyMosaicError] = status.HTTP_404_NOT_FOUND
    add_exception_handlers(app, errors)

    common: dict[str, Any] = {
        "colormap_dependency": colormap_params,
        "add_viewer": True,
        "supported_tms": supported_tms(),
    }
    searches = MosaicTilerFactory(
        path_dependency=SearchIdParams,
        router_prefix="/searches/{search_id}",
        dataset_reader=mosaic_reader,
        add_statistics=False,
        add_part=False,
        get_renders=_search_renders,
        extensions=[searchInfoExtension(), wmtsExtensionMosaic()],  # layer ids: <search id>_<tms>_<render>
        **common,
    )
    app.include_router(searches.router, tags=["STAC Search"], prefix="/searches/{search_id}")
    add_search_list_route(app, prefix="/searches", tags=["STAC Search"])
    add_search_register_route(
        app,
        prefix="/searches",
        tile_dependencies=[
            searches.layer_dependency,
            searches.dataset_dependency,
            searches.pixel_selection_dependency,
            searches.process_dependency,
            searches.render_dependency,
            searches.assets_accessor_dependency,
            searches.reader_dependency,
            searches.backend_dependency,
        ],
        tags=["STAC Search"],
    )
    items = MultiBaseTilerFactory(
        reader=item_reader,
        path_dependency=ItemIdParams,
        router_prefix="/collections/{collection_id}/items/{item_id}",
        get_renders=_item_renders,
        extensions=[wmtsExtension(layer_identifier_provider=lambda item: item.id)],
        **common,
    )
    app.include_router(items.router, tags=["STAC Item"], prefix="/collections/{collection_id}/items/{item_id}")
    _mosaic_routes(app)
    return app


def pool_conninfo(settings: Any) -> str:
    """The libpq conninfo of stac-fastapi-pgstac's PostgresSettings (the same database for tiles)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        user=settings.pguser,
        password=settings.pgpassword,
        host=settings.pghost,
        port=str(settings.pgport),
        dbname=settings.pgdatabase,
    )


def open_pool(app: FastAPI, conninfo: str) -> Callable[[], None]:
    """Open the psycopg pool titiler-pgstac reads from (``app.state.dbpool``); returns its closer."""
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(
        conninfo=conninfo,
        min_size=1,
        max_size=10,
        kwargs={"options": "-c search_path=pgstac,public -c application_name=sporbar-tiles"},
        open=True,
    )
    pool.wait()
    app.state.dbpool = pool
    return pool.close
