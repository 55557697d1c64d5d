"""Turn a research prototype into a runtime Strategy: ``bridge(prototype, ...)``.

On each closed candle the bridged strategy runs the *same* prototype function on the
closed bars it holds (``window=None``: every bar so far, exact for recursive
indicators; an int: the last N bars) and acts on the **last row** of the signals:

1. exits — a position rule's exit (checked on the close) or the row's exit signal, one
   market ``close()``;
2. entries — long, then short: a market order, or a stop / limit order at the row's
   resting price. An order keeps its identity (``Signals.*_entry_from``, the bar that
   placed it): while the rows name the same bar it is the same order and is not placed
   again (filled, refused or still working); it is cancelled when the prototype stops
   asking for it or names a new one.

The entry / exit names of the signals are the order tags. It refuses to trade before it
is warm (``warmup`` bars, default ``prototype.warmup(params)``) and says so in its state
(``ctx.state["bridge_status"]``).

Position rules are carried by the runtime's position (lots, entry fills) and the
strategy's ``ctx.state``, never re-derived from the window: stop-loss, take-profit and
trailing stop checked **on the close** (``StopMode.ON_CLOSE``: a market exit on the next
bar), maximum bars held, cooldown after a stop-loss exit, flip on/off — exactly as the
research kernel does it. Rules that rest **inside the bar** (``StopMode.INTRABAR`` stops,
targets and trailing stops, and scale-outs in either mode) are protective exits attached
to every entry (:func:`protection_for`, ``ctx.buy/sell(protect=...)``): the venue works
them from the entry fill on, on the entry bar itself, and applies the cooldown after a
stop-loss exit. What the order API cannot express raises :class:`BridgeError`: an entry
with both a stop and a limit, a persistent order whose price changes, and a resting entry
against an opposite position with ``flip=False``.

A prototype that changes the window it is handed is rejected
(:class:`PrototypeMutationError`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import numpy as np
import pandas as pd

from quantbridge.datasets.execution import ExecutionModel, Timing
from quantbridge.datasets.trade_list import ExitReason
from quantbridge.research.registry import ParamValue, PrototypeSpec
from quantbridge.research.rules import PositionRules, StopMode
from quantbridge.research.signals import Signals
from quantbridge.research.simulator import kernel
from quantbridge.research.simulator.params import kernel_params
from quantbridge.runtime.execution import to_decimal
from quantbridge.runtime.registry import StrategySpec
from quantbridge.runtime.strategy import Context, Protection, ScaleOutLevel, StateStore

__all__ = [
    "BridgeError",
    "BridgedStrategy",
    "PrototypeMutationError",
    "SignalRow",
    "bridge",
    "protection_for",
    "run_on_window",
]

_COLUMNS: Final = ("open", "high", "low", "close", "volume")
_SIDES: Final = ("long", "short")


class BridgeError(ValueError):
    """Something the bridge cannot express with the runtime's order API."""


class PrototypeMutationError(BridgeError):
    """The prototype changed the bars it was handed (prototypes must be pure)."""


@dataclass(frozen=True, slots=True)
class SignalRow:
    """The signals row the bridged strategy acted on at bar ``bar`` (its position in the
    stream); ``*_from`` are absolute bar positions; ``indicators`` the prototype's values."""

    bar: int
    time: pd.Timestamp
    long_entry: bool
    long_exit: bool
    short_entry: bool
    short_exit: bool
    long_entry_stop: float
    long_entry_limit: float
    short_entry_stop: float
    short_entry_limit: float
    size: float
    long_entry_from: int
    short_entry_from: int
    indicators: Mapping[str, float] = field(default_factory=dict)

    def entry(self, side: str) -> bool:
        return bool(getattr(self, f"{side}_entry"))

    def levels(self, side: str) -> tuple[float, float]:
        return float(getattr(self, f"{side}_entry_stop")), float(getattr(self, f"{side}_entry_limit"))

    def origin(self, side: str) -> int:
        return int(getattr(self, f"{side}_entry_from"))


def _last_row(signals: Signals, bar: int, offset: int) -> SignalRow:
    values = {name: float(series.iloc[-1]) for name, series in signals.indicators.items() if len(series)}
    return SignalRow(
        bar=bar,
        time=pd.Timestamp(signals.index[-1]),
        long_entry=bool(signals.long_entry[-1]),
        long_exit=bool(signals.long_exit[-1]),
        short_entry=bool(signals.short_entry[-1]),
        short_exit=bool(signals.short_exit[-1]),
        long_entry_stop=float(signals.long_entry_stop[-1]),
        long_entry_limit=float(signals.long_entry_limit[-1]),
        short_entry_stop=float(signals.short_entry_stop[-1]),
        short_entry_limit=float(signals.short_entry_limit[-1]),
        size=float(signals.size[-1]),
        long_entry_from=int(signals.long_entry_from[-1]) + offset,
        short_entry_from=int(signals.short_entry_from[-1]) + offset,
        indicators=values,
    )


