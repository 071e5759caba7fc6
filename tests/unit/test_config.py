"""Config validation: bad input gets a clear error naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DEMO_CONFIG, small_config, write_config

from sporbar.cli.main import cli
from sporbar.config import config_warnings, load, validate
from sporbar.errors import ConfigError


def test_demo_config_is_valid_and_gets_defaults() -> None:
    cfg = load(DEMO_CONFIG)
    assert cfg.data["grid"]["crs"] == "EPSG:25833"
    assert cfg.tiles == ["E268800N7029760", "E268800N7031040", "E270080N7029760", "E270080N7031040"]
    assert len(cfg.hash) == 64


def test_defaults_fill_nested_sections(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    del data["ard"], data["models"]
    out = validate(data)
    assert out["ard"]["indices"] == ["NDVI", "NDMI"]
    assert out["models"][0]["n_estimators"] == 200


def test_unknown_key_is_named(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    data["ard"]["bandz"] = ["B02"]
    with pytest.raises(ConfigError, match=r"ard.*'bandz' was unexpected"):
        validate(data, source="my.yaml")


def test_a_renamed_key_gets_its_new_name(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    data["lidar"]["strip_points"] = 5_000_000
    with pytest.raises(ConfigError, match=r"key lidar: strip_points is now called block_points"):
        validate(data, source="my.yaml")


def test_a_lidar_buffer_under_five_fine_cells_is_refused_before_any_job(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    data["lidar"]["buffer"] = 4.0
    with pytest.raises(ConfigError, match=r"my.yaml: lidar.buffer 4 m must be at least 5 x lidar.resolution"):
        validate(data, source="my.yaml")
    data["lidar"].update(buffer=30.0, resolution=3.0)
    with pytest.raises(ConfigError, match=r"my.yaml: lidar.resolution 3 m must divide grid.resolution 10 m"):
        validate(data, source="my.yaml")


def test_wrong_type_names_key_and_type(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    data["training"]["folds"] = "four"
    with pytest.raises(ConfigError, match=r"key training/folds: 'four' is not of type 'integer'"):
        validate(data)


def test_aoi_outside_grid(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    data["area"]["bbox"] = [10.0, 59.0, 11.0, 60.0]  # degrees by mistake
    with pytest.raises(ConfigError, match="outside the national grid"):
        validate(data)


def test_map_model_must_exist(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    data["map"]["model"] = "xgb"
    with pytest.raises(ConfigError, match=r"map/model: 'xgb' is not one of"):
        validate(data)


def test_period_order(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    data["ard"]["periods"] = [{"id": "p", "start": "2024-09-01", "end": "2024-06-01"}]
    with pytest.raises(ConfigError, match="start 2024-09-01 is after end 2024-06-01"):
        validate(data)


@pytest.mark.parametrize("key", ["sentinel2", "sentinel1", "lidar/stac_api"])
def test_search_dates_in_reverse_are_refused(tmp_path: Path, key: str) -> None:
    # found by tests/reliability/bad_input.py: accepted by check-config, refused only by the search job
    data = small_config(tmp_path)
    section = data["sources"]
    for name in key.split("/"):
        section = section.setdefault(name, {})
    section["date_range"] = {"start": "2024-09-01", "end": "2024-06-01"}
    with pytest.raises(ConfigError, match=rf"my.yaml: key sources/{key}/date_range: start 2024-09-01 is after "
                                          r"end 2024-06-01"):
        validate(data, source="my.yaml")


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("area: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(bad)


def test_check_config_cli(tmp_path: Path) -> None:
    good = write_config(tmp_path / "good.yaml", small_config(tmp_path))
    r = CliRunner().invoke(cli, ["check-config", str(good)])
    assert r.exit_code == 0, r.output
    assert "2 tile(s)" in r.output
    data = small_config(tmp_path)
    data["threads"] = 0
    bad = write_config(tmp_path / "bad.yaml", data)
    r = CliRunner().invoke(cli, ["check-config", str(bad)])
    assert r.exit_code != 0
    assert "threads" in str(r.exception) or "threads" in r.output


def test_example_configs_are_valid() -> None:
    examples = sorted((DEMO_CONFIG.parent / "examples").glob("*.yaml"))
    assert examples, "config/examples/ has no example"
    for path in examples:
        cfg = load(path)
        assert cfg.tiles, path


def test_schema_is_valid_and_strict() -> None:
    import jsonschema

    from sporbar.config import schema

    sch = schema()
    jsonschema.validators.validator_for(sch).check_schema(sch)
    problems: list[str] = []

    def walk(node: dict, where: str) -> None:
        if node.get("type") == "object" and "properties" in node:
            if node.get("additionalProperties") is not False:
                problems.append(f"{where}: additionalProperties is not false")
            for key, sub in node["properties"].items():
                if "description" not in sub:
                    problems.append(f"{where}/{key}: no description")
                walk(sub, f"{where}/{key}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{where}[]")

    walk(sch, "")
    assert not problems, problems


@pytest.mark.parametrize("day", ["2024-13-45", "2024-02-30"])
def test_impossible_dates_are_refused(tmp_path: Path, day: str) -> None:
    data = small_config(tmp_path)
    data["ard"]["periods"][1]["end"] = day
    with pytest.raises(ConfigError, match=rf"my.yaml: key ard/periods/1/end: '{day}' is not a 'date'"):
        validate(data, source="my.yaml")
    data = small_config(tmp_path)
    data["demo"]["dates"][0] = day
    with pytest.raises(ConfigError, match=rf"key demo/dates/0: '{day}' is not a 'date'"):
        validate(data)


def test_two_periods_with_one_id_are_refused(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    data["ard"]["periods"][1]["id"] = data["ard"]["periods"][0]["id"]
    with pytest.raises(ConfigError, match=r"key ard/periods: period ids must be unique \(early more than once\)"):
        validate(data)


def test_bbox_off_the_tile_edges_is_refused_with_the_aligned_bbox(tmp_path: Path) -> None:
    # 640 m tiles: a 1,000 x 500 m bbox would silently become 2 tiles (1,280 x 640 m)
    data = small_config(tmp_path)
    data["area"]["bbox"] = [268900, 7030500, 269900, 7031000]
    with pytest.raises(ConfigError, match=r"key area/bbox: .* not on the edges of the 640 m grid tiles; its 2 "
                                          r"tile\(s\) cover \[268800, 7030400, 270080, 7031040\]"):
        validate(data)
    data["area"]["bbox"] = [268800, 7030400, 270080, 7031040]
    validate(data)


def test_overlapping_periods_are_warned_by_check_config(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    path = write_config(tmp_path / "c.yaml", data)
    assert config_warnings(load(path)) == []
    data["ard"]["periods"][1]["start"] = "2024-06-20"  # early ends 2024-07-05
    write_config(path, data)
    (warning,) = config_warnings(load(path))
    assert "periods 'early' (2024-05-01..2024-07-05) and 'late' (2024-06-20..2024-09-30) overlap" in warning
    res = CliRunner().invoke(cli, ["check-config", str(path)])
    assert res.exit_code == 0 and f"warning: {warning}" in res.output, res.output
