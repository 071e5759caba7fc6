"""Load and validate the pipeline config against ``workflow/schemas/config.schema.yaml``.

The same schema file is used by the Snakefile (``snakemake.utils.validate``) and here,
so ``sporbar check-config`` fails on the login node, before any Slurm queue wait.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from sporbar.bands import INDEX_BANDS
from sporbar.errors import ConfigError
from sporbar.grid import NationalGrid
from sporbar.io import load_yaml
from sporbar.lidar_bands import fine_factor

SCHEMA_RESOURCE = "config.schema.yaml"

# Extent of the national grid: mainland Norway in EPSG:25833 (metres), with a margin.
NORWAY_EXTENT_25833 = (-100_000.0, 6_400_000.0, 1_150_000.0, 7_980_000.0)


def schema() -> dict[str, Any]:
    """The config JSON schema (shipped inside the package)."""
    text = files("sporbar.workflow").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = load_yaml(text)
    return schema


# "format: email": jsonschema's own check only asks for an "@"; an address Geonorge can use has a
# local part and a dotted domain, without spaces.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
FORMATS = copy.deepcopy(jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _is_email(value: object) -> bool:
    return not isinstance(value, str) or _EMAIL.fullmatch(value) is not None


FORMATS.checks("email")(_is_email)


def _with_defaults(validator_class: Any) -> Any:
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: Any, instance: Any, sch: Any) -> Any:
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, sch)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


#: keys renamed in the schema: old name -> new name (a config with the old one is told)
RENAMED = {"strip_points": "block_points"}


def _describe(err: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
    if err.validator == "additionalProperties":
        old = [k for k in err.instance if k in RENAMED] if isinstance(err.instance, dict) else []
        if old:
            return f"key {where}: {old[0]} is now called {RENAMED[old[0]]} (rename it in the config)"
        return f"key {where}: {err.message} (check the spelling against the schema)"
    if err.validator == "format" and err.validator_value == "email":
        return f"key {where}: {err.instance!r} is not an e-mail address (name@domain.tld)"
    if err.validator == "type":
        return f"key {where}: {err.instance!r} is not of type {err.validator_value!r}"
    return f"key {where}: {err.message}"


def validate(data: dict[str, Any], *, source: str = "config") -> dict[str, Any]:
    """Validate ``data`` against the schema and return a copy with defaults filled in.

    Raises:
        ConfigError: naming ``source``, the key path and what is wrong.
    """
    data = copy.deepcopy(data)
    sch = schema()
    cls = _with_defaults(jsonschema.validators.validator_for(sch))
    # format_checker: "format: date" is checked (2024-13-45 and 2024-02-30 are not dates), so is "email"
    validator = cls(sch, format_checker=FORMATS)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    _check_sentinel1_in_sentinel2(data, source)
    if errors:
        lines = "; ".join(_describe(e) for e in errors[:5])
        raise ConfigError(f"{source}: {lines}")
    _check_semantics(data, source)
    return data


def _check_sentinel1_in_sentinel2(cfg: dict[str, Any], source: str) -> None:
    """Refuse Sentinel-1 GRD searched as Sentinel-2 (its items would land under the S2 path)."""
    s2 = (cfg.get("sources") or {}).get("sentinel2") or {}
    dhus = s2.get("dhus") if isinstance(s2, dict) else None
    if isinstance(dhus, dict) and dhus.get("product_type") == "GRD":
        raise ConfigError(
            f"{source}: key sources/sentinel2/dhus/product_type: 'GRD' is a Sentinel-1 product type; "
            "sources.sentinel2 searches Sentinel-2 (S2MSI2A, S2MSI1C). Search Sentinel-1 GRD with "
            "sources.sentinel1 (source: dhus) instead"
        )


GEOID_HELP = (
    "the geoid height N that turns the lidar DTM's orthometric (NN2000) heights into the ellipsoidal heights of "
    "the Sentinel-1 geolocation grid, a number in metres (about 36-48 over mainland Norway, 40 around Trondheim; "
    "0 for the demo) or the path of a geoid model raster (e.g. Kartverket's HREF2018B as GeoTIFF)"
)


def _check_mask(mask: dict[str, Any], resolution: float, source: str) -> None:
    """The shadow's height range is a range; s2cloudless pixels are whole grid pixels."""
    sh = mask["shadow"]
    if sh["min_height"] > sh["max_height"]:
        raise ConfigError(f"{source}: key ard/mask/shadow: min_height {sh['min_height']} is above max_height "
                          f"{sh['max_height']}")
    res = float(mask["s2cloudless"]["resolution"])
    if abs(res / resolution - round(res / resolution)) > 1e-9 or res < resolution:
        raise ConfigError(f"{source}: key ard/mask/s2cloudless/resolution: {res:g} m is not a multiple of "
                          f"grid/resolution {resolution:g} m")