def run_on_window(prototype: PrototypeSpec, params: Mapping[str, ParamValue], frame: pd.DataFrame) -> Signals:
    """The prototype on ``frame``; raises :class:`PrototypeMutationError` when the call
    changed the frame (its columns, index or any value)."""
    before = {name: frame[name].to_numpy(copy=True) for name in _COLUMNS}
    index = frame.index.copy()
    signals = prototype.function(frame, **params)
    changed = list(frame.columns) != list(_COLUMNS) or not frame.index.equals(index)
    changed = changed or any(
        not np.array_equal(before[name], frame[name].to_numpy(), equal_nan=True) for name in _COLUMNS
    )
    if changed:
        raise PrototypeMutationError(
            f"prototype {prototype.name!r} mutated its input window (bars ending {index[-1]}); "
            "prototypes must be pure functions of the bars"
        )
    if len(signals) != len(frame):
        raise BridgeError(f"prototype {prototype.name!r} returned {len(signals)} rows for {len(frame)} bars")
    return signals


def _pct(value: float | None) -> Decimal | None:
    return None if value is None else to_decimal(value)


def protection_for(rules: PositionRules) -> Protection | None:
    """The protective exits every entry attaches to its position under ``rules``: the
    intrabar stop-loss / take-profit / trailing stop and the scale-outs (which the
    simulator always works inside the bar), with the cooldown after a stop-loss exit.
    None when no rule rests inside the bar (on-close rules stay with the strategy)."""
    intrabar = rules.stop_mode is StopMode.INTRABAR
    protection = Protection(
        stop_loss_pct=_pct(rules.stop_loss_pct) if intrabar else None,
        take_profit_pct=_pct(rules.take_profit_pct) if intrabar else None,
        trailing_stop_pct=_pct(rules.trailing_stop_pct) if intrabar else None,
        scale_outs=tuple(ScaleOutLevel(to_decimal(s.at_pct), to_decimal(s.fraction)) for s in rules.scale_outs),
        cooldown_bars=rules.cooldown_bars,
    )
    return None if protection.is_empty else protection


def _float(state: StateStore, key: str, default: float = math.nan) -> float:
    value = state.get(key)
    return float(value) if isinstance(value, int | float | Decimal) else default


def _int(state: StateStore, key: str, default: int) -> int:
    value = state.get(key)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else default


def _str(state: StateStore, key: str) -> str:
    value = state.get(key)
    return value if isinstance(value, str) else ""


