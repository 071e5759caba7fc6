"""One lazy datacube across tiles: the ARD of any bbox and time range, opened from the catalog.

A researcher on Sigma2 writes::

    import sporbar
    cube = sporbar.open_cube("results/catalog/catalog.json", bbox=(268800, 7029760, 271360, 7032320),
                             time="2024-06-01/2024-08-31")
    cube.reflectance.sel(band="B08").median("time").plot()

and gets one ``xarray.Dataset`` on the national grid: ``reflectance`` (time, band, y, x) float32,
cloud-masked (NaN where not clear), with every clear observation of every tile the bbox
touches. Nothing is read until asked: each tile's Zarr cube (written by ``sporbar ard``, listed
as the ``cube`` asset of its ARD item) is opened lazily, so the Dask chunks are the tiles' own
chunks and never straddle a tile border. Tiles whose scenes differ get the union of the dates
(NaN where a tile has no observation). The CRS is attached with odc-geo, so ``cube.odc.geobox``
is the grid of the result.

As odc-stac's ``load`` does for raw items, the items are found through STAC (the static
catalog here), not by walking folders.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from sporbar.ard.write import open_cube as open_tile_cube
from sporbar.errors import CatalogError, ConfigError
from sporbar.stac import extensions as ext
from sporbar.stac.hrefs import resolve_href
from sporbar.stac.reader import StacDoc, read_catalog

CUBE_ASSET = "cube"


def _tile_bounds(props: dict[str, Any]) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of a north-up tile from ``proj:transform`` and ``proj:shape``."""
    a, _, c, _, e, f = props["proj:transform"][:6]
    rows, cols = props["proj:shape"]
    return c, f + e * rows, c + a * cols, f


def _parse_time(time: str | Sequence[str] | None) -> tuple[str | None, str | None]:
    if time is None:
        return None, None
    parts = time.split("/") if isinstance(time, str) else list(time)
    if len(parts) != 2:
        raise ConfigError(f"time {time!r}: give START/END (ISO dates, either may be '..' for open)")
    start, end = (None if p in ("", "..") else str(p) for p in parts)
    return start, end


def _grid_bbox(bbox: Sequence[float], bbox_crs: str | None, grid_crs: str) -> tuple[float, float, float, float]:
    if len(bbox) != 4 or not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
        raise ConfigError(f"bbox {list(bbox)}: give minx miny maxx maxy with min < max")
    if bbox_crs is None or bbox_crs == grid_crs:
        return float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])
    from pyproj import Transformer

    t = Transformer.from_crs(bbox_crs, grid_crs, always_xy=True)
    x0, y0, x1, y1 = t.transform_bounds(bbox[0], bbox[1], bbox[2], bbox[3])
    return float(x0), float(y0), float(x1), float(y1)


def ard_items(catalog_json: Path) -> list[StacDoc]:
    """The ARD items of the static catalog (or ARD collection) at ``catalog_json``.

    Raises:
        CatalogError: the catalog has no ARD collection (names the collections it has).
    """
    collections, items = read_catalog(Path(catalog_json))
    if ext.COLLECTION_ARD not in items:
        have = ", ".join(str(c.data["id"]) for c in collections)
        raise CatalogError(f"{catalog_json}: no {ext.COLLECTION_ARD!r} collection in the catalog (it has {have})")
    return sorted(items[ext.COLLECTION_ARD], key=lambda d: str(d.data["id"]))


def open_cube(
    catalog: Path | str,
    bbox: Sequence[float] | None = None,
    time: str | Sequence[str] | None = None,
    *,
    bbox_crs: str | None = None,
) -> xr.Dataset:
    """Open the ARD of ``bbox`` and ``time`` from the catalog as one lazy Dataset on the grid.

    Args:
        catalog: the static catalog's ``catalog.json`` (or the ARD ``collection.json``).
        bbox: (minx, miny, maxx, maxy); pixels whose centre lies inside are kept. Default: all tiles.
        time: ``"START/END"`` (ISO dates or datetimes, inclusive; ``..`` for open) or a pair.
        bbox_crs: the CRS of ``bbox`` (default: the grid's, e.g. EPSG:25833; EPSG:4326 for lon/lat).

    Returns:
        ``reflectance`` (time, band, y, x), float32, NaN where not clear; attribute ``tiles``
        lists the ARD item ids it was opened from.

    Raises:
        CatalogError: no ARD in the catalog, tiles on different grids, or none in ``bbox``.
        ConfigError: a malformed ``bbox`` or ``time``.
    """
    docs = ard_items(Path(catalog))
    crs_codes = {str(d.data["properties"].get("proj:code")) for d in docs}
    if len(crs_codes) != 1:
        raise CatalogError(f"{catalog}: ARD items on more than one grid ({', '.join(sorted(crs_codes))})")
    grid_crs = crs_codes.pop()
    start, end = _parse_time(time)
    box = _grid_bbox(bbox, bbox_crs, grid_crs) if bbox is not None else None
    chosen = []
    for d in docs:
        x0, y0, x1, y1 = _tile_bounds(d.data["properties"])
        if box is None or (x0 < box[2] and box[0] < x1 and y0 < box[3] and box[1] < y1):
            chosen.append(d)
    if not chosen:
        covered = [_tile_bounds(d.data["properties"]) for d in docs]
        extent = (min(b[0] for b in covered), min(b[1] for b in covered),
                  max(b[2] for b in covered), max(b[3] for b in covered))
        raise CatalogError(
            f"{catalog}: no ARD tile in bbox {[round(v, 1) for v in box or ()]} ({grid_crs}); "
            f"the catalog's ARD covers {[round(v, 1) for v in extent]}"
        )
    tiles = []
    for d in chosen:
        asset = d.data.get("assets", {}).get(CUBE_ASSET)
        if asset is None:
            raise CatalogError(f"{d.path}: ARD item {d.data['id']!r} has no {CUBE_ASSET!r} asset")
        tiles.append(open_tile_cube(resolve_href(asset["href"], d.path.parent)).to_dataset())
    cube = xr.combine_by_coords(tiles, join="outer", combine_attrs="drop_conflicts")
    assert isinstance(cube, xr.Dataset)  # combine_by_coords of Datasets gives one
    cube = cube.sortby("y", ascending=False).sortby("x")
    if box is not None:
        cube = cube.sel(x=slice(box[0], box[2]), y=slice(box[3], box[1]))
    if start or end:
        cube = cube.sel(time=slice(start, end))
    from odc.geo.xr import assign_crs

    cube = assign_crs(cube, grid_crs)
    cube.attrs["tiles"] = [str(d.data["id"]) for d in chosen]
    return cube
