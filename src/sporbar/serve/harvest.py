"""Stable URLs of the exported metadata, for harvesters (Felles datakatalog, Geonorge).

``sporbar export-metadata`` (the ``export_metadata`` rule) writes below ``<results>/metadata``::

    dcat/catalog.ttl            -> GET /metadata/dcat/catalog.ttl      (text/turtle)
    iso19139/<record id>.xml    -> GET /metadata/iso19139/<id>.xml     (application/xml)

The URLs do not depend on where the results folder lies or on the server mode (API or
static). A file that is not exported yet is a 404 that says which command writes it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

METADATA_PREFIX: Final = "/metadata"
#: the folders and file ``sporbar.metadata.export`` writes (ISO_DIR, DCAT_DIR, DCAT_FILE there;
#: serve does not import a sibling stage)
DCAT_FILE: Final = "dcat/catalog.ttl"
ISO_DIR: Final = "iso19139"
DCAT_MEDIA_TYPE: Final = "text/turtle; charset=utf-8"
ISO_MEDIA_TYPE: Final = "application/xml"
_RECORD_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # item and collection ids; no path parts


def _missing(path: Path, what: str) -> Response:
    return PlainTextResponse(
        f"{path}: {what} not exported yet; run `sporbar export-metadata` (the pipeline's export_metadata rule)\n",
        status_code=404,
    )


def metadata_routes(metadata_dir: Path) -> list[Any]:
    """Routes of the DCAT-AP-NO catalog and the ISO 19139 records below ``metadata_dir``.

    Args:
        metadata_dir: the folder ``sporbar export-metadata`` writes (``<results>/metadata``).

    Returns:
        Starlette routes.
    """

    def dcat(request: Request) -> Response:
        path = metadata_dir / DCAT_FILE
        if not path.is_file():
            return _missing(path, "the DCAT-AP-NO catalog is")
        return FileResponse(path, media_type=DCAT_MEDIA_TYPE)

    def iso_record(request: Request) -> Response:
        record_id = str(request.path_params["record_id"])
        if not _RECORD_ID.match(record_id):
            return PlainTextResponse(f"{record_id!r}: not a record id (letters, digits, '.', '_', '-')\n", 400)
        path = metadata_dir / ISO_DIR / f"{record_id}.xml"
        if not path.is_file():
            return _missing(path, f"ISO 19139 record {record_id!r} is")
        return FileResponse(path, media_type=ISO_MEDIA_TYPE)

    return [
        Route(f"{METADATA_PREFIX}/{DCAT_FILE}", dcat, methods=["GET", "HEAD"], name="dcat"),
        Route(f"{METADATA_PREFIX}/{ISO_DIR}/{{record_id}}.xml", iso_record, methods=["GET", "HEAD"], name="iso"),
    ]
