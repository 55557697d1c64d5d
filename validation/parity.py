"""Parity of a prototype and its bridged strategy: signals bar by bar, trades field by field.

* **Signal parity** — the prototype on the full history against the rows the bridged
  strategy acted on, bar by bar from its first warm bar (the runtime driven by bars, or
  by ticks through the CandleAggregator). Booleans and ``*_from`` must be equal; prices
  and sizes equal (NaN equals NaN).
* **Trade parity** — the research simulator (``engine="kernel"``, the reference
  semantics) on the full-history signals with the warm-up rows silenced (the bridged
  strategy refuses to trade there) against the runtime's trade list. Tolerances:
  prices to ``1e-9`` absolute, quantities to ``1e-12`` relative, money (commission,
  P&L) to ``2e-8`` absolute: the runtime keeps money on a 1e-8 grid and a trade's
  commission and P&L carry up to three roundings of half a step (entry share, exit
  share, net), where the simulator keeps floats; time, side,
  signal name, exit reason and open flag exactly. The runtime labels an exit by its
  order kind; rule exits placed by the bridge as market orders are labelled with the
  reason the bridge journaled for them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from quantbridge.bridge import BridgedStrategy, SignalRow, bridge
from quantbridge.datasets.execution import ExecutionModel
from quantbridge.datasets.synth import synthesize_ticks_from_bars
from quantbridge.research.registry import PrototypeSpec
from quantbridge.research.rules import PositionRules
from quantbridge.research.signals import Signals
from quantbridge.research.simulator import simulate
from quantbridge.runtime.backtest import BacktestConfig, BacktestResult, market_for, run_backtest, run_backtest_on_ticks

__all__ = [
    "SIGNAL_FIELDS",
    "TRADE_TOLERANCES",
    "ParityReport",
    "SignalDivergence",
    "SignalParity",
    "TradeDifference",
    "TradeParity",
    "check_parity",
    "compare_signals",
    "compare_trades",
    "relabel_rule_exits",
    "render_html",
    "warm_signals",
]

Source = Literal["bars", "ticks"]
SIGNAL_FIELDS = (
    "long_entry",
    "long_exit",
    "short_entry",
    "short_exit",
    "long_entry_stop",
    "long_entry_limit",
    "short_entry_stop",
    "short_entry_limit",
    "size",
    "long_entry_from",
    "short_entry_from",
)
#: field -> (kind, tolerance): "abs" absolute, "rel" relative, "exact" equality
TRADE_TOLERANCES: Mapping[str, tuple[str, float]] = {
    "side": ("exact", 0.0),
    "entry_time": ("exact", 0.0),
    "exit_time": ("exact", 0.0),
    "entry_price": ("abs", 1e-9),
    "exit_price": ("abs", 1e-9),
    "quantity": ("rel", 1e-12),
    "commission": ("abs", 2e-8),
    "pnl": ("abs", 2e-8),
    "entry_signal": ("exact", 0.0),
    "exit_reason": ("exact", 0.0),
    "is_open": ("exact", 0.0),
}


def _plain(value: object) -> object:
    """A JSON-friendly scalar."""
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---- signals -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignalDivergence:
    """One bar whose rows differ: the fields, both rows, the bar, and the indicators."""

    bar: int
    time: pd.Timestamp
    fields: tuple[str, ...]
    reference: Mapping[str, object]
    bridged: Mapping[str, object]
    ohlc: Mapping[str, float]
    reference_indicators: Mapping[str, float]
    bridged_indicators: Mapping[str, float]

    def to_dict(self) -> dict[str, object]:
        def plain(values: Mapping[str, object]) -> dict[str, object]:
            return {k: _plain(v) for k, v in values.items()}

        return {
            "bar": self.bar,
            "time": self.time.isoformat(),
            "fields": list(self.fields),
            "reference": plain(self.reference),
            "bridged": plain(self.bridged),
            "ohlc": plain(self.ohlc),
            "reference_indicators": plain(self.reference_indicators),
            "bridged_indicators": plain(self.bridged_indicators),
        }


@dataclass(frozen=True)
class SignalParity:
    """Bars compared (from the first warm bar), bars equal, every divergence."""

    prototype: str
    source: str
    compared: int
    matched: int
    divergences: tuple[SignalDivergence, ...] = ()
    missing: int = 0

    @property
    def match(self) -> float:
        return self.matched / self.compared if self.compared else 0.0

    @property
    def passed(self) -> bool:
        return self.compared > 0 and self.matched == self.compared and self.missing == 0

    @property
    def first_divergence(self) -> SignalDivergence | None:
        return self.divergences[0] if self.divergences else None

    def to_dict(self) -> dict[str, object]:
        return {
            "prototype": self.prototype,
            "source": self.source,
            "compared": self.compared,
            "matched": self.matched,
            "missing": self.missing,
            "match": self.match,
            "passed": self.passed,
            "divergences": [d.to_dict() for d in self.divergences],
        }


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _reference_row(signals: Signals, i: int) -> dict[str, object]:
    return {
        name: (bool(v) if isinstance(v, np.bool_) else v.item() if isinstance(v, np.generic) else v)
        for name in SIGNAL_FIELDS
        for v in (getattr(signals, name)[i],)
    }


def _divergence(signals: Signals, bars: pd.DataFrame, row: SignalRow, fields: tuple[str, ...]) -> SignalDivergence:
    i = row.bar
    ohlc = {c: float(bars[c].iloc[i]) for c in ("open", "high", "low", "close")}
    indicators = {name: float(series.iloc[i]) for name, series in signals.indicators.items()}
    return SignalDivergence(
        bar=i,
        time=pd.Timestamp(signals.index[i]),
        fields=fields,
        reference=_reference_row(signals, i),
        bridged={name: getattr(row, name) for name in SIGNAL_FIELDS},
        ohlc=ohlc,
        reference_indicators=indicators,
        bridged_indicators=dict(row.indicators),
    )


def compare_signals(
    prototype: str, source: str, reference: Signals, bars: pd.DataFrame, rows: Sequence[SignalRow], warm_start: int
) -> SignalParity:
    """The bridged ``rows`` against the full-history ``reference`` from bar ``warm_start``."""
    by_bar = {row.bar: row for row in rows}
    divergences: list[SignalDivergence] = []
    missing = 0
    expected = range(warm_start, len(reference))
    for i in expected:
        row = by_bar.get(i)
        if row is None:
            missing += 1
            continue
        ref = _reference_row(reference, i)
        fields = tuple(name for name in SIGNAL_FIELDS if not _same(ref[name], getattr(row, name)))
        if fields or row.time != reference.index[i]:
            divergences.append(_divergence(reference, bars, row, fields or ("time",)))
    compared = len(expected) - missing
    return SignalParity(prototype, source, compared, compared - len(divergences), tuple(divergences), missing)


def warm_signals(signals: Signals, warm_start: int) -> Signals:
    """``signals`` with every order before bar ``warm_start`` removed (what a strategy
    that refuses to trade before it is warm asks for)."""
    frame = signals.to_frame()
    for name in ("long_entry", "long_exit", "short_entry", "short_exit"):
        values = frame[name].to_numpy(copy=True)
        values[:warm_start] = False
        frame[name] = values
    return Signals.build(
        signals.index,
        **{name: frame[name].to_numpy() for name in frame.columns},
        long_name=signals.long_name,
        short_name=signals.short_name,
        indicators=signals.indicators,
    )


# ---- trades ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TradeDifference:
    trade: int
    field: str
    reference: object
    runtime: object

    def to_dict(self) -> dict[str, object]:
        return {
            "trade": self.trade,
            "field": self.field,
            "reference": _plain(self.reference),
            "runtime": _plain(self.runtime),
        }


@dataclass(frozen=True)
class TradeParity:
    """Trades in each list, trades equal within :data:`TRADE_TOLERANCES`, differences."""

    reference_trades: int
    runtime_trades: int
    matched: int
    differences: tuple[TradeDifference, ...] = ()
    tolerances: Mapping[str, tuple[str, float]] = field(default_factory=lambda: dict(TRADE_TOLERANCES))

    @property
    def match(self) -> float:
        most = max(self.reference_trades, self.runtime_trades)
        return self.matched / most if most else 1.0

    @property
    def passed(self) -> bool:
        return self.reference_trades == self.runtime_trades == self.matched

    def to_dict(self) -> dict[str, object]:
        return {
            "reference_trades": self.reference_trades,
            "runtime_trades": self.runtime_trades,
            "matched": self.matched,
            "match": self.match,
            "passed": self.passed,
            "tolerances": {k: {"kind": kind, "tolerance": tol} for k, (kind, tol) in self.tolerances.items()},
            "differences": [d.to_dict() for d in self.differences],
        }


def _within(kind: str, tolerance: float, a: object, b: object) -> bool:
    if kind == "exact":
        return bool((pd.isna(a) and pd.isna(b)) or a == b)  # type: ignore[call-overload]
    x, y = float(a), float(b)  # type: ignore[arg-type]
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    bound = tolerance * max(abs(x), abs(y)) if kind == "rel" else tolerance
    return abs(x - y) <= bound


def compare_trades(reference: pd.DataFrame, runtime: pd.DataFrame) -> TradeParity:
    """Trade ``k`` of each list (both in entry order), field by field."""
    differences: list[TradeDifference] = []
    matched = 0
    for k in range(min(len(reference), len(runtime))):
        ours, theirs = reference.iloc[k], runtime.iloc[k]
        found = [
            TradeDifference(k + 1, name, ours[name], theirs[name])
            for name, (kind, tol) in TRADE_TOLERANCES.items()
            if not _within(kind, tol, ours[name], theirs[name])
        ]
        differences.extend(found)
        matched += not found
    return TradeParity(len(reference), len(runtime), matched, tuple(differences))


def relabel_rule_exits(trades: pd.DataFrame, journal: Mapping[pd.Timestamp, str]) -> pd.DataFrame:
    """The runtime's trade list with the exits the bridge placed for a position rule
    (market orders, labelled ``signal`` by the runtime) labelled with the rule."""
    out = trades.copy()
    reasons = [
        journal.get(pd.Timestamp(time), reason) if reason == "signal" and not pd.isna(time) else reason
        for time, reason in zip(out["exit_time"], out["exit_reason"], strict=True)
    ]
    out["exit_reason"] = pd.Series(reasons, index=out.index, dtype=object)
    return out


# ---- one check ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParityReport:
    prototype: str
    params: Mapping[str, object]
    signals: SignalParity
    trades: TradeParity
    warmup: int
    runtime_equity: pd.Series | None = None
    """The runtime's equity curve (for reports that overlay the two runs)."""
    simulator_equity: pd.Series | None = None

    @property
    def passed(self) -> bool:
        return self.signals.passed and self.trades.passed

    def to_dict(self) -> dict[str, object]:
        return {
            "prototype": self.prototype,
            "params": {k: _plain(v) for k, v in self.params.items()},
            "warmup": self.warmup,
            "passed": self.passed,
            "signals": self.signals.to_dict(),
            "trades": self.trades.to_dict(),
        }


