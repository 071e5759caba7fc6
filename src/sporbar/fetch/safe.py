"""Read a Sentinel-2 SAFE product folder (L2A, and L1C) into a :class:`~sporbar.safe_meta.SceneMeta` value.

The metadata is read by stactools-sentinel2, the STAC community's reader of Sentinel-2
products: ``SafeManifest`` finds ``MTD_MSIL2A.xml``/``MTD_MSIL1C.xml``, the granule's
``MTD_TL.xml`` and the INSPIRE and datastrip metadata through the manifest's standard
dataObject IDs, ``ProductMetadata`` and ``GranuleMetadata`` parse them, and
``create_item`` makes the product's STAC item (kept in ``SceneMeta.stac``;
:func:`sporbar.stac.items.raw_s2.raw_s2_item` turns it into sporbar's raw item). Only metadata
is read; band file paths come from ``Product_Organisation/IMAGE_FILE``, so a metadata-only
copy of a product reads as well as a full one. Everything after reading works on the frozen
value, never on the folder.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import antimeridian
from stactools.sentinel2.granule_metadata import GranuleMetadata
from stactools.sentinel2.product_metadata import ProductMetadata
from stactools.sentinel2.safe_manifest import SafeManifest
from stactools.sentinel2.stac import create_item

from sporbar.bands import NATIVE_RESOLUTION
from sporbar.errors import InputDataError, MissingInputError
from sporbar.fetch.safe_manifest import manifest_of
from sporbar.safe_meta import BandFile, ResolutionGrid, SceneMeta

_L2A_FILE = re.compile(r"_(?P<band>B\d[\dA]|SCL|AOT|WVP|TCI)_(?P<res>\d+)m$")
_L1C_FILE = re.compile(r"_(?P<band>B\d[\dA]|TCI)$")
_PLATFORM = re.compile(r"sentinel-2[a-d]")


@contextmanager
def _stactools(path: Path, what: str) -> Iterator[None]:
    """Turn stactools-sentinel2's failures on ``path`` into sporbar errors naming the file."""
    try:
        with warnings.catch_warnings():
            # real footprints are wound clockwise: antimeridian reverses them, as it should
            warnings.simplefilter("ignore", antimeridian.FixWindingWarning)
            warnings.simplefilter("ignore", PendingDeprecationWarning)  # affine, via stactools
            yield
    except FileNotFoundError as err:
        raise MissingInputError(f"{path}: {what}: file not found ({err.filename or err})") from err
    except (InputDataError, MissingInputError):
        raise
    except Exception as err:  # the library's own errors, and KeyError/AttributeError on gaps
        raise InputDataError(
            f"{path}: {what}: stactools-sentinel2 cannot read it ({type(err).__name__}: {err}); "
            "is the product complete? re-download it"
        ) from err


def _listed(href: str | None, manifest: Path, ids: str) -> Path:
    if href is None:
        raise InputDataError(
            f"{manifest}: no dataObject {ids}: not a standard Sentinel-2 SAFE manifest "
            "(a demo source from an older sporbar: run `sporbar demo generate` again)"
        )
    path = Path(href)
    if not path.is_file():
        raise MissingInputError(f"{path}: listed in {manifest.name} but missing; re-download the product")
    return path


def _need(value: Any, path: Path, name: str) -> Any:
    if value is None or value == "":
        raise InputDataError(f"{path}: no {name}")
    return value


def _band_files(image_paths: list[str], safe: Path, mtd: Path, level: str) -> tuple[BandFile, ...]:
    files = []
    for rel in image_paths:
        stem, _, _ = rel.rpartition(".")
        m = (_L2A_FILE if level == "L2A" else _L1C_FILE).search(stem)
        if not m or m["band"] in ("AOT", "WVP", "TCI"):
            continue
        res = int(m["res"]) if level == "L2A" else NATIVE_RESOLUTION[m["band"]]
        files.append(BandFile(m["band"], res, safe / rel))
    if not files:
        raise InputDataError(f"{mtd}: no IMAGE_FILE entries with band files in Product_Organisation")
    return tuple(sorted(files, key=lambda f: (f.band, f.resolution)))


