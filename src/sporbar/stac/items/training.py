"""The STAC item of a training data set (collection ``training-data``): the samples table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import pystac
from pystac.extensions.table import Column, TableExtension

from sporbar.stac import extensions as ext
from sporbar.stac.items.extent import spanning_item
from sporbar.stac.versions import set_version

SAMPLES_FILE = "samples.parquet"

# sporbar properties of the training item
FEATURES = ext.SPORBAR_PREFIX + "features"
CLASS_COUNTS = ext.SPORBAR_PREFIX + "class_counts"
FOLDS = ext.SPORBAR_PREFIX + "folds"
FOLD_COUNTS = ext.SPORBAR_PREFIX + "fold_counts"
BLOCK_SIZE = ext.SPORBAR_PREFIX + "block_size"
SEED = ext.SPORBAR_PREFIX + "seed"
TILES = ext.SPORBAR_PREFIX + "tiles"


def training_item(
    area: str,
    samples: pd.DataFrame,
    *,
    features: Sequence[str],
    tiles: Sequence[str],
    bbox: Sequence[float],
    start: datetime,
    end: datetime,
    training: Mapping[str, Any],
    version: str,
) -> pystac.Item:
    """The training-data item (asset ``samples``, properties and table columns of the table).

    Args:
        area: ``area.name``; the item id is ``training-<area>-<version>``.
        samples: the samples table (``class_name`` and ``fold`` columns, one row per sample).
        features: the feature column names, in model order.
        tiles: the grid tiles sampled.
        bbox: lon/lat bbox of the tiles (``extent.tiles_bbox_wgs84``).
        start: start of the ARD periods (``extent.period_span``).
        end: end of the ARD periods.
        training: the ``training`` config section (``folds``, ``block_size``, ``seed``).
        version: the content hash of the samples file (``sporbar.stac.versions``).

    Returns:
        The item, without provenance (see ``RunContext.record``).
    """
    item = spanning_item(f"training-{area}", bbox, start, end)
    set_version(item, f"training-{area}", version)
    counts = samples["class_name"].value_counts()
    item.properties.update(
        {
            FEATURES: list(features),
            CLASS_COUNTS: {str(k): int(v) for k, v in sorted(counts.items())},
            FOLDS: int(training["folds"]),
            FOLD_COUNTS: {
                str(k): int(v) for k, v in sorted(samples["fold"].value_counts().items())
            },
            BLOCK_SIZE: int(training["block_size"]),
            SEED: int(training["seed"]),
            TILES: sorted(tiles),
        }
    )
    item.add_asset(
        "samples",
        pystac.Asset(
            href=f"./{SAMPLES_FILE}",
            media_type=ext.GEOPARQUET,
            roles=["data"],
            title="Training samples (GeoParquet points, EPSG:25833)",
        ),
    )
    table = TableExtension.ext(item, add_if_missing=True)
    table.columns = [
        Column({"name": str(c), "type": str(samples[c].dtype)}) for c in samples.columns
    ]
    table.primary_geometry = "geometry"
    table.row_count = len(samples)
    return item
