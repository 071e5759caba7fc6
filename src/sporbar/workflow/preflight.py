"""Checks of user input files that run before any job starts (login node, DAG build)."""

from __future__ import annotations

from sporbar.config import Config


def check_inputs(cfg: Config) -> list[str]:
    """Check the user-supplied input files the config names; return what was checked.

    Today that is the label file when ``sources.labels.source`` is ``file``: readable,
    with the class column, known class names, polygons and a CRS.

    Raises:
        MissingInputError, InputDataError: naming the file and what is wrong.
    """
    checked: list[str] = []
    labels = cfg.data["sources"]["labels"]
    if labels["source"] == "file":
        from sporbar.fetch.labels import read_labels

        names = [c["name"] for c in cfg.data["classes"]]
        gdf, _ = read_labels(labels["path"], labels["class_column"], names)
        checked.append(f"labels {labels['path']}: {len(gdf)} polygons")
    return checked
