"""Classifiers: model factories, normalisation, training, blocked CV, model files, prediction."""

from __future__ import annotations

__all__: list[str] = []
