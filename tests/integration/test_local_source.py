"""Local archive source: SAFE folders indexed in place, zips extracted safely."""

from __future__ import annotations

import shutil
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
    with pytest.raises(InputDataError, match="outside"):  # the search reads a zip's metadata too
        local.S2_SOURCE.search(cfg)
    out = tmp_path / "results/raw" / name / "item.json"
    with pytest.raises(InputDataError, match="outside"):
        local.S2_SOURCE.fetch(RunContext.current(), cfg, {"id": name, "path": str(archive / f"{name}.zip")}, out)
    assert not list(tmp_path.rglob("evil.txt")) and not out.exists()


def _zip(safe: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for f in sorted(safe.rglob("*")):
            if f.is_file():
                zf.write(f, f"{safe.name}/{f.relative_to(safe).as_posix()}")
    return dest


L1C = "S2A_MSIL1C_20210908T042701_N0301_R133_T46RER_20210908T070248"


def _real_l1c(shared: Path) -> Path:
    safe = shared / "realdata" / "s2-safe-metadata" / f"{L1C}.SAFE"
    if not safe.is_dir():
        pytest.skip(f"{safe} not in the shared data")
    return safe


def test_l1c_product_is_left_out_at_search_with_a_warning(tmp_path: Path, shared_dir: Path, caplog) -> None:
    """Issue 12.10: an L1C product in the archive (here zipped) must not enter the L2A scene list."""
    archive = tmp_path / "archive"
    cfg = load(_config(tmp_path, archive, date_range={"start": "2021-09-01", "end": "2024-09-30"}))
    scenes = make_source(cfg, archive)
    _zip(_real_l1c(shared_dir), archive / f"{L1C}.zip")
    with caplog.at_level("WARNING", logger="sporbar.fetch.local"):
        _, found = local.S2_SOURCE.search(cfg)
    assert [s["id"] for s in found] == [s["id"] for s in scenes]
    assert any(L1C in r.getMessage() and "Level-1C" in r.getMessage() for r in caplog.records), caplog.text


def test_archive_of_only_l1c_products_is_a_named_error(tmp_path: Path, shared_dir: Path) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(_real_l1c(shared_dir), archive / f"{L1C}.SAFE")
    cfg = load(_config(tmp_path, archive, date_range={"start": "2021-09-01", "end": "2021-09-30"}))
    with pytest.raises(NothingFoundError, match="L2A") as err:
        local.S2_SOURCE.search(cfg)
    assert L1C in str(err.value)


def test_zips_get_the_cloud_filter_of_folders(tmp_path: Path) -> None:
    """Issue 12.10: a zipped product over the cloud limit is left out, as the same folder is."""
    archive = tmp_path / "archive"
    cfg = load(_config(tmp_path, archive))
    scenes = make_source(cfg, archive)
    cloudiest = max(scenes, key=lambda s: s["cloud_cover"])
    safe = archive / "sentinel-2" / f"{cloudiest['id']}.SAFE"
    _zip(safe, archive / f"{cloudiest['id']}.zip")
    shutil.rmtree(safe)
    limit = cloudiest["cloud_cover"] - 0.01
    assert all(s["cloud_cover"] <= limit for s in scenes if s is not cloudiest)
    cfg = load(_config(tmp_path, archive, max_cloud_cover=limit))
    _, found = local.S2_SOURCE.search(cfg)
    assert [s["id"] for s in found] == [s["id"] for s in scenes if s is not cloudiest]


def test_failed_fetch_leaves_no_extracted_safe(tmp_path: Path) -> None:
    """Issue 12.10: a zip whose metadata is broken fails to fetch and leaves nothing in raw/."""
    archive = tmp_path / "archive"
    cfg = load(_config(tmp_path, archive))
    scene = make_source(cfg, archive)[0]["id"]
    safe = archive / "sentinel-2" / f"{scene}.SAFE"
    next(safe.glob("GRANULE/*/MTD_TL.xml")).write_text("<broken", encoding="utf-8")
    zpath = _zip(safe, archive / f"{scene}.zip")
    out = tmp_path / "results/raw/sentinel-2-l2a" / scene / "item.json"
    with pytest.raises(InputDataError, match="MTD_TL.xml"):
        local.S2_SOURCE.fetch(RunContext.current(), cfg, {"id": scene, "path": str(zpath)}, out)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_truncated_band_in_the_archive_is_refused(tmp_path: Path) -> None:
    """Issue 12.7: a band indexed in place is checked against the SAFE manifest before it is recorded."""
    from sporbar.fetch.errors import IntegrityError

    archive = tmp_path / "archive"
    cfg = load(_config(tmp_path, archive))
    scene = make_source(cfg, archive)[0]["id"]
    band = next((archive / "sentinel-2" / f"{scene}.SAFE").glob("GRANULE/*/IMG_DATA/R20m/*_SCL_20m.jp2"))
    band.write_bytes(band.read_bytes()[:-100])
    out = tmp_path / "results/raw/sentinel-2-l2a" / scene / "item.json"
    with pytest.raises(IntegrityError, match=band.name):
        local.S2_SOURCE.fetch(RunContext.current(), cfg, {"id": scene, "path": str(band.parents[4])}, out)
    assert not out.exists()


def _with_mask(path: Path, method: str) -> Path:
    data = yaml.safe_load(path.read_text())
    data["ard"]["mask"] = {"method": method}
    path.write_text(yaml.safe_dump(data))
    return path


def test_l1c_is_searched_when_the_mask_needs_no_scl(tmp_path: Path, shared_dir: Path, caplog) -> None:
    """Issue 14: with ard.mask.method s2cloudless the real L1C product is no longer left out as L1C: its
    metadata is read (here it lies in the Himalaya, so the area test leaves it out: 88 % cloud is let through),
    and the L2A remain."""
    archive = tmp_path / "archive"
    cfg = load(_with_mask(_config(tmp_path, archive, date_range={"start": "2021-09-01", "end": "2024-09-30"},
                                  max_cloud_cover=100), "s2cloudless"))
    assert local.accepts_l1c(cfg)
    scenes = make_source(cfg, archive)
    shutil.copytree(_real_l1c(shared_dir), archive / f"{L1C}.SAFE")
    with caplog.at_level("INFO", logger="sporbar.fetch.local"):
        _, found = local.S2_SOURCE.search(cfg)
    assert [s["id"] for s in found] == [s["id"] for s in scenes]
    said = [r.getMessage() for r in caplog.records if L1C in r.getMessage()]
    assert said and all("footprint does not touch the area" in m and "Level-1C" not in m for m in said), said


def test_l2a_of_the_same_acquisition_wins_over_l1c() -> None:
    l2a = "S2A_MSIL2A_20240610T104031_N0510_R094_T32VNR_20240610T130000"
    same = "S2A_MSIL1C_20240610T104031_N0510_R094_T32VNR_20240610T120000"
    other = "S2A_MSIL1C_20240620T104031_N0510_R094_T32VNR_20240620T120000"
    scenes = [{"id": n, "path": n} for n in (l2a, same, other)]
    assert [s["id"] for s in local._l2a_first(scenes)] == [l2a, other]


def test_l1c_stays_out_with_the_scl_mask(tmp_path: Path) -> None:
    cfg = load(_with_mask(_config(tmp_path, tmp_path / "archive"), "both"))
    assert not local.accepts_l1c(cfg)
