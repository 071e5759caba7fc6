"""The quality flags of every scene by ``ard.mask.method``: SCL, ``s2cloudless``, or both.

- ``scl``: Sen2Cor's scene classification (:func:`sporbar.ard.mask.scl_flags`); needs Level-2A.
- ``s2cloudless``: cloud from the ``s2cloudless`` probability (:mod:`sporbar.ard.cloudprob`), no
  data where a mask band has none, snow where NDSI > 0.42 and B08 > 0.11 and B03 > 0.1 (Sen2Cor's
  and Fmask's snow tests without the thermal band); needs no SCL, so Level-1C products can be used.
- ``both``: the SCL flags, and cloud also where ``s2cloudless`` finds it.

Cloud shadow comes from SCL 3 (``scl``, ``both``) and, with ``ard.mask.shadow.method: geometric``
(the default unless the method is ``scl``), from the cloud mask projected along the sun
(:mod:`sporbar.ard.shadow`); shadow is dilated by ``ard.mask.dilate_px``, as SCL's is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.delayed import delayed

from sporbar.ard import cloudprob
from sporbar.ard.load import Scene
from sporbar.ard.mask import CLOUD, CLOUD_SHADOW, NODATA, NOT_CLEAR, SNOW, clear_mask, disk, scl_flags
from sporbar.ard.shadow import geometric_shadow
from sporbar.errors import InputDataError

# bands the s2cloudless method reads besides the model's: B03 for the snow and water tests
MASK_BANDS: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B08", "B8A", "B09", "B10", "B11", "B12")
SNOW_RULE = {"scl": "SCL 11", "s2cloudless": "NDSI > 0.42 and B08 > 0.11 and B03 > 0.1",
             "both": "SCL 11"}


@dataclass(frozen=True)
class MaskSettings:
    """What ``ard.mask`` and ``ard.mask_classes`` say, resolved for one grid.

    Attributes:
        method: ``scl``, ``s2cloudless`` or ``both``.
        mask_classes: SCL classes masked (``scl``, ``both``).
        dilate_px: disk radius (grid pixels) cloud and shadow grow by (SCL, geometric shadow).
        s2cloudless: ``ard.mask.s2cloudless`` (threshold, average_over, dilation, resolution).
        shadow: ``ard.mask.shadow`` with ``method`` resolved to ``geometric`` or ``none``.
        resolution: grid pixel size (m).
    """

    method: str
    mask_classes: tuple[int, ...]
    dilate_px: int
    s2cloudless: Mapping[str, Any]
    shadow: Mapping[str, Any]
    resolution: float

    @classmethod
    def from_config(cls, ard: Mapping[str, Any], resolution: float) -> MaskSettings:
        """Settings from the config's ``ard`` section and the grid resolution (m)."""
        m = ard["mask"]
        shadow = dict(m["shadow"])
        if shadow["method"] == "auto":
            shadow["method"] = "none" if m["method"] == "scl" else "geometric"
        return cls(m["method"], tuple(ard["mask_classes"]), int(m["dilate_px"]), dict(m["s2cloudless"]),
                   shadow, float(resolution))

    @property
    def needs_scl(self) -> bool:
        """Whether the method reads SCL (so Level-1C products cannot be masked)."""
        return self.method != "s2cloudless"

    @property
    def uses_model(self) -> bool:
        """Whether ``s2cloudless`` runs."""
        return self.method != "scl"

    @property
    def factor(self) -> int:
        """Processing pixel of ``s2cloudless`` in grid pixels."""
        return max(1, int(round(float(self.s2cloudless["resolution"]) / self.resolution)))

    def describe(self) -> str:
        """The method in words, for the lineage."""
        words = {"scl": f"SCL classes {sorted(self.mask_classes)}",
                 "s2cloudless": f"s2cloudless probability > {self.s2cloudless['threshold']:g}",
                 "both": f"SCL classes {sorted(self.mask_classes)} and s2cloudless probability > "
                         f"{self.s2cloudless['threshold']:g}"}[self.method]
        if self.shadow["method"] == "geometric":
            words += (f", geometric cloud shadow for cloud heights {self.shadow['min_height']:g}-"
                      f"{self.shadow['max_height']:g} m")
        return words

    def record(self) -> dict[str, Any]:
        """The item's record of the masking method and its parameters."""
        out: dict[str, Any] = {"method": self.method, "dilate_px": self.dilate_px,
                               "snow": SNOW_RULE[self.method] + ": kept out of every composite and counted"}
        if self.needs_scl:
            out["mask_classes"] = list(self.mask_classes)
        if self.uses_model:
            out["s2cloudless"] = {**self.s2cloudless, "model": cloudprob.model_version(),
                                  "bands": list(cloudprob.MODEL_BANDS), "level_2a": cloudprob.L2A_RULE}
        out["shadow"] = dict(self.shadow) if self.shadow["method"] == "geometric" else {"method": "none"}
        if self.shadow["method"] == "geometric":
            out["shadow"]["rule"] = ("cloud mask swept away from the sun over the cloud heights; of it the "
                                     "pixels with B08 < dark_nir, B11 < dark_swir and NDWI <= 0")
        return out


