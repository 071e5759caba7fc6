"""Sentinel-2 MSI band tables: ids, native resolutions, wavelengths, ``eo:bands`` entries.

A low module: the SAFE reader (:mod:`sporbar.fetch.safe`), the demo SAFE writer
(:mod:`sporbar.demo.sentinel2`) and the ARD item (:mod:`sporbar.stac.items.ard`) all read these.
"""

from __future__ import annotations

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
