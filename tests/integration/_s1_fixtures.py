"""Sentinel-1 GRD on loopback: a DHuS hub and a STAC API serving the real S1 SAFE metadata.

The product is the real ``S1A_IW_GRDH_1SDV_20210809T173953_...`` metadata copy in
``../shared/realdata/s1-metadata`` (manifest, annotation, calibration and noise XML; no
measurement TIFFs). The hub answers the recorded sentinelsat search ``test_footprints_s1``
(19 GRD products of every mode) with one IW VV+VH entry renamed to that product, so the
search, its filters and the download of the product zip all run for real.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from _loopback import REALDATA, Loopback, Route, load_cassette, replay_cassette

from sporbar.io import sha256_multihash

PRODUCT = "S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13_6FF8"
REAL_S1 = REALDATA / "s1-metadata" / f"{PRODUCT}.SAFE"
RECORDED = "https://apihub.copernicus.eu/apihub"
# the recorded IW VV+VH entries of test_footprints_s1: the first stands in for PRODUCT
RECORDED_IW_VV_VH = ("S1A_IW_GRDH_1SDV_20141223T224534_20141223T224604_003852_0049CA_F221",
                     "S1A_IW_GRDH_1SDV_20141105T224535_20141105T224606_003152_0039FE_30D7")
UUID = "f3c77186-9d35-4270-b2f3-22d7ff320780"  # the recorded uuid of RECORDED_IW_VV_VH[0]


def real_s1_safe() -> Path:
    """The real S1 SAFE folder; skips the test when ../shared/realdata is absent."""
    if not (REAL_S1 / "manifest.safe").is_file():
        pytest.skip(f"{REAL_S1} absent: the shared real Sentinel-1 metadata is needed")
    if not (REALDATA / "dhus-cassettes" / "test_footprints_s1.yaml").is_file():
        pytest.skip(f"{REALDATA}/dhus-cassettes/test_footprints_s1.yaml absent")
    return REAL_S1


def zip_safe(safe: Path) -> bytes:
    """The product zip of a SAFE folder (members below ``<name>.SAFE/``), deterministic."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(safe.rglob("*")):
            if f.is_file():
                info = zipfile.ZipInfo(f"{safe.name}/{f.relative_to(safe).as_posix()}", (2021, 8, 9, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, f.read_bytes())
    return buf.getvalue()


def serve_dhus_product(server: Loopback, uuid: str, body: bytes, auth: tuple[str, str] | None = None) -> str:
    """Serve a product's OData entry (with its MD5) and ``$value`` zip; return the MD5 (hex)."""
    md5 = hashlib.md5(body).hexdigest()
    server.routes[f"/apihub/odata/v1/Products('{uuid}')"] = Route(
        body=json.dumps({"d": {"Id": uuid, "Checksum": {"Algorithm": "MD5", "Value": md5.upper()}}}).encode(),
        content_type="application/json", auth=auth)
    server.routes[f"/apihub/odata/v1/Products('{uuid}')/$value"] = Route(body=body, auth=auth)
    return md5


def hub_interactions(*, drop_second: bool = False) -> list[dict[str, Any]]:
    """The recorded S1 GRD search, its first IW VV+VH entry renamed to PRODUCT.

    ``drop_second``: also leave out the other IW VV+VH entry (whose SAFE we do not have), so
    that everything the filtered search keeps can be fetched.
    """
    inter = copy.deepcopy(load_cassette("dhus-cassettes/test_footprints_s1.yaml"))
    body = inter[0]["response"]["body"]
    doc = json.loads(body["string"].replace(RECORDED_IW_VV_VH[0], PRODUCT))
    if drop_second:
        entries = [e for e in doc["feed"]["entry"] if e["title"] != RECORDED_IW_VV_VH[1]]
        doc["feed"]["entry"] = entries
        doc["feed"]["opensearch:totalResults"] = str(len(entries))
    body["string"] = json.dumps(doc)
    return inter


def serve_hub(server: Loopback, *, drop_second: bool = False, auth: tuple[str, str] | None = None) -> str:
    """The loopback hub: the filtered-able search and PRODUCT's zip; returns the MD5 of the zip."""
    replay_cassette(server, hub_interactions(drop_second=drop_second), RECORDED, "/apihub")
    return serve_dhus_product(server, UUID, zip_safe(real_s1_safe()), auth=auth)


def stac_item(server: Loopback, *, mode: str = "IW", pols: tuple[str, ...] = ("VV", "VH"),
              item_id: str | None = None, checksums: bool = True) -> dict[str, Any]:
    """An Earth Search-shaped ``sentinel-1-grd`` item of the real product, assets served on loopback.

    Keys as Earth Search names them (``safe-manifest``, ``schema-product-vv``, ...); the
    item id lacks the CRC, the product name is in ``s1:product_identifier``.
    """
    from sporbar.fetch.s1_safe import read_s1_safe
    from sporbar.stac.items.raw_s1 import raw_s1_item

    safe = real_s1_safe()
    d = raw_s1_item(read_s1_safe(safe)).to_dict(include_self_link=False, transform_hrefs=False)
    iid = item_id or PRODUCT.rsplit("_", 1)[0]
    d.update(id=iid, collection="sentinel-1-grd")
    d["properties"].update({"sar:instrument_mode": mode, "sar:polarizations": list(pols),
                            "s1:product_identifier": PRODUCT if item_id is None else item_id,
                            "proj:epsg": 4326})  # Earth Search's proj fields are not kept
    rename = {"manifest": "safe-manifest", "annotation": "schema-product", "calibration": "schema-calibration",
              "noise": "schema-noise"}
    assets = {}
    for key, a in d["assets"].items():
        kind, _, pol = key.partition("-")
        f = Path(a["href"])
        route = f"/data/{iid}/{f.relative_to(safe).as_posix()}"
        server.routes[route] = Route(body=f.read_bytes(), content_type="application/xml")
        new = {"href": server.url(route), "type": "application/xml", "roles": ["metadata"]}
        if checksums:
            new["file:checksum"] = sha256_multihash(f)
        assets[f"{rename[kind]}-{pol}" if pol else rename[kind]] = new
    d["assets"] = assets
    d["links"] = [{"rel": "self", "href": server.url(f"/v1/collections/sentinel-1-grd/items/{iid}")}]
    return d


def serve_stac_api(server: Loopback, items: list[dict[str, Any]]) -> None:
    """A minimal STAC API on loopback: landing page and POST /search answering ``items``."""
    server.routes["/v1"] = Route(content_type="application/json", body=json.dumps({
        "type": "Catalog", "id": "loopback", "description": "test STAC API", "stac_version": "1.0.0",
        "conformsTo": ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search"],
        "links": [{"rel": "search", "href": server.url("/v1/search"), "type": "application/geo+json",
                   "method": "POST"}, {"rel": "self", "href": server.url("/v1")}]}).encode())
    server.routes["/v1/search"] = Route(content_type="application/geo+json", body=json.dumps(
        {"type": "FeatureCollection", "features": items, "links": []}).encode())