def _check_sentinel1(cfg: dict[str, Any], source: str) -> None:
    s1 = cfg["sources"].get("sentinel1")
    if not s1 or s1["source"] == "none":
        return
    kind = s1["source"]
    s1_ard = cfg.get("s1_ard") or {}
    if s1_ard.get("enabled", True) and s1_ard.get("dem") == "lidar" and s1_ard.get("geoid") is None:
        raise ConfigError(f"{source}: key s1_ard/geoid: required with s1_ard.dem 'lidar' when Sentinel-1 is "
                          f"processed: {GEOID_HELP}")
    needs = {"stac_api": "url", "local": "path"}.get(kind)
    if needs and not s1[kind].get(needs):
        raise ConfigError(
            f"{source}: key sources/sentinel1/{kind}/{needs}: required when sources/sentinel1/source is {kind!r}"
        )


def _check_date_ranges(section: dict[str, Any], key: str, source: str) -> None:
    """Refuse a ``date_range`` (at any depth of ``section``) whose start is after its end.

    Otherwise found only by the search job, after the queue, and never with the demo source.
    """
    dr = section.get("date_range")
    if isinstance(dr, dict) and date.fromisoformat(dr["start"]) > date.fromisoformat(dr["end"]):
        raise ConfigError(f"{source}: key {key}/date_range: start {dr['start']} is after end {dr['end']}")
    for name, sub in sorted(section.items()):
        if isinstance(sub, dict) and name != "date_range":
            _check_date_ranges(sub, f"{key}/{name}", source)


def _check_ard_bands(ard: dict[str, Any], source: str) -> None:
    """Season bands are bands of the cube or indices; an index can be computed from loaded bands."""
    plain = [b for b in ard["season"]["bands"] if b not in INDEX_BANDS and b not in ard["bands"]]
    if plain:
        raise ConfigError(
            f"{source}: key ard/season/bands: {', '.join(plain)} not in ard/bands {ard['bands']}; "
            "add them there or use an index"
        )


def _check_timeseries(cfg: dict[str, Any], source: str) -> None:
    """A tempcnn model needs time-series bands, each in ard.bands or an index of bands there."""
    bands = cfg["training"]["timeseries"]["bands"]
    temporal = [m["id"] for m in cfg["models"] if m.get("kind") == "tempcnn"]
    if temporal and not bands:
        raise ConfigError(
            f"{source}: key training/timeseries/bands: empty, but models {temporal} (kind tempcnn) read "
            "the time series; name the bands or indices, e.g. [B04, B08, B11, NDVI]"
        )
    have = set(cfg["ard"]["bands"])
    lacking = [b for b in bands if not set(INDEX_BANDS.get(b, (b,))) <= have]
    if lacking:
        raise ConfigError(
            f"{source}: key training/timeseries/bands: {', '.join(lacking)} need bands not in ard/bands "
            f"{cfg['ard']['bands']}; add them there"
        )


def _check_semantics(cfg: dict[str, Any], source: str) -> None:
    grid = cfg["grid"]
    if grid["tile_size"] % grid["resolution"]:
        raise ConfigError(
            f"{source}: key grid/tile_size: {grid['tile_size']} is not a multiple of "
            f"grid/resolution {grid['resolution']}"
        )
    minx, miny, maxx, maxy = cfg["area"]["bbox"]
    if not (maxx > minx and maxy > miny):
        raise ConfigError(f"{source}: key area/bbox: {cfg['area']['bbox']} is empty or inverted")
    ex0, ey0, ex1, ey1 = NORWAY_EXTENT_25833
    if minx < ex0 or miny < ey0 or maxx > ex1 or maxy > ey1:
        raise ConfigError(
            f"{source}: key area/bbox: {cfg['area']['bbox']} lies outside the national grid "
            f"(EPSG:25833 extent {list(NORWAY_EXTENT_25833)}); give the bbox in EPSG:25833 metres"
        )
    tiling = NationalGrid(crs=grid["crs"], resolution=grid["resolution"], tile_size=grid["tile_size"])
    aligned = tiling.aligned((minx, miny, maxx, maxy))
    if list(aligned) != [minx, miny, maxx, maxy]:
        n = len(tiling.tiles((minx, miny, maxx, maxy)))
        raise ConfigError(
            f"{source}: key area/bbox: {cfg['area']['bbox']} is not on the edges of the {grid['tile_size']} m "
            f"grid tiles; its {n} tile(s) cover {list(aligned)}, more than the bbox. Set area/bbox to "
            f"{list(aligned)} (or to tile edges inside it)"
        )
    names = [c["name"] for c in cfg["classes"]]
    values = [c["value"] for c in cfg["classes"]]
    if len(set(names)) != len(names) or len(set(values)) != len(values):
        raise ConfigError(f"{source}: key classes: class names and values must be unique")
    model_ids = [m["id"] for m in cfg["models"]]
    if len(set(model_ids)) != len(model_ids):
        raise ConfigError(f"{source}: key models: model ids must be unique ({model_ids})")
    if cfg["map"]["model"] not in model_ids:
        raise ConfigError(
            f"{source}: key map/model: {cfg['map']['model']!r} is not one of models[].id {model_ids}"
        )
    periods = cfg["ard"]["periods"]
    for i, p in enumerate(periods):
        if date.fromisoformat(p["start"]) > date.fromisoformat(p["end"]):
            raise ConfigError(f"{source}: key ard/periods/{i}: start {p['start']} is after end {p['end']}")
    _check_date_ranges(cfg["sources"], "sources", source)
    period_ids = [p["id"] for p in periods]
    if len(set(period_ids)) != len(period_ids):
        twice = sorted({i for i in period_ids if period_ids.count(i) > 1})
        raise ConfigError(f"{source}: key ard/periods: period ids must be unique ({', '.join(twice)} more than "
                          "once); each names its composite, so a second one would overwrite the first")
    _check_ard_bands(cfg["ard"], source)
    _check_mask(cfg["ard"]["mask"], float(cfg["grid"]["resolution"]), source)
    _check_timeseries(cfg, source)
    labels = cfg["sources"]["labels"]
    if labels["source"] == "file" and not labels.get("path"):
        raise ConfigError(f"{source}: key sources/labels/path: required when sources/labels/source is 'file'")
    _check_sentinel1(cfg, source)
    lidar = cfg["lidar"]
    try:  # checked again where the stage makes its grids; here before any job is queued
        fine_factor(float(grid["resolution"]), float(lidar["resolution"]), float(lidar["buffer"]))
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None


