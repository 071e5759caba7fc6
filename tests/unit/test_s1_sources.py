"""Sentinel-1 GRD: config rules (sources.sentinel1), plan functions, filters and product names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import DEMO_CONFIG, small_config, write_config

from sporbar.config import Config, load, validate
from sporbar.errors import ConfigError, MissingInputError
from sporbar.fetch.s1_names import S1Filters, filters, parse_name, source
from sporbar.workflow import plan

# Real product names: the sentinelsat cassettes (dhus-cassettes), the stactools metadata copy
# (s1-metadata) and Earth Search item ids (no CRC).
GRD_NAMES = [
    "S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13_6FF8",
    "S1A_IW_GRDH_1SDV_20141223T224534_20141223T224604_003852_0049CA_F221",
    "S1A_IW_GRDH_1SDH_20141129T224535_20141129T224605_003502_0041D0_6A3D",
    "S1A_EW_GRDM_1SDH_20141218T223707_20141218T223810_003779_004830_318E",
    "S1A_S2_GRDH_1SDH_20141220T100437_20141220T100501_003801_0048A7_0135",
    "S1A_S5_GRDH_1SDV_20141203T095631_20141203T095659_003553_004300_156E",
    "S1B_IW_GRDH_1SDV_20181007T164349_20181007T164414_013049_0181B7_A8E3",
    "S1A_IW_GRDH_1SSH_20250731T135702_20250731T135722_060328_077F7E",
]
NOT_GRD = [
    "S1A_IW_SLC__1SDV_20151224T094034_20151224T094103_009182_00D395_986A",
    "S1A_EW_RAW__0SDH_20151227T100355_20151227T100510_009226_00D4D8_5C38",
    "S1A_WV_OCN__2SSV_20150526T211029_20150526T211737_006097_007E78_134A",
    "S2A_MSIL2A_20240528T104031_N0510_R094_T32VNR_20240528T130000",
    "S2B_MSIL1C_20181219T142029_N0207_R010_T20MPS_20181219T160056",
]


def _data(tmp_path: Path, **s1) -> dict:
    data = small_config(tmp_path)
    data["sources"].pop("sentinel1", None)  # the demo config's demo archive: off unless given
    if s1:
        data["sources"]["sentinel1"] = s1
    return data


# --- config -------------------------------------------------------------------------------


def test_grd_under_sentinel2_is_refused_naming_the_key_and_the_fix(tmp_path: Path) -> None:
    data = _data(tmp_path)
    data["sources"]["sentinel2"] = {"source": "dhus", "dhus": {"product_type": "GRD"}}
    path = write_config(tmp_path / "c.yaml", data)
    with pytest.raises(ConfigError) as err:
        load(path)
    msg = str(err.value)
    assert msg.startswith(str(path))
    assert "sources/sentinel2/dhus/product_type" in msg and "sources.sentinel1" in msg
    assert "is not one of" not in msg  # the friendly message, not the schema's enum error


def test_sentinel1_is_off_and_absent_by_default(tmp_path: Path) -> None:
    cfg = Config(validate(_data(tmp_path)))
    assert "sentinel1" not in cfg.data["sources"]  # not part of the config hash
    assert plan.s1_source(cfg) == source(cfg) == "none"
    assert plan.s1_scene_ids(cfg) == []
    off = Config(validate(_data(tmp_path, source="none")))
    assert plan.s1_source(off) == "none" and off.data["sources"]["sentinel1"]["sensor_mode"] == "IW"


def test_sentinel1_defaults_and_filters(tmp_path: Path) -> None:
    cfg = Config(validate(_data(tmp_path, source="dhus", polarisation="VV VH")))
    s1 = cfg.data["sources"]["sentinel1"]
    assert s1["dhus"]["product_type"] == "GRD" and s1["dhus"]["api_url"] == "https://colhub.met.no/"
    assert s1["stac_api"]["collection"] == "sentinel-1-grd"
    assert filters(cfg) == S1Filters(sensor_mode="IW", polarisation="VV VH")


@pytest.mark.parametrize(
    ("s1", "match"),
    [
        ({"source": "stac_api"}, "sources/sentinel1/stac_api/url: required"),
        ({"source": "local"}, "sources/sentinel1/local/path: required"),
        ({"source": "dhus", "polarisation": "VH VV"}, "sources/sentinel1/polarisation"),
        ({"source": "dhus", "sensor_mode": "iw"}, "sources/sentinel1/sensor_mode"),
        ({"source": "dhus", "dhus": {"product_type": "SLC"}}, "sources/sentinel1/dhus/product_type"),
        ({"source": "dhus", "max_cloud_cover": 10}, "sources/sentinel1"),  # radar: no cloud filter
        ({"source": "gee"}, "sources/sentinel1/source"),
    ],
)
def test_sentinel1_config_errors_name_the_key(tmp_path: Path, s1: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        validate(_data(tmp_path, **s1))


def test_example_config_has_sentinel1_and_demo_config_uses_the_demo_archive() -> None:
    example = load(DEMO_CONFIG.parent / "examples" / "trondelag-dhus.yaml")
    assert plan.s1_source(example) == "dhus"
    assert filters(example).sensor_mode == "IW"
    assert plan.s1_source(load(DEMO_CONFIG)) == "demo"


# --- plan ---------------------------------------------------------------------------------


def test_s1_scene_ids_and_items_from_the_search_file(tmp_path: Path) -> None:
    cfg = Config(validate(_data(tmp_path, source="dhus")))
    assert plan.s1_scene_ids(cfg) == [] and plan.s1_items(cfg) == []  # not searched yet
    before = plan.all_outputs(cfg)
    assert not [p for p in before if "raw/sentinel-1-grd" in str(p)]
    search = plan.path(cfg, "s1_search")
    assert search == tmp_path / "raw/sentinel-1-grd/search.json"
    search.parent.mkdir(parents=True)
    search.write_text(json.dumps({"source": "dhus", "query": {}, "scenes": [{"id": n} for n in GRD_NAMES[:2]]}))
    assert plan.s1_scene_ids(cfg) == GRD_NAMES[:2]
    items = [tmp_path / "raw/sentinel-1-grd" / n / "item.json" for n in GRD_NAMES[:2]]
    assert plan.s1_items(cfg) == items
    after = plan.all_outputs(cfg)
    assert set(after) - set(before) == set(items) and len(after) == len(set(after))
    # with Sentinel-1 on, every tile has its S1 ARD item
    s1_ard = {plan.path(cfg, "s1_ard", tile=t) for t in cfg.tiles}
    assert s1_ard <= set(before)
    # with Sentinel-1 off, a stale search file is ignored, and there is no S1 ARD
    off = Config(validate(_data(tmp_path, source="none")))
    assert plan.s1_scene_ids(off) == [] and set(plan.all_outputs(off)) == set(before) - s1_ard


def test_s1_scene_ids_from_a_missing_file_says_run_the_search(tmp_path: Path) -> None:
    cfg = Config(validate(_data(tmp_path, source="dhus")))
    with pytest.raises(MissingInputError, match="run `sporbar search`"):
        plan.s1_scene_ids(cfg, tmp_path / "nope.json")


def test_s1_stage_hash_leaves_the_other_stages_alone(tmp_path: Path) -> None:
    base = Config(validate(_data(tmp_path)))
    on = Config(validate(_data(tmp_path, source="dhus", polarisation="VV VH")))
    other = Config(validate(_data(tmp_path, source="dhus", polarisation="HH HV")))
    for stage in ("search_s2", "fetch_s2", "fetch_lidar", "fetch_labels", "ard"):  # they read `sources`
        assert plan.stage_hash(base, stage) == plan.stage_hash(on, stage) == plan.stage_hash(other, stage)
    # the models' stages change when S1 features come or go, not with the S1 search filters
    for stage in ("samples", "train", "predict"):
        assert plan.stage_hash(base, stage) != plan.stage_hash(on, stage) == plan.stage_hash(other, stage)
    assert plan.stage_hash(on, "fetch_s1") != plan.stage_hash(other, "fetch_s1")
    assert plan.stage_hash(base, "fetch_s1") != plan.stage_hash(on, "fetch_s1")
    # and S2 settings do not re-run the S1 stage
    s2 = _data(tmp_path, source="dhus", polarisation="VV VH")
    s2["sources"]["sentinel2"]["max_cloud_cover"] = 5
    assert plan.stage_hash(Config(validate(s2)), "fetch_s1") == plan.stage_hash(on, "fetch_s1")
    assert plan.stage_hash(Config(validate(s2)), "fetch_s2") != plan.stage_hash(on, "fetch_s2")


@pytest.mark.parametrize("name", GRD_NAMES)
def test_s1_wildcard_matches_real_grd_names(name: str) -> None:
    assert re.fullmatch(plan.S1_SCENE_PATTERN, name)


@pytest.mark.parametrize("name", NOT_GRD)
def test_s1_wildcard_refuses_other_products(name: str) -> None:
    assert not re.fullmatch(plan.S1_SCENE_PATTERN, name)


# --- names and filters ---------------------------------------------------------------------


def test_parse_name_reads_mode_type_polarisations_and_start() -> None:
    n = parse_name(GRD_NAMES[0] + ".SAFE")
    assert n is not None and n.product_id == GRD_NAMES[0]
    assert (n.mode, n.product_type, n.polarisations) == ("IW", "GRD", ("VV", "VH"))
    assert n.start.isoformat() == "2021-08-09T17:39:53+00:00"
    sm = parse_name(GRD_NAMES[4])
    assert sm is not None and (sm.mode, sm.polarisations) == ("SM", ("HH", "HV"))  # beam S2: strip map
    slc = parse_name(NOT_GRD[0])
    assert slc is not None and slc.product_type == "SLC"
    assert parse_name(NOT_GRD[3]) is None and parse_name(GRD_NAMES[-1]) is None  # S2; no CRC


@pytest.mark.parametrize(
    ("f", "name", "kept"),
    [
        (S1Filters("IW"), GRD_NAMES[0], True),
        (S1Filters("IW", "VV VH"), GRD_NAMES[0], True),
        (S1Filters("IW", "HH HV"), GRD_NAMES[0], False),
        (S1Filters("IW", "VV"), GRD_NAMES[0], False),  # single-pol VV only
        (S1Filters("EW"), GRD_NAMES[0], False),
        (S1Filters("EW", "HH HV"), GRD_NAMES[3], True),
        (S1Filters("SM"), GRD_NAMES[5], True),
        (S1Filters("IW"), NOT_GRD[0], False),  # SLC
        (S1Filters("IW"), NOT_GRD[3], False),  # Sentinel-2
    ],
)
def test_filters_keep_by_name(f: S1Filters, name: str, kept: bool) -> None:
    assert f.keeps_name(name) is kept


def test_filters_compare_polarisations_as_a_set_and_let_unknown_fields_pass() -> None:
    f = S1Filters("IW", "VV VH")
    assert f.keeps(product_type="GRD", mode="IW", polarisations=["VH", "VV"])  # hubs list RAW as "VH VV"
    assert not f.keeps(product_type="SLC", mode="IW", polarisations=["VV", "VH"])
    assert f.keeps(product_type=None, mode=None, polarisations=None)
    assert f.dhus_keywords() == {"producttype": "GRD", "platformname": "Sentinel-1",
                                 "sensoroperationalmode": "IW", "polarisationmode": "VV VH"}
    assert S1Filters("EW").as_dict() == {"product_type": "GRD", "sensor_mode": "EW"}
