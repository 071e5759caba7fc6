"""An odc-stac reader driver whose pixels do not depend on the chunking of the load.

odc-stac's default reader warps each Dask chunk with one ``rasterio.warp.reproject`` call.
GDAL then derives the resampling kernel scale (``XSCALE``/``YSCALE``) from each chunk's
window and approximates the coordinate transform (0.125 px error) along each chunk's
rows, so with a rotated source grid (Sentinel-2 UTM 32 onto EPSG:25833) the same pixel
gets different values for different chunk sizes, and a re-run with other Dask settings
would not reproduce the delivered bytes.

:class:`BlockWarpDriver` keeps odc-stac's loading (items, bands, nodata, dtype, per-band
resampling, the Dask graph) and changes only how one chunk is read:

* the chunk is cut into fixed :data:`WARP_BLOCK` x :data:`WARP_BLOCK` blocks of the
  load's grid (the tile), and each block is warped alone, from the source window that
  block needs, with ``XSCALE``/``YSCALE`` pinned to the source/grid resolution ratio;
  so every warp call, and every pixel, is the same whatever the chunking;
* the source pixels of all blocks of a chunk are decoded in one read, so a chunk that
  spans the tile decodes each band file once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import rasterio
import rasterio.warp
from odc.geo.converters import rio_geobox
from odc.geo.geobox import GeoBox
from odc.geo.overlap import compute_reproject_roi
from odc.geo.roi import roi_is_empty
from odc.geo.warp import resampling_s2rio
from odc.loader._reader import nodata_mask, resolve_dst_dtype, resolve_dst_nodata, resolve_src_nodata
from odc.loader._rio import GlobalContext, LocalContext, RioDriver, RioReader, capture_rio_env, rio_env
from odc.loader.types import RasterLoadParams, RasterSource
from rasterio.windows import Window

from sporbar.errors import GridError, InputDataError

WARP_BLOCK = 1024  # edge (grid pixels) of the blocks every warp is cut into
SOURCE_PAD = 3  # source pixels read around a block's footprint (bilinear needs 1)


def _offset(tile: GeoBox, sub: GeoBox) -> tuple[int, int]:
    """(row, col) of ``sub``'s first pixel in ``tile``; ``sub`` must be a window of it."""
    a, b = tile.affine, sub.affine
    col, row = ~a @ (b.c, b.f)
    r, c = int(round(row)), int(round(col))
    if abs(r - row) > 1e-6 or abs(c - col) > 1e-6 or a[:2] != b[:2] or a[3:5] != b[3:5]:
        raise GridError(f"grid {sub} is not a window of the load grid {tile}")
    return r, c


def warp_scale(src: GeoBox, tile: GeoBox) -> tuple[float, float]:
    """(XSCALE, YSCALE): grid pixels per source pixel at the tile centre, at most 1.

    At most 1 because upsampling needs no wider kernel; ratios within 1 % of 1 are 1, so
    10 m onto 10 m across UTM zones is plain bilinear.
    """
    info = compute_reproject_roi(src, tile)
    out = []
    for s in info.scale2.xy:
        r = 1.0 if s <= 0 else min(1.0, 1.0 / s)
        out.append(1.0 if abs(r - 1.0) < 0.01 else round(r, 6))
    return out[0], out[1]


def _warp_block(
    pix: np.ndarray,
    src: GeoBox,
    block: GeoBox,
    *,
    src_nodata: float | None,
    dtype: np.dtype,
    nodata: float | None,
    resampling: Any,
    scale: tuple[float, float],
) -> np.ndarray:
    """Warp source pixels ``pix`` on grid ``src`` onto ``block``.

    Through MEM datasets rather than arrays: rasterio wraps arrays with a
    ``warnings.catch_warnings`` that is not thread-safe and leaks a NotGeoreferencedWarning
    when Dask threads warp at the same time. A source without nodata pixels is warped
    without a nodata value: GDAL's kernel without validity masks is twice as fast and gives
    the same values there.
    """
    h, w = pix.shape
    bh, bw = block.shape.yx
    if src_nodata is not None and not nodata_mask(pix, src_nodata).any():
        src_nodata = None
    with (
        rasterio.open("src", "w", driver="MEM", width=w, height=h, count=1, dtype=pix.dtype.name,
                      crs=str(src.crs), transform=src.affine, nodata=src_nodata) as s,
        rasterio.open("dst", "w+", driver="MEM", width=bw, height=bh, count=1, dtype=dtype.name,
                      crs=str(block.crs), transform=block.affine, nodata=nodata) as d,
    ):
        s.write(pix, 1)
        rasterio.warp.reproject(
            rasterio.band(s, 1),
            rasterio.band(d, 1),
            src_nodata=src_nodata,
            dst_nodata=nodata,
            resampling=resampling,
            XSCALE=scale[0],
            YSCALE=scale[1],
        )
        warped: np.ndarray = d.read(1)
        return warped


class TileContext(LocalContext):
    """A reader's context: the grid of the whole load (the tile), which fixes the warp blocks."""

    def __init__(self, geobox: GeoBox) -> None:
        """Context of a load onto ``geobox``."""
        super().__init__()
        self.geobox = geobox


