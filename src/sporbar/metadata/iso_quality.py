"""Quantitative data quality reports of a map product: its area-adjusted accuracy (ISO 19139).

The assessment (``sporbar assess``, Olofsson et al. 2014) is summarised on the map collection
(``sporbar:accuracy``). In the product record's ``gmd:DQ_DataQuality`` it becomes one
``gmd:DQ_ThematicClassificationCorrectness`` report for the overall accuracy (the sample design
and the estimated class areas with their 95 % confidence intervals in the evaluation method
description) and one each for the user's and the producer's accuracy of every class. Each has a
``gmd:DQ_QuantitativeResult``: the value as a proportion (unit "unity") and the 95 % confidence
interval as its ``errorStatistic``. Reports sit between ``gmd:scope`` and ``gmd:lineage``, the
order the schema wants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from lxml import etree

from sporbar.metadata.iso_codes import GCO, GMD, XLINK, citation, code_value, el, gmd, q, string

UNITY: Final = "http://www.opengis.net/def/uom/OGC/1.0/unity"
OLOFSSON_2014: Final = (
    "Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder, M. A. (2014): "
    "Good practices for estimating area and assessing accuracy of land change. "
    "Remote Sensing of Environment 148, 42-57"
)
OLOFSSON_DOI: Final = "https://doi.org/10.1016/j.rse.2014.02.015"


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def _report(
    dq_lineage: etree._Element, measure: str, description: str, method: str, value: Mapping[str, float],
    when: str | None,
) -> None:
    """One ``gmd:report`` before ``dq_lineage`` (the ``gmd:lineage`` element of the DQ_DataQuality)."""
    report = etree.Element(q(GMD, "report"))
    dq_lineage.addprevious(report)
    element = gmd(report, "DQ_ThematicClassificationCorrectness")
    string(element, "nameOfMeasure", measure)
    string(element, "measureDescription", description)
    code_value(element, "evaluationMethodType", "DQ_EvaluationMethodTypeCode", "directExternal")
    string(element, "evaluationMethodDescription", method)
    citation(gmd(element, "evaluationProcedure"), OLOFSSON_2014, [("2014-07-01", "publication")],
             ("10.1016/j.rse.2014.02.015", OLOFSSON_DOI))
    if when:
        el(gmd(element, "dateTime"), GCO, "DateTime", when.replace("+00:00", "Z"))
    result = gmd(gmd(element, "result"), "DQ_QuantitativeResult")
    gmd(result, "valueUnit").set(q(XLINK, "href"), UNITY)
    string(result, "errorStatistic", f"95 % konfidensintervall: ±{_number(value['ci95'])} (1,96 standardfeil)")
    el(gmd(result, "value"), GCO, "Record", _number(value["estimate"]))


def add_accuracy_reports(dq_lineage: etree._Element, assessment: Mapping[str, Any], when: str | None) -> None:
    """Write the accuracy reports of one assessment before ``dq_lineage``.

    Args:
        dq_lineage: the ``gmd:lineage`` element of the record's ``gmd:DQ_DataQuality``.
        assessment: the ``sporbar:accuracy`` summary (``sporbar.stac.items.accuracy.summary``).
        when: ``processing:datetime`` of the assessment item, if known.
    """
    classes: Mapping[str, Any] = assessment["classes"]
    areas = "; ".join(
        f"{name}: {_number(c['area_ha']['estimate'])} ± {_number(c['area_ha']['ci95'])} ha "
        f"(kartet: {_number(c['mapped_area_ha'])} ha)"
        for name, c in classes.items()
    )
    design = (
        f"Stratifisert tilfeldig utvalg av {assessment['sample_size']} punkter (strata = kartklassene, "
        f"punkt i pikselsenter) med referanseklasse; arealvektet feilmatrise og estimatorer etter "
        f"Olofsson m.fl. (2014). Total kartlagt areal {_number(assessment['total_area_ha'])} ha."
    )
    _report(
        dq_lineage, "Total nøyaktighet (overall accuracy)",
        "Arealvektet andel riktig klassifisert areal (sum av diagonalen i feilmatrisen i arealandeler).",
        f"{design} Estimert areal per klasse med 95 % konfidensintervall: {areas}.",
        assessment["overall_accuracy"], when,
    )
    for name, c in classes.items():
        if c.get("users_accuracy"):
            _report(dq_lineage, f"Brukernøyaktighet (user's accuracy): {name}",
                    f"Andel av arealet kartlagt som {name} som er {name} i referansen.", design,
                    c["users_accuracy"], when)
        if c.get("producers_accuracy"):
            _report(dq_lineage, f"Produsentnøyaktighet (producer's accuracy): {name}",
                    f"Andel av det estimerte arealet av {name} i referansen som er kartlagt som {name}.", design,
                    c["producers_accuracy"], when)


__all__ = ["add_accuracy_reports"]
