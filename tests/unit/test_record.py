"""sporbar.stac.record: reading input items (issue 12.6) and checking the files a stage reads (issue 12.7)."""

from __future__ import annotations

import json
from pathlib import Path

import laspy
import numpy as np
import pystac
import pytest
import rasterio
from affine import Affine

from sporbar.errors import InputDataError, MissingInputError
from sporbar.stac import extensions as ext
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, read_input_item, read_item, record_item


def _geotiff(path: Path) -> Path:
    profile = {"driver": "GTiff", "width": 4, "height": 4, "count": 1, "dtype": "uint8",
               "crs": "EPSG:25833", "transform": Affine(10, 0, 268800, 0, -10, 7030400)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.arange(16, dtype="uint8").reshape(1, 4, 4))
    return path


def _laz(path: Path) -> Path:
    las = laspy.create(point_format=1, file_version="1.2")
    las.header.offsets, las.header.scales = [268800, 7030400, 0], [0.01, 0.01, 0.01]
    las.x, las.y, las.z = np.array([268801.0, 268802.0]), np.array([7030401.0, 7030402.0]), np.array([1.0, 2.0])
    las.write(path, laz_backend=laspy.LazBackend.Lazrs)
    return path


def _recorded_item(folder: Path) -> Path:
    """An item with two real assets, written by record_item (checksums and sizes recorded)."""
    folder.mkdir(parents=True, exist_ok=True)
    item = pystac.Item("t", {"type": "Point", "coordinates": [10.0, 63.3]}, [10.0, 63.3, 10.0, 63.3],
                       pystac.utils.str_to_datetime("2024-06-01T00:00:00Z"), {})
    item.add_asset("data", pystac.Asset(str(_geotiff(folder / "data.tif"))))
    item.add_asset("points", pystac.Asset(str(_laz(folder / "points.laz"))))
    record_item(item, folder / "item.json", inputs=[], step=Step("test", "test"),
                provenance=Provenance.current(config_hash="x"))
    return folder / "item.json"


@pytest.mark.parametrize("kind", ["geotiff", "laz", "empty-object", "list", "folder"])
def test_read_item_names_the_file_that_is_no_item(tmp_path: Path, kind: str) -> None:
    path = {
        "geotiff": lambda: _geotiff(tmp_path / "x.tif"),
        "laz": lambda: _laz(tmp_path / "x.laz"),
        "empty-object": lambda: (tmp_path / "x.json").write_text("{}") and tmp_path / "x.json",
        "list": lambda: (tmp_path / "x.json").write_text("[]") and tmp_path / "x.json",
        "folder": lambda: tmp_path,
    }[kind]()
    with pytest.raises(InputDataError, match="not a STAC item") as err:
        read_item(path)
    assert str(err.value).startswith(f"{path}: ")


def test_read_item_of_a_feature_pystac_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"type": "Feature", "id": "x"}))  # no geometry, properties...
    with pytest.raises(InputDataError, match=f"^{path}: not a readable STAC item"):
        read_item(path)
    with pytest.raises(MissingInputError, match="item not found"):
        read_item(tmp_path / "nope.json")


def test_read_input_item_accepts_untouched_files(tmp_path: Path) -> None:
    path = _recorded_item(tmp_path / "a")
    item = read_input_item(path, ["data", "points"])
    assert item.id == "t" and item.assets["data"].extra_fields[ext.FILE_CHECKSUM].startswith("1220")


def test_read_input_item_refuses_a_changed_file(tmp_path: Path) -> None:
    path = _recorded_item(tmp_path / "a")
    tif = path.parent / "data.tif"
    data = bytearray(tif.read_bytes())
    data[-1] ^= 0xFF  # same size, other bytes
    tif.write_bytes(bytes(data))
    read_input_item(path, ["points"])  # the stage does not read the changed asset: fine
    with pytest.raises(InputDataError, match="has checksum 1220") as err:
        read_input_item(path, ["data", "points"])
    assert str(err.value).startswith(f"{tif.resolve()}: asset 'data' of item 't' ({path})")
    laz = path.parent / "points.laz"
    laz.write_bytes(laz.read_bytes()[:-5])  # truncated
    with pytest.raises(InputDataError, match="bytes, the item records"):
        read_input_item(path, ["points"])


def test_read_input_item_missing_asset_or_file(tmp_path: Path) -> None:
    path = _recorded_item(tmp_path / "a")
    with pytest.raises(MissingInputError, match="has no asset 'cube'"):
        read_input_item(path, ["cube"])
    (path.parent / "data.tif").unlink()
    with pytest.raises(MissingInputError, match="asset 'data' of item 't'"):
        read_input_item(path, ["data"])
