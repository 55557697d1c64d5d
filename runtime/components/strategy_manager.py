"""StrategyManager: runs the strategies on their symbols' closed candles.

Each strategy is bound to one symbol when it is added, with its parameters, its own
state store and the window of bars it reads. For every closed candle of that symbol the
manager hands it a fresh :class:`~..strategy.Context` and collects the orders it asked
for. A strategy that raises is logged and notified, the orders of that call are
discarded (a half-taken decision is not traded), and it is called again on the next
candle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from types import MappingProxyType
from typing import Protocol

from ..bars import BarBuffer
from ..domain.marketdata import Candle
from ..domain.orders import Order
from ..domain.positions import Position
from ..strategy import Context, MemoryStateStore, OrderApi, ParamValue, Request, StateStore, Strategy
from .notifications import Level, NotificationCenter

__all__ = ["AccountView", "StrategyManager", "StrategySlot"]

_log = logging.getLogger(__name__)

WorkingOrders = Callable[[str, str], tuple[Order, ...]]


class AccountView(Protocol):
    def position(self, symbol: str) -> Position: ...

    def equity(self) -> Decimal: ...


@dataclass
class StrategySlot:
    """One strategy on one symbol."""

    strategy_id: str
    symbol: str
    strategy: Strategy
    params: Mapping[str, ParamValue]
    state: StateStore
    window: int | None
    errors: int = field(default=0)


class StrategyManager:
    def __init__(self, notifications: NotificationCenter) -> None:
        self._notifications = notifications
        self._slots: dict[str, list[StrategySlot]] = {}
        self._ids: set[str] = set()
        self._buffers: dict[str, BarBuffer] = {}

    def add(
        self,
        strategy_id: str,
        symbol: str,
        strategy: Strategy,
        *,
        params: Mapping[str, ParamValue] | None = None,
        window: int | None = None,
        state: StateStore | None = None,
    ) -> StrategySlot:
        if strategy_id in self._ids:
            raise ValueError(f"a strategy with id {strategy_id!r} is already running")
        if symbol in self._buffers:
            raise ValueError(f"add strategies on {symbol} before its first candle")
        if self._slots.get(symbol):
            raise ValueError(f"{symbol} already has a strategy; one strategy per symbol in this version")
        slot = StrategySlot(
            strategy_id, symbol, strategy, MappingProxyType(dict(params or {})), state or MemoryStateStore(), window
        )
        self._slots.setdefault(symbol, []).append(slot)
        self._ids.add(strategy_id)
        return slot

    @property
    def slots(self) -> tuple[StrategySlot, ...]:
        return tuple(slot for slots in self._slots.values() for slot in slots)

    @property
    def errors(self) -> int:
        return sum(slot.errors for slot in self.slots)

    def preload(self, symbol: str, candles: Sequence[Candle]) -> int:
        """Warm-up history: closed candles of ``symbol`` (oldest first) put in its bar
        buffer without calling a strategy (live modes, before the first live candle); the
        strategies then see them in ``ctx.bars``. Returns how many were loaded."""
        if symbol in self._buffers:
            raise ValueError(f"{symbol} already has candles: preload before the first one")
        slots = self._slots.get(symbol)
        if not slots:
            raise ValueError(f"no strategy trades {symbol}: add it before preloading")
        buffer = self._buffers[symbol] = BarBuffer(_keep(slots))
        for candle in candles:
            buffer.append(candle)
        return len(candles)

    def on_candle(self, candle: Candle, account: AccountView, working: WorkingOrders) -> list[Request]:
        """Run the strategies of ``candle.symbol``; returns what they asked for, in order."""
        slots = self._slots.get(candle.symbol)
        if not slots:
            return []
        buffer = self._buffers.get(candle.symbol)
        if buffer is None:
            buffer = self._buffers[candle.symbol] = BarBuffer(_keep(slots))
        buffer.append(candle)
        position, equity = account.position(candle.symbol), account.equity()
        requests: list[Request] = []
        for slot in slots:
            window = buffer.window(slot.window)
            api = OrderApi(slot.strategy_id, window, position, partial(working, slot.strategy_id, slot.symbol))
            if self._call(slot, Context(window, position, equity, slot.params, slot.state, api), candle):
                requests.extend(api.requests)
        return requests

    def _call(self, slot: StrategySlot, ctx: Context, candle: Candle) -> bool:
        try:
            slot.strategy.on_candle(ctx)
        except Exception as exc:  # a strategy bug must not stop the engine: log, notify, carry on
            slot.errors += 1
            _log.exception("strategy %s failed on %s %s", slot.strategy_id, candle.symbol, candle.open_time.isoformat())
            message = (
                f"strategy {slot.strategy_id} raised {type(exc).__name__}: {exc}; its orders of this bar were discarded"
            )
            self._notifications.notify(candle.close_time, Level.ERROR, "strategy_error", message, symbol=candle.symbol)
            return False
        return True


def _keep(slots: list[StrategySlot]) -> int | None:
    windows = [slot.window for slot in slots]
    return None if any(w is None for w in windows) else max(w for w in windows if w is not None)
