"""SimulatedVenue: TradingView's broker emulator as a venue, on closed candles.

It implements the shared :class:`~quantbridge.datasets.execution.ExecutionModel` with
the semantics of ``research/simulator/kernel.py`` (its reference implementation), in
exact arithmetic. For each closed candle, before any strategy sees it:

1. **expire** orders whose good-till time has come; start a new trading day (intraday
   loss anchor) when one begins;
2. **open** — market orders decided before this candle fill at its open (moved by the
   slippage, snapped to the tick grid): exits first, then entries, buys before sells;
3. **inside** — resting stop and limit orders, and the protective exits attached to
   the position (:mod:`.brackets`), fill along the bar path (:mod:`.matching`); stops
   with slippage; an order beyond the price when the bar opens fills at the open (a
   gap); the intraday loss limit is checked at the position's worst extreme;
4. **close** — the trailing extreme follows the bar; the intraday loss limit is
   checked at the close.

An entry carrying a :class:`~..domain.protection.Protection` gives the position it
opens a bracket: stop-loss / trailing stop, take-profit and scale-outs at levels from
the average entry price, working from the fill on (the entry bar itself); their fills
are the venue's own (``FillOrigin`` names the kind). After a stop-loss exit no entry of
the symbol fills for the rest of the bar and the protection's ``cooldown_bars``.

Orders submitted at a candle's close fill at the next candle's open
(``Timing.NEXT_BAR_OPEN``), or at once at that close (``Timing.BAR_CLOSE``: market
orders of one batch fill exits first, then entries). Resting orders start working on
the next candle.

Sizes are settled when an order first fills, as TradingView does: an entry opposite
the position also closes it (one order, one commission, shared pro rata); an entry
with a budget (cash or percent-of-equity sizing of a stop/limit entry) is sized at its
fill price with the commission in the unit cost; an entry is not filled when the
position already holds the pyramiding limit in its direction or trading is halted
(cancelled, with the reason); an exit only reduces the position. With
``max_volume_fraction`` at most that fraction of a candle's volume trades per candle;
the rest of an order keeps working (a triggered stop as a market order).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import pandas as pd

from quantbridge.datasets.execution import ExecutionModel, Timing
from quantbridge.datasets.trade_list import ExitReason

from ..accounting import Ledger
from ..clock import Clock
from ..domain.events import Event, OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected
from ..domain.fills import Fill, FillOrigin
from ..domain.market import Market, MarketError
from ..domain.marketdata import Candle
from ..domain.orders import Intent, Order, OrderType, Side
from ..domain.positions import Position, closes_position
from ..domain.protection import ProtectiveKind
from ..execution import DEFAULT_MONEY_STEP, Pricing, to_decimal
from .base import EventSink
from .brackets import BRACKET_PREFIX, Bracket, bracket_kind, bracket_orders
from .matching import Resting, bar_path, first_trigger, triggered_at
from .trading_day import DayState, TradingDays

__all__ = ["SimulatedVenue", "SimulatedVenueConfig"]

_log = logging.getLogger(__name__)
_ZERO: Final = Decimal(0)


@dataclass(frozen=True)
class SimulatedVenueConfig:
    """The execution model, the per-candle volume limit (a fraction of the candle's
    volume, None: unlimited) and the money grid."""

    model: ExecutionModel = field(default_factory=ExecutionModel)
    max_volume_fraction: Decimal | None = None
    money_step: Decimal = DEFAULT_MONEY_STEP

    def __post_init__(self) -> None:
        fraction = self.max_volume_fraction
        if fraction is not None and not (0 < fraction <= 1):
            raise ValueError(f"max_volume_fraction {fraction}: expected a fraction in (0, 1]")


class _Working:
    """The venue's record of a live order: ``remaining`` is settled at its first fill."""

    __slots__ = ("fills", "order", "remaining", "seq", "triggered")

    def __init__(self, order: Order, seq: int) -> None:
        self.order = order
        self.seq = seq
        self.triggered = False
        self.fills = 0
        self.remaining: Decimal | None = None

    @property
    def key(self) -> str:
        return self.order.client_order_id

    @property
    def is_market(self) -> bool:
        """Fills at the next price: a market order or a triggered stop's remainder."""
        return self.order.type is OrderType.MARKET or self.triggered

    def resting(self) -> Resting:
        order = self.order
        level = order.stop if order.type is OrderType.STOP else order.price
        assert level is not None  # an Order's invariant: stop/limit orders carry their level
        exit_ = order.intent is Intent.EXIT
        rank = (order.type is OrderType.LIMIT, False, self.seq) if exit_ else _entry_rank(order, self.seq)
        return Resting(order.client_order_id, order.side, order.type, level, exit_, rank)


