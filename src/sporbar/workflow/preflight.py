"""Checks of user input files that run before any job starts (login node, DAG build)."""

from __future__ import annotations

from sporbar.config import Config


def check_inputs(cfg: Config) -> list[str]:
    """Check the user-supplied input files the config names; return what was checked.

    The label file when ``sources.labels.source`` is ``file``: readable, with the class
    column, known class names, valid polygons (or ``make_valid`` set), coordinates that fit
    its CRS, and overlapping the area. The interpreted validation sample when
    ``accuracy.reference`` names one: a point layer ``sample`` whose every point has a
    reference label among the class names (whether the points lie on the map is checked by
    ``sporbar assess``, once the map exists).

    Raises:
        MissingInputError, InputDataError: naming the file and what is wrong.
    """
    checked: list[str] = []
    labels = cfg.data["sources"]["labels"]
    if labels["source"] == "file":
        from sporbar.fetch.label_checks import check_overlaps_area, check_valid
        from sporbar.fetch.labels import read_labels

        names = [c["name"] for c in cfg.data["classes"]]
        gdf, _ = read_labels(labels["path"], labels["class_column"], names)
        repaired = check_valid(gdf, labels["path"], repair=bool(labels.get("make_valid")))
        check_overlaps_area(repaired, cfg.data["area"], labels["path"])
        fixed = int((~gdf.geometry.is_valid).sum())
        checked.append(f"labels {labels['path']}: {len(gdf)} polygons"
                       + (f" ({fixed} invalid, repaired by make_valid)" if fixed else ""))
    reference = cfg.data["accuracy"].get("reference")
    if reference not in (None, "demo"):
        from pathlib import Path

        from sporbar.accuracy.reference import read_sample, reference_indices

        frame = read_sample(Path(reference), cfg)
        reference_indices(Path(reference), frame, [c["name"] for c in cfg.data["classes"]])
        checked.append(f"validation sample {reference}: {len(frame)} labelled points")
    return checked
