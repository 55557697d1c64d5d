"""The catalogue: every prototype quantbridge ships, by name."""

from __future__ import annotations

from .prototypes import sma_crossover
from .registry import Registry

__all__ = ["CATALOGUE"]

CATALOGUE = Registry([sma_crossover.SPEC])
