"""One validation run of a prototype: every check, the verdict, and what the report plots.

:func:`run_validation` runs, in order:

* **signal and trade parity** (``signals_bars``, ``trades_bars``; with ``from_ticks`` also
  ``signals_ticks``, ``trades_ticks``): the prototype bridged into a runtime strategy and
  driven by the runtime from the bars (and from ticks synthesised from them, through the
  CandleAggregator), against the prototype on full history and the research simulator —
  on the last ``parity_bars`` bars when given (the bridge recomputes the prototype on every
  bar, so the cost grows with the square of the bars);
* **candle parity** (``candles``, with ``from_ticks``): the synthesised ticks re-aggregate
  to the bars the strategy was fed;
* **causality** (look-ahead) and **warm-up** sensitivity, on all bars; the warm-up check
  informs (it recommends a warm-up) and does not gate;
* **TradingView** (``tradingview``, when a trade list is given): import, timezone (given,
  read from the file's UTC offsets, or detected — reported with its score and margin) and
  trade-by-trade reconciliation against the simulator's trades on all bars.

A gating check passes when its ``match`` is at least ``min_parity`` (causality: no moved
value); the run passes when every gating check does. Each check keeps its result object's
``to_dict()`` (``details``) and ``to_html()`` for the report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from quantbridge.datasets.execution import ExecutionModel
from quantbridge.datasets.synth import synthesize_ticks_from_bars
from quantbridge.research.registry import PrototypeSpec
from quantbridge.research.rules import PositionRules
from quantbridge.research.simulator import simulate
from quantbridge.runtime.marketdata.frames import trade_ticks

from .candles import CandleParity, aggregate_ticks, compare_candles
from .causality import check_causality
from .parity import ParityReport, check_parity, render_html
from .tradingview import Reconciliation, detect_timezone, read_tradingview_trades, reconcile
from .tradingview.trade_list import TradingViewTradeList
from .warmup import check_warmup

__all__ = ["CheckOutcome", "ValidationConfig", "ValidationRun", "run_validation"]

Source = Literal["bars", "ticks"]
_MAX_CAUSALITY_CUTS = 200
_RECONCILE_HTML_ROWS = 500


@dataclass(frozen=True)
class ValidationConfig:
    """What to validate and how strictly (see the module docstring)."""

    prototype: PrototypeSpec
    params: Mapping[str, object]
    rules: PositionRules
    model: ExecutionModel
    min_parity: float = 1.0
    from_ticks: bool = True
    parity_bars: int | None = None
    tradingview_trades: Path | None = None
    tradingview_tz: str | None = None
    seed: int = 7


@dataclass(frozen=True)
class CheckOutcome:
    """One check: its verdict, ``match`` ratio (``None``: not a ratio), the counts a CI gate
    reads, a one-line summary, the result's ``to_dict()`` and its HTML fragment."""

    name: str
    passed: bool
    match: float | None
    counts: Mapping[str, Any]
    summary: str
    details: Mapping[str, Any]
    html: str
    gating: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "gating": self.gating,
            "match": self.match,
            **self.counts,
            "summary": self.summary,
            "details": dict(self.details),
        }


@dataclass(frozen=True, eq=False)
class ValidationRun:
    """Every check of one run, and the equity curves to overlay (name → series)."""

    prototype: str
    params: Mapping[str, Any]
    bars: int
    parity_bars: int
    min_parity: float
    checks: tuple[CheckOutcome, ...]
    equity: Mapping[str, pd.Series] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks if check.gating)

    @property
    def failed_checks(self) -> tuple[str, ...]:
        return tuple(check.name for check in self.checks if check.gating and not check.passed)

    def check(self, name: str) -> CheckOutcome:
        for outcome in self.checks:
            if outcome.name == name:
                return outcome
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "prototype": self.prototype,
            "params": dict(self.params),
            "bars": self.bars,
            "parity_bars": self.parity_bars,
            "min_parity": self.min_parity,
            "failed": list(self.failed_checks),
            "checks": {check.name: check.to_dict() for check in self.checks},
        }


# ---- parity --------------------------------------------------------------------------------------
def _parity(config: ValidationConfig, bars: pd.DataFrame, source: Source) -> ParityReport:
    return check_parity(
        config.prototype,
        bars,
        params=config.params,
        rules=config.rules,
        model=config.model,
        source=source,
        seed=config.seed,
    )


