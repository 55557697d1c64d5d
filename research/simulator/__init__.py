"""The vectorised simulator: ``simulate(bars, signals, rules, model) -> Result``."""

from quantbridge.datasets.performance import compute_metrics, periods_per_year

from .result import Result
from .simulate import Engine, simulate

__all__ = ["Engine", "Result", "compute_metrics", "periods_per_year", "simulate"]
