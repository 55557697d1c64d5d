"""Control of a running session: the kill switch and its reset, from the CLI (through the
store's control queue, so ``quantbridge kill`` works from another process) and from
Telegram (through :class:`SessionControl`, a ``ControlPort``), plus the status texts both
show."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ..core.engine import Engine

__all__ = ["KILL_SWITCH", "SessionControl"]

_log = logging.getLogger(__name__)
KILL_SWITCH: Final = "kill_switch"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


class SessionControl:
    """What a person may ask of a running session (Telegram's ControlPort), answered from
    the engine's state. ``kill`` and ``resume`` act at once; the engine cancels what the
    kill switch blocks."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self._name = name

    @property
    def killed(self) -> bool:
        state = self._engine.risk.states().get(KILL_SWITCH)
        return state is not None and state.tripped

    def _tripped(self) -> list[str]:
        return sorted(name for name, state in self._engine.risk.states().items() if state.tripped)

    def status_text(self) -> str:
        engine = self._engine
        state = "KILLED" if self.killed else "trading"
        tripped = ", ".join(self._tripped()) or "none"
        stats = engine.stats
        return (
            f"{self._name}: {state}\n"
            f"breakers tripped: {tripped}\n"
            f"open orders: {len(engine.orders.store.open_orders())}, orders {stats.orders}, fills {stats.fills}\n"
            f"candles: {stats.market_data.candles}, ticks: {stats.market_data.ticks}"
        )

    def positions_text(self) -> str:
        account = self._engine.account
        lines = [f"{p.symbol}: {p.qty} @ {p.avg_price}" for p in account.positions() if not p.is_flat]
        return "\n".join(lines) if lines else "no open positions"

    def pnl_text(self) -> str:
        account = self._engine.account
        return (
            f"equity {_money(account.equity())}, realised {_money(account.realised_pnl)}, "
            f"unrealised {_money(account.unrealised_pnl())}"
        )

    def kill(self, reason: str) -> str:
        self._engine.kill(reason or "kill switch")
        self._engine.run_until_idle()
        return f"kill switch engaged: {reason or 'no reason given'}; entries blocked, working entries cancelled"

    def resume(self) -> str:
        if not self.killed:
            return "kill switch is not engaged"
        self._engine.reset_risk(KILL_SWITCH)
        return "kill switch released: entries allowed again"

    def apply(self, command: str, reason: str) -> str:
        """A queued command (``kill`` / ``resume``) from the CLI."""
        if command == "kill":
            return self.kill(reason)
        if command == "resume":
            return self.resume()
        return f"unknown command {command!r} ignored"