def _sun(scene: Scene) -> tuple[float, float]:
    p = scene.item.properties
    if p.get("view:sun_elevation") is None or p.get("view:sun_azimuth") is None:
        raise InputDataError(f"{scene.item_path}: no view:sun_elevation/view:sun_azimuth, which the geometric "
                             "cloud shadow needs; re-run `sporbar fetch s2` for this scene")
    return 90.0 - float(p["view:sun_elevation"]), float(p["view:sun_azimuth"])


def scene_flags(scl: np.ndarray | None, refl: np.ndarray | None, sun: tuple[float, float] | None,
                settings: MaskSettings) -> np.ndarray:
    """Quality flags (1, y, x) uint8 of one scene (terrain shadow not included).

    Args:
        scl: (1, y, x) scene classification, or None (method ``s2cloudless``).
        refl: (1, band, y, x) reflectance of :data:`MASK_BANDS` (B10 = 0 where the product has
            none), or None (method ``scl`` without geometric shadow).
        sun: (zenith, azimuth) degrees, for the geometric shadow.
        settings: the masking settings.
    """
    from scipy import ndimage

    if scl is not None:
        flags = scl_flags(scl, settings.mask_classes, settings.dilate_px)[0]
    else:
        assert refl is not None
        flags = np.where(np.isnan(refl[0]).any(axis=0), NODATA, 0).astype(np.uint8)
    nodata = (flags & NODATA) != 0
    selem = disk(settings.dilate_px) if settings.dilate_px > 0 else None
    if refl is not None:
        band = {b: refl[0, i] for i, b in enumerate(MASK_BANDS)}
        if settings.uses_model:
            model = refl[:, [MASK_BANDS.index(b) for b in cloudprob.MODEL_BANDS]]
            _, cloud = cloudprob.cloud_mask(model, settings.factor, settings.s2cloudless)
            flags |= np.where(cloud[0] & ~nodata, CLOUD, 0).astype(np.uint8)
        if scl is None:
            g, n, s = band["B03"], band["B08"], band["B11"]
            with np.errstate(invalid="ignore", divide="ignore"):
                snow = ((g - s) / (g + s) > 0.42) & (n > 0.11) & (g > 0.1)
            flags |= np.where(snow & ~nodata & ((flags & CLOUD) == 0), SNOW, 0).astype(np.uint8)
        if settings.shadow["method"] == "geometric" and sun is not None:
            cloud_now = (flags & CLOUD) != 0
            shadow = geometric_shadow(cloud_now, band["B03"], band["B08"], band["B11"], sun, settings.shadow,
                                      settings.resolution)
            if selem is not None:
                shadow = ndimage.binary_dilation(shadow, selem)
            flags |= np.where(shadow & ~nodata & ~cloud_now, CLOUD_SHADOW, 0).astype(np.uint8)
    out: np.ndarray = flags[None]
    return out


def needs_reflectance(settings: MaskSettings) -> bool:
    """Whether the flags read :data:`MASK_BANDS` (the model or the geometric shadow)."""
    return settings.uses_model or settings.shadow["method"] == "geometric"


def quality_flags(settings: MaskSettings, scenes: Sequence[Scene], scl: xr.DataArray | None,
                  refl: xr.DataArray | None) -> xr.DataArray:
    """:func:`scene_flags` of every scene (lazy), dims (time, y, x).

    Args:
        settings: the masking settings.
        scenes: the scenes, in the cube's time order.
        scl: (time, y, x) SCL (None when the method needs none).
        refl: (time, band, y, x) reflectance of :data:`MASK_BANDS` (None unless
            :func:`needs_reflectance`).
    """
    like = scl if scl is not None else refl
    assert like is not None
    ny, nx = like.shape[-2:]
    scl_b = None if scl is None else scl.data.rechunk({0: 1, 1: -1, 2: -1}).to_delayed(optimize_graph=False)
    refl_b = None if refl is None else refl.data.rechunk({0: 1, 1: -1, 2: -1, 3: -1}).to_delayed(
        optimize_graph=False)
    geometric = settings.shadow["method"] == "geometric"
    out = []
    for t, scene in enumerate(scenes):
        f = delayed(scene_flags, pure=False)(None if scl_b is None else scl_b[t, 0, 0],
                                              None if refl_b is None else refl_b[t, 0, 0, 0],
                                              _sun(scene) if geometric else None, settings)
        out.append(da.from_delayed(f, shape=(1, ny, nx), dtype=np.uint8))  # type: ignore[no-untyped-call]
    data = da.concatenate(out, axis=0)  # type: ignore[no-untyped-call]
    coords = {k: like.coords[k] for k in ("time", "y", "x") if k in like.coords}
    return xr.DataArray(data, dims=("time", "y", "x"), coords=coords, name="quality")


