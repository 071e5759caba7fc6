"""What differs between Sentinel-2 and Sentinel-1 for the sources that serve both.

The DHuS hub, the local archive and the STAC API fetch both missions with one
implementation each; a :class:`Mission` gives them the mission's config section, its
product names, its SAFE reader and raw item builder, and its ``fetch`` sub-command.
Every SAFE product is described through :meth:`Mission.describe`, which also holds its
files to the sizes and MD5s of its manifest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pystac

from sporbar.errors import InputDataError
from sporbar.fetch import s1_names
from sporbar.fetch.s1_safe import read_s1_safe
from sporbar.fetch.safe import read_safe
from sporbar.fetch.safe_manifest import MANIFEST, check_listed
from sporbar.stac.items.raw_s1 import raw_s1_item
from sporbar.stac.items.raw_s2 import raw_s2_item


@dataclass(frozen=True)
class Mission:
    """One Sentinel mission, as the shared sources see it.

    Attributes:
        section: its ``sources`` section of the config (``sentinel2``, ``sentinel1``).
        title: e.g. ``"Sentinel-2"`` (in messages and lineage).
        product: what one product is called in lineage, e.g. ``"Sentinel-1 GRD product"``.
        command: the sub-command that fetches it, e.g. ``"fetch s2"``.
        archive_name: a product name inside a file name (``X.SAFE``, ``X.zip``): group 1.
        read_item: the raw item of the SAFE folder of product ``name`` (reads metadata only).
    """

    section: str
    title: str
    product: str
    command: str
    archive_name: re.Pattern[str]
    read_item: Callable[[Path, str], pystac.Item]

    def describe(self, safe: Path, name: str) -> pystac.Item:
        """The raw item of the SAFE folder ``safe`` of product ``name``.

        Every file of it is checked against the size and MD5 its ``manifest.safe`` states.

        Raises:
            MissingInputError, InputDataError: the metadata is missing or broken, or names another product.
            IntegrityError: an asset file is truncated or corrupt (names it).
        """
        item = self.read_item(safe, name)
        check_listed(Path(safe) / MANIFEST, [Path(a.href) for a in item.assets.values()])
        return item


def _read_s2_item(safe: Path, name: str) -> pystac.Item:
    meta = read_safe(safe)
    if meta.product_id != name:
        raise InputDataError(f"{meta.metadata_path}: PRODUCT_URI is {meta.product_id!r}, expected {name!r}")
    return raw_s2_item(meta)


def _read_s1_item(safe: Path, name: str) -> pystac.Item:
    return raw_s1_item(read_s1_safe(safe))


SENTINEL2 = Mission(
    section="sentinel2",
    title="Sentinel-2",
    product="Sentinel-2 product",
    command="fetch s2",
    archive_name=re.compile(r"(S2[A-D]_MSIL(?:1C|2A)_(\d{8})T\d{6}_N\d{4}_R\d{3}_T\d{2}[A-Z]{3}_\d{8}T\d{6})"),
    read_item=_read_s2_item,
)
SENTINEL1 = Mission(
    section=s1_names.SECTION,
    title="Sentinel-1",
    product="Sentinel-1 GRD product",
    command="fetch s1",
    archive_name=re.compile(rf"({s1_names.NAME_PATTERN})"),
    read_item=_read_s1_item,
)
