"""Map tiles over the served files (``sporbar serve --static``): a COG below the data root is
drawn in the colours asked for; anything else is a 404 and never opened."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from odc.geo.geobox import GeoBox
from starlette.testclient import TestClient

from sporbar.raster import write_cog
from sporbar.serve.file_tiles import create_file_tiles_app

FOREST = "#1B7837"
# rio-tiler (under titiler) multiplies Affine objects with `*`, which affine 3 marks pending-deprecated
pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul instead of:PendingDeprecationWarning")


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    """The tiler over ``tmp_path/data`` (served at /data) with one class COG, all forest (1)."""
    root = tmp_path / "data"
    (root / "maps").mkdir(parents=True)
    geobox = GeoBox.from_bbox((268800, 7030400, 275200, 7036800), crs="EPSG:25833", resolution=10)
    write_cog(root / "maps" / "classes.tif", np.ones(geobox.shape.yx, dtype=np.uint8), geobox, nodata=0)
    (tmp_path / "secret.tif").write_bytes((root / "maps" / "classes.tif").read_bytes())
    return TestClient(create_file_tiles_app(root, "/data"))


def _tile(client: TestClient, url: str, z: int = 12, x: int = 2166, y: int = 1109) -> object:
    colormap = json.dumps({"1": FOREST})
    return client.get(f"/tiles/WebMercatorQuad/{z}/{x}/{y}.png", params={"url": url, "colormap": colormap})


def test_a_cog_below_the_data_root_is_drawn_in_its_colours(client: TestClient) -> None:
    from PIL import Image

    info = client.get("/info", params={"url": "/data/maps/classes.tif"})
    assert info.status_code == 200, info.text
    bounds = info.json()["bounds"]
    assert len(bounds) == 4
    r = _tile(client, "/data/maps/classes.tif")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    rgba = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGBA"))
    drawn = rgba[rgba[..., 3] > 0]
    assert len(drawn) > 1000
    assert (drawn[:, :3] == (0x1B, 0x78, 0x37)).all()  # forest in its legend colour, nothing else


@pytest.mark.parametrize(
    "url",
    ["/data/../secret.tif", "/data/maps/missing.tif", "/secret.tif", "file:///etc/passwd", "http://example.org/x.tif"],
)
def test_anything_but_a_file_below_the_data_root_is_404(client: TestClient, url: str) -> None:
    r = _tile(client, url)
    assert r.status_code == 404, (url, r.status_code, r.text)
    assert "no file below /data/" in r.text or "outside the served data root" in r.text


def test_a_tile_outside_the_file_is_404(client: TestClient) -> None:
    r = _tile(client, "/data/maps/classes.tif", z=12, x=0, y=0)
    assert r.status_code == 404, r.text


def test_a_file_that_is_no_raster_is_415_without_its_path(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "data" / "maps" / "notes.tif").write_text("not a raster")
    r = _tile(client, "/data/maps/notes.tif")
    assert r.status_code == 415, r.text
    assert "not a raster" in r.text and str(tmp_path) not in r.text
