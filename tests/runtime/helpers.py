"""Test helpers for the runtime: hand-made bars, a scripted strategy, one-call backtests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd

from quantbridge.datasets.execution import ExecutionModel
from quantbridge.runtime.backtest import BacktestConfig, BacktestResult, market_for, run_backtest
from quantbridge.runtime.components.margin import MarginConfig
from quantbridge.runtime.components.risk import RiskRule
from quantbridge.runtime.domain.market import Market
from quantbridge.runtime.registry import StrategySpec
from quantbridge.runtime.strategy import Context

Action = tuple[str, dict[str, Any]]

TICK = Decimal("0.01")
LOT = Decimal("0.001")


def bars_from(rows: Sequence[tuple[float, ...]], start: str = "2024-01-01", freq: str = "1h") -> pd.DataFrame:
    """Bars from (open, high, low, close[, volume]) rows, hourly from ``start`` UTC."""
    index = pd.date_range(start, periods=len(rows), freq=freq, tz="UTC", name="open_time").as_unit("ns")
    frame = pd.DataFrame([r[:4] for r in rows], columns=["open", "high", "low", "close"], index=index, dtype="float64")
    frame["volume"] = [float(r[4]) if len(r) > 4 else 1.0 for r in rows]
    return frame


def flat_bars(n: int, price: float = 100.0) -> pd.DataFrame:
    return bars_from([(price, price + 1, price - 1, price)] * n)


def with_opens(bars: pd.DataFrame, opens: Sequence[float]) -> pd.DataFrame:
    """``bars`` with these opens, high and low widened to contain them (a valid candle)."""
    out = bars.copy()
    out["open"] = [float(o) for o in opens]
    out["high"] = out[["open", "high"]].max(axis=1)
    out["low"] = out[["open", "low"]].min(axis=1)
    return out


class Script:
    """A strategy that calls context methods on given bars: ``{bar: [(method, kwargs), …]}``;
    the ids it got back are kept in ``ids`` by bar."""

    def __init__(self, actions: Mapping[int, Sequence[Action]]) -> None:
        self.actions = actions
        self.ids: dict[int, list[str | None]] = {}
        self.seen: list[Context] = []

    def on_candle(self, ctx: Context) -> None:
        index = ctx.bars.index
        for name, kwargs in self.actions.get(index, ()):
            self.ids.setdefault(index, []).append(getattr(ctx, name)(**kwargs))


def script_spec(script: Script, model: ExecutionModel | None = None) -> StrategySpec:
    def factory() -> Script:
        return script

    return StrategySpec(name="script", factory=factory, description="test script", model=model or ExecutionModel())


def market_of(model: ExecutionModel, symbol: str = "TEST") -> Market:
    tick = Decimal(repr(model.instrument.tick_size)) if model.instrument.tick_size else TICK
    lot = Decimal(repr(model.instrument.qty_step)) if model.instrument.qty_step else LOT
    return market_for(model, symbol=symbol, tick_size=tick, lot_size=lot)


def config_for(
    script: Script,
    model: ExecutionModel | None = None,
    *,
    fraction: Decimal | None = None,
    rules: tuple[RiskRule, ...] | None = None,
    market: Market | None = None,
    round_prices: bool = True,
    margin: MarginConfig | None = None,
) -> BacktestConfig:
    model = model or ExecutionModel()
    return BacktestConfig(
        strategy=script_spec(script, model),
        params={},
        market=market or market_of(model),
        model=model,
        max_volume_fraction=fraction,
        risk_rules=rules,
        round_order_prices=round_prices,
        margin=margin or MarginConfig(),
    )


def run(
    bars: pd.DataFrame,
    actions: Mapping[int, Sequence[Action]],
    model: ExecutionModel | None = None,
    **options: Any,
) -> BacktestResult:
    """Backtest a script of context calls on ``bars``."""
    return run_backtest(bars, config_for(Script(actions), model, **options))


def buy(**kwargs: Any) -> Action:
    return ("buy", kwargs)


def sell(**kwargs: Any) -> Action:
    return ("sell", kwargs)


def close(**kwargs: Any) -> Action:
    return ("close", kwargs)
