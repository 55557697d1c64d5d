"""Backtest mode: the runtime on historical data, through the code path paper and live use.

What makes it a backtest is only what is injected: a :class:`~.clock.SimulatedClock`
moved by the data's timestamps, a :class:`~.venue.simulated.SimulatedVenue`, in-memory
stores, and the data itself fed to :meth:`Engine.feed` — bars as closed candles, or
trade ticks / quotes through the candle aggregator. The result has the trade list
(``quantbridge.datasets.trade_list`` shape), the equity curve and the metrics;
:func:`write_outputs` writes them with a self-contained HTML report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from quantbridge.datasets.execution import ExecutionModel, Instrument
from quantbridge.datasets.performance import compute_metrics
from quantbridge.datasets.trade_list import TRADE_LIST_COLUMNS, empty_trade_list

from .clock import SimulatedClock
from .components.margin import MarginConfig
from .components.market_data import AggregatorFactory
from .components.notifications import Level, LoggingSink, MemorySink, Notification, NotificationCenter
from .components.risk import RiskRule
from .components.risk_config import RiskConfig
from .components.risk_store import RiskDecision
from .core import Engine, EngineConfig, EngineStats, build_engine
from .domain.market import ContractType, Market
from .domain.marketdata import Candle, Quote, Tick
from .domain.orders import Order
from .domain.positions import ClosedTrade
from .execution import DEFAULT_MONEY_STEP, to_decimal
from .registry import StrategySpec
from .strategy import ParamValue
from .venue.simulated import SimulatedVenue, SimulatedVenueConfig

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "candles_from_bars",
    "market_for",
    "run_backtest",
    "run_backtest_on_ticks",
    "trade_frame",
    "write_outputs",
]

MarketItem = Tick | Quote | Candle


@dataclass(frozen=True)
class BacktestConfig:
    """One run: the strategy and its (bound) parameters, the market, the execution model,
    the venue's volume limit, margin settings and risk rules (None: the default chain)."""

    strategy: StrategySpec
    params: Mapping[str, ParamValue]
    market: Market
    model: ExecutionModel
    max_volume_fraction: Decimal | None = None
    margin: MarginConfig = field(default_factory=MarginConfig)
    risk_rules: tuple[RiskRule, ...] | None = None
    risk: RiskConfig | None = None
    round_order_prices: bool = True
    money_step: Decimal = DEFAULT_MONEY_STEP

    @property
    def strategy_id(self) -> str:
        return self.strategy.name


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """``trades`` in the trade-list shape; ``equity`` per candle (equity, cash, position,
    close; indexed by open time); ``metrics``; every order; warnings and errors
    notified during the run; engine counters; every risk decision."""

    config: BacktestConfig
    trades: pd.DataFrame
    equity: pd.DataFrame
    metrics: dict[str, float]
    orders: tuple[Order, ...]
    notifications: tuple[Notification, ...]
    stats: EngineStats
    risk_decisions: tuple[RiskDecision, ...] = ()

    @property
    def failed(self) -> bool:
        """Something went wrong in the run (a strategy or engine error)."""
        return bool(self.stats.errors or self.stats.strategy_errors)


# ---- inputs --------------------------------------------------------------------------------------
def market_for(
    model: ExecutionModel,
    *,
    symbol: str | None = None,
    tick_size: Decimal | None = None,
    lot_size: Decimal | None = None,
    contract: ContractType = ContractType.LINEAR_PERPETUAL,
) -> Market:
    """The market described by ``model.instrument`` (grids given here win; a grid the
    instrument leaves at 0 must be given)."""
    inst: Instrument = model.instrument
    tick = tick_size or (to_decimal(inst.tick_size) if inst.tick_size else None)
    lot = lot_size or (to_decimal(inst.qty_step) if inst.qty_step else None)
    if tick is None or lot is None:
        raise ValueError("the market needs a tick size and a lot size (the instrument leaves them at 0)")
    return Market(
        symbol=symbol or inst.symbol,
        tick_size=tick,
        lot_size=lot,
        min_qty=to_decimal(inst.min_qty),
        contract=contract,
        contract_size=to_decimal(inst.point_value),
    )


def _on_grid(values: np.ndarray, tick: Decimal) -> list[Decimal]:
    """Prices snapped half-up to the tick grid, as the research kernel snaps them."""
    units = np.floor(values / float(tick) + 0.5).astype(np.int64).tolist()
    return [(Decimal(u) * tick).quantize(tick) for u in units]