def _ratio_passed(match: float, min_parity: float) -> bool:
    return match >= min_parity - 1e-12


def _parity_checks(run: ParityReport, source: Source, min_parity: float) -> tuple[CheckOutcome, CheckOutcome]:
    s, t = run.signals, run.trades
    fragment = render_html(run)
    signals = CheckOutcome(
        name=f"signals_{source}",
        passed=s.compared > 0 and s.missing == 0 and _ratio_passed(s.match, min_parity),
        match=s.match,
        counts={"compared": s.compared, "matched": s.matched, "missing": s.missing, "divergences": len(s.divergences)},
        summary=f"{s.matched}/{s.compared} bars equal from the first warm bar ({run.warmup})",
        details=s.to_dict(),
        html=fragment,
    )
    trades = CheckOutcome(
        name=f"trades_{source}",
        passed=_ratio_passed(t.match, min_parity),
        match=t.match,
        counts={"reference_trades": t.reference_trades, "runtime_trades": t.runtime_trades, "matched": t.matched},
        summary=f"{t.matched} of {t.reference_trades} simulator / {t.runtime_trades} runtime trades equal",
        details=t.to_dict(),
        html="",  # in the signals fragment (one section per source)
    )
    return signals, trades


# ---- the other checks ----------------------------------------------------------------------------
def _ticks(bars: pd.DataFrame, config: ValidationConfig) -> pd.DataFrame:
    """The ticks the runtime is driven by: the same synthesis (and seed) as
    :func:`~quantbridge.validation.parity.check_parity` uses."""
    return synthesize_ticks_from_bars(bars, seed=config.seed, price_step=config.model.instrument.tick_size or None)


def _candles(bars: pd.DataFrame, config: ValidationConfig) -> CandleParity:
    """The ticks the runtime was fed, aggregated as the runtime does (empty intervals
    skipped, chart style), against the bars."""
    symbol = config.model.instrument.symbol
    interval = pd.Timedelta(bars.index[1] - bars.index[0])
    built = aggregate_ticks(trade_ticks(_ticks(bars, config), symbol, mode="exact"), symbol, interval)
    return compare_candles(built, bars, name="synthesised ticks → bars", left_label="aggregated", right_label="bars")


def _candle_check(parity: CandleParity, min_parity: float) -> CheckOutcome:
    return CheckOutcome(
        name="candles",
        passed=_ratio_passed(parity.match, min_parity),
        match=parity.match,
        counts={"compared": parity.compared, "matched": parity.matched},
        summary=f"{parity.matched}/{parity.compared} candles from synthesised ticks equal the bars",
        details=parity.to_dict(),
        html=parity.to_html(),
    )


def _causality(config: ValidationConfig, bars: pd.DataFrame) -> CheckOutcome:
    step = max(50, math.ceil(len(bars) / _MAX_CAUSALITY_CUTS))
    result = check_causality(config.prototype, bars, config.params, step=step, seed=config.seed)
    return CheckOutcome(
        name="causality",
        passed=result.passed,
        match=1.0 if result.passed else 0.0,
        counts={"cuts": len(result.cuts), "violations": result.violation_count},
        summary=f"{len(result.cuts)} prefixes, {result.violation_count} moved value(s)",
        details=result.to_dict(),
        html=result.to_html(),
    )


def _warmup(config: ValidationConfig, bars: pd.DataFrame) -> CheckOutcome:
    result = check_warmup(config.prototype, bars, config.params)
    sufficient = result.declared_sufficient
    return CheckOutcome(
        name="warmup",
        passed=sufficient is not False,
        match=None,
        counts={"declared": result.declared, "required": result.required, "recommended": result.recommended},
        summary=f"declared {result.declared}, required {result.required}, recommended {result.recommended}",
        details=result.to_dict(),
        html=result.to_html(),
        gating=False,
    )


# ---- TradingView ---------------------------------------------------------------------------------
def _localized(path: Path, tz: str | None, bars: pd.DataFrame) -> tuple[TradingViewTradeList, dict[str, Any]]:
    """The imported list in UTC and how its timezone was chosen."""
    imported = read_tradingview_trades(path, tz=tz)
    if tz is not None:
        return imported, {"zone": tz, "how": "given"}
    if imported.timezone is not None:
        return imported, {"zone": imported.timezone, "how": "UTC offsets in the file"}
    detection = detect_timezone(imported, bars)
    return detection.localize(imported), {"how": "detected", **detection.to_dict()}


