"""RiskDecisionStore: where every risk decision is kept (in memory now, SQL later).

A decision is one row: an order approved, modified or rejected by the chain (``rule`` is
the rule that decided, ``chain`` for an approval by all of them), or a state change of a
breaker (``trip`` / ``reset``, no order).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

__all__ = ["InMemoryRiskDecisionStore", "RiskDecision", "RiskDecisionStore"]


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """One recorded decision: ``outcome`` is approve, modify, reject, trip or reset."""

    ts: pd.Timestamp
    client_order_id: str
    rule: str
    outcome: str
    detail: str = ""
    strategy_id: str = ""
    symbol: str = ""


class RiskDecisionStore(Protocol):
    """The port: append decisions, read them back in the order they were made."""

    def add(self, decision: RiskDecision) -> None: ...

    def all(self) -> tuple[RiskDecision, ...]: ...


class InMemoryRiskDecisionStore:
    """Decisions in a list (backtests, tests)."""

    def __init__(self) -> None:
        self._decisions: list[RiskDecision] = []

    def add(self, decision: RiskDecision) -> None:
        self._decisions.append(decision)

    def all(self) -> tuple[RiskDecision, ...]:
        return tuple(self._decisions)

    def __len__(self) -> int:
        return len(self._decisions)

    def __iter__(self) -> Iterator[RiskDecision]:
        return iter(tuple(self._decisions))
