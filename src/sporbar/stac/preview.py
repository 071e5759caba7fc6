"""PNG thumbnails of raster products, for catalog previews (STAC Browser, Geonorge).

:func:`write_thumbnail` draws one COG as a small PNG (longest side at most
:data:`MAX_SIZE` pixels):

- ``kind="classes"``: a class map in its legend colours (the COG's colour table, or
  ``colors`` given by the caller); no data transparent. Downsampled by the mode.
- ``kind="true-color"``: an ARD composite as true colour, bands B04, B03, B02 (found by
  band description), each stretched from its 2nd to its 98th percentile.
- ``kind="chm"``: canopy height as a white-to-green ramp from 0 to the 98th percentile.
- ``kind="dtm"``: terrain height as a grey ramp between the 2nd and 98th percentile.

The PNG is written by a small encoder here (zlib + the PNG chunks, no text or time
chunks), so the same raster always gives the same bytes, whatever library versions.
:func:`add_thumbnail` adds it to an item as asset ``thumbnail``; ``record_item`` then
checksums it like every other asset.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal, cast

import numpy as np
import pystac
import rasterio
from rasterio.enums import Resampling

from sporbar.errors import InputDataError, MissingInputError, SporbarError
from sporbar.io import write_bytes_atomic

MAX_SIZE: Final = 256
THUMBNAIL_KEY: Final = "thumbnail"
PNG: Final = "image/png"
TRUE_COLOR_BANDS: Final = ("B04", "B03", "B02")

Kind = Literal["classes", "true-color", "chm", "dtm"]
KINDS: Final = ("classes", "true-color", "chm", "dtm")

# white -> dark green (ColorBrewer "Greens", 5 stops)
_GREENS: Final = np.array([[247, 252, 245], [199, 233, 192], [116, 196, 118], [35, 139, 69], [0, 68, 27]], dtype=float)
# used for classes when the COG has no colour table and no colours are given
_FALLBACK: Final = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
]  # fmt: skip


def thumbnail_shape(height: int, width: int, max_size: int = MAX_SIZE) -> tuple[int, int]:
    """(rows, cols) of the thumbnail: the raster scaled down (never up) to fit ``max_size``."""
    scale = min(1.0, max_size / max(height, width, 1))
    return max(1, round(height * scale)), max(1, round(width * scale))


def write_thumbnail(
    src_tif: Path,
    dst_png: Path,
    *,
    kind: Kind,
    colors: Mapping[int, tuple[int, ...]] | None = None,
    max_size: int = MAX_SIZE,
) -> Path:
    """Draw ``src_tif`` as a PNG thumbnail at ``dst_png`` (see the module doc for ``kind``).

    Args:
        src_tif: a GeoTIFF/COG.
        dst_png: where to write the PNG (written atomically).
        kind: how to draw it: ``classes``, ``true-color``, ``chm`` or ``dtm``.
        colors: class value -> (r, g, b[, a]) for ``classes``, overriding the colour table.
        max_size: longest side of the PNG in pixels.

    Returns:
        ``dst_png``.

    Raises:
        MissingInputError: ``src_tif`` does not exist.
        InputDataError: unknown ``kind``, or a true-colour source lacks B04/B03/B02.
    """
    src_tif, dst_png = Path(src_tif), Path(dst_png)
    if kind not in KINDS:
        raise InputDataError(f"{src_tif}: unknown thumbnail kind {kind!r}; use one of {', '.join(KINDS)}")
    if not src_tif.exists():
        raise MissingInputError(f"{src_tif}: raster for the thumbnail does not exist")
    with rasterio.open(src_tif) as src:
        shape = thumbnail_shape(src.height, src.width, max_size)
        if kind == "classes":
            data = src.read(1, out_shape=shape, resampling=Resampling.mode)
            table = dict(colors) if colors is not None else _colortable(src)
            png = _classes_png(data, table, nodata=src.nodata)
        elif kind == "true-color":
            idx = _band_indexes(src, src_tif)
            rgb = src.read(idx, out_shape=(3, *shape), resampling=Resampling.average, masked=True)
            png = _true_color_png(rgb.astype("float64").filled(np.nan))
        else:
            band = src.read(1, out_shape=shape, resampling=Resampling.average, masked=True)
            png = _ramp_png(band.astype("float64").filled(np.nan), kind)
    write_bytes_atomic(dst_png, png)
    return dst_png


def add_thumbnail(item: pystac.Item, folder: Path, png_name: str, *, title: str = "Thumbnail") -> pystac.Asset:
    """Add ``folder/png_name`` to ``item`` as asset ``thumbnail`` (roles thumbnail, image/png).

    ``folder`` is the item's folder; the href is written relative to it.

    Raises:
        MissingInputError: the PNG does not exist.
    """
    path = Path(folder) / png_name
    if not path.is_file():
        raise MissingInputError(f"{path}: thumbnail of item {item.id!r} does not exist; write it first")
    asset = pystac.Asset(href=f"./{png_name}", media_type=PNG, title=title, roles=["thumbnail"])
    item.add_asset(THUMBNAIL_KEY, asset)
    return asset


# ---------------------------------------------------------------- drawing


def _colortable(src: rasterio.io.DatasetReader) -> dict[int, tuple[int, ...]]:
    try:
        return {int(k): tuple(int(c) for c in v) for k, v in src.colormap(1).items()}
    except ValueError:  # no colour table
        return {}


def _band_indexes(src: rasterio.io.DatasetReader, path: Path) -> list[int]:
    names = list(src.descriptions)
    missing = [b for b in TRUE_COLOR_BANDS if b not in names]
    if missing:
        raise InputDataError(
            f"{path}: no band described as {', '.join(missing)} (bands: {names}); a true-colour "
            "thumbnail needs B04, B03 and B02 in the band descriptions"
        )
    return [names.index(b) + 1 for b in TRUE_COLOR_BANDS]


def _classes_png(data: np.ndarray, table: Mapping[int, tuple[int, ...]], nodata: float | None) -> bytes:
    values = np.asarray(data)
    if values.dtype != np.uint8:
        if values.size and (values.min() < 0 or values.max() > 255):
            raise InputDataError("class map values must lie in 0..255 for a thumbnail")
        values = values.astype(np.uint8)
    n = int(values.max()) + 1 if values.size else 1
    palette: list[tuple[int, int, int, int]] = []
    for v in range(n):
        c = table.get(v)
        if c is None:
            c = (0, 0, 0, 0) if (nodata is not None and v == nodata) else _FALLBACK[v % len(_FALLBACK)]
        rgba = (*c[:3], c[3] if len(c) > 3 else 255)
        if nodata is not None and v == nodata:
            rgba = (*rgba[:3], 0)
        palette.append(tuple(int(x) for x in rgba))  # type: ignore[arg-type]
    return encode_png(values, palette=palette)


def _stretch(band: np.ndarray, lo_pct: float, hi_pct: float) -> np.ndarray:
    ok = np.isfinite(band)
    if not ok.any():
        return np.zeros(band.shape)
    lo, hi = np.percentile(band[ok], [lo_pct, hi_pct])
    if hi <= lo:
        hi = lo + 1e-9
    # np.percentile's scalars type as Any; the clipped band is an array
    return cast(np.ndarray, np.clip((band - lo) / (hi - lo), 0.0, 1.0))


def _true_color_png(rgb: np.ndarray) -> bytes:
    valid = np.isfinite(rgb).all(axis=0)
    out = np.zeros((*rgb.shape[1:], 4), dtype=np.uint8)
    for i in range(3):
        out[..., i] = np.round(np.nan_to_num(_stretch(rgb[i], 2, 98)) * 255).astype(np.uint8)
    out[..., 3] = np.where(valid, 255, 0)
    out[~valid, :3] = 0
    return encode_png(out)


def _ramp_png(band: np.ndarray, kind: str) -> bytes:
    valid = np.isfinite(band)
    out = np.zeros((*band.shape, 4), dtype=np.uint8)
    if kind == "chm":
        top = float(np.percentile(band[valid], 98)) if valid.any() else 1.0
        t = np.clip(np.nan_to_num(band) / max(top, 1e-9), 0.0, 1.0)
        pos = t * (len(_GREENS) - 1)
        i0 = np.clip(np.floor(pos).astype(int), 0, len(_GREENS) - 2)
        f = (pos - i0)[..., None]
        rgb = _GREENS[i0] * (1 - f) + _GREENS[i0 + 1] * f
        out[..., :3] = np.round(rgb).astype(np.uint8)
    else:
        g = np.round(np.nan_to_num(_stretch(band, 2, 98)) * 255).astype(np.uint8)
        out[..., 0] = out[..., 1] = out[..., 2] = g
    out[..., 3] = np.where(valid, 255, 0)
    out[~valid, :3] = 0
    return encode_png(out)


# ---------------------------------------------------------------- PNG encoder


class PngShapeError(SporbarError, ValueError):
    """An array handed to :func:`encode_png` has no PNG layout (a bug in the caller, not in a file)."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(pixels: np.ndarray, *, palette: list[tuple[int, int, int, int]] | None = None) -> bytes:
    """PNG bytes of ``pixels``, which depend on the pixels alone.

    ``pixels`` are (h, w) uint8 palette indexes with ``palette`` (RGBA), or (h, w, 3) RGB /
    (h, w, 4) RGBA uint8. Only IHDR, PLTE, tRNS, IDAT and IEND chunks are written.
    """
    px = np.ascontiguousarray(pixels, dtype=np.uint8)
    if palette is not None:
        if px.ndim != 2:
            raise PngShapeError(f"a palette image needs a 2-D array of indexes, got shape {px.shape}")
        color_type, channels = 3, 1
    elif px.ndim == 3 and px.shape[2] in (3, 4):
        color_type, channels = (2, 3) if px.shape[2] == 3 else (6, 4)
    else:
        raise PngShapeError(f"cannot encode an array of shape {px.shape} as PNG (need (h, w, 3) or (h, w, 4))")
    h, w = px.shape[:2]
    raw = np.zeros((h, 1 + w * channels), dtype=np.uint8)  # filter byte 0 (None) per row
    raw[:, 1:] = px.reshape(h, w * channels)
    out = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))]
    if palette is not None:
        out.append(_chunk(b"PLTE", b"".join(bytes(c[:3]) for c in palette)))
        alphas = bytes(c[3] for c in palette)
        if any(a != 255 for a in alphas):
            out.append(_chunk(b"tRNS", alphas.rstrip(b"\xff") or b"\xff"))
    out.append(_chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)))
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


__all__ = [
    "KINDS",
    "MAX_SIZE",
    "THUMBNAIL_KEY",
    "PngShapeError",
    "add_thumbnail",
    "encode_png",
    "thumbnail_shape",
    "write_thumbnail",
]
