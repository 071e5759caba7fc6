"""``sporbar reproduce``: re-run the step an item records and prove the outputs are the same bytes."""

from sporbar.reproduce.report import AssetResult, AssetStatus, InputCheck, InputStatus, Report, Verdict, summary
from sporbar.reproduce.run import Reproducer, catalog_items, reproduce_all

__all__ = [
    "AssetResult",
    "AssetStatus",
    "InputCheck",
    "InputStatus",
    "Report",
    "Reproducer",
    "Verdict",
    "catalog_items",
    "reproduce_all",
    "summary",
]
