"""``sporbar serve``: STAC API on pgstac (or a static catalog), STAC Browser and the data files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sporbar.serve.app import ServeConfig


@click.command("serve")
@click.option(
    "--static",
    "static",
    is_flag=True,
    default=False,
    help="Serve the static catalog (--catalog) without a database; STAC Browser opens catalog.json.",
)
@click.option(
    "--catalog",
    default=Path("results/catalog/catalog.json"),
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The static catalog.json (with --static).",
)
@click.option(
    "--data-root",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder served at /data/ (default: the folder above the catalog folder, i.e. results/).",
)
@click.option(
    "--dsn",
    default="",
    envvar="SPORBAR_PGSTAC_DSN",
    help="PostgreSQL/pgstac connection string (default: the PG* environment variables).",
)
@click.option(
    "--browser-dist",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Built STAC Browser (default: web/stac-browser/dist, built by web/build.sh).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--title", default="sporbar", show_default=True, help="Title of the API and the browser.")
@click.option(
    "-c",
    "--config",
    "config_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Pipeline config: serve.auth names the identity provider whose tokens open restricted "
    "collections (default: none; only open collections are served); serve.background_map is the "
    "browser's background map (default: Kartverket's topographic map).",
)
@click.option(
    "--csw/--no-csw",
    "csw",
    default=False,
    show_default=True,
    help="Also serve a CSW at /csw (pycsw in .venv-csw) over the exported ISO 19139 records.",
)
def serve(
    static: bool,
    catalog: Path,
    data_root: Path | None,
    dsn: str,
    browser_dist: Path | None,
    host: str,
    port: int,
    title: str,
    config_path: Path | None,
    csw: bool,
) -> None:
    """Serve the STAC API (stac-fastapi-pgstac), STAC Browser and the data files on one port.

    \b
      /api/      STAC API on pgstac (search with pystac-client)
      /browser/  STAC Browser
      /data/     the results folder (assets, thumbnails, the static catalog)
      /tiles/    map tiles, mosaics and WMTS in the legend colours (titiler-pgstac; not --static)
                 QGIS/ArcGIS: /tiles/mosaics/land-ecology-maps/WMTSCapabilities.xml
      /metadata/dcat/catalog.ttl   DCAT-AP-NO for Felles datakatalog (after export-metadata)
      /metadata/iso19139/<id>.xml  the ISO 19139 records
      /csw       with --csw: CSW (pycsw) over those records, the harvest source for Geonorge

    \b
    Restricted and closed collections (sporbar:access; catalog.access in the config) are
    served only with 'Authorization: Bearer <token>' from the identity provider of the
    config's serve.auth; without -c, only open collections are served.

    \b
      $ eval "$(services/postgres.sh start)"
      $ sporbar publish --to pgstac --asset-base-url /data/ -c config/config.yaml \\
          -o results/catalog/catalog.json
      $ sporbar serve                    # then open http://127.0.0.1:8000/browser/
      $ sporbar serve --static           # no database: browse results/catalog/catalog.json
                                         # (map tiles of the files at /tiles/files/)
      $ sporbar serve --csw              # also the CSW at http://127.0.0.1:8000/csw
    """
    import uvicorn

    from sporbar.config import load
    from sporbar.serve.app import ServeConfig, create_app, default_browser_dist
    from sporbar.serve.auth import AuthSettings
    from sporbar.stac.layout import ItemLayout
    from sporbar.workflow import plan

    auth = None
    background = None
    contact_email = None
    if config_path is not None:
        from sporbar.metadata.export import contact_email as configured_email

        loaded = load(config_path)
        auth = AuthSettings.from_config(loaded.data, loaded.source)
        background = loaded.data.get("serve", {}).get("background_map")
        contact_email = configured_email(loaded)
    cfg = ServeConfig(
        data_root=(data_root or catalog.resolve().parent.parent).resolve(),
        static_catalog=catalog.resolve() if static else None,
        browser_dist=(browser_dist or default_browser_dist()).resolve(),
        dsn=dsn,
        title=title,
        auth=auth,
        layout=ItemLayout.from_patterns(plan.PATTERNS),
        background=background,
    )
    if csw:
        cfg = _with_csw(cfg, f"http://{host}:{port}", contact_email)
    app = create_app(cfg)
    base = f"http://{host}:{port}"
    if cfg.has_browser():
        click.echo(f"STAC Browser: {base}/browser/", err=True)
    else:
        click.echo(f"STAC Browser not built ({cfg.browser_dist}): run web/build.sh", err=True)
    if cfg.static:
        click.echo(f"static catalog: {base}{cfg.catalog_path()}", err=True)
    else:
        click.echo(f"STAC API: {base}/api/", err=True)
        click.echo(f"map tiles (WMTS): {base}/tiles/mosaics/<collection>/WMTSCapabilities.xml", err=True)
    if cfg.csw_url:
        click.echo(f"CSW: {base}/csw?service=CSW&request=GetCapabilities", err=True)
    click.echo(f"data: {base}/data/ -> {cfg.data_root}", err=True)
    if auth is None:
        click.echo("access: open collections only (no serve.auth: no token is accepted)", err=True)
    else:
        click.echo(f"access: tokens of {auth.oidc_discovery_url} open restricted collections", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _with_csw(cfg: ServeConfig, base: str, contact_email: str | None) -> ServeConfig:
    """Start pycsw over the data root's ISO 19139 records (stopped at exit); ``cfg`` with its URL.

    ``contact_email`` (the config's ``metadata.contact_email``) is the service contact in the capabilities.
    """
    import atexit
    import signal
    import sys
    from dataclasses import replace

    from sporbar.serve.csw import CSW_PREFIX, start_csw

    # uvicorn re-raises SIGTERM after its graceful shutdown; the default action would skip atexit
    # (on SIGKILL gunicorn still dies with us: PR_SET_PDEATHSIG, its temporary folder stays)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    pycsw = start_csw(
        cfg.data_root / "metadata" / "iso19139",
        public_url=base + CSW_PREFIX,
        title=cfg.title,
        contact_email=contact_email,
    )
    atexit.register(pycsw.stop)
    click.echo(f"CSW: {pycsw.records} ISO 19139 record(s) loaded into pycsw", err=True)
    return replace(cfg, csw_url=pycsw.url, csw_check=pycsw.watch.check if pycsw.watch else None)


if __name__ == "__main__":  # pragma: no cover - `python -m sporbar.cli.serve` until registered
    serve()
