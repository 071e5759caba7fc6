"""Training data: feature stacks, label rasterisation, stratified samples, spatial blocks."""

from __future__ import annotations

__all__: list[str] = []
