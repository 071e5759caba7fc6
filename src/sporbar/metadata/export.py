"""Write the metadata of a published catalog: ISO 19139 records and DCAT-AP-NO Turtle.

Layout below ``outdir``::

    iso19139/<collection-id>.xml     product (series) record of each exported collection
    iso19139/<item-id>.xml           tile record of each of its items
    dcat/catalog.ttl                 DCAT-AP-NO: the catalog and every collection

Only the catalog is read; the output depends on nothing else (no clock), so exporting
the same catalog twice gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sporbar.errors import CatalogError
from sporbar.io import write_bytes_atomic
from sporbar.metadata import dcat, iso19139
from sporbar.metadata.catalog import read_catalog
from sporbar.stac import extensions as ext

ISO_DIR = "iso19139"
DCAT_DIR = "dcat"
DCAT_FILE = "catalog.ttl"


@dataclass
class ExportSummary:
    """What :func:`export_metadata` wrote."""

    iso_records: list[Path] = field(default_factory=list)
    dcat: Path | None = None

    def lines(self) -> list[str]:
        """What the CLI prints: every file written, then a count of the records."""
        out = [f"{p}" for p in self.iso_records]
        if self.dcat is not None:
            out.append(str(self.dcat))
        out.append(f"{len(self.iso_records)} ISO 19139 record(s), 1 DCAT-AP-NO catalog")
        return out


def export_metadata(
    catalog_json: Path,
    outdir: Path,
    *,
    collections: Sequence[str] = (ext.COLLECTION_MAPS,),
    base_url: str | None = None,
    email: str | None = None,
) -> ExportSummary:
    """Write ISO 19139 records of ``collections`` (and their items) and the DCAT-AP-NO catalog.

    Raises:
        MissingInputError: the catalog or a file it links to does not exist.
        CatalogError: not a catalog, or a requested collection is not in it.
    """
    cat = read_catalog(Path(catalog_json), base_url=base_url)
    missing = [c for c in collections if c not in cat.collections]
    if missing:
        raise CatalogError(
            f"{cat.path}: no collection {', '.join(missing)} in the catalog (has {', '.join(cat.collections)}); "
            "publish the products first or choose another --collection"
        )
    outdir = Path(outdir)
    summary = ExportSummary()
    for cid in collections:
        path = outdir / ISO_DIR / f"{cid}.xml"
        write_bytes_atomic(path, iso19139.to_bytes(iso19139.collection_record(cat, cid, email=email)))
        summary.iso_records.append(path)
        for item in cat.items.get(cid, []):
            path = outdir / ISO_DIR / f"{item.id}.xml"
            write_bytes_atomic(path, iso19139.to_bytes(iso19139.item_record(cat, item, email=email)))
            summary.iso_records.append(path)
    ttl = outdir / DCAT_DIR / DCAT_FILE
    ttl.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(ttl, dcat.to_turtle(dcat.catalog_graph(cat, ttl_dir=ttl.parent, email=email)))
    summary.dcat = ttl
    return summary
