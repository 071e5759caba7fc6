"""Sentinel-2 MSI band tables: ids, native resolutions, wavelengths, ``eo:bands`` entries.

A low module: the SAFE reader (:mod:`sporbar.fetch.safe`), the demo SAFE writer
(:mod:`sporbar.demo.sentinel2`) and the ARD item (:mod:`sporbar.stac.items.ard`) all read these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pystac.extensions.eo import Band

# Sentinel-2 bandId order, as used by BOA_ADD_OFFSET/@band_id and Spectral_Information/@bandId.
BAND_IDS: tuple[str, ...] = (
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B8A",
    "B09",
    "B10",
    "B11",
    "B12",
)
# Native resolution (m) of each band; SCL is delivered at 20 m natively.
NATIVE_RESOLUTION: dict[str, int] = {
    "B01": 60,
    "B02": 10,
    "B03": 10,
    "B04": 10,
    "B05": 20,
    "B06": 20,
    "B07": 20,
    "B08": 10,
    "B8A": 20,
    "B09": 60,
    "B10": 60,
    "B11": 20,
    "B12": 20,
    "SCL": 20,
}
# band -> (common name, centre wavelength um, full width half max um), Sentinel-2A MSI
BAND_INFO: dict[str, tuple[str | None, float, float]] = {
    "B01": ("coastal", 0.443, 0.027),
    "B02": ("blue", 0.490, 0.098),
    "B03": ("green", 0.560, 0.045),
    "B04": ("red", 0.665, 0.038),
    "B05": ("rededge", 0.704, 0.019),
    "B06": ("rededge", 0.740, 0.018),
    "B07": ("rededge", 0.783, 0.028),
    "B08": ("nir", 0.842, 0.145),
    "B8A": ("nir08", 0.865, 0.033),
    "B09": ("nir09", 0.945, 0.026),
    "B10": ("cirrus", 1.374, 0.075),
    "B11": ("swir16", 1.610, 0.143),
    "B12": ("swir22", 2.190, 0.242),
}


def eo_band(name: str) -> Band:
    """The ``eo:bands`` entry of a Sentinel-2 band (name, common name, wavelengths in um).

    Raises:
        KeyError: ``name`` is not a Sentinel-2 band id.
    """
    common, center, fwhm = BAND_INFO[name]
    return Band.create(name=name, common_name=common, center_wavelength=center, full_width_half_max=fwhm)

# Normalised-difference indices: name -> (band a, band b, title); the index is (a - b) / (a + b).
SPECTRAL_INDICES: dict[str, tuple[str, str, str]] = {
    "NDVI": ("B08", "B04", "Normalised difference vegetation index (B08, B04; Rouse et al. 1974)"),
    "NDMI": ("B08", "B11", "Normalised difference moisture index (B08, B11; Gao 1996)"),
    "NDWI": ("B03", "B08", "Normalised difference water index (B03, B08; McFeeters 1996)"),
    "NBR": ("B08", "B12", "Normalised burn ratio (B08, B12; Key & Benson 2006)"),
    "NDRE": ("B8A", "B05", "Normalised difference red-edge index (B8A, B05)"),
    "NDSI": ("B03", "B11", "Normalised difference snow index (B03, B11; Hall et al. 1995)"),
}
INDEX_BANDS: dict[str, tuple[str, str]] = {k: (a, b) for k, (a, b, _) in SPECTRAL_INDICES.items()}


def season_names(bands: Sequence[str], percentiles: Sequence[int]) -> list[str]:
    """Band names of the ARD season asset: ``<band>_p<q>`` per band and percentile, then ``clear_count``."""
    return [f"{b}_p{q}" for b in bands for q in percentiles] + ["clear_count"]


#: prefix of the time-series model features ``ts_<step>_<band>``: one per time step and band,
#: NaN where the step holds no clear observation (a temporal model masks it; others skip them)
SERIES_PREFIX = "ts_"


def series_names(steps: Sequence[str], bands: Sequence[str]) -> list[str]:
    """Time-series feature names, step-major: ``ts_<step>_<band>`` (a step label has no ``_``)."""
    return [f"{SERIES_PREFIX}{s}_{b}" for s in steps for b in bands]


def is_series(name: str) -> bool:
    """Whether a feature is a time-series step (``ts_<step>_<band>``), which may be NaN."""
    return name.startswith(SERIES_PREFIX)


@dataclass(frozen=True)
class SeriesLayout:
    """Where the time series and the static features sit among a model's feature columns.

    Attributes:
        steps: time-step labels, in column order (months ``YYYY-MM`` or dates).
        bands: bands (or indices) per step, in column order.
        series: column of each (step, band), step-major (len(steps) * len(bands)).
        static: columns of the other (static, never NaN) features, in order.
    """

    steps: tuple[str, ...]
    bands: tuple[str, ...]
    series: tuple[int, ...]
    static: tuple[int, ...]


def series_layout(names: Sequence[str]) -> SeriesLayout:
    """The :class:`SeriesLayout` of feature ``names`` (series columns named by :func:`series_names`).

    Raises:
        ValueError: the series columns are not every step times every band.
    """
    steps: list[str] = []
    bands: list[str] = []
    where: dict[tuple[str, str], int] = {}
    static: list[int] = []
    for i, name in enumerate(names):
        if not is_series(name):
            static.append(i)
            continue
        step, _, band = name[len(SERIES_PREFIX) :].partition("_")
        if step not in steps:
            steps.append(step)
        if band not in bands:
            bands.append(band)
        where[(step, band)] = i
    missing = [series_names([s], [b])[0] for s in steps for b in bands if (s, b) not in where]
    if missing:
        raise ValueError(f"time-series features incomplete: {', '.join(missing)} missing")
    return SeriesLayout(
        tuple(steps), tuple(bands), tuple(where[(s, b)] for s in steps for b in bands), tuple(static)
    )


#: Sentinel-1 ARD statistic bands per period, in file order: (VV, VH or the VH/VV ratio; statistic)
S1_STATISTICS: tuple[tuple[str, str], ...] = (
    ("vv", "mean"), ("vv", "std"), ("vh", "mean"), ("vh", "std"), ("vhvv", "mean"), ("vhvv", "std"),
)


def s1_band_names(period: str) -> list[str]:
    """Band names of a period's Sentinel-1 backscatter asset (``<period>_vv_mean``...): also the feature names."""
    return [f"{period}_{q}_{s}" for q, s in S1_STATISTICS]


def s1_enabled(data: Mapping[str, Any]) -> bool:
    """Whether the config (validated data) makes Sentinel-1 ARD and model features of it.

    ``sources.sentinel1.source`` is not ``none`` (scenes are fetched) and ``s1_ard.enabled`` is not false.
    """
    fetched = str((data["sources"].get("sentinel1") or {}).get("source", "none")) != "none"
    return fetched and bool((data.get("s1_ard") or {}).get("enabled", True))
