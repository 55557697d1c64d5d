"""``quantbridge backtest STRATEGY --data FILE``: a registered runtime strategy on history.

The run goes through the runtime's engine, venue and stores — the code path paper and
live trading use — and writes ``trades.csv``, ``equity.csv``, ``metrics.json`` and a
self-contained ``report.html`` into ``--out`` (default: a new folder under
``runs/backtest/``, printed at the end). Exit codes: 0 ok, 1 the run failed (a strategy
or the engine raised; what was computed is still written), 2 bad input.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import pandas as pd

    from quantbridge.datasets.execution import ExecutionModel
    from quantbridge.runtime.backtest import BacktestConfig, BacktestResult
    from quantbridge.runtime.registry import StrategySpec
    from quantbridge.runtime.strategy import ParamValue

__all__ = ["backtest"]

EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
_DEFAULT_LOT = Decimal("0.00000001")


class Source(StrEnum):
    BARS = "bars"
    TICKS = "ticks"


class Sizing(StrEnum):
    FIXED_QTY = "fixed_qty"
    FIXED_CASH = "fixed_cash"
    PERCENT_OF_EQUITY = "percent_of_equity"


class FillTiming(StrEnum):
    NEXT_BAR_OPEN = "next_bar_open"
    BAR_CLOSE = "bar_close"


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _pairs(tokens: list[str]) -> dict[str, str]:
    """``k=v`` tokens (also ``a=1,b=2``) as a mapping; anything else is bad input."""
    pairs: dict[str, str] = {}
    for token in (part for raw in tokens for part in raw.split(",") if part):
        key, sep, value = token.partition("=")
        if not sep or not key.strip():
            raise _fail(f"parameter {token!r}: expected NAME=VALUE")
        if key.strip() in pairs:
            raise _fail(f"parameter {key.strip()!r} given twice")
        pairs[key.strip()] = value.strip()
    return pairs


def _decimal(value: str | None, option: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise _fail(f"{option} {value!r}: expected a number") from exc
    if not number.is_finite() or number <= 0:
        raise _fail(f"{option} {value!r}: expected a positive number")
    return number


@contextmanager
def _logging(verbose: bool) -> Iterator[None]:
    """Runtime warnings (and, verbose, fills and orders) on stderr for this command only."""
    logger = logging.getLogger("quantbridge")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _spec(name: str) -> StrategySpec:
    from quantbridge.runtime.registry import UnknownStrategyError
    from quantbridge.runtime.strategies import STRATEGIES

    try:
        return STRATEGIES.get(name)
    except UnknownStrategyError as exc:
        raise _fail(str(exc)) from exc


def _read(data: Path, source: Source) -> tuple[pd.DataFrame, str]:
    """The data frame and its kind (bars, trades or quotes)."""
    from quantbridge.datasets.problems import DataValidationError
    from quantbridge.datasets.readers import DataFormatError, detect_kind, read_bars, read_quotes, read_trades

    try:
        if source is Source.BARS:
            return read_bars(data), "bars"
        kind = str(detect_kind(data))
        if kind.endswith("quotes"):
            return read_quotes(data), "quotes"
        return read_trades(data), "trades"
    except (OSError, DataFormatError, DataValidationError, ValueError) as exc:
        raise _fail(f"{data}: {exc}") from exc


def _model(base: ExecutionModel, overrides: dict[str, object]) -> ExecutionModel:
    from pydantic import ValidationError

    from quantbridge.datasets.execution import ExecutionModel

    data = {**base.model_dump(), **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return ExecutionModel.model_validate(data)
    except ValidationError as exc:
        raise _fail(f"execution model: {exc.errors()[0]['msg']} ({exc.errors()[0]['loc']})") from exc


def _tick_size(frame: pd.DataFrame, kind: str) -> Decimal:
    import pandas as pd

    from quantbridge.datasets.instruments import infer_tick_size

    if kind == "bars":
        return Decimal(repr(infer_tick_size(frame)))
    columns = ["price"] if kind == "trades" else ["bid", "ask"]
    values = frame[columns].to_numpy(dtype="float64").ravel()
    prices = pd.DataFrame({name: values for name in ("open", "high", "low", "close")})
    return Decimal(repr(infer_tick_size(prices)))


def _symbol(model: ExecutionModel, data: Path) -> str:
    if model.instrument.symbol != "SYMBOL":
        return model.instrument.symbol
    return data.stem.split("_")[0].upper() or "SYMBOL"


def _out_dir(out: Path | None, strategy: str, data: Path) -> Path:
    if out is not None:
        return out
    base = Path("runs") / "backtest" / f"{strategy}-{data.stem}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _run(config: BacktestConfig, frame: pd.DataFrame, kind: str, timeframe: str | None) -> BacktestResult:
    from quantbridge.datasets.timeframes import TimeframeError, parse_timeframe
    from quantbridge.runtime.backtest import run_backtest, run_backtest_on_ticks

    try:
        interval = parse_timeframe(timeframe) if timeframe else None
    except TimeframeError as exc:
        raise _fail(str(exc)) from exc
    if kind != "bars" and interval is None:
        raise _fail("--timeframe is needed with --from ticks (the candle interval, e.g. 1h)")
    try:
        if kind == "bars" or interval is None:
            return run_backtest(frame, config, interval=interval)
        return run_backtest_on_ticks(
            frame, config, interval=interval, source="quotes" if kind == "quotes" else "trades"
        )
    except ImportError as exc:
        raise _fail(f"--from ticks needs the runtime's candle aggregator: {exc}", EXIT_RUN_FAILED) from exc
    except (ArithmeticError, KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise _fail(f"the run failed: {type(exc).__name__}: {exc}", EXIT_RUN_FAILED) from exc


def backtest(
    target: Annotated[
        list[str],
        typer.Argument(metavar="STRATEGY [NAME=VALUE]...", help="A registered runtime strategy, then its parameters."),
    ],
    data: Annotated[Path, typer.Option("--data", help="Bars, trades or quotes (CSV or Parquet).")],
    source: Annotated[
        Source, typer.Option("--from", help="Feed the data as closed bars, or as ticks through the candle aggregator.")
    ] = Source.BARS,
    params: Annotated[
        list[str] | None, typer.Option("--params", "-p", help="NAME=VALUE (repeatable, or a=1,b=2).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder.", show_default="runs/backtest/<strategy>-<data>")
    ] = None,
    timeframe: Annotated[str | None, typer.Option(help="Candle interval (ticks: required; bars: inferred).")] = None,
    symbol: Annotated[str | None, typer.Option(help="Symbol name (default: the data file's name up to '_').")] = None,
    tick_size: Annotated[
        str | None, typer.Option(help="Price grid (default: the model's, else inferred from the data).")
    ] = None,
    lot_size: Annotated[str | None, typer.Option(help="Quantity grid (default: the model's, else 1e-8).")] = None,
    capital: Annotated[float | None, typer.Option(help="Initial capital.")] = None,
    commission: Annotated[float | None, typer.Option(help="Commission, percent of the filled value.")] = None,
    slippage: Annotated[float | None, typer.Option(help="Slippage in ticks on market and stop fills.")] = None,
    sizing: Annotated[Sizing | None, typer.Option(help="How entries are sized.")] = None,
    size: Annotated[float | None, typer.Option(help="Quantity, cash or percent of equity, by --sizing.")] = None,
    timing: Annotated[FillTiming | None, typer.Option(help="When market orders fill.")] = None,
    max_volume_fraction: Annotated[
        float | None, typer.Option(help="Fill at most this fraction of a candle's volume.")
    ] = None,
    leverage: Annotated[float, typer.Option(help="Leverage for the margin check (linear perpetual).")] = 1.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log fills and order events.")] = False,
) -> None:
    """Run STRATEGY on the historical data in --data through the runtime (the engine,
    simulated venue and risk rules paper/live trading use) and write trades.csv,
    equity.csv, metrics.json and report.html.

    Exit 0 ok, 1 the run failed, 2 bad input.
    """
    from quantbridge.runtime.backtest import write_outputs
    from quantbridge.runtime.registry import ParamError

    name, *extra = target
    spec = _spec(name)
    try:
        bound = spec.bind(_pairs([*(params or []), *extra]))
    except ParamError as exc:
        raise _fail(str(exc)) from exc
    if leverage < 1:
        raise _fail(f"--leverage {leverage}: expected at least 1")
    overrides: dict[str, object] = {
        "initial_capital": capital,
        "commission": commission,
        "slippage": slippage,
        "sizing": sizing.value if sizing else None,
        "size": size,
        "timing": timing.value if timing else None,
    }
    frame, kind = _read(data, source)
    grids = (_decimal(tick_size, "--tick-size"), _decimal(lot_size, "--lot-size"))
    fraction = _decimal(None if max_volume_fraction is None else repr(max_volume_fraction), "--max-volume-fraction")
    market_symbol = symbol or _symbol(spec.model, data)
    config = _config(spec, bound, _Inputs(frame, kind, market_symbol, grids, fraction, leverage), overrides)
    with _logging(verbose):
        result = _run(config, frame, kind, timeframe)
    target_dir = _out_dir(out, spec.name, data)
    write_outputs(result, target_dir, extra={"data": str(data), "from": source.value})
    _print_summary(result)
    typer.echo(f"output: {target_dir}")
    if result.failed:
        errors = f"{result.stats.strategy_errors} strategy and {result.stats.errors} engine error(s)"
        raise _fail(f"the run had {errors}; see the log", EXIT_RUN_FAILED)


@dataclass(frozen=True)
class _Inputs:
    frame: pd.DataFrame
    kind: str
    symbol: str
    grids: tuple[Decimal | None, Decimal | None]
    max_volume_fraction: Decimal | None
    leverage: float


def _config(
    spec: StrategySpec, bound: Mapping[str, ParamValue], inputs: _Inputs, overrides: dict[str, object]
) -> BacktestConfig:
    from quantbridge.runtime.backtest import BacktestConfig, market_for
    from quantbridge.runtime.components.margin import MarginConfig

    tick, lot = inputs.grids
    if tick is None:
        instrument_tick = spec.model.instrument.tick_size
        tick = Decimal(repr(instrument_tick)) if instrument_tick else _tick_size(inputs.frame, inputs.kind)
    instrument = spec.model.instrument.model_copy(update={"tick_size": float(tick)})
    model = _model(spec.model.model_copy(update={"instrument": instrument}), overrides)
    if lot is None:
        lot = Decimal(repr(model.instrument.qty_step)) if model.instrument.qty_step else _DEFAULT_LOT
    return BacktestConfig(
        strategy=spec,
        params=bound,
        market=market_for(model, symbol=inputs.symbol, tick_size=tick, lot_size=lot),
        model=model,
        max_volume_fraction=inputs.max_volume_fraction,
        margin=MarginConfig(leverage=Decimal(repr(inputs.leverage))),
    )


def _print_summary(result: BacktestResult) -> None:
    metrics, config = result.metrics, result.config
    typer.echo(
        f"{config.strategy.name} on {config.market.symbol}: {len(result.equity)} bars, {len(result.trades)} trades"
    )
    for key in ("net_profit", "total_return", "max_drawdown", "win_rate", "profit_factor", "sharpe"):
        typer.echo(f"  {key:14} {metrics[key]:.6g}")
