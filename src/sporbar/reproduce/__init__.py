"""``sporbar reproduce``: re-run the step an item records and prove the outputs are the same bytes."""

from sporbar.reproduce.run import (
    CONFIG_CHANGED,
    DIFFERENT,
    FAILED,
    IDENTICAL,
    INPUT_CHANGED,
    MISSING_INPUT,
    AssetResult,
    InputCheck,
    Report,
    Reproducer,
    catalog_items,
    reproduce_all,
    summary,
)

__all__ = [
    "CONFIG_CHANGED", "DIFFERENT", "FAILED", "IDENTICAL", "INPUT_CHANGED", "MISSING_INPUT",
    "AssetResult", "InputCheck", "Report", "Reproducer", "catalog_items", "reproduce_all", "summary",
]