class BlockWarpReader(RioReader):
    """Reads one band of one file onto windows of the load grid (see the module docstring)."""

    def __init__(self, src: RasterSource, ctx: TileContext, block: int = WARP_BLOCK) -> None:
        """Reader of ``src`` for a load onto ``ctx.geobox``, warping in ``block`` px blocks."""
        super().__init__(src, ctx)
        self._tile = ctx.geobox
        self._block = block

    def read(
        self,
        cfg: RasterLoadParams,
        dst_geobox: GeoBox,
        *,
        dst: np.ndarray | None = None,
        selection: Any = None,
    ) -> tuple[tuple[slice, slice], np.ndarray]:
        """Warp the band onto ``dst_geobox`` (a window of the load grid).

        Returns:
            (the whole window as slices, the pixels), as odc-loader readers do.

        Raises:
            InputDataError: the file cannot be read.
        """
        try:
            with rasterio.open(self._src.uri, "r", sharing=False) as rdr:
                return self._read(rdr, cfg, dst_geobox)
        except rasterio.errors.RasterioError as err:
            raise InputDataError(f"{self._src.uri}: cannot read band {self._src.band}: {err}") from err

    def _read(
        self, rdr: Any, cfg: RasterLoadParams, dst_geobox: GeoBox
    ) -> tuple[tuple[slice, slice], np.ndarray]:
        ny, nx = dst_geobox.shape.yx
        src_gbox = rio_geobox(rdr)
        if not isinstance(src_gbox, GeoBox):
            raise InputDataError(f"{self._src.uri}: georeferenced by GCPs; only geotransforms are supported")
        src_nodata = resolve_src_nodata(rdr.nodatavals[self._src.band - 1], cfg)
        dtype = resolve_dst_dtype(rdr.dtypes[self._src.band - 1], cfg)
        nodata = resolve_dst_nodata(dtype, cfg, src_nodata)
        out = np.full((ny, nx), 0 if nodata is None else nodata, dtype=dtype)
        r0, c0 = _offset(self._tile, dst_geobox)
        blocks = []
        size = self._block
        for br in range(r0 // size * size, r0 + ny, size):
            for bc in range(c0 // size * size, c0 + nx, size):
                block = self._tile[br : min(br + size, self._tile.shape.y), bc : min(bc + size, self._tile.shape.x)]
                roi = compute_reproject_roi(src_gbox, block, padding=SOURCE_PAD).roi_src
                if not roi_is_empty(roi):
                    blocks.append((br, bc, block, roi))
        if not blocks:
            return (np.s_[0:ny, 0:nx], out)
        # one decode of everything the blocks need
        y0, y1 = min(b[3][0].start for b in blocks), max(b[3][0].stop for b in blocks)
        x0, x1 = min(b[3][1].start for b in blocks), max(b[3][1].stop for b in blocks)
        pix = rdr.read(self._src.band, window=Window(x0, y0, x1 - x0, y1 - y0))
        xscale, yscale = warp_scale(src_gbox, self._tile)
        resampling = resampling_s2rio(cfg.resampling)
        for br, bc, block, (ys, xs) in blocks:
            warped = _warp_block(
                pix[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0],
                src_gbox[ys, xs],
                block,
                src_nodata=src_nodata,
                dtype=dtype,
                nodata=nodata,
                resampling=resampling,
                scale=(xscale, yscale),
            )
            # paste the part of the block inside the requested window
            ra, rb = max(br, r0), min(br + block.shape.y, r0 + ny)
            ca, cb = max(bc, c0), min(bc + block.shape.x, c0 + nx)
            out[ra - r0 : rb - r0, ca - c0 : cb - c0] = warped[ra - br : rb - br, ca - bc : cb - bc]
        return (np.s_[0:ny, 0:nx], out)


class BlockWarpDriver(RioDriver):
    """odc-stac ``driver=``: rasterio reading with :class:`BlockWarpReader` (picklable).

    Args:
        block: edge of the warp blocks in grid pixels; part of what defines the pixels.
    """

    def __init__(self, block: int = WARP_BLOCK) -> None:
        """Driver warping in ``block`` px blocks."""
        super().__init__()
        self.block = block

    def capture_env(self) -> dict[str, Any]:
        """GDAL settings to carry to Dask workers (odc-loader's)."""
        return capture_rio_env()

    @contextmanager
    def restore_env(self, env: dict[str, Any], load_state: GlobalContext) -> Iterator[TileContext]:
        """Apply ``env``; the readers' context is the load's grid."""
        with rio_env(**env):
            yield TileContext(load_state.geobox)

    def open(self, src: RasterSource, ctx: LocalContext) -> BlockWarpReader:
        """A reader of ``src`` onto windows of the load grid (``ctx`` from :meth:`restore_env`)."""
        if not isinstance(ctx, TileContext):
            raise TypeError(f"BlockWarpDriver.open needs the TileContext of restore_env, not {ctx!r}")
        return BlockWarpReader(src, ctx, self.block)
