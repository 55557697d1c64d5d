"""SqlRiskDecisionStore: the :class:`~quantbridge.runtime.components.risk_store.RiskDecisionStore`
port on SQL, per account.

Every ``add`` is its own committed transaction, durable when it returns. Decisions are
read back from the database in the order they were made (they are many and rarely read);
:meth:`SqlRiskDecisionStore.breaker_states` — the latest ``trip`` or ``reset`` of each
rule, what a restarted process needs to re-trip a kill switch or a drawdown breaker — is
loaded at construction and kept current by ``add``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from sqlalchemy import Engine, func, insert, select

from ..components.risk_store import RiskDecision
from ._base import checked_account, reading
from .schema import RiskDecisionRow

__all__ = ["BREAKER_OUTCOMES", "SqlRiskDecisionStore"]

#: The outcomes that change a breaker's state.
BREAKER_OUTCOMES: Final = ("trip", "reset")


def _decision(row: RiskDecisionRow) -> RiskDecision:
    return RiskDecision(
        ts=row.ts,
        client_order_id=row.client_order_id,
        rule=row.rule,
        outcome=row.outcome,
        detail=row.detail,
        strategy_id=row.strategy_id,
        symbol=row.symbol,
    )


class SqlRiskDecisionStore:
    """The risk decisions of ``account`` (see the module docstring)."""

    def __init__(self, engine: Engine, account: str) -> None:
        self._engine = engine
        self.account = checked_account(account)
        query = (
            select(RiskDecisionRow)
            .where(RiskDecisionRow.account == self.account, RiskDecisionRow.outcome.in_(BREAKER_OUTCOMES))
            .order_by(RiskDecisionRow.id)
        )
        with reading(engine) as session:
            self._breakers = {row.rule: _decision(row) for row in session.scalars(query)}

    def add(self, decision: RiskDecision) -> None:
        statement = insert(RiskDecisionRow).values(
            account=self.account,
            ts=decision.ts,
            client_order_id=decision.client_order_id,
            rule=decision.rule,
            outcome=decision.outcome,
            detail=decision.detail,
            strategy_id=decision.strategy_id,
            symbol=decision.symbol,
        )
        with self._engine.begin() as connection:
            connection.execute(statement)
        if decision.outcome in BREAKER_OUTCOMES:
            self._breakers[decision.rule] = decision

    def all(self) -> tuple[RiskDecision, ...]:
        """Every decision of the account, in the order they were made."""
        query = select(RiskDecisionRow).where(RiskDecisionRow.account == self.account).order_by(RiskDecisionRow.id)
        with reading(self._engine) as session:
            return tuple(_decision(row) for row in session.scalars(query))

    def breaker_states(self) -> dict[str, RiskDecision]:
        """The latest ``trip`` or ``reset`` decision of each rule that ever made one (by rule name)."""
        return dict(self._breakers)

    def __len__(self) -> int:
        query = select(func.count()).select_from(RiskDecisionRow).where(RiskDecisionRow.account == self.account)
        with reading(self._engine) as session:
            return int(session.scalar(query) or 0)

    def __iter__(self) -> Iterator[RiskDecision]:
        return iter(self.all())
