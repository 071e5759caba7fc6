"""The embedded demo source: a deterministic synthetic area in Norway in real delivery formats."""
