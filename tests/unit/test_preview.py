"""PNG thumbnails: size, legend colours, true colour, ramps, deterministic bytes, the asset."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning

from sporbar.errors import InputDataError, MissingInputError
from sporbar.stac.preview import MAX_SIZE, PngShapeError, add_thumbnail, encode_png, thumbnail_shape, write_thumbnail

COLORS = {0: (0, 0, 0, 0), 1: (27, 120, 55, 255), 2: (230, 171, 2, 255), 3: (33, 102, 172, 255)}


def _tif(path: Path, data: np.ndarray, *, nodata, names=None, colormap=None) -> Path:
    bands = data if data.ndim == 3 else data[None]
    with rasterio.open(
        path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
        dtype=bands.dtype, crs="EPSG:25833", transform=Affine(10, 0, 268800, 0, -10, 7031040), nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(bands)
        for i, n in enumerate(names or []):
            dst.set_band_description(i + 1, n)
        if colormap:
            dst.write_colormap(1, colormap)
    return path


def _read_png(path: Path) -> tuple[np.ndarray, dict[int, tuple[int, ...]] | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            assert src.driver == "PNG"
            data = src.read()
            try:
                cmap = src.colormap(1)
            except ValueError:
                cmap = None
    return data, cmap


def test_class_map_in_legend_colours(tmp_path: Path) -> None:
    classes = np.zeros((300, 200), dtype=np.uint8)
    classes[:100] = 1
    classes[100:200] = 2
    classes[200:, :150] = 3  # the rest stays 0 = no data
    src = _tif(tmp_path / "classes.tif", classes, nodata=0, colormap=COLORS)
    png = write_thumbnail(src, tmp_path / "a.png", kind="classes")
    data, cmap = _read_png(png)
    assert data.shape == (1, 256, 171) and max(data.shape) <= MAX_SIZE
    assert set(np.unique(data)) == {0, 1, 2, 3}
    assert cmap is not None
    for v in (1, 2, 3):
        assert cmap[v] == COLORS[v]
    assert cmap[0][3] == 0  # no data is transparent
    again = write_thumbnail(src, tmp_path / "b.png", kind="classes")
    assert png.read_bytes() == again.read_bytes()
    assert b"tIME" not in png.read_bytes() and b"tEXt" not in png.read_bytes()


def test_classes_colours_given_by_caller_override_the_table(tmp_path: Path) -> None:
    src = _tif(tmp_path / "c.tif", np.array([[1, 2], [2, 1]], dtype=np.uint8), nodata=0)
    png = write_thumbnail(src, tmp_path / "c.png", kind="classes", colors={1: (255, 0, 0), 2: (0, 0, 255)})
    data, cmap = _read_png(png)
    assert data.shape == (1, 2, 2) and cmap is not None
    assert cmap[1][:3] == (255, 0, 0) and cmap[2][:3] == (0, 0, 255)


def test_true_colour_uses_b04_b03_b02_with_stretch(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    refl = rng.uniform(0.0, 0.3, size=(4, 64, 64)).astype(np.float32)
    refl[2] += 0.5  # B04 (red) brighter
    refl[:, :4, :4] = np.nan
    src = _tif(tmp_path / "comp.tif", refl, nodata=float("nan"), names=["B02", "B03", "B04", "B08"])
    data, _ = _read_png(write_thumbnail(src, tmp_path / "tc.png", kind="true-color"))
    assert data.shape == (4, 64, 64)
    assert (data[3, :4, :4] == 0).all() and (data[3, 4:, 4:] == 255).all()
    # each band stretched 2..98 %: the full range is used
    assert data[0].max() == 255 and data[0][data[3] == 255].min() == 0
    with pytest.raises(InputDataError, match="B04"):
        write_thumbnail(_tif(tmp_path / "x.tif", refl[:2], nodata=None, names=["B02", "B03"]), tmp_path / "x.png",
                        kind="true-color")  # fmt: skip


@pytest.mark.parametrize("kind", ["chm", "dtm"])
def test_ramps(tmp_path: Path, kind: str) -> None:
    h = np.tile(np.linspace(0, 30, 100, dtype=np.float32), (50, 1))
    h[0, 0] = np.nan
    data, _ = _read_png(
        write_thumbnail(_tif(tmp_path / "h.tif", h, nodata=float("nan")), tmp_path / "h.png", kind=kind)
    )
    assert data.shape == (4, 50, 100) and data[3, 0, 0] == 0
    low, high = data[:3, 25, 1].astype(int), data[:3, 25, 98].astype(int)
    assert low.sum() > high.sum() if kind == "chm" else low.sum() < high.sum()
    if kind == "chm":
        assert high[1] > high[0] and high[1] > high[2]  # greens


def test_thumbnail_shape_never_scales_up() -> None:
    assert thumbnail_shape(128, 128) == (128, 128)
    assert thumbnail_shape(1000, 500) == (256, 128)


def test_add_thumbnail_asset(tmp_path: Path) -> None:
    item = pystac.Item("x", None, None, pystac.utils.str_to_datetime("2024-06-01T00:00:00Z"), {})
    with pytest.raises(MissingInputError):
        add_thumbnail(item, tmp_path, "thumbnail.png")
    src = _tif(tmp_path / "c.tif", np.ones((4, 4), dtype=np.uint8), nodata=0, colormap=COLORS)
    write_thumbnail(src, tmp_path / "thumbnail.png", kind="classes")
    asset = add_thumbnail(item, tmp_path, "thumbnail.png")
    assert item.assets["thumbnail"] is asset
    assert asset.roles == ["thumbnail"] and asset.media_type == "image/png" and asset.href == "./thumbnail.png"


def test_encode_png_refuses_arrays_without_a_png_layout() -> None:
    with pytest.raises(PngShapeError, match=r"shape \(4,\)"):
        encode_png(np.zeros(4, dtype=np.uint8))
    with pytest.raises(PngShapeError, match="palette image needs a 2-D array"):
        encode_png(np.zeros((2, 2, 3), dtype=np.uint8), palette=[(0, 0, 0, 255)])
    assert encode_png(np.zeros((2, 2, 4), dtype=np.uint8)).startswith(b"\x89PNG")
