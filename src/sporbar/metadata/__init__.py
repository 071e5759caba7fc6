"""Metadata for national portals: ISO 19139 (Norwegian profile) records and DCAT-AP-NO.

- :mod:`sporbar.metadata.catalog`: reads a published static catalog (``sporbar publish``).
- :mod:`sporbar.metadata.iso19139`: ISO 19115/19139 XML, product (series) and tile records.
- :mod:`sporbar.metadata.dcat`: DCAT-AP-NO in RDF Turtle, one ``dcat:Dataset`` per collection.

``sporbar export-metadata CATALOG -o OUTDIR`` writes both.
"""
