"""`sporbar fetch lidar`: copy, CRS check, raw item with the pointcloud extension."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import laspy
import numpy as np
import pytest
from _lidar_fixtures import Area, area, fetch_demo_tile, other_crs_las  # noqa: F401
from click.testing import CliRunner

from sporbar.cli.main import cli
from sporbar.errors import MissingInputError, NoCrsError, OutputExistsError
from sporbar.io import sha256_multihash
from sporbar.stac.validate import validate_item_dict


def _invoke(area: Area, tile: str, out: Path, *extra: str, source: Path | None = None):  # noqa: F811
    return CliRunner().invoke(
        cli,
        [
            "fetch",
            "lidar",
            "-c",
            str(area.cfg_path),
            "--source-dir",
            str(source or area.source),
            "--lidar-tile",
            tile,
            "-o",
            str(out),
            *extra,
        ],
    )


def test_cli_fetch_writes_valid_raw_item(area: Area, tmp_path: Path) -> None:  # noqa: F811
    tile = area.lidar[0]["id"]
    out = tmp_path / "raw" / "lidar" / tile / "item.json"
    res = _invoke(area, tile, out)
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    validate_item_dict(d)
    assert d["id"] == tile
    assert d["properties"]["datetime"] == "2023-08-15T00:00:00Z"
    assert d["properties"]["pc:count"] == area.lidar[0]["points"]
    assert d["properties"]["pc:type"] == "lidar" and d["properties"]["pc:encoding"] == "LASzip"
    assert d["properties"]["pc:density"] > 0.5
    assert d["properties"]["proj:code"] == "EPSG:25833"
    laz = out.parent / f"{tile}.laz"
    assert laz.read_bytes() == (area.source / area.lidar[0]["path"]).read_bytes()
    asset = d["assets"]["data"]
    assert asset["href"] == f"./{tile}.laz" and asset["type"] == "application/vnd.laszip"
    assert asset["file:checksum"] == sha256_multihash(laz)
    # WGS84 footprint near Trondheim
    lon0, lat0, lon1, lat1 = d["bbox"]
    assert 9.5 < lon0 < lon1 < 11 and 63 < lat0 < lat1 < 64
    assert (
        d["properties"]["processing:expression"]["expression"]["command"] == "sporbar fetch lidar"
    )
    # no clobbering without --overwrite
    again = _invoke(area, tile, out)
    assert again.exit_code != 0 and isinstance(again.exception, OutputExistsError)
    assert _invoke(area, tile, out, "--overwrite").exit_code == 0


def _source_with(tmp_path: Path, tile: str, las: Path) -> Path:
    src = tmp_path / "source"
    (src / "lidar").mkdir(parents=True)
    shutil.copyfile(las, src / "lidar" / f"{tile}.laz")
    return src


def test_laz_in_another_projected_crs_is_recorded_in_it(area: Area, tmp_path: Path) -> None:  # noqa: F811
    """Issue 16: a tile in another CRS got an item saying EPSG:25833 with a bbox in the Baltic Sea."""
    tile = area.lidar[0]["id"]
    src = _source_with(tmp_path, tile, other_crs_las())
    out = tmp_path / "raw" / tile / "item.json"
    d = fetch_demo_tile(area.cfg, src, tile, out)
    validate_item_dict(d)
    assert d["properties"]["proj:code"] == "EPSG:6880" and d["properties"]["sporbar:crs_source"] == "file"
    lon0, lat0, lon1, lat1 = d["bbox"]  # eastern Nebraska, where the file lies
    assert -97.1 < lon0 < lon1 < -97.0 and 41.4 < lat0 < lat1 < 41.5
    assert "EPSG:6880" in d["properties"]["processing:lineage"]


def test_laz_without_crs_is_refused(area: Area, tmp_path: Path) -> None:  # noqa: F811
    tile = area.lidar[0]["id"]
    las = laspy.LasData(laspy.LasHeader(point_format=6, version="1.4"))
    las.x, las.y, las.z = np.array([268900.0]), np.array([7029800.0]), np.array([100.0])
    bare = tmp_path / "bare.laz"
    las.write(str(bare))
    src = _source_with(tmp_path, tile, bare)
    with pytest.raises(NoCrsError, match=rf"{tile}.laz: lidar file carries no CRS"):
        fetch_demo_tile(area.cfg, src, tile, tmp_path / "out" / "item.json")


def test_unknown_tile_names_what_the_archive_has(area: Area, tmp_path: Path) -> None:  # noqa: F811
    with pytest.raises(MissingInputError, match=area.lidar[0]["id"]):
        fetch_demo_tile(area.cfg, area.source, "lidar_0_0", tmp_path / "item.json")


def test_truncated_laz_is_refused_not_copied(area: Area, tmp_path: Path) -> None:  # noqa: F811
    """Issue 12.7: a delivered LAZ cut short is caught (its header says how long it is) before copying."""
    from sporbar.fetch.errors import IntegrityError

    tile = area.lidar[0]["id"]
    whole = area.source / area.lidar[0]["path"]
    cut = tmp_path / "cut.laz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    src = _source_with(tmp_path, tile, cut)
    out = tmp_path / "raw" / tile / "item.json"
    with pytest.raises(IntegrityError, match=rf"{tile}.laz: truncated"):
        fetch_demo_tile(area.cfg, src, tile, out)
    assert not out.exists() and not (out.parent / f"{tile}.laz").exists()