def candles_from_bars(frame: pd.DataFrame, market: Market, interval: pd.Timedelta) -> Iterator[Candle]:
    """Closed candles from a bars frame (``open_time`` index; prices snapped to the tick
    grid; a missing volume column, or one all NaN, becomes 0)."""
    prices = [_on_grid(frame[c].to_numpy(dtype=np.float64), market.tick_size) for c in ("open", "high", "low", "close")]
    raw = frame["volume"].to_numpy(dtype=np.float64) if "volume" in frame else np.zeros(len(frame))
    volumes = (np.zeros(len(frame)) if np.isnan(raw).all() else raw).tolist()
    times = pd.DatetimeIndex(frame.index).tz_convert("UTC").to_list()
    symbol = market.symbol
    for time, o, h, low, c, volume in zip(times, *prices, volumes, strict=True):
        yield Candle(symbol, interval, time, o, h, low, c, Decimal(float.__repr__(volume)))


# ---- running -------------------------------------------------------------------------------------
def _engine(
    config: BacktestConfig, clock: SimulatedClock, sink: MemorySink, aggregators: AggregatorFactory | None
) -> Engine:
    markets = {config.market.symbol: config.market}
    venue_config = SimulatedVenueConfig(config.model, config.max_volume_fraction, config.money_step)
    venue = SimulatedVenue(markets, clock, venue_config)
    engine_config = EngineConfig(
        model=config.model,
        money_step=config.money_step,
        margin=config.margin,
        risk_rules=config.risk_rules,
        risk=config.risk,
        round_order_prices=config.round_order_prices,
    )
    center = NotificationCenter([LoggingSink(Level.INFO), sink])
    engine = build_engine(
        markets=markets, clock=clock, venue=venue, config=engine_config, notifications=center, aggregators=aggregators
    )
    spec = config.strategy
    engine.strategies.add(
        config.strategy_id,
        config.market.symbol,
        spec.create(config.params),
        params=config.params,
        window=spec.window(config.params),
    )
    return engine


def _time_of(item: MarketItem) -> pd.Timestamp:
    return item.close_time if isinstance(item, Candle) else item.ts


def _drive(
    config: BacktestConfig,
    items: Iterable[MarketItem],
    start: pd.Timestamp,
    aggregators: AggregatorFactory | None = None,
) -> BacktestResult:
    clock = SimulatedClock(start)
    sink = MemorySink(Level.WARNING)
    engine = _engine(config, clock, sink, aggregators)
    for item in items:
        at = _time_of(item)
        if at > clock.now():
            clock.advance_to(at)
        engine.feed(item)
        engine.run_until_idle()
    engine.finish()
    return _result(config, engine, sink)


def run_backtest(bars: pd.DataFrame, config: BacktestConfig, *, interval: pd.Timedelta | None = None) -> BacktestResult:
    """Run ``config`` on a bars frame (``open_time`` UTC index, float OHLCV), each bar a
    closed candle (``interval``: inferred from the index when not given)."""
    if bars.empty:
        raise ValueError("no bars to backtest")
    width = interval or _infer_interval(pd.DatetimeIndex(bars.index))
    start = pd.Timestamp(bars.index[0])
    return _drive(config, candles_from_bars(bars, config.market, width), start)


def run_backtest_on_ticks(
    ticks: pd.DataFrame,
    config: BacktestConfig,
    *,
    interval: pd.Timedelta,
    source: Literal["trades", "quotes"] = "trades",
    grace: pd.Timedelta | None = None,
) -> BacktestResult:
    """Run ``config`` on trade ticks (or quotes) aggregated into ``interval`` candles by
    the runtime's CandleAggregator, replayed by its ReplayClient. The data is taken to
    start at the first interval's start (its first candle is complete) and the last
    candle closes at the end of the data."""
    from .marketdata.aggregator import CandleAggregator
    from .marketdata.replay import ReplayClient, ReplayStream

    if ticks.empty:
        raise ValueError("no ticks to backtest")
    first = pd.Timestamp(ticks["ts"].min())
    start = pd.Timestamp(first.value - first.value % interval.value, tz="UTC")

    def aggregator(symbol: str) -> CandleAggregator:
        return CandleAggregator(symbol, interval, source=source, grace=grace or pd.Timedelta(0), start=start)

    replay = ReplayClient([ReplayStream(config.market.symbol, ticks, source)])
    return _drive(config, replay.iter_events(), start, aggregator)


def _infer_interval(index: pd.DatetimeIndex) -> pd.Timedelta:
    from quantbridge.datasets.validation import infer_timeframe

    width = infer_timeframe(index)
    if width is None:
        raise ValueError("cannot infer the bar interval from fewer than two bars; pass interval=")
    return width