def clear_of(settings: MaskSettings, scl: xr.DataArray | None, flags: xr.DataArray) -> xr.DataArray:
    """True where no NOT_CLEAR flag is set and (with SCL) the class is not in ``mask_classes`` (lazy)."""
    if scl is not None:
        return clear_mask(scl, settings.mask_classes, flags)
    return (flags & NOT_CLEAR) == 0


def regression_sample(scl: xr.DataArray | None, clear: xr.DataArray, refl: xr.DataArray | None) -> xr.DataArray:
    """The clear land pixels the terrain regression may use (lazy, time/y/x bool).

    With SCL: its classes :data:`sporbar.ard.terrain.SAMPLE_SCL` (vegetation, not vegetated);
    without: NDWI <= 0 of :data:`MASK_BANDS` reflectance (no water).
    """
    from sporbar.ard.terrain import SAMPLE_SCL

    if scl is not None:
        return clear & scl.isin(list(SAMPLE_SCL))
    assert refl is not None
    land = (refl.sel(band="B03") - refl.sel(band="B08")) <= 0
    return clear & land.drop_vars("band", errors="ignore")


def mask_reflectance(scenes: Sequence[Scene], dn: xr.Dataset, cirrus: xr.Dataset | None) -> xr.DataArray:
    """(time, band, y, x) reflectance of :data:`MASK_BANDS` from :func:`sporbar.ard.load.load_dn` output (lazy).

    Args:
        scenes: the scenes, in time order.
        dn: digital numbers of every mask band but B10, of every scene.
        cirrus: digital numbers of B10 of the scenes that have it (in their order), or None.
    """
    from sporbar.ard.load import reflectance

    others = [b for b in MASK_BANDS if b != cloudprob.CIRRUS]
    refl = reflectance(dn, scenes, others)
    with_b10 = [s for s in scenes if cloudprob.CIRRUS in s.item.assets]
    b10 = None if cirrus is None else reflectance(cirrus, with_b10, [cloudprob.CIRRUS])
    layers, j = [], 0
    zeros = da.zeros((1, 1, *refl.shape[-2:]), dtype=np.float32, chunks=(1, 1, -1, -1))
    for s in scenes:
        if b10 is not None and cloudprob.CIRRUS in s.item.assets:
            layers.append(b10.data[j: j + 1])
            j += 1
        else:
            layers.append(zeros)
    b10_all = da.concatenate(layers, axis=0)  # type: ignore[no-untyped-call]
    i = MASK_BANDS.index(cloudprob.CIRRUS)
    data = da.concatenate([refl.data[:, :i], b10_all, refl.data[:, i:]], axis=1)  # type: ignore[no-untyped-call]
    return xr.DataArray(data, dims=refl.dims, coords={**{k: refl.coords[k] for k in ("time", "y", "x")
                                                          if k in refl.coords}, "band": list(MASK_BANDS)})


def cirrus_scenes(scenes: Sequence[Scene]) -> list[Scene]:
    """The scenes with a B10 asset (Level-1C), in their order."""
    return [s for s in scenes if cloudprob.CIRRUS in s.item.assets]


def check_levels(settings: MaskSettings, scenes: Sequence[Scene]) -> None:
    """Refuse Level-1C scenes when the mask method reads SCL.

    Raises:
        InputDataError: naming the first Level-1C item and the setting that would accept it.
    """
    if not settings.needs_scl:
        return
    for s in scenes:
        if level_of(s) == "L1C":
            raise InputDataError(
                f"{s.item_path}: a Level-1C scene has no SCL, and ard.mask.method {settings.method!r} needs it; "
                "set ard.mask.method: s2cloudless to use Level-1C scenes, or leave this one out")


def level_of(scene: Scene) -> str:
    """``processing:level`` of a raw item (L2A when not recorded)."""
    return str(scene.item.properties.get("processing:level", "L2A"))

