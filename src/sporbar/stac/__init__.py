"""STAC provenance: extension constants, the Provenance value, item recording, catalog, verify."""