def _run(
    strategy: BridgedStrategy, bars: pd.DataFrame, model: ExecutionModel, source: Source, seed: int
) -> BacktestResult:
    config = BacktestConfig(strategy=strategy.spec(), params={}, market=market_for(model), model=model)
    if source == "bars":
        return run_backtest(bars, config)
    interval = pd.Timedelta(bars.index[1] - bars.index[0])
    ticks = synthesize_ticks_from_bars(bars, seed=seed, price_step=model.instrument.tick_size or None)
    return run_backtest_on_ticks(ticks, config, interval=interval)


def check_parity(
    prototype: PrototypeSpec,
    bars: pd.DataFrame,
    *,
    params: Mapping[str, object] | None = None,
    rules: PositionRules | None = None,
    model: ExecutionModel | None = None,
    window: int | None = None,
    source: Source = "bars",
    seed: int = 7,
) -> ParityReport:
    """Bridge ``prototype``, drive it through the runtime (from ``bars``, or from ticks
    synthesised from them), and compare signals and trades with the research side."""
    chosen_model = model or prototype.model
    chosen_rules = prototype.rules if rules is None else rules
    strategy = bridge(prototype, params, chosen_rules, chosen_model, window=window)
    result = _run(strategy, bars, chosen_model, source, seed)
    reference = prototype.function(bars, **strategy.params)
    warm_start = strategy.warmup - 1
    signal_parity = compare_signals(prototype.name, source, reference, bars, strategy.records, warm_start)
    simulated = simulate(bars, warm_signals(reference, warm_start), chosen_rules, chosen_model, engine="kernel")
    runtime_trades = relabel_rule_exits(result.trades, strategy.exit_journal)
    trades = compare_trades(simulated.trades, runtime_trades)
    return ParityReport(
        prototype.name,
        dict(strategy.params),
        signal_parity,
        trades,
        strategy.warmup,
        runtime_equity=result.equity["equity"].astype("float64"),
        simulator_equity=simulated.equity,
    )


