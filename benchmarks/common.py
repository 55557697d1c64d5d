"""Timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

__all__ = ["Row", "measure", "print_table"]


@dataclass(frozen=True)
class Row:
    """One benchmark line: what, how many items, median seconds, and the reference it is compared with."""

    name: str
    items: int
    unit: str
    seconds: float
    reference: str = ""
    reference_seconds: float | None = None


def measure(action: Callable[[], object], repeat: int = 3) -> float:
    """Median wall time of ``repeat`` runs of ``action`` (benchmarks may read the clock)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def print_table(title: str, rows: list[Row]) -> None:
    table = Table(title=title)
    for column in ("benchmark", "items", "median s", "items/s", "reference", "ref s", "ours / ref"):
        table.add_column(column, justify="right" if column not in ("benchmark", "reference") else "left")
    for row in rows:
        ratio = f"{row.seconds / row.reference_seconds:.2f}×" if row.reference_seconds else ""
        table.add_row(
            row.name,
            f"{row.items:,} {row.unit}",
            f"{row.seconds:.3f}",
            f"{row.items / row.seconds:,.0f}",
            row.reference,
            f"{row.reference_seconds:.3f}" if row.reference_seconds else "",
            ratio,
        )
    Console(width=150).print(table)
