"""Band handling checked on real Sentinel-2 L2A patches (BigEarthNet, ../shared/realdata/bigearthnet).

Each patch is one GeoTIFF per band at the band's native resolution: the band table
(``sporbar.bands``) must agree with the files on every band's resolution, and the index
definitions (band order) must give the values known for the labelled land cover.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from sporbar.bands import BAND_IDS, NATIVE_RESOLUTION, SPECTRAL_INDICES

S2 = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "bigearthnet" / "BigEarthNet-S2"
PATCHES = sorted(p for p in S2.glob("S2*") if p.is_dir()) if S2.exists() else []
pytestmark = pytest.mark.skipif(not PATCHES, reason=f"{S2} not present")


def _band(patch: Path, band: str) -> tuple[np.ndarray, float, tuple[float, ...]]:
    with rasterio.open(patch / f"{patch.name}_{band}.tif") as ds:
        return ds.read(1).astype(np.float64) / 10000, ds.transform.a, tuple(ds.bounds)


def _labels(patch: Path) -> list[str]:
    return list(json.loads((patch / f"{patch.name}_labels_metadata.json").read_text())["labels"])


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: p.name)
def test_native_resolution_of_every_band(patch):
    bands = sorted(p.stem.rsplit("_", 1)[1] for p in patch.glob("*_B*.tif"))
    assert set(bands) == set(BAND_IDS) - {"B10"}  # L2A has no cirrus band
    bounds = set()
    for band in bands:
        _, res, b = _band(patch, band)
        assert res == NATIVE_RESOLUTION[band], band
        bounds.add(b)
    assert len(bounds) == 1  # every resolution covers the same patch


def test_index_band_order_on_real_land_cover():
    """NDVI (B08, B04) is high on pasture; NDWI (B03, B08) is highest where the NIR is absorbed: water."""
    def index(patch: Path, name: str) -> np.ndarray:
        a, b, _ = SPECTRAL_INDICES[name]
        va, vb = _band(patch, a)[0], _band(patch, b)[0]
        return (va - vb) / (va + vb)

    by_label = {p.name: _labels(p) for p in PATCHES}
    pasture = next(p for p in PATCHES if by_label[p.name] == ["Pastures"])
    ndvi = index(pasture, "NDVI")
    assert np.all(np.abs(ndvi) <= 1) and np.median(ndvi) > 0.6
    water = next(p for p in PATCHES if "Water bodies" in by_label[p.name])
    lakes = _band(water, "B08")[0] < 0.03  # dark in the NIR (humic boreal lakes)
    assert lakes.mean() > 0.01 and (_band(pasture, "B08")[0] < 0.03).mean() == 0
    ndwi = index(water, "NDWI")
    assert np.median(ndwi[lakes]) > np.median(ndwi[~lakes]) + 0.4
