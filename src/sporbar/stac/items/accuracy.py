"""The items of a map's accuracy assessment (collection ``map-accuracy``).

- the **validation sample** (``<product>-validation-sample``): the stratified random points
  drawn from the map, with an empty ``reference`` column for interpreters, and its design;
- the **accuracy assessment** (``<product>-accuracy``): the labelled sample and the estimates
  (Olofsson et al. 2014) as JSON, with their summary in ``sporbar:accuracy``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import pystac

from sporbar.stac import extensions as ext
from sporbar.stac.items.extent import spanning_item

SAMPLE_FILE: Final = "sample.gpkg"
ACCURACY_FILE: Final = "accuracy.json"
#: the design of a validation sample (strata, sizes, rule, seed)
SAMPLE_DESIGN: Final = ext.SPORBAR_PREFIX + "sample_design"
#: headline numbers of an assessment: overall accuracy and, per class, area and accuracies with 95 % CIs
ACCURACY: Final = ext.SPORBAR_PREFIX + "accuracy"
#: where the reference labels came from ('demo' or the interpreted file)
REFERENCE_SOURCE: Final = ext.SPORBAR_PREFIX + "reference_source"


def validation_sample_item(
    product: str, *, design: Mapping[str, Any], bbox: Sequence[float], start: datetime, end: datetime
) -> pystac.Item:
    """The validation sample item: asset ``sample`` (GeoPackage points, layer ``sample``).

    Args:
        product: ``map.product``.
        design: the sample design (``SampleDesign.to_dict``).
        bbox: lon/lat bbox of the map tiles.
        start: start of the map's time span.
        end: end of the map's time span.
    """
    item = spanning_item(f"{product}-validation-sample", bbox, start, end)
    item.properties[SAMPLE_DESIGN] = dict(design)
    item.add_asset("sample", pystac.Asset(
        f"./{SAMPLE_FILE}", media_type=ext.GEOPACKAGE, roles=["data"],
        title="Stratified random validation sample (layer 'sample'; fill column 'reference')",
    ))
    return item


def summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """The ``sporbar:accuracy`` summary of an assessment (``AccuracyReport.to_dict``)."""

    def short(e: Mapping[str, float] | None, digits: int) -> dict[str, float] | None:
        return None if e is None else {"estimate": round(e["estimate"], digits), "ci95": round(e["ci95"], digits)}

    return {
        "method": report["method"],
        "sample_size": report["sample_size"],
        "total_area_ha": report["total_area_ha"],
        "overall_accuracy": short(report["overall_accuracy"], 4),
        "classes": {
            c["class"]: {
                "sample_size": c["sample_size"],
                "mapped_area_ha": round(c["mapped_area_ha"], 2),
                "area_ha": short(c["area_ha"], 2),
                "users_accuracy": short(c["users_accuracy"], 4),
                "producers_accuracy": short(c["producers_accuracy"], 4),
            }
            for c in report["per_class"]
        },
    }


def accuracy_item(
    product: str, *, report: Mapping[str, Any], reference: str, bbox: Sequence[float], start: datetime,
    end: datetime,
) -> pystac.Item:
    """The assessment item: assets ``accuracy`` (JSON) and ``sample`` (the labelled GeoPackage).

    Args:
        product: ``map.product``.
        report: the estimates (``AccuracyReport.to_dict``).
        reference: where the reference labels came from (``demo`` or a file name).
        bbox: lon/lat bbox of the map tiles.
        start: start of the map's time span.
        end: end of the map's time span.
    """
    item = spanning_item(f"{product}-accuracy", bbox, start, end)
    item.properties[ACCURACY] = summary(report)
    item.properties[REFERENCE_SOURCE] = reference
    item.add_asset("accuracy", pystac.Asset(
        f"./{ACCURACY_FILE}", media_type=ext.JSON, roles=["metadata"],
        title="Error matrix in area proportions; user's, producer's and overall accuracy and class areas "
              "with 95 % confidence intervals (Olofsson et al. 2014)",
    ))
    item.add_asset("sample", pystac.Asset(
        f"./{SAMPLE_FILE}", media_type=ext.GEOPACKAGE, roles=["data"],
        title="The validation sample with its reference labels (layer 'sample')",
    ))
    return item


__all__ = [
    "ACCURACY", "ACCURACY_FILE", "REFERENCE_SOURCE", "SAMPLE_DESIGN", "SAMPLE_FILE", "accuracy_item", "summary",
    "validation_sample_item",
]
