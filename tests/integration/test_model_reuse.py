"""A model published by one run, reused by another over HTTP (a STAC API item URL on the loopback server)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))  # the synthetic ML area

from _loopback import Loopback, Route, server  # noqa: E402, F401
from _ml_fixtures import make_area, train_model, write_samples  # noqa: E402

from sporbar.config import load  # noqa: E402
from sporbar.errors import ChecksumMismatchError  # noqa: E402
from sporbar.ml.run_train import run_train  # noqa: E402
from sporbar.stac.record import RunContext  # noqa: E402
from sporbar.stac.validate import validate_item_dict  # noqa: E402


def _publish(api: Loopback, item_path: Path, *, damage: bool = False) -> str:
    """Serve a model item as a STAC API does (absolute asset hrefs); return the item URL."""
    d = json.loads(item_path.read_text())
    for key, asset in d["assets"].items():
        body = (item_path.parent / asset["href"]).read_bytes()
        if damage and key == "model":
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        path = f"/files/{d['id']}/{Path(asset['href']).name}"
        api.routes[path] = Route(body=body)
        asset["href"] = api.url(path)
    url_path = f"/api/collections/models/items/{d['id']}"
    api.routes[url_path] = Route(body=json.dumps(d).encode(), content_type="application/geo+json")
    return api.url(url_path)


@pytest.fixture(scope="module")
def run_a(tmp_path_factory):
    area = make_area(tmp_path_factory.mktemp("run-a"))
    samples = write_samples(area)
    path, item = train_model(area, "rf", samples)
    return area, samples, path, item


def _run_b(area, tmp_path: Path, url: str):
    data = yaml.safe_load(area.cfg_path.read_text())
    data["root"] = str(tmp_path / "results-b")
    data["models"] = [{"id": "shared", "from": url}]
    data["map"] = {"model": "shared", "product": "land-ecology"}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(data))
    return load(tmp_path / "b.yaml")


def test_reuse_over_http(run_a, server, tmp_path):  # noqa: F811
    area, samples, path, item = run_a
    url = _publish(server, path)
    cfg = _run_b(area, tmp_path, url)
    d = run_train(cfg, model_id="shared", samples_item=samples, series_dir=cfg.root / "models" / "shared",
                  ctx=RunContext.current())
    validate_item_dict(d)
    assert d["id"] == item["id"]
    assert [lk["href"] for lk in d["links"] if lk["rel"] == "via"] == [url]
    folder = cfg.root / "models" / "shared" / item["properties"]["version"]
    for key in ("model", "model-metadata", "metrics"):
        published = path.parent / item["assets"][key]["href"]
        assert (folder / d["assets"][key]["href"]).read_bytes() == published.read_bytes()
    assert server.requests_to(f"/files/{item['id']}/model.joblib")


def test_damaged_download_is_refused(run_a, server, tmp_path):  # noqa: F811
    area, samples, path, _ = run_a
    cfg = _run_b(area, tmp_path, _publish(server, path, damage=True))
    with pytest.raises(ChecksumMismatchError, match="model.joblib"):
        run_train(cfg, model_id="shared", samples_item=samples, series_dir=cfg.root / "models" / "shared",
                  ctx=RunContext.current())
    assert not any((cfg.root / "models" / "shared").iterdir())
