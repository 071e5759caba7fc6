"""Local archive source: SAFE folders indexed in place, zips extracted safely."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml
from _s2_fixtures import make_source, write_tiny_config

from sporbar.config import load
from sporbar.errors import InputDataError
from sporbar.fetch import local
from sporbar.fetch.errors import NothingFoundError
from sporbar.stac.record import RunContext
from sporbar.stac.validate import validate_item_dict


def _config(tmp: Path, archive: Path, **dr) -> Path:
    path = write_tiny_config(tmp)
    data = yaml.safe_load(path.read_text())
    data["sources"]["sentinel2"] = {"source": "local", "local": {"path": str(archive)}, **dr}
    path.write_text(yaml.safe_dump(data))
    return path


def test_index_in_place_and_zip(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    cfg = load(_config(tmp_path, archive))
    scenes = make_source(cfg, archive)
    # the last scene as a zip only
    last = archive / "sentinel-2" / f"{scenes[-1]['id']}.SAFE"
    with zipfile.ZipFile(archive / f"{scenes[-1]['id']}.zip", "w") as zf:
        for f in sorted(last.rglob("*")):
            if f.is_file():
                zf.write(f, f"{last.name}/{f.relative_to(last).as_posix()}")
    import shutil

    shutil.rmtree(last)
    query, found = local.S2_SOURCE.search(cfg)
    assert [s["id"] for s in found] == [s["id"] for s in scenes]
    root = tmp_path / "results/raw/sentinel-2-l2a"
    d = local.S2_SOURCE.fetch(RunContext.current(), cfg, found[0], root / found[0]["id"] / "item.json", query=query)
    validate_item_dict(d)
    assert d["assets"]["B04"]["href"].startswith("../")  # points into the archive
    assert sorted(p.name for p in (root / found[0]["id"]).iterdir()) == ["item.json"]
    dz = local.S2_SOURCE.fetch(RunContext.current(), cfg, found[-1], root / found[-1]["id"] / "item.json", query=query)
    assert dz["assets"]["B04"]["href"].startswith("./")  # extracted beside the item
    assert dz["properties"]["sporbar:source"]["checksum"].startswith("1220")


def test_nothing_found_and_evil_zip(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    cfg = load(_config(tmp_path, archive, date_range={"start": "2020-01-01", "end": "2020-01-31"}))
    with pytest.raises(NothingFoundError, match="2020-01-01..2020-01-31"):
        local.S2_SOURCE.search(cfg)
    name = "S2A_MSIL2A_20200105T104031_N0510_R094_T32VNR_20200105T130000"
    with zipfile.ZipFile(archive / f"{name}.zip", "w") as zf:
        zf.writestr(f"{name}.SAFE/../../../evil.txt", "x")
    _, found = local.S2_SOURCE.search(cfg)
    out = tmp_path / "results/raw" / name / "item.json"
    with pytest.raises(InputDataError, match="outside"):
        local.S2_SOURCE.fetch(RunContext.current(), cfg, found[0], out)
    assert not list(tmp_path.rglob("evil.txt")) and not out.exists()
