"""Map tiles over the served files, for ``sporbar serve --static`` (no pgstac, no titiler-pgstac).

titiler's COG tiler mounted at ``/tiles/files``; the file is named by its URL path below
``/data/`` (what an asset href of the static catalog resolves to), so STAC Browser draws an
item's class map in its legend colours without a database::

    /tiles/files/tiles/WebMercatorQuad/{z}/{x}/{y}.png?url=/data/maps/.../classes.tif&colormap=...

Only files below the served data root are read: any other ``url`` (a path outside ``/data/``,
``..``, a full URL, a missing file) is answered 404, never opened.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Query, Request
from rasterio.errors import RasterioIOError
from starlette import status
from starlette.responses import JSONResponse
from titiler.core.errors import DEFAULT_STATUS_CODES, add_exception_handlers
from titiler.core.factory import TilerFactory

from sporbar.serve.tiles import colormap_params, local_href, supported_tms


def data_file_dependency(data_root: Path, data_prefix: str) -> object:
    """A FastAPI dependency: the ``url`` query parameter as a file below ``data_root``.

    Args:
        data_root: the folder served at ``data_prefix``.
        data_prefix: URL path of the data root, e.g. ``/data``.

    Returns:
        The dependency (``url`` -> local path for rasterio).
    """

    def data_file(
        url: str = Query(description="URL path of a COG below the served data root, e.g. /data/maps/.../classes.tif"),
    ) -> str:
        path = local_href(url, data_root, data_prefix)
        if path == url or not Path(path).is_file():
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"url={url!r}: no file below {data_prefix.rstrip('/')}/ to draw"
            )
        return path

    return data_file


def create_file_tiles_app(data_root: Path, data_prefix: str) -> FastAPI:
    """The COG tile app to mount at ``/tiles/files`` in static mode.

    Args:
        data_root: the folder served at ``data_prefix``.
        data_prefix: URL path of the data root.

    Returns:
        The FastAPI app (tiles, tilejson, info of one file at a time).
    """
    app = FastAPI(title="sporbar map tiles over the files (titiler)", openapi_url="/api", docs_url="/api.html")
    add_exception_handlers(app, DEFAULT_STATUS_CODES)  # a tile outside the file: 404

    @app.exception_handler(RasterioIOError)
    async def not_a_raster(request: Request, exc: RasterioIOError) -> JSONResponse:
        # a file GDAL cannot read (a GeoPackage, a text file): named by its URL, not its path on disk
        url = request.query_params.get("url")
        return JSONResponse({"detail": f"url={url!r}: not a raster the tiler can read"}, status_code=415)

    cog = TilerFactory(
        path_dependency=data_file_dependency(data_root, data_prefix),  # type: ignore[arg-type]
        colormap_dependency=colormap_params,
        supported_tms=supported_tms(),
        add_preview=False,
        add_part=False,
        add_viewer=False,
        add_ogc_maps=False,
    )
    app.include_router(cog.router)
    return app
