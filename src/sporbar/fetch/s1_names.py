"""Sentinel-1 GRD query names: product names, the ``sources.sentinel1`` filters, the section.

A low module of :mod:`sporbar.fetch`: the Sentinel-1 reader and every Sentinel-1 source
(DHuS, STAC API, local archive) import it, and it imports none of them.

The filters are the section's ``sensor_mode`` (IW, EW, SM, WV) and ``polarisation``
("VV VH", "HH HV", "VV", "HH"; unset: any), always for product type GRD. A DHuS hub gets
them as the OpenSearch keywords ``sensoroperationalmode``/``polarisationmode``; a STAC API
is filtered on ``sar:instrument_mode``/``sar:polarizations`` after the search; a local
archive on the product name. Every source also drops what comes back beyond the filters
(a hub answering SLC or RAW products, another mode), so the scene list holds only what
the config asks for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sporbar.config import Config

SECTION = "sentinel1"
PRODUCT_TYPE = "GRD"
# S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13_6FF8
NAME_PATTERN = (
    r"(?P<mission>S1[A-D])_(?P<beam>[A-Z0-9]{2})_(?P<type>[A-Z]{3})(?P<res>[FHM_])_"
    r"(?P<level>\d)(?P<cls>[SA])(?P<pol>SH|SV|DH|DV|HH|VV|HV|VH)_"
    r"(?P<start>\d{8}T\d{6})_(?P<stop>\d{8}T\d{6})_(?P<orbit>\d{6})_(?P<datatake>[0-9A-F]{6})_"
    r"(?P<crc>[0-9A-F]{4})"
)
NAME = re.compile(rf"^{NAME_PATTERN}$")
# beam id of the product name -> acquisition mode (S1..S6 are the strip-map beams)
_BEAM_MODES = {"IW": "IW", "EW": "EW", "WV": "WV", **{f"S{i}": "SM" for i in range(1, 7)}}
# polarisation code of the product name -> polarisations
_POL_CODES = {"DV": ("VV", "VH"), "DH": ("HH", "HV"), "SV": ("VV",), "SH": ("HH",),
              "VV": ("VV",), "HH": ("HH",), "VH": ("VH",), "HV": ("HV",)}


@dataclass(frozen=True)
class S1Name:
    """The fields of a Sentinel-1 product name (``S1A_IW_GRDH_1SDV_<start>_<stop>_<orbit>_<take>_<crc>``).

    Attributes:
        product_id: the name, without ``.SAFE``.
        mode: acquisition mode, ``"IW"``, ``"EW"``, ``"SM"`` or ``"WV"``.
        product_type: ``"GRD"``, ``"SLC"``, ``"RAW"``, ``"OCN"``.
        polarisations: e.g. ``("VV", "VH")``.
        start: sensing start (UTC).
    """

    product_id: str
    mode: str
    product_type: str
    polarisations: tuple[str, ...]
    start: datetime


def parse_name(name: str) -> S1Name | None:
    """The fields of a Sentinel-1 product name (with or without ``.SAFE``); None if it is not one."""
    product_id = name.removesuffix(".SAFE")
    m = NAME.match(product_id)
    if m is None:
        return None
    return S1Name(
        product_id=product_id,
        mode=_BEAM_MODES.get(m["beam"], m["beam"]),
        product_type=m["type"].rstrip("_"),
        polarisations=_POL_CODES[m["pol"]],
        start=datetime.strptime(m["start"], "%Y%m%dT%H%M%S").replace(tzinfo=UTC),
    )


@dataclass(frozen=True)
class S1Filters:
    """What a Sentinel-1 search keeps.

    Attributes:
        sensor_mode: ``"IW"``, ``"EW"``, ``"SM"`` or ``"WV"``.
        polarisation: ``"VV VH"``, ``"HH HV"``, ``"VV"``, ``"HH"``, or None for any.
        product_type: always ``"GRD"``.
    """

    sensor_mode: str
    polarisation: str | None = None
    product_type: str = PRODUCT_TYPE

    def keeps(self, *, product_type: str | None, mode: str | None, polarisations: Iterable[str] | None) -> bool:
        """Whether a product with these fields passes (a field the source did not give passes)."""
        if product_type is not None and product_type.upper() != self.product_type:
            return False
        if mode is not None and mode.upper() != self.sensor_mode:
            return False
        if self.polarisation and polarisations is not None:
            return {p.upper() for p in polarisations} == set(self.polarisation.split())
        return True

    def keeps_name(self, name: str) -> bool:
        """Whether the product called ``name`` passes (False if it is no Sentinel-1 product name)."""
        n = parse_name(name)
        return n is not None and self.keeps(product_type=n.product_type, mode=n.mode, polarisations=n.polarisations)

    def as_dict(self) -> dict[str, Any]:
        """The filters as recorded in the search query (unset ones left out)."""
        out = {"product_type": self.product_type, "sensor_mode": self.sensor_mode}
        if self.polarisation:
            out["polarisation"] = self.polarisation
        return out

    def dhus_keywords(self) -> dict[str, Any]:
        """The sentinelsat/OpenSearch keywords of the filters."""
        kw = {"producttype": self.product_type, "platformname": "Sentinel-1", "sensoroperationalmode": self.sensor_mode}
        if self.polarisation:
            kw["polarisationmode"] = self.polarisation
        return kw


def section(cfg: Config) -> dict[str, Any]:
    """The ``sources.sentinel1`` section (empty when absent)."""
    return dict(cfg.data["sources"].get(SECTION) or {})


def source(cfg: Config) -> str:
    """The Sentinel-1 source kind: none, dhus, stac_api or local."""
    return str(section(cfg).get("source", "none"))


def filters(cfg: Config) -> S1Filters:
    """The search filters of ``sources.sentinel1``."""
    s = section(cfg)
    return S1Filters(sensor_mode=s.get("sensor_mode", "IW"), polarisation=s.get("polarisation"))


def nothing_found_hint() -> str:
    """What to change when a Sentinel-1 search finds nothing."""
    return (
        "; widen the dates (sources.sentinel1.date_range) or change sources.sentinel1.sensor_mode/polarisation"
    )


def is_s1_product(name: str) -> bool:
    """Whether a product name (with or without ``.SAFE``) is a Sentinel-1 product."""
    return name.startswith("S1")