@dataclass(frozen=True)
class Config:
    """A validated config with defaults filled in.

    Attributes:
        data: the validated mapping (treat as read-only).
        source: where it came from (a path), for error messages.
    """

    data: dict[str, Any]
    source: str = "config"

    @cached_property
    def grid(self) -> NationalGrid:
        """The output grid."""
        g = self.data["grid"]
        return NationalGrid(crs=g["crs"], resolution=g["resolution"], tile_size=g["tile_size"])

    @cached_property
    def tiles(self) -> list[str]:
        """Ids of the grid tiles covering the area, sorted."""
        return self.grid.tiles(tuple(self.data["area"]["bbox"]))

    @property
    def root(self) -> Path:
        """The output root directory."""
        return Path(self.data["root"])

    @cached_property
    def hash(self) -> str:
        """sha256 (hex) of the canonical JSON of the validated config, recorded in items."""
        return config_hash(self.data)


def config_warnings(cfg: Config) -> list[str]:
    """Valid settings that are likely not what was meant.

    ``sporbar check-config`` and the Snakemake log print them.

    ARD periods that overlap (a scene in both goes into both composites); the demo's
    synthetic truth as reference labels of a map made from real data (no assessment is made).
    """
    periods = sorted(cfg.data["ard"]["periods"], key=lambda p: (p["start"], p["id"]))
    out = []
    for i, a in enumerate(periods):
        for b in periods[i + 1:]:
            if b["start"] <= a["end"]:
                out.append(
                    f"{cfg.source}: key ard/periods: periods {a['id']!r} ({a['start']}..{a['end']}) and "
                    f"{b['id']!r} ({b['start']}..{b['end']}) overlap: scenes of "
                    f"{b['start']}..{min(a['end'], b['end'])} go into both composites"
                )
    if demo_reference_unused(cfg.data):
        out.append(
            f"{cfg.source}: key accuracy/reference: 'demo' (the synthetic truth) labels demo maps only; with "
            "real sources the run stops at the validation sample: give the interpreted sample GeoPackage"
        )
    return out


def demo_reference_unused(data: dict[str, Any]) -> bool:
    """True when ``accuracy.reference`` is ``demo`` but Sentinel-2 comes from a real source (no truth)."""
    return bool(data["accuracy"].get("reference") == "demo" and data["sources"]["sentinel2"]["source"] != "demo")


def config_hash(data: dict[str, Any]) -> str:
    """sha256 hex digest of canonical JSON (sorted keys, no whitespace)."""
    canon = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canon.encode()).hexdigest()


# The effective config of each run, below the output root, named by its hash: a run's steps
# read the file of their own config, which a parse with another config never changes.
EFFECTIVE_CONFIG_DIR = "config"


def effective_config_path(root: str | Path, config_hash: str) -> Path:
    """``<root>/config/effective-<config_hash>.yaml``: the effective config a run with that hash used."""
    return Path(root) / EFFECTIVE_CONFIG_DIR / f"effective-{config_hash}.yaml"


def load(path: str | Path, *, overrides: dict[str, Any] | None = None) -> Config:
    """Read a YAML config, apply top-level ``overrides``, validate, fill defaults.

    Raises:
        ConfigError: the file is missing, is not YAML, or is invalid (names the key).
    """
    path = Path(path)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: config file not found") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: config must be a YAML mapping, got {type(raw).__name__}")
    if overrides:
        raw.update(overrides)
    return Config(data=validate(raw, source=str(path)), source=str(path))
