"""Write the metadata of a published catalog: ISO 19139 records and DCAT-AP-NO Turtle.

Layout below ``outdir``::

    iso19139/<collection-id>.xml     product (series) record of each exported collection
    iso19139/<item-id>.xml           tile record of each of its items
    dcat/catalog.ttl                 DCAT-AP-NO: the catalog and its open collections (restricted ones
                                     per ``metadata.dcat.restricted``; closed ones never)

Only the catalog is read; the output depends on nothing else (no clock), so exporting
the same catalog twice gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF
from rdflib.namespace import DCAT

from sporbar.config import Config
from sporbar.errors import CatalogError
from sporbar.io import write_bytes_atomic
from sporbar.metadata import dcat, iso19139
from sporbar.metadata.catalog import read_catalog
from sporbar.metadata.dcat import Restricted
from sporbar.stac import extensions as ext

ISO_DIR = "iso19139"
DCAT_DIR = "dcat"
DCAT_FILE = "catalog.ttl"
CONTACT_EMAIL_KEY = "metadata.contact_email"


def contact_email(cfg: Config | None) -> str | None:
    """``metadata.contact_email`` of ``cfg`` (checked by the schema); None without a config or the key."""
    value = (cfg.data.get("metadata") or {}).get("contact_email") if cfg is not None else None
    return str(value) if value else None


@dataclass
class ExportSummary:
    """What :func:`export_metadata` wrote."""

    iso_records: list[Path] = field(default_factory=list)
    dcat: Path | None = None
    dcat_datasets: int = 0
    dcat_restricted: Restricted = Restricted.LIST
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What the CLI prints: every file written, then a count of the records."""
        out = [f"{p}" for p in self.iso_records]
        if self.dcat is not None:
            out.append(str(self.dcat))
        out.append(
            f"{len(self.iso_records)} ISO 19139 record(s), 1 DCAT-AP-NO catalog of {self.dcat_datasets} "
            f"dataset(s) (restricted collections: {self.dcat_restricted}; closed: never listed)"
        )
        return out


def export_metadata(
    catalog_json: Path,
    outdir: Path,
    *,
    collections: Sequence[str] = (ext.COLLECTION_MAPS,),
    base_url: str | None = None,
    email: str | None = None,
    dcat_restricted: Restricted = Restricted.LIST,
) -> ExportSummary:
    """Write ISO 19139 records of ``collections`` (and their items) and the DCAT-AP-NO catalog.

    ``email``: of the metadata contact (Geonorge requires one); without it the records name the
    organisation only and the summary carries a warning naming :data:`CONTACT_EMAIL_KEY`.
    ``dcat_restricted``: list the restricted collections in the DCAT-AP-NO catalog, or omit them.

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
    if not email:
        summary.warnings.append(
            f"no e-mail of the metadata contact: the ISO 19139 records lack gmd:electronicMailAddress, which "
            f"Geonorge's Norwegian profile requires, and the DCAT-AP-NO contact point has no vcard:hasEmail; set "
            f"{CONTACT_EMAIL_KEY} in the config (-c) or pass --contact-email"
        )
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
    graph = dcat.catalog_graph(cat, ttl_dir=ttl.parent, email=email, restricted=dcat_restricted)
    write_bytes_atomic(ttl, dcat.to_turtle(graph))
    summary.dcat = ttl
    summary.dcat_datasets = len(set(graph.subjects(RDF.type, DCAT.Dataset)))
    summary.dcat_restricted = dcat_restricted
    return summary
