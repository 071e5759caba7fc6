"""Item builders: one pure function per kind of output, ``<kind>_item(...) -> pystac.Item``.

A builder turns metadata and a grid into an item with its geometry, assets and extensions;
it reads no pixels and writes nothing. Runners finish the item with
:meth:`sporbar.stac.record.RunContext.record` (provenance, links, checksums).
"""
