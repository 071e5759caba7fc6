"""A published model reused instead of trained (``models[].from``).

The model item (a local path or an ``http(s)`` URL, e.g. a STAC API item) is read, every asset
it has (weights, sidecar, metrics) is fetched and checked against its ``file:size`` and
``file:checksum``, and its MLM input spec (feature names and order, z-score normalisation) and
classes are compared with this run's. Only then is a checked copy written as the version of
this run's model series: the item unchanged but for asset hrefs (the local copies), links made
absolute, and a ``via`` link to the source. Its id is the published item's, so the maps of
this run are ``derived_from`` the reused model item. Nothing is written when a check fails.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from sporbar.config import Config
from sporbar.errors import ChecksumMismatchError, InputDataError, MissingInputError, ModelMismatchError
from sporbar.io import sha256_multihash_of, write_json_atomic
from sporbar.ml.io import SIDECAR, load_model
from sporbar.ml.models import TEMPORAL_KINDS, ModelKind
from sporbar.ml.train import FittedModel
from sporbar.stac import extensions as ext
from sporbar.stac.versions import intact_version, version_hash, version_path
from sporbar.training.features import model_feature_names

log = logging.getLogger(__name__)

#: reused model items record where they came from
REUSED_FROM = ext.SPORBAR_PREFIX + "reused_from"
TIMEOUT_S = 60


def _is_url(href: str) -> bool:
    return urlsplit(href).scheme in ("http", "https")


def source_href(href: str, cfg: Config) -> str:
    """``models[].from`` as a URL or an absolute path (a relative path is relative to the config)."""
    if _is_url(href):
        return href
    p = Path(href)
    return str(p if p.is_absolute() else (Path(cfg.source).parent / p).resolve())


def fetch(href: str) -> bytes:
    """The bytes at a local path or an http(s) URL.

    Raises:
        MissingInputError: no such file, or the server answers 404.
        InputDataError: any other HTTP or network failure (names the URL).
    """
    if not _is_url(href):
        try:
            return Path(href).read_bytes()
        except FileNotFoundError as err:
            raise MissingInputError(f"{href}: not found; check models[].from") from err
    try:
        with urllib.request.urlopen(href, timeout=TIMEOUT_S) as resp:  # noqa: S310 - http(s) only, checked above
            return resp.read()  # type: ignore[no-any-return]
    except urllib.error.HTTPError as err:
        if err.code == 404:
            raise MissingInputError(f"{href}: HTTP 404, no such item or file; check models[].from") from err
        raise InputDataError(f"{href}: HTTP {err.code} {err.reason}; try again later or check models[].from") from err
    except (urllib.error.URLError, OSError) as err:
        raise InputDataError(f"{href}: cannot fetch ({err}); check the address and the network") from err


def resolve(href: str, base: str) -> str:
    """``href`` of a link or asset of the item at ``base``, made absolute (URL or path)."""
    if _is_url(href) or _is_url(base):
        return urljoin(base, href)
    p = Path(href)
    return str(p if p.is_absolute() else (Path(base).parent / p).resolve())


def read_source_item(href: str) -> dict[str, Any]:
    """The published model item at ``href``.

    Raises:
        InputDataError: not a JSON STAC item with a ``model`` asset.
    """
    try:
        item = json.loads(fetch(href))
    except ValueError as err:
        raise InputDataError(f"{href}: not JSON ({err}); models[].from must name a STAC model item") from err
    if not isinstance(item, dict) or item.get("type") != "Feature" or "model" not in item.get("assets", {}):
        raise InputDataError(f"{href}: not a STAC model item (no 'model' asset); models[].from must name one")
    return item


def fetch_asset(item: dict[str, Any], key: str, base: str, dest: Path) -> Path:
    """Fetch asset ``key`` into ``dest``, checked against the item's ``file:size`` and ``file:checksum``.

    Raises:
        ChecksumMismatchError: the bytes differ from what the item records (names both).
    """
    asset = item["assets"][key]
    href = resolve(asset["href"], base)
    data = fetch(href)
    size, checksum = asset.get(ext.FILE_SIZE), asset.get(ext.FILE_CHECKSUM)
    actual = sha256_multihash_of(data)
    if (size is not None and size != len(data)) or (checksum is not None and checksum != actual):
        raise ChecksumMismatchError(
            f"{href}: asset {key!r} of model item {item['id']!r} ({base}) is {len(data)} bytes with checksum "
            f"{actual}, the item records {size} bytes, {checksum}; the file changed after it was published: "
            "ask its publisher for the intact file or an item that describes it"
        )
    dest.write_bytes(data)
    return dest


def _scaling(item: dict[str, Any]) -> list[tuple[float, float]] | None:
    scaling = item["properties"]["mlm:input"][0].get("value_scaling")
    return [(float(s["mean"]), float(s["stddev"])) for s in scaling] if scaling else None


def input_differences(
    item: dict[str, Any], model: FittedModel, features: list[str], classes: list[dict[str, Any]]
) -> list[str]:
    """Every way the published model's input spec and classes differ from this run's (empty: it fits).

    Args:
        item: the published model item (``mlm:input``, ``mlm:output`` classes).
        model: its model file, loaded.
        features: this run's features for the model's kind, in order.
        classes: this run's ``classes[]``.
    """
    diffs: list[str] = []
    bands = list(item["properties"]["mlm:input"][0].get("bands", []))
    if bands != features:
        only_model = [b for b in bands if b not in features]
        only_run = [f for f in features if f not in bands]
        if only_model or only_run:
            diffs.append(f"features only the model reads {only_model}, only this run has {only_run}")
        else:
            diffs.append("the same features in another order")
    if model.feature_names != bands:
        diffs.append("the model file's features differ from its item's mlm:input bands")
    scaling = _scaling(item)
    file_scaling = list(zip(model.normaliser.mean, model.normaliser.std, strict=True)) if model.normaliser else None
    if (scaling is None) != (file_scaling is None) or (
        scaling is not None
        and file_scaling is not None
        and any(abs(a - c) > 1e-9 * max(1.0, abs(a)) or abs(b - d) > 1e-9 * max(1.0, abs(b))
                for (a, b), (c, d) in zip(scaling, file_scaling, strict=False))
    ):
        diffs.append("normalisation: the item's mlm:input value_scaling is not the model file's")
    published = {
        int(c["value"]): c["name"] for c in item["properties"]["mlm:output"][0].get("classification:classes", [])
    }
    ours = {int(c["value"]): c["name"] for c in classes}
    for value, name in sorted(published.items()):
        if ours.get(value) != name:
            mine = f"{ours[value]!r}" if value in ours else "no class"
            diffs.append(f"class {value} is {name!r} in the model, {mine} in this run's classes[]")
    if sorted(published) != sorted(model.class_values):
        diffs.append(f"the model file's classes {model.class_values} are not its item's {sorted(published)}")
    return diffs


def _copied_item(item: dict[str, Any], src: str, names: dict[str, str]) -> dict[str, Any]:
    """The published item with local asset hrefs, absolute links and a ``via`` link to ``src``."""
    out: dict[str, Any] = json.loads(json.dumps(item))
    for key, name in names.items():
        out["assets"][key]["href"] = f"./{name}"
    out["links"] = [
        {**lk, "href": resolve(lk["href"], src)}
        for lk in item.get("links", [])
        if lk.get("rel") not in ("self", "root", "parent", "collection", "latest-version",
                                 "predecessor-version", "successor-version")
    ] + [{"rel": "via", "href": src, "type": ext.JSON, "title": "The published model item reused here"}]
    out["properties"][REUSED_FROM] = src
    return out


def reuse_model(cfg: Config, spec: dict[str, Any], *, series_dir: Path) -> dict[str, Any]:
    """Fetch, check and record the published model of ``spec['from']`` as a version of ``series_dir``.

    Returns:
        The item written (or kept: an intact copy of the same version is not fetched again).

    Raises:
        ChecksumMismatchError: a fetched file differs from its item's checksum or size.
        ModelMismatchError: its input spec or classes differ from this run's (lists the differences).
        MissingInputError, InputDataError: the item or a file cannot be fetched or read.
    """
    src = source_href(str(spec["from"]), cfg)
    item = read_source_item(src)
    version = str(item["properties"].get("version") or version_hash(item["id"]))
    output = version_path(Path(series_dir), version)
    kept = intact_version(output)
    if kept is not None and kept.get("id") == item["id"]:
        log.info("train %s: %s already holds a checked copy of %s", spec["id"], output, src)
        return kept
    Path(series_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".reuse-", dir=series_dir) as tmp:
        names = {key: Path(urlsplit(a["href"]).path).name for key, a in sorted(item["assets"].items())}
        for key, name in names.items():
            fetch_asset(item, key, src, Path(tmp) / name)
        if SIDECAR not in names.values():
            raise InputDataError(f"{src}: model item {item['id']!r} has no {SIDECAR} asset; it cannot be loaded")
        model = load_model(Path(tmp) / names["model"])
        if spec.get("kind") and ModelKind(spec["kind"]) is not model.kind:
            raise ModelMismatchError(f"{src}: models[{spec['id']}].kind is {spec['kind']}, the model is {model.kind}")
        features = model_feature_names(cfg, temporal=model.kind in TEMPORAL_KINDS)
        diffs = input_differences(item, model, features, cfg.data["classes"])
        if diffs:
            raise ModelMismatchError(
                f"{src}: model {item['id']!r} does not fit the inputs of {cfg.source} (models[{spec['id']}]): "
                + "; ".join(diffs)
                + "; reuse a model made with these features and classes, or train one here (drop `from:`)"
            )
        write_json_atomic(Path(tmp) / "item.json", _copied_item(item, src, names))
        if output.parent.exists():  # an incomplete earlier copy (no intact item)
            shutil.rmtree(output.parent)
        Path(tmp).rename(output.parent)
        Path(tmp).mkdir()  # for TemporaryDirectory's clean-up
    log.info("train %s: reused %s (%s), checksums and input spec checked", spec["id"], item["id"], src)
    written: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return written