def read_safe(safe_dir: Path) -> SceneMeta:
    """Read the SAFE folder ``safe_dir`` (``*.SAFE``, L2A or L1C) with stactools-sentinel2.

    Raises:
        MissingInputError: the folder, its manifest or a metadata file it lists is missing.
        InputDataError: the manifest lacks the standard dataObject IDs, or a metadata field
            is missing or malformed (names the file and, where known, the field).
    """
    safe = Path(safe_dir)
    manifest_path = manifest_of(safe, "Sentinel-2")
    with _stactools(manifest_path, "SAFE manifest"):
        manifest = SafeManifest(str(safe))
        mtd_href, tl_href = manifest.product_metadata_href, manifest.granule_metadata_href
    mtd = _listed(mtd_href, manifest_path, "S2_Level-2A_Product_Metadata or S2_Level-1C_Product_Metadata")
    tl = _listed(tl_href, manifest_path, "S2_Level-2A_Tile1_Metadata or S2_Level-1C_Tile1_Metadata")

    with _stactools(mtd, "product metadata"):
        product = ProductMetadata(str(mtd))
        uri = _need(product.product_info_node.find_text("PRODUCT_URI"), mtd, "PRODUCT_URI")
        _need(product.product_info_node.find_text("PRODUCT_START_TIME"), mtd, "PRODUCT_START_TIME")
        info = product.metadata_dict
        product_type = _need(info.get("s2:product_type"), mtd, "PRODUCT_TYPE")
        baseline = _need(info.get("s2:processing_baseline"), mtd, "PROCESSING_BASELINE")
        image_paths = product.image_paths
        ring = tuple((float(x), float(y)) for x, y in product.geometry["coordinates"][0])
    level = {"S2MSI2A": "L2A", "S2MSI1C": "L1C"}.get(product_type)
    if level is None:
        raise InputDataError(f"{mtd}: PRODUCT_TYPE {product_type!r} is not S2MSI2A or S2MSI1C")

    with _stactools(tl, "granule metadata"):
        granule = GranuleMetadata(str(tl))
        epsg = _need(granule.epsg, tl, "HORIZONTAL_CS_CODE")
        ulx, _, _, uly = granule.proj_bbox
        shapes = {r: s for r, s in granule.resolution_to_shape.items() if r in (10, 20, 60)}
        sun_zenith = _need(granule.mean_solar_zenith, tl, "Mean_Sun_Angle/ZENITH_ANGLE")
        sun_azimuth = _need(granule.mean_solar_azimuth, tl, "Mean_Sun_Angle/AZIMUTH_ANGLE")
    grids = tuple(
        ResolutionGrid(r, shapes[r], (float(r), 0.0, ulx, 0.0, -float(r), uly)) for r in sorted(shapes)
    )

    with _stactools(safe, "SAFE product"):
        made = create_item(str(safe)).to_dict(include_self_link=False, transform_hrefs=False)
    item = json.loads(json.dumps(made))  # plain JSON: the geometry comes with tuples
    props = item["properties"]
    props.pop("created", None)  # the time the item was made: would make raw items irreproducible
    platform = str(props.get("platform"))
    if not _PLATFORM.fullmatch(platform):
        raise InputDataError(f"{mtd}: SPACECRAFT_NAME {platform!r} is not Sentinel-2A/B/C/D")
    cloud = _need(props.get("eo:cloud_cover"), tl, "CLOUDY_PIXEL_PERCENTAGE")
    grid_code = str(props.get("grid:code", ""))
    if not re.fullmatch(r"MGRS-\d{2}[A-Z]{3}", grid_code):
        raise InputDataError(f"{mtd}: PRODUCT_URI {uri!r} has no MGRS tile (_Tnnxxx_)")

    files = _band_files(image_paths, safe, mtd, level)
    # scale and offset as stactools states them in raster:bands (offset 0 before baseline 04.00)
    by_path = {Path(a["href"]): a for a in item["assets"].values() if a.get("href")}
    scale, offsets = 1.0, {}
    for bf in files:
        rb = (by_path.get(bf.path, {}).get("raster:bands") or [{}])[0]
        if bf.band != "SCL" and "scale" in rb:
            scale = rb["scale"]
            offsets[bf.band] = round(rb.get("offset", 0.0) / scale, 6)
    return SceneMeta(
        product_id=uri.removesuffix(".SAFE"),
        level=level,
        platform=platform,
        sensing_datetime=datetime.fromisoformat(props["datetime"].replace("Z", "+00:00")),
        processing_baseline=baseline,
        mgrs_tile=grid_code.removeprefix("MGRS-"),
        epsg=int(epsg),
        grids=grids,
        band_files=files,
        quantification=round(1.0 / scale, 6),
        offsets=tuple(sorted(offsets.items())),
        cloud_cover=float(cloud),
        sun_zenith=float(sun_zenith),
        sun_azimuth=float(sun_azimuth),
        footprint=ring,
        safe_dir=safe,
        metadata_path=mtd,
        granule_metadata_path=tl,
        manifest_path=manifest_path,
        geometry=item["geometry"],
        bbox=tuple(item["bbox"]),
        stac=item,
    )