# ---- results -------------------------------------------------------------------------------------
def _rows(trades: Iterable[ClosedTrade], point_value: Decimal) -> dict[str, list[object]]:
    names = ("side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "commission", "pnl")
    columns: dict[str, list[object]] = {
        name: [] for name in (*names, "return_pct", "entry_signal", "exit_reason", "is_open")
    }
    for t in trades:
        columns["side"].append(t.side.value)
        columns["entry_time"].append(t.entry_time)
        columns["exit_time"].append(t.exit_time if t.exit_time is not None else pd.NaT)
        columns["entry_price"].append(float(t.entry_price))
        columns["exit_price"].append(float(t.exit_price))
        columns["quantity"].append(float(t.qty))
        columns["commission"].append(float(t.commission))
        columns["pnl"].append(float(t.pnl))
        columns["return_pct"].append(float(t.pnl / (t.entry_price * t.qty * point_value) * 100))
        columns["entry_signal"].append(t.entry_signal)
        columns["exit_reason"].append(t.exit_reason.value)
        columns["is_open"].append(t.is_open)
    return columns


def trade_frame(
    trades: Iterable[ClosedTrade], bar_times: pd.DatetimeIndex, point_value: Decimal = Decimal(1)
) -> pd.DataFrame:
    """Trade records as a trade list: sorted by entry bar (stable), ``*_bar`` the position
    of the entry/exit candle in ``bar_times``; an open trade's exit bar is −1 and its bars
    held count to the last bar. ``return_pct`` is ``pnl / (entry price × quantity × point
    value)``, as in ``datasets/trade_list.py``."""
    records = list(trades)
    if not records:
        return empty_trade_list()
    frame = pd.DataFrame(_rows(records, point_value))
    frame["entry_time"] = pd.DatetimeIndex(frame["entry_time"]).as_unit("ns")
    frame["exit_time"] = pd.DatetimeIndex(frame["exit_time"]).as_unit("ns")
    is_open = frame["is_open"].to_numpy(dtype=bool)
    entry_bar = bar_times.get_indexer(pd.DatetimeIndex(frame["entry_time"]))
    exit_bar = np.where(is_open, -1, bar_times.get_indexer(pd.DatetimeIndex(frame["exit_time"])))
    frame["entry_bar"] = entry_bar.astype(np.int64)
    frame["exit_bar"] = exit_bar.astype(np.int64)
    frame["bars_held"] = (np.where(is_open, len(bar_times) - 1, exit_bar) - entry_bar).astype(np.int64)
    frame = frame.sort_values("entry_bar", kind="stable").reset_index(drop=True)
    frame["trade_id"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame[list(TRADE_LIST_COLUMNS)]


def _equity_frame(engine: Engine) -> pd.DataFrame:
    curve = engine.account.curve
    index = pd.DatetimeIndex([p.time for p in curve], name="open_time").as_unit("ns")
    return pd.DataFrame(
        {
            "equity": [float(p.equity) for p in curve],
            "cash": [float(p.cash) for p in curve],
            "position": [float(p.position) for p in curve],
            "close": [float(p.close) for p in curve],
        },
        index=index,
    )


def _result(config: BacktestConfig, engine: Engine, sink: MemorySink) -> BacktestResult:
    equity = _equity_frame(engine)
    records = [*engine.account.trades, *engine.account.open_trades()]
    point_value = to_decimal(config.model.instrument.point_value)
    trades = trade_frame(records, pd.DatetimeIndex(equity.index), point_value)
    metrics = compute_metrics(equity["equity"], trades, equity["position"], config.model.initial_capital)
    return BacktestResult(
        config=config,
        trades=trades,
        equity=equity,
        metrics=metrics,
        orders=tuple(engine.orders.store),
        notifications=tuple(sink.received),
        stats=engine.stats,
        risk_decisions=engine.risk.decisions,
    )


# ---- outputs -------------------------------------------------------------------------------------
def _json_number(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else value


def _summary(result: BacktestResult, extra: Mapping[str, object]) -> dict[str, object]:
    config, stats = result.config, result.stats
    return {
        "strategy": config.strategy.name,
        "params": dict(config.params),
        "symbol": config.market.symbol,
        "execution_model": config.model.model_dump(mode="json"),
        "model_fingerprint": config.model.fingerprint(),
        "bars": len(result.equity),
        "trades": len(result.trades),
        "metrics": {name: _json_number(value) for name, value in result.metrics.items()},
        "engine": {
            "events": stats.events,
            "errors": stats.errors,
            "strategy_errors": stats.strategy_errors,
            "orders": stats.orders,
            "fills": stats.fills,
        },
        "market_data": {
            "dropped": stats.market_data.invalid + stats.market_data.late + stats.market_data.unknown_symbol
        },
        **extra,
    }


def write_outputs(
    result: BacktestResult, out_dir: Path, *, extra: Mapping[str, object] | None = None, report: bool = True
) -> dict[str, Path]:
    """``trades.csv``, ``equity.csv``, ``metrics.json`` and (``report``) ``report.html``
    in ``out_dir``; returns their paths by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("trades.csv", "equity.csv", "metrics.json")}
    result.trades.to_csv(paths["trades.csv"], index=False)
    result.equity.to_csv(paths["equity.csv"])
    text = json.dumps(_summary(result, extra or {}), indent=2, sort_keys=True, allow_nan=False, default=str)
    paths["metrics.json"].write_text(text + "\n", encoding="utf-8")
    if report:
        from .report import write_report

        paths["report.html"] = write_report(result, out_dir / "report.html")
    return paths