# ---- HTML --------------------------------------------------------------------------------------
def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(_plain(c)))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="qb-parity"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _divergence_rows(divergences: Sequence[SignalDivergence]) -> list[list[object]]:
    rows: list[list[object]] = []
    for d in divergences:
        for name in d.fields:
            rows.append([d.bar, d.time.isoformat(), name, d.reference.get(name), d.bridged.get(name)])
    return rows


def render_html(report: ParityReport) -> str:
    """A self-contained HTML fragment: summary, first divergence, every divergence and
    every trade difference."""
    s, t = report.signals, report.trades
    summary = _table(
        ["check", "compared", "matched", "match", "passed"],
        [
            [f"signals ({s.source})", s.compared, s.matched, f"{s.match:.2%}", s.passed],
            ["trades", max(t.reference_trades, t.runtime_trades), t.matched, f"{t.match:.2%}", t.passed],
        ],
    )
    parts = [f"<section><h3>Parity: {html.escape(report.prototype)}</h3>", summary]
    first = s.first_divergence
    if first is not None:
        values = [[k, v, first.bridged_indicators.get(k)] for k, v in first.reference_indicators.items()]
        parts.append(f"<h4>First divergence: bar {first.bar} ({first.time.isoformat()})</h4>")
        parts.append(_table(["bar field", "value"], list(first.ohlc.items())))
        parts.append(_table(["indicator", "full history", "bridged"], values))
    if s.divergences:
        parts.append("<h4>Signal divergences</h4>")
        parts.append(_table(["bar", "time", "field", "full history", "bridged"], _divergence_rows(s.divergences)))
    if t.differences:
        parts.append("<h4>Trade differences</h4>")
        rows = [[d.trade, d.field, d.reference, d.runtime] for d in t.differences]
        parts.append(_table(["trade", "field", "simulator", "runtime"], rows))
    parts.append("</section>")
    return "".join(parts)