def _tradingview(config: ValidationConfig, bars: pd.DataFrame, path: Path) -> tuple[CheckOutcome, pd.Series, pd.Series]:
    theirs, zone = _localized(path, config.tradingview_tz, bars)
    signals = config.prototype.function(bars, **config.prototype.bind(config.params))
    ours = simulate(bars, signals, config.rules, config.model, engine="kernel")
    title = f"TradingView reconciliation — {path.name}"
    result: Reconciliation = reconcile(ours.trades, theirs, bars, threshold=config.min_parity, title=title)
    outcome = CheckOutcome(
        name="tradingview",
        passed=result.passed,
        match=result.match,
        counts={
            "reference_trades": result.reference_trades,
            "our_trades": result.our_trades,
            "matched": result.matched,
            "classes": {c.value: n for c, n in result.counts.items()},
            "timezone": zone,
        },
        summary=f"{result.matched} of {result.reference_trades} TradingView trades matched; "
        f"timezone {_zone_text(zone)}",
        details=result.to_dict(),
        html=_zone_html(zone) + result.to_html(max_rows=_RECONCILE_HTML_ROWS),
    )
    return outcome, ours.equity, _tradingview_equity(theirs.trades, config.model.initial_capital)


def _zone_text(zone: Mapping[str, Any]) -> str:
    text = f"{zone.get('zone')} ({zone.get('how')}"
    if zone.get("how") == "detected":
        text += f", score {zone['score']:.3f}, margin {zone['margin']:.3f} over {zone['runner_up']}"
    return text + ")"


def _zone_html(zone: Mapping[str, Any]) -> str:
    import html

    return f"<p class='qb-timezone'>Chart timezone: {html.escape(_zone_text(zone))}</p>"


def _tradingview_equity(trades: pd.DataFrame, capital: float) -> pd.Series:
    """Initial capital plus TradingView's cumulative P&L, stepped at each closed trade's exit."""
    closed = trades[~trades["is_open"]].sort_values("exit_time", kind="stable")
    values = capital + closed["cumulative_pnl"].to_numpy(dtype="float64")
    return pd.Series(values, index=pd.DatetimeIndex(closed["exit_time"]), name="tradingview")


# ---- the run -------------------------------------------------------------------------------------
def _parity_slice(bars: pd.DataFrame, parity_bars: int | None) -> pd.DataFrame:
    if parity_bars is None or parity_bars >= len(bars):
        return bars
    if parity_bars < 2:
        raise ValueError(f"parity_bars {parity_bars}: expected at least 2")
    return bars.iloc[-parity_bars:]


def run_validation(config: ValidationConfig, bars: pd.DataFrame) -> ValidationRun:
    """Run every check of ``config`` on ``bars`` (see the module docstring)."""
    if not 0.0 <= config.min_parity <= 1.0:
        raise ValueError(f"min_parity {config.min_parity}: expected a ratio in [0, 1]")
    window = _parity_slice(bars, config.parity_bars)
    checks: list[CheckOutcome] = []
    equity: dict[str, pd.Series] = {}
    sources: tuple[Source, ...] = ("bars", "ticks") if config.from_ticks else ("bars",)
    for source in sources:
        run = _parity(config, window, source)
        checks.extend(_parity_checks(run, source, config.min_parity))
        if run.runtime_equity is not None and run.simulator_equity is not None:
            equity[f"runtime ({source})"] = run.runtime_equity
            equity.setdefault("simulator", run.simulator_equity)
    if config.from_ticks:
        checks.append(_candle_check(_candles(window, config), config.min_parity))
    checks.append(_causality(config, bars))
    checks.append(_warmup(config, bars))
    if config.tradingview_trades is not None:
        outcome, ours, theirs = _tradingview(config, bars, config.tradingview_trades)
        checks.append(outcome)
        equity["simulator (all bars)"] = ours
        equity["tradingview"] = theirs
    return ValidationRun(
        prototype=config.prototype.name,
        params=dict(config.prototype.bind(config.params)),
        bars=len(bars),
        parity_bars=len(window),
        min_parity=config.min_parity,
        checks=tuple(checks),
        equity=equity,
    )
