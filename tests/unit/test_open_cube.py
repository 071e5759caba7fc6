"""sporbar.open_cube: the ARD of any bbox and time range as one lazy Dataset across tiles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

import sporbar
from sporbar.ard.write import write_cube
from sporbar.cli.main import cli
from sporbar.errors import CatalogError, ConfigError
from sporbar.stac import extensions as ext

PX, RES, X0, Y1 = 8, 10.0, 268800.0, 7031040.0  # 2 x 2 tiles of 8 px on the 10 m grid
BANDS = ["B04", "B08"]
DATES = pd.to_datetime(["2024-06-01T10:40", "2024-07-01T10:40", "2024-08-01T10:40"])


def _tile(col: int, row: int, times: pd.DatetimeIndex, folder: Path) -> dict:
    x0, ymax = X0 + col * PX * RES, Y1 - row * PX * RES
    value = 10 * row + col  # tells the tiles apart
    data = np.full((len(times), len(BANDS), PX, PX), value, dtype="float32")
    da = xr.DataArray(
        data,
        dims=("time", "band", "y", "x"),
        coords={"time": times, "band": BANDS,
                "y": ymax - RES * (np.arange(PX) + 0.5), "x": x0 + RES * (np.arange(PX) + 0.5)},
        attrs={"crs": "EPSG:25833"},
    )
    tid = f"ard-E{int(x0)}N{int(ymax - PX * RES)}"
    write_cube(folder / tid / "cube.zarr", da)
    return {
        "type": "Feature", "stac_version": "1.1.0", "id": tid,
        "properties": {"proj:code": "EPSG:25833", "proj:shape": [PX, PX],
                       "proj:transform": [RES, 0.0, x0, 0.0, -RES, ymax, 0.0, 0.0, 1.0]},
        "assets": {"cube": {"href": "./cube.zarr"}}, "links": [],
    }


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    coll_dir = tmp_path / "catalog" / ext.COLLECTION_ARD
    items = [_tile(c, r, DATES if (c, r) != (1, 1) else DATES[:2], coll_dir) for r in (0, 1) for c in (0, 1)]
    for d in items:
        (coll_dir / d["id"] / f"{d['id']}.json").write_text(json.dumps(d))
    coll = {"type": "Collection", "id": ext.COLLECTION_ARD,
            "links": [{"rel": "item", "href": f"./{d['id']}/{d['id']}.json"} for d in items]}
    (coll_dir / "collection.json").write_text(json.dumps(coll))
    cat = tmp_path / "catalog" / "catalog.json"
    cat.write_text(json.dumps({"type": "Catalog", "id": "c",
                               "links": [{"rel": "child", "href": f"./{ext.COLLECTION_ARD}/collection.json"}]}))
    return cat


def test_all_tiles_as_one_grid(catalog: Path) -> None:
    cube = sporbar.open_cube(catalog)
    r = cube.reflectance
    assert r.dims == ("time", "band", "y", "x") and r.shape == (3, 2, 2 * PX, 2 * PX)
    assert tuple(cube.odc.geobox.affine)[:6] == (RES, 0, X0, 0, -RES, Y1) and cube.odc.geobox.crs.epsg == 25833
    v = r.sel(band="B04").values
    for row in (0, 1):
        for col in (0, 1):
            block = v[:2, row * PX:(row + 1) * PX, col * PX:(col + 1) * PX]
            assert np.all(block == 10 * row + col)
    # the tile without the August scene is NaN there, the others are not
    assert np.isnan(v[2, PX:, PX:]).all() and not np.isnan(v[2, :PX, :]).any()
    # lazily opened, and no chunk straddles a tile border
    assert r.chunks is not None and all(c == PX for c in r.chunks[2] + r.chunks[3])


def test_bbox_and_time(catalog: Path) -> None:
    # centres inside the bbox: x from the 6th pixel of the left tile to the 2nd of the right one
    box = (X0 + 5 * RES, Y1 - 3 * RES, X0 + 10 * RES, Y1)
    cube = sporbar.open_cube(catalog, bbox=box, time="2024-06-15/2024-08-31")
    assert cube.reflectance.shape == (2, 2, 3, 5)
    assert list(cube.time.dt.month.values) == [7, 8]
    assert cube.attrs["tiles"] == ["ard-E268800N7030960", "ard-E268880N7030960"]
    assert float(cube.x.min()) == X0 + 5.5 * RES and float(cube.x.max()) == X0 + 9.5 * RES


def test_bbox_in_lon_lat(catalog: Path) -> None:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:25833", "EPSG:4326", always_xy=True).transform(X0 + 40, Y1 - 40)
    cube = sporbar.open_cube(catalog, bbox=(lon - 1e-4, lat - 1e-4, lon + 1e-4, lat + 1e-4), bbox_crs="EPSG:4326")
    assert cube.attrs["tiles"] == ["ard-E268800N7030960"] and cube.reflectance.shape[2:] == (2, 2)


def test_bad_requests_are_named(catalog: Path, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no ARD tile in bbox .* the catalog's ARD covers"):
        sporbar.open_cube(catalog, bbox=(0, 0, 10, 10))
    with pytest.raises(ConfigError, match="min < max"):
        sporbar.open_cube(catalog, bbox=(10, 0, 0, 10))
    with pytest.raises(ConfigError, match="START/END"):
        sporbar.open_cube(catalog, time="2024-06-01")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"type": "Collection", "id": "models", "links": []}))
    with pytest.raises(CatalogError, match="no 'sentinel-2-ard' collection in the catalog .it has models"):
        sporbar.open_cube(other)


def test_cli_prints_and_writes(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "subset.zarr"
    r = CliRunner().invoke(cli, ["cube", str(catalog), "--bbox", str(X0), str(Y1 - 80), str(X0 + 80), str(Y1),
                                 "--time", "2024-06-01/..", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "1 tile(s)" in r.output and "3 date(s)" in r.output
    written = xr.open_zarr(out)
    assert written.reflectance.shape == (3, 2, PX, PX) and float(written.reflectance.max()) == 0.0
