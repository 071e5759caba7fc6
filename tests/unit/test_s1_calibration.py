"""Sentinel-1 radiometric calibration against the real LUTs in ../shared/realdata/s1-metadata.

Expected values are computed here by hand from the XML text (its first vectors), not with
the module under test: at a LUT node, and halfway between nodes in line and pixel.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from sporbar.errors import MissingInputError
from sporbar.s1ard.calibration import NOISE_FLOOR, CalibrationType, calibrate, read_luts

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "s1-metadata"
CAL_DIR = next(REALDATA.glob("S1A_*.SAFE/annotation/calibration"), REALDATA / "missing")
pytestmark = pytest.mark.skipif(not CAL_DIR.is_dir(), reason=f"real S1 metadata not available ({REALDATA})")


def _files(pol: str) -> tuple[Path, Path]:
    return next(CAL_DIR.glob(f"calibration-*-{pol}-*.xml")), next(CAL_DIR.glob(f"noise-*-{pol}-*.xml"))


def _vectors(path: Path, vector: str, lut: str) -> tuple[list[int], list[np.ndarray], list[np.ndarray]]:
    """(line, pixels, values) of every ``vector`` element, read by hand."""
    lines, pixels, values = [], [], []
    for v in ET.parse(path).getroot().iter(vector):
        lines.append(int(v.findtext("line") or ""))
        pixels.append(np.array((v.findtext("pixel") or "").split(), float))
        values.append(np.array((v.findtext(lut) or "").split(), float))
    return lines, pixels, values


def _first_azimuth_value(path: Path) -> float:
    vec = next(ET.parse(path).getroot().iter("noiseAzimuthVector"))
    return float((vec.findtext("noiseAzimuthLut") or "").split()[0])


def _bilinear(lines: list[int], pixels: list[np.ndarray], values: list[np.ndarray], line: float, px: float) -> float:
    i = int(np.searchsorted(lines, line, side="right")) - 1
    j = int(np.searchsorted(pixels[i], px, side="right")) - 1
    ty = (line - lines[i]) / (lines[i + 1] - lines[i])
    tx = (px - pixels[i][j]) / (pixels[i][j + 1] - pixels[i][j])
    top = values[i][j] * (1 - tx) + values[i][j + 1] * tx
    bottom = values[i + 1][j] * (1 - tx) + values[i + 1][j + 1] * tx
    return float(top * (1 - ty) + bottom * ty)


@pytest.mark.parametrize("pol", ["vv", "vh"])
@pytest.mark.parametrize(("kind", "lut"), [("sigma0", "sigmaNought"), ("gamma0", "gamma"), ("beta0", "betaNought")])
def test_calibration_at_a_node_and_between_nodes_matches_the_esa_formula(pol: str, kind: str, lut: str) -> None:
    cal_path, noise_path = _files(pol)
    cl, cp, cv = _vectors(cal_path, "calibrationVector", lut)
    nl, np_, nv = _vectors(noise_path, "noiseRangeVector", "noiseRangeLut")
    az = _first_azimuth_value(noise_path)  # first line of the first block (pixel 0..)
    luts = read_luts(cal_path, noise_path, calibration_type=CalibrationType(kind), polarisation=pol.upper())
    dn = 150.0
    # a node: line 0, pixel 0
    expect_node = (dn**2 - nv[0][0] * az) / cv[0][0] ** 2
    # between nodes: halfway between the first two calibration lines, halfway between pixel nodes 0 and 1
    line, px = (cl[0] + cl[1]) / 2, (cp[0][0] + cp[0][1]) / 2
    a = _bilinear(cl, cp, cv, line, px)
    n = _bilinear(nl, np_, nv, line, px)
    got = calibrate(np.full((2, 2), dn), np.array([0.0, line]), np.array([0.0, px]), luts)
    assert got[0, 0] == pytest.approx(expect_node, rel=1e-5)
    # the azimuth LUT varies along the line: between its nodes, interpolated linearly too
    vec = next(ET.parse(noise_path).getroot().iter("noiseAzimuthVector"))
    az_lines = np.array((vec.findtext("line") or "").split(), float)
    az_values = np.array((vec.findtext("noiseAzimuthLut") or "").split(), float)
    az_mid = float(np.interp(line, az_lines, az_values))
    assert got[1, 1] == pytest.approx((dn**2 - n * az_mid) / a**2, rel=1e-5)
    assert cv[0][0] != cv[1][0] or cv[0][0] != cv[0][1] or kind == "beta0"  # the LUT really varies


def test_without_noise_removal_the_noise_xml_is_not_needed(tmp_path: Path) -> None:
    cal_path, _ = _files("vv")
    luts = read_luts(cal_path, tmp_path / "absent.xml", calibration_type=CalibrationType.sigma0,
                     polarisation="VV", remove_noise=False)
    _, _, cv = _vectors(cal_path, "calibrationVector", "sigmaNought")
    got = calibrate(np.array([[100.0]]), np.array([0.0]), np.array([0.0]), luts)
    assert got[0, 0] == pytest.approx(100.0**2 / cv[0][0] ** 2, rel=1e-5)


def test_noise_file_without_azimuth_lut_uses_range_noise_only(tmp_path: Path) -> None:
    # IPF < 2.9 products have no noiseAzimuthVectorList: N_azimuth = 1
    cal_path, noise_path = _files("vv")
    tree = ET.parse(noise_path)
    root = tree.getroot()
    root.remove(next(iter(root.iter("noiseAzimuthVectorList"))))
    old = tmp_path / "noise-old.xml"
    tree.write(old)
    luts = read_luts(cal_path, old, calibration_type=CalibrationType.sigma0, polarisation="VV")
    assert luts.noise_azimuth == ()
    _, _, cv = _vectors(cal_path, "calibrationVector", "sigmaNought")
    _, _, nv = _vectors(noise_path, "noiseRangeVector", "noiseRangeLut")
    got = calibrate(np.array([[100.0]]), np.array([0.0]), np.array([0.0]), luts)
    assert got[0, 0] == pytest.approx((100.0**2 - nv[0][0]) / cv[0][0] ** 2, rel=1e-5)


def test_noise_above_signal_gives_the_floor_and_zero_dn_is_nodata() -> None:
    cal_path, noise_path = _files("vh")
    luts = read_luts(cal_path, noise_path, calibration_type=CalibrationType.sigma0, polarisation="VH")
    got = calibrate(np.array([[1.0, 0.0]]), np.array([0.0]), np.array([0.0, 40.0]), luts)
    assert got[0, 0] == pytest.approx(NOISE_FLOOR)
    assert np.isnan(got[0, 1])


def test_missing_calibration_file_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(MissingInputError, match="calibration XML of polarisation VV not found.*metadata-only"):
        read_luts(tmp_path / "calibration-x.xml", None, calibration_type=CalibrationType.sigma0, polarisation="VV")
    with pytest.raises(MissingInputError, match=r"\(none listed\): calibration"):
        read_luts(None, None, calibration_type=CalibrationType.sigma0, polarisation="VH")