def _entry_rank(order: Order, seq: int) -> tuple[bool, bool, int]:
    return (order.side is Side.SELL, order.type is OrderType.LIMIT, seq)


def _market_priority(w: _Working) -> tuple[bool, bool, int]:
    """Exits first, then entries; buys before sells; then submission order."""
    return (w.order.intent is Intent.ENTRY, w.order.side is Side.SELL, w.seq)


def _reducible(position: Position, side: Side) -> Decimal:
    """How much an order of ``side`` can reduce ``position``."""
    return position.size if position.side.sign == -side.sign else _ZERO


class SimulatedVenue:
    """A venue that fills orders against closed candles (see the module docstring)."""

    def __init__(self, markets: Mapping[str, Market], clock: Clock, config: SimulatedVenueConfig | None = None) -> None:
        self._config = config or SimulatedVenueConfig()
        model = self._config.model
        self._model = model
        self._markets = dict(markets)
        self._clock = clock
        step = self._config.money_step
        self._pricing = {symbol: Pricing(market, model, step) for symbol, market in self._markets.items()}
        values = {symbol: market.contract_size for symbol, market in self._markets.items()}
        self._ledger = Ledger(to_decimal(model.initial_capital), values, step)
        self._working: dict[str, _Working] = {}
        self._seq = itertools.count()
        self._last: dict[str, Candle] = {}
        self._marks: dict[str, Decimal] = {}
        self._capacity: dict[str, Decimal | None] = {}
        self._days = TradingDays(model.session_timezone, model.session_start) if model.max_intraday_loss_pct else None
        self._loss_pct = to_decimal(model.max_intraday_loss_pct) if model.max_intraday_loss_pct else _ZERO
        self._day: dict[str, DayState] = {symbol: DayState() for symbol in self._markets}
        self._brackets: dict[str, Bracket] = {}
        self._bar_no: dict[str, int] = dict.fromkeys(self._markets, -1)
        self._cooldown_until: dict[str, int] = dict.fromkeys(self._markets, -1)
        self._protective_fills = itertools.count(1)
        self._sink: EventSink | None = None

    # ---- the Venue port --------------------------------------------------------------------
    def attach(self, sink: EventSink) -> None:
        self._sink = sink

    def submit(self, orders: Sequence[Order]) -> None:
        accepted = [w for w in (self._accept(order) for order in orders) if w is not None]
        if self._model.timing is not Timing.BAR_CLOSE:
            return
        for w in sorted((w for w in accepted if w.is_market), key=_market_priority):
            candle = self._last.get(w.order.symbol)
            if candle is not None and w.key in self._working:
                self._fill_market(w, candle, candle.close, candle.close_time)

    def restore_fills(self, fills: Iterable[Fill]) -> int:
        """Book the fills of an earlier run (a paper session restarting) so its positions
        and cash continue; no event is emitted. Protective brackets of a position opened
        before the restart are not restored. Returns how many were booked."""
        count = 0
        for fill in fills:
            self._ledger.apply(fill, tag="", reason=ExitReason.SIGNAL)
            count += 1
        return count

    def cancel(self, client_order_id: str) -> None:
        w = self._working.pop(client_order_id, None)
        if w is None:
            _log.warning("cancel %s: no such working order at the simulated venue", client_order_id)
            return
        now = self._clock.now()
        self._emit(OrderCancelled(client_order_id=client_order_id, reason="cancelled on request", ts=now, received=now))

    def on_candle(self, candle: Candle) -> None:
        symbol = candle.symbol
        if symbol not in self._markets:
            _log.warning("simulated venue: candle for unknown symbol %r ignored", symbol)
            return
        self._capacity[symbol] = self._bar_capacity(candle)
        self._bar_no[symbol] += 1
        if self._working or self._days is not None or symbol in self._brackets:
            self._expire(candle)
            self._start_day(candle)
            self._open_phase(candle)
            self._inside_phase(candle)
            self._close_phase(candle)
        self._last[symbol] = candle
        self._marks[symbol] = candle.close

    # ---- read-only state (reconciliation, tests) --------------------------------------------
    @property
    def cash(self) -> Decimal:
        return self._ledger.cash

    def position(self, symbol: str) -> Position:
        return self._ledger.position(symbol)

    def working_orders(self) -> tuple[Order, ...]:
        return tuple(w.order for w in self._working.values())

    def halted(self, symbol: str) -> bool:
        return self._day[symbol].halted

    def bracket(self, symbol: str) -> Bracket | None:
        """The protective exits working for ``symbol``'s position (None: unprotected)."""
        return self._brackets.get(symbol)

    # ---- submission --------------------------------------------------------------------------
    def _accept(self, order: Order) -> _Working | None:
        now = self._clock.now()
        problem = self._problem(order)
        if problem is not None:
            self._emit(OrderRejected(client_order_id=order.client_order_id, reason=problem, ts=now, received=now))
            return None
        w = _Working(order, next(self._seq))
        self._working[order.client_order_id] = w
        self._emit(
            OrderAccepted(client_order_id=order.client_order_id, venue_order_id=f"sim-{w.seq}", ts=now, received=now)
        )
        return w

    def _problem(self, order: Order) -> str | None:
        market = self._markets.get(order.symbol)
        if market is None:
            return f"unknown symbol {order.symbol!r}"
        if order.client_order_id in self._working:
            return f"duplicate client order id {order.client_order_id}"
        if order.intent is Intent.ENTRY and self._day[order.symbol].halted:
            return "trading is halted until the next trading day (max intraday loss reached)"
        try:
            for level in (order.price, order.stop):
                if level is not None:
                    market.check_price(level)
            if not closes_position(order, self._ledger.position(order.symbol)):
                market.check_qty(order.qty)
        except MarketError as exc:
            return str(exc)
        return None

    # ---- phases of a candle ------------------------------------------------------------------
    def _expire(self, candle: Candle) -> None:
        for w in [w for w in self._working.values() if w.order.symbol == candle.symbol]:
            expire_at = w.order.expire_at
            if expire_at is not None and expire_at <= candle.open_time:
                del self._working[w.key]
                self._emit(OrderExpired(client_order_id=w.key, ts=expire_at, received=self._clock.now()))

    def _start_day(self, candle: Candle) -> None:
        if self._days is None:
            return
        state = self._day[candle.symbol]
        day = self._days.day_of(candle.open_time)
        if day != state.day:
            marks = {**self._marks, candle.symbol: self._marks.get(candle.symbol, candle.open)}
            state.day, state.halted, state.anchor = day, False, self._ledger.equity(marks)

    def _bar_capacity(self, candle: Candle) -> Decimal | None:
        fraction = self._config.max_volume_fraction
        if fraction is None:
            return None
        return self._markets[candle.symbol].qty(candle.volume * fraction)

    def _open_phase(self, candle: Candle) -> None:
        due = sorted(
            (w for w in self._working.values() if w.order.symbol == candle.symbol and w.is_market), key=_market_priority
        )
        for w in due:
            if w.key in self._working:
                self._fill_market(w, candle, candle.open, candle.open_time)

    def _inside_phase(self, candle: Candle) -> None:
        points = bar_path(candle, self._model.bar_path)
        skipped: set[str] = set()
        for segment in range(3):
            cur, target = points[segment], points[segment + 1]
            while True:
                resting = self._resting(candle.symbol, skipped)
                hit = (
                    first_trigger(resting, cur, target, at_open=segment == 0 and cur == points[0]) if resting else None
                )
                if hit is None:
                    break
                cur = self._fill_resting(hit, cur, candle, skipped)
            if segment < 2:
                self._check_loss_at_extreme(candle, points, target)

    def _close_phase(self, candle: Candle) -> None:
        bracket = self._brackets.get(candle.symbol)
        if bracket is not None:
            bracket.update_extreme(self._ledger.position(candle.symbol), candle.high, candle.low)
        state = self._day[candle.symbol]
        if self._days is not None and not state.halted and self._loss_reached(candle.symbol, candle.close):
            self._halt(candle, self._markets[candle.symbol].price(candle.close), candle.close_time)

    # ---- fills -------------------------------------------------------------------------------
    def _resting(self, symbol: str, skipped: set[str]) -> list[Resting]:
        position = self._ledger.position(symbol)
        out = []
        for w in self._working.values():
            order = w.order
            if order.symbol != symbol or w.is_market or w.key in skipped:
                continue
            live = (
                _reducible(position, order.side) > 0
                if order.intent is Intent.EXIT
                else self._entry_block(order, position) is None
            )
            if live:
                out.append(w.resting())
        bracket = self._brackets.get(symbol)
        if bracket is not None:
            out.extend(r for r in bracket_orders(bracket, position, self._pricing[symbol]) if r.key not in skipped)
        return out

    def _fill_resting(self, hit: Resting, cur: Decimal, candle: Candle, skipped: set[str]) -> Decimal:
        if hit.key.startswith(BRACKET_PREFIX):
            return self._fill_protective(hit, cur, candle, skipped)
        w = self._working[hit.key]
        level = cur if triggered_at(hit, cur) else hit.level
        price = self._pricing[candle.symbol].fill_price(level, hit.side, slip=hit.type is OrderType.STOP)
        self._execute(w, price, candle, candle.open_time)
        if w.key in self._working:  # out of volume for this candle: a triggered stop waits as a market order
            w.triggered = hit.type is OrderType.STOP
            skipped.add(w.key)
        return level

    def _fill_market(self, w: _Working, candle: Candle, reference: Decimal, ts: pd.Timestamp) -> None:
        price = self._pricing[candle.symbol].fill_price(reference, w.order.side, slip=True)
        self._execute(w, price, candle, ts)

    def _execute(self, w: _Working, price: Decimal, candle: Candle, ts: pd.Timestamp) -> bool:
        """Fill what ``w`` may trade now at ``price``; False when nothing traded."""
        wanted = self._settle(w, price)
        if wanted is None:
            return False
        qty = self._within_capacity(candle.symbol, wanted)
        if qty <= 0:
            return False
        self._book(w, qty, price, candle, ts)
        return True

    def _settle(self, w: _Working, price: Decimal) -> Decimal | None:
        """What ``w`` has left to trade, its size settled at its first fill; None (and the
        order cancelled with the reason) when it cannot fill."""
        order = w.order
        position = self._ledger.position(order.symbol)
        if order.intent is Intent.EXIT:
            left = order.qty if w.remaining is None else w.remaining
            w.remaining = min(left, _reducible(position, order.side))
            problem = None if w.remaining > 0 else "no position left to reduce"
        elif w.remaining is None:
            problem = self._entry_block(order, position)
            if problem is None:
                opening = (
                    order.qty
                    if order.budget is None
                    else self._pricing[order.symbol].qty_for_budget(order.budget, price)
                )
                problem = self._below_minimum(order.symbol, opening)
                w.remaining = _reducible(position, order.side) + opening
        else:
            problem = None
        if problem is not None:
            self._drop(w, problem)
            return None
        return w.remaining

    def _entry_block(self, order: Order, position: Position) -> str | None:
        """Why an entry cannot fill now (None: it can)."""
        if self._day[order.symbol].halted:
            return "trading is halted until the next trading day (max intraday loss reached)"
        if self._bar_no[order.symbol] <= self._cooldown_until[order.symbol]:
            return f"cooling down after a stop-loss exit until bar {self._cooldown_until[order.symbol]}"
        if position.side.sign == order.side.sign and position.entries >= self._model.pyramiding:
            return f"the position already holds the pyramiding limit of {self._model.pyramiding} entr(y/ies)"
        return None

    def _below_minimum(self, symbol: str, qty: Decimal) -> str | None:
        minimum = self._markets[symbol].min_qty
        if qty <= 0 or qty < minimum:
            return f"sized quantity {qty} is below the minimum {minimum}"
        return None

    def _within_capacity(self, symbol: str, qty: Decimal) -> Decimal:
        capacity = self._capacity.get(symbol)
        if capacity is None:
            return qty
        take = min(qty, capacity)
        self._capacity[symbol] = capacity - take
        return take

    def _book(self, w: _Working, qty: Decimal, price: Decimal, candle: Candle, ts: pd.Timestamp) -> None:
        order = w.order
        assert w.remaining is not None  # settled by _settle before any fill
        w.remaining -= qty
        w.fills += 1
        fill = Fill(
            fill_id=f"{w.key}-{w.fills}",
            client_order_id=w.key,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            commission=self._pricing[order.symbol].commission(price, qty),
            ts=ts,
            received=self._clock.now(),
            leaves_qty=w.remaining,
            bar_time=candle.open_time,
        )
        before = self._ledger.position(order.symbol)
        self._ledger.apply(fill, tag=order.tag, reason=ExitReason.SIGNAL)
        self._protect(order, before, fill)
        if w.remaining <= 0:
            del self._working[w.key]
        self._emit(OrderFilled(fill=fill, ts=ts, received=fill.received))
        self._drop_stale_exits(order.symbol)

    def _drop(self, w: _Working, reason: str) -> None:
        self._working.pop(w.key, None)
        now = self._clock.now()
        _log.debug("simulated venue: order %s cancelled: %s", w.key, reason)
        self._emit(OrderCancelled(client_order_id=w.key, reason=reason, ts=now, received=now))

    def _drop_stale_exits(self, symbol: str) -> None:
        """Exit orders with nothing left to reduce are cancelled (an exit never opens)."""
        position = self._ledger.position(symbol)
        for w in [w for w in self._working.values() if w.order.symbol == symbol and w.order.intent is Intent.EXIT]:
            if _reducible(position, w.order.side) <= 0:
                self._drop(w, "the position it would reduce is closed")

    # ---- protective exits (brackets) ---------------------------------------------------------
    def _protect(self, order: Order, before: Position, fill: Fill) -> None:
        """Keep the symbol's bracket in step with its position after ``fill``: a position
        opened (or reversed) by a protected entry gets a new bracket (initial quantity and
        extreme from its first lot); a fill that adds to it keeps the bracket's state; an
        unprotected position has none."""
        symbol = order.symbol
        after = self._ledger.position(symbol)
        bracket = self._brackets.get(symbol)
        if after.is_flat:
            self._brackets.pop(symbol, None)
            return
        if before.is_flat or before.side.sign != after.side.sign:
            bracket = None if order.protection is None else self._new_bracket(order, after)
        elif order.intent is Intent.ENTRY and bracket is not None and bracket.entry_id == order.client_order_id:
            bracket.init_qty += fill.qty  # the same entry order filling in parts
        elif order.intent is Intent.ENTRY and bracket is None and order.protection is not None:
            bracket = self._new_bracket(order, after)
        if bracket is None:
            self._brackets.pop(symbol, None)
        else:
            self._brackets[symbol] = bracket

    @staticmethod
    def _new_bracket(order: Order, position: Position) -> Bracket:
        assert order.protection is not None
        first = position.lots[0]
        return Bracket(order.protection, order.client_order_id, first.qty, first.price)

    def _fill_protective(self, hit: Resting, cur: Decimal, candle: Candle, skipped: set[str]) -> Decimal:
        """Fill the protective exit ``hit`` (the kernel's ``fill_slot``): stops with
        slippage; at the price when it is already beyond its level (a gap)."""
        symbol, kind = candle.symbol, bracket_kind(hit.key)
        bracket, position = self._brackets[symbol], self._ledger.position(symbol)
        level = cur if triggered_at(hit, cur) else hit.level
        price = self._pricing[symbol].fill_price(level, hit.side, slip=hit.type is OrderType.STOP)
        wanted = position.size
        if kind is ProtectiveKind.SCALE_OUT:
            wanted = min(bracket.scale_qty(), position.size)
            bracket.scales_done += 1
        qty = self._within_capacity(symbol, wanted)
        if qty < wanted:
            skipped.add(hit.key)  # out of volume for this candle: the rest waits for the next one
        if qty > 0:
            self._book_protective(kind, hit.side, qty, price, candle)
        return level

    def _book_protective(self, kind: ProtectiveKind, side: Side, qty: Decimal, price: Decimal, candle: Candle) -> None:
        symbol, ts = candle.symbol, candle.open_time
        fill = Fill(
            fill_id=f"{kind.value}-{symbol}-{ts.value}-{next(self._protective_fills)}",
            client_order_id="",
            symbol=symbol,
            side=side,
            qty=qty,
            price=price,
            commission=self._pricing[symbol].commission(price, qty),
            ts=ts,
            received=self._clock.now(),
            bar_time=ts,
            origin=FillOrigin(kind.value),
        )
        self._ledger.apply(fill, tag="", reason=ExitReason(kind.value))
        if kind is ProtectiveKind.STOP_LOSS:
            cooldown = self._brackets[symbol].protection.cooldown_bars
            self._cooldown_until[symbol] = self._bar_no[symbol] + cooldown
        if self._ledger.position(symbol).is_flat:
            self._brackets.pop(symbol, None)
        self._emit(OrderFilled(fill=fill, ts=ts, received=fill.received))
        self._drop_stale_exits(symbol)

    # ---- max intraday loss -------------------------------------------------------------------
    def _loss_reached(self, symbol: str, price: Decimal) -> bool:
        anchor = self._day[symbol].anchor
        if anchor <= 0:
            return False
        equity = self._ledger.equity({**self._marks, symbol: price})
        return anchor - equity >= anchor * self._loss_pct / 100

    def _check_loss_at_extreme(self, candle: Candle, points: tuple[Decimal, ...], target: Decimal) -> None:
        symbol = candle.symbol
        position = self._ledger.position(symbol)
        if self._days is None or self._day[symbol].halted or position.is_flat:
            return
        long = position.side.sign > 0
        worst = min(points[1], points[2]) if long else max(points[1], points[2])
        if target == worst and self._loss_reached(symbol, target):
            closing_side = Side.SELL if long else Side.BUY
            self._halt(candle, self._pricing[symbol].fill_price(target, closing_side, slip=True), candle.open_time)

    def _halt(self, candle: Candle, price: Decimal, ts: pd.Timestamp) -> None:
        """Block entries for the rest of the trading day and close the position at ``price``."""
        symbol = candle.symbol
        self._day[symbol].halted = True
        position = self._ledger.position(symbol)
        _log.info("simulated venue: %s max intraday loss reached at %s; halted for the day", symbol, price)
        if position.is_flat:
            return
        side = Side.SELL if position.side.sign > 0 else Side.BUY
        fill = Fill(
            fill_id=f"halt-{symbol}-{candle.open_time.value}",
            client_order_id="",
            symbol=symbol,
            side=side,
            qty=position.size,
            price=price,
            commission=self._pricing[symbol].commission(price, position.size),
            ts=ts,
            received=self._clock.now(),
            bar_time=candle.open_time,
            origin=FillOrigin.INTRADAY_LOSS,
        )
        self._ledger.apply(fill, tag="", reason=ExitReason.INTRADAY_LOSS)
        self._brackets.pop(symbol, None)
        self._emit(OrderFilled(fill=fill, ts=ts, received=fill.received))
        self._drop_stale_exits(symbol)

    def _emit(self, event: Event) -> None:
        if self._sink is None:
            raise RuntimeError("SimulatedVenue: attach(sink) before use")
        self._sink(event)