class BridgedStrategy:
    """A prototype as a runtime Strategy (see the module docstring). ``records`` holds the
    signals row acted on at each warm bar; ``exit_journal`` maps the open time of the bar
    a rule exit fills on to its reason (the runtime labels exits by order kind)."""

    def __init__(
        self,
        prototype: PrototypeSpec,
        params: Mapping[str, ParamValue],
        rules: PositionRules,
        model: ExecutionModel,
        warmup: int,
        window: int | None,
    ) -> None:
        self.prototype, self.params, self.rules, self.model = prototype, dict(params), rules, model
        self.warmup, self.window = warmup, window
        self._p = kernel_params(model, rules)
        self._protection = protection_for(rules)
        self._fill_offset = 0 if model.timing is Timing.BAR_CLOSE else 1
        self.records: list[SignalRow] = []
        self.exit_journal: dict[pd.Timestamp, str] = {}
        self._tags = {"long": "long", "short": "short"}
        self.status = "not started"
        """What ``ctx.state["bridge_status"]`` last said (warming up / trading / disabled)."""

    @property
    def name(self) -> str:
        return f"bridge:{self.prototype.name}"

    def reset(self) -> BridgedStrategy:
        """Forget what a previous run recorded (the runtime keeps its state in ctx.state)."""
        self.records, self.exit_journal, self.status = [], {}, "not started"
        return self

    def spec(self, name: str | None = None) -> StrategySpec:
        """A runtime StrategySpec (no parameters: they are bound in the bridge) whose
        factory hands out this strategy, reset."""

        def factory() -> BridgedStrategy:
            return self.reset()

        return StrategySpec(
            name=name or self.name,
            factory=factory,
            description=f"{self.prototype.name} bridged from research: {self.prototype.description}",
            model=self.model,
            window=lambda _: self.window,
        )

    # ---- one closed candle ------------------------------------------------------------------
    def _say(self, state: StateStore, status: str) -> None:
        self.status = status
        state.set("bridge_status", status)

    def on_candle(self, ctx: Context) -> None:
        state = ctx.state
        disabled = _str(state, "bridge_disabled")
        if disabled:
            self._say(state, f"disabled: {disabled}")
            return
        bar = ctx.bars.index
        state.set("bridge_bars", bar + 1)
        if bar + 1 < self.warmup:
            self._say(state, f"warming up: {bar + 1} of {self.warmup} bars; no orders")
            return
        self._say(state, "trading")
        try:
            self._act(ctx, bar)
        except BridgeError as exc:
            state.set("bridge_disabled", str(exc))
            raise

    def _act(self, ctx: Context, bar: int) -> None:
        frame = ctx.bars.frame()
        signals = run_on_window(self.prototype, self.params, frame)
        row = _last_row(signals, bar, bar - len(frame) + 1)
        self._tags = {"long": signals.long_name, "short": signals.short_name}
        self.records.append(row)
        self._track_position(ctx, bar)
        exiting = self._exits(ctx, row, bar)
        for side in _SIDES:
            self._entry(ctx, row, side, bar, exiting)

    # ---- position state (ctx.state) ---------------------------------------------------------
    def _track_position(self, ctx: Context, bar: int) -> None:
        """A new position (its first lot changed) starts the rule state: entry bar and
        extreme at the entry price; the extreme then follows the closed bars."""
        state, position = ctx.state, ctx.position
        if position.is_flat:
            state.set("lot_key", "")
            return
        first = position.lots[0]
        key = f"{first.order_id}@{first.ts.value}"
        if key != _str(state, "lot_key"):
            state.set("lot_key", key)
            state.set("entry_bar", bar)
            state.set("extreme", float(first.price))
        candle = ctx.bars.last
        pick = max if position.side.sign > 0 else min
        extreme = pick(_float(state, "extreme"), float(candle.high if position.side.sign > 0 else candle.low))
        state.set("extreme", extreme)

    def _rule_exit(self, ctx: Context, bar: int) -> ExitReason | None:
        position = ctx.position
        if position.is_flat:
            return None
        side = position.side.sign
        reason = self._protective_exit(ctx, side)
        if reason is not None:
            return reason
        held = bar + 1 - _int(ctx.state, "entry_bar", bar)
        if self.rules.max_bars_held is not None and held >= self.rules.max_bars_held:
            return ExitReason.MAX_BARS
        return None

    def _level(self, base: float, fraction: float | None, side: int, up: bool) -> float:
        if fraction is None:
            return math.nan
        return float(kernel.round_order_price(base * (1.0 + side * fraction / 100.0), up, self._p))

    def _protective_exit(self, ctx: Context, side: int) -> ExitReason | None:
        """Stop-loss / trailing stop / take-profit checked on the close (the kernel's
        ``rule_exit_on_close``): the bar's worst price against the stop, its best against
        the target, compared on the tick grid."""
        rules, avg = self.rules, float(ctx.position.avg_price or 0)
        if rules.stop_mode is StopMode.INTRABAR:
            return None  # the venue works them from the entry fill (the entry's protection)
        long = side > 0
        stop, reason = self._level(avg, rules.stop_loss_pct, -side, not long), ExitReason.STOP_LOSS
        trail = self._level(_float(ctx.state, "extreme"), rules.trailing_stop_pct, -side, not long)
        if not math.isnan(trail) and (math.isnan(stop) or (trail - stop) * side > 0):
            stop, reason = trail, ExitReason.TRAILING_STOP
        take = self._level(avg, rules.take_profit_pct, side, long)
        candle, tick = ctx.bars.last, float(self.model.instrument.tick_size)
        worst, best = (candle.low, candle.high) if long else (candle.high, candle.low)
        if not math.isnan(stop) and (float(worst) / tick - round(stop / tick)) * side <= 1e-6:
            return reason
        if not math.isnan(take) and (float(best) / tick - round(take / tick)) * side >= -1e-6:
            return ExitReason.TAKE_PROFIT
        return None

    # ---- exits ------------------------------------------------------------------------------
    def _exits(self, ctx: Context, row: SignalRow, bar: int) -> bool:
        """Place this bar's exit (a rule's, else the signal's); True when the position
        will be flat at the next fill."""
        position = ctx.position
        if position.is_flat:
            return False
        reason = self._rule_exit(ctx, bar)
        long = position.side.sign > 0
        signal_exit = row.long_exit if long else row.short_exit
        if reason is None and not signal_exit:
            return False
        fills_on = ctx.bars.last.close_time if self._fill_offset else ctx.bars.last.open_time
        if reason is not None:
            self.exit_journal[fills_on] = reason.value
            if reason is ExitReason.STOP_LOSS:
                ctx.state.set("cooldown_until", bar + self._fill_offset + self.rules.cooldown_bars)
        ctx.close(tag=reason.value if reason is not None else f"{'long' if long else 'short'}_exit")
        return True

    # ---- entries ----------------------------------------------------------------------------
    def _working(self, ctx: Context, order_id: str) -> bool:
        return bool(order_id) and any(o.client_order_id == order_id for o in ctx.working_orders)

    def _drop(self, ctx: Context, side: str) -> None:
        order_id = _str(ctx.state, f"{side}_order")
        if self._working(ctx, order_id):
            ctx.cancel(order_id)
        ctx.state.set(f"{side}_order", "")
        ctx.state.set(f"{side}_from", -1)
        ctx.state.set(f"{side}_pending", False)

    def _entry(self, ctx: Context, row: SignalRow, side: str, bar: int, exiting: bool) -> None:
        state = ctx.state
        if not row.entry(side):
            self._drop(ctx, side)
            return
        stop, limit = row.levels(side)
        if not (math.isnan(stop) or math.isnan(limit)):
            raise BridgeError(f"{side} entry at bar {bar} has both a stop and a limit price; place two orders")
        origin = row.origin(side)
        if origin == _int(state, f"{side}_from", -1) and origin != bar:
            self._same_order(ctx, side, stop if math.isnan(limit) else limit, bar, exiting)
            return
        self._drop(ctx, side)
        state.set(f"{side}_from", origin)
        state.set(f"{side}_level", stop if math.isnan(limit) else limit)
        self._place(ctx, row, side, bar, exiting)

    def _same_order(self, ctx: Context, side: str, level: float, bar: int, exiting: bool) -> None:
        """The order placed earlier is still wanted: same price, not placed again (a
        resting order deferred by the cooldown is placed once the cooldown is over)."""
        placed = _float(ctx.state, f"{side}_level")
        if not (placed == level or (math.isnan(placed) and math.isnan(level))):
            raise BridgeError(
                f"{side} entry order placed at bar {_int(ctx.state, f'{side}_from', -1)} changes its price "
                f"({placed} -> {level}) at bar {bar}; the runtime cannot modify a working order in place"
            )
        if ctx.state.get(f"{side}_pending") is True and not self._cooling(ctx, bar):
            ctx.state.set(f"{side}_pending", False)
            self._submit(ctx, side, level, math.nan, bar, exiting)

    def _cooling(self, ctx: Context, bar: int) -> bool:
        return bar + self._fill_offset <= _int(ctx.state, "cooldown_until", -1)

    def _place(self, ctx: Context, row: SignalRow, side: str, bar: int, exiting: bool) -> None:
        stop, limit = row.levels(side)
        resting = not (math.isnan(stop) and math.isnan(limit))
        if self._cooling(ctx, bar):
            ctx.state.set(f"{side}_pending", resting)  # a market order is consumed, a resting one waits
            return
        self._submit(
            ctx, side, stop if math.isnan(limit) else limit, row.size, bar, exiting, limit=not math.isnan(limit)
        )

    def _submit(
        self, ctx: Context, side: str, level: float, size: float, bar: int, exiting: bool, *, limit: bool = False
    ) -> None:
        position = ctx.position
        opposite = not position.is_flat and (position.side.sign > 0) != (side == "long")
        if opposite and not self.rules.flip and not exiting:
            if not math.isnan(level):
                raise BridgeError(
                    f"position rule flip=False with a resting {side} entry at bar {bar} against an open position: "
                    "the runtime cannot make an order conditional on the position being flat when it fills"
                )
            return  # a market entry the simulator would refuse at the open (no flip): consumed
        qty = None if math.isnan(size) else size
        stop, lim = (None, level) if limit else (level, None)
        tag = self._tags[side]
        order = ctx.buy if side == "long" else ctx.sell
        ctx.state.set(f"{side}_order", order(qty, stop=stop, limit=lim, tag=tag, protect=self._protection))


def bridge(
    prototype: PrototypeSpec,
    params: Mapping[str, object] | None = None,
    rules: PositionRules | None = None,
    model: ExecutionModel | None = None,
    warmup: int | None = None,
    window: int | None = None,
) -> BridgedStrategy:
    """``prototype`` (with ``params``) as a runtime strategy under ``rules`` (default: the
    prototype's) and ``model`` (default: the prototype's — pass the same value to the
    simulator); warm after ``warmup`` bars (default ``prototype.warmup(params)``);
    ``window``: bars handed to the prototype (None: all closed bars)."""
    bound = prototype.bind(params)
    chosen_rules = prototype.rules if rules is None else rules
    warm = prototype.warmup(bound) if warmup is None else warmup
    if warm < 1:
        warm = 1
    if window is not None and window < warm:
        raise BridgeError(f"window {window} is shorter than the warm-up of {warm} bars")
    return BridgedStrategy(prototype, bound, chosen_rules, model or prototype.model, warm, window)
