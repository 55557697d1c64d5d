"""``quantbridge data synth …`` and ``quantbridge data samples``: synthetic market data.

Every command is deterministic per ``--seed``. Output goes to ``--out``: ``.parquet``
(zstd) or ``.csv``. Bad arguments exit with code 2 and name the option. numpy and
pandas are imported inside the commands so ``quantbridge --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    import pandas as pd

    from quantbridge.datasets.synth import Progress

__all__ = ["samples_command", "synth_app"]

synth_app = typer.Typer(
    help="Generate synthetic bars, trades and quotes, or ticks that rebuild given bars (deterministic per --seed).",
    no_args_is_help=True,
)

_T = TypeVar("_T")
_SUFFIXES = (".parquet", ".csv")
#: Show a progress bar when generation spans more chunks (hours) than this.
_PROGRESS_MIN_CHUNKS = 24 * 7


def _check_out(path: Path) -> Path:
    if path.suffix.lower() not in _SUFFIXES:
        raise typer.BadParameter(f"{str(path)!r}: expected a file name ending in .parquet or .csv", param_hint="--out")
    return path


def _check_timeframe(value: str | None) -> str | None:
    if value is None:
        return None
    from quantbridge.datasets.timeframes import TimeframeError, parse_timeframe

    try:
        parse_timeframe(value)
    except TimeframeError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return value.strip()


def _check_time(value: str) -> str:
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(f"{value!r} is not a time; expected e.g. 2024-01-01 or 2024-01-01T12:00Z") from exc
    if pd.isna(stamp):
        raise typer.BadParameter(f"{value!r} is not a time; expected e.g. 2024-01-01")
    return value


def _guarded(run: Callable[[], _T], options: dict[str, str]) -> _T:
    """Run a generator; a ``ValueError`` naming a parameter becomes a usage error (exit 2)
    naming the matching option."""
    try:
        return run()
    except ValueError as exc:
        field, _, rest = str(exc).partition(":")
        hint = options.get(field.strip())
        raise typer.BadParameter(rest.strip() if hint and rest else str(exc), param_hint=hint) from exc


def _write(frame: pd.DataFrame, out: Path, *, index: bool) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        frame.to_csv(out, index=index, date_format="%Y-%m-%dT%H:%M:%S.%f%z")
    else:
        frame.to_parquet(out, engine="pyarrow", compression="zstd", index=index)
    size = out.stat().st_size / 1024
    typer.echo(f"wrote {len(frame):,} rows to {out} ({size:,.1f} KiB)")


@contextmanager
def _progress(label: str, start: str, end: str) -> Iterator[Progress | None]:
    """A rich progress bar on stderr for long tick generation (None for short ones)."""
    import pandas as pd
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    hours = (pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(hours=1)
    if hours <= _PROGRESS_MIN_CHUNKS:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("hours"), TimeRemainingColumn())
    with RichProgress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


OutOption = Annotated[
    Path, typer.Option("--out", help="Output file: .parquet (zstd) or .csv.", callback=_check_out, show_default=False)
]
SeedOption = Annotated[int, typer.Option(min=0, help="Random seed (non-negative); same seed, same data.")]
StartOption = Annotated[str, typer.Option(help="First time, UTC unless an offset is given.", callback=_check_time)]
EndOption = Annotated[
    str, typer.Option(help="End time (exclusive), UTC unless an offset is given.", callback=_check_time)
]
StartPriceOption = Annotated[float, typer.Option(help="Price at the start.")]
VolOption = Annotated[float, typer.Option(help="Annualised volatility (365-day year), e.g. 0.6 for 60 %.")]
TickOption = Annotated[float, typer.Option(help="Price grid (the market's tick size).")]

_MODEL_OPTIONS = {
    "start": "--start",
    "end": "--end",
    "start_price": "--start-price",
    "annual_vol": "--annual-vol",
    "tick_size": "--tick-size",
    "periods": "--periods",
    "seed": "--seed",
    "trade_rate": "--rate",
    "quote_rate": "--rate",
}


@synth_app.command("bars")
def bars_command(
    out: OutOption,
    timeframe: Annotated[
        str, typer.Option(help="Bar width: <n>s, <n>m, <n>h, <n>d or <n>w.", callback=_check_timeframe)
    ] = "1h",
    start: Annotated[
        str, typer.Option(help="Open time of the first bar (UTC, a multiple of the timeframe).", callback=_check_time)
    ] = "2024-01-01",
    periods: Annotated[int, typer.Option(min=1, help="Number of bars.")] = 24 * 365,
    seed: SeedOption = 42,
    start_price: StartPriceOption = 30_000.0,
    annual_vol: VolOption = 0.6,
    tick_size: TickOption = 0.01,
) -> None:
    """Synthetic OHLCV bars.

    GARCH(1,1) volatility clustering, Student-t fat tails, U-shaped intraday volatility
    and volume, volume coupled to |return|, prices on the tick grid, open = previous
    close. --start must be a bar open time (a multiple of --timeframe since the epoch).
    """
    from quantbridge.datasets.synth import BarModel, generate_bars

    def run() -> pd.DataFrame:
        model = BarModel(start_price=start_price, annual_vol=annual_vol, tick_size=tick_size)
        return generate_bars(start=start, periods=periods, timeframe=timeframe, seed=seed, model=model)

    _write(_guarded(run, _MODEL_OPTIONS), out, index=True)


@synth_app.command("trades")
def trades_command(
    out: OutOption,
    start: StartOption,
    end: EndOption,
    seed: SeedOption = 42,
    start_price: StartPriceOption = 30_000.0,
    annual_vol: VolOption = 0.6,
    tick_size: TickOption = 0.01,
    rate: Annotated[float, typer.Option(help="Mean trades per second.")] = 2.0,
    first_trade_id: Annotated[int, typer.Option(help="trade_id of the first trade.")] = 1,
) -> None:
    """Synthetic trade ticks in [--start, --end).

    Hawkes-process bursts, silent spells, intraday seasonality, fat-tailed price moves,
    log-normal sizes. The trades print at the quotes that `synth quotes` writes for the
    same --start, --end, --seed and prices. A progress bar shows for spans over a week.
    """
    from quantbridge.datasets.synth import TickModel, generate_trades

    with _progress("trades", start, end) as progress:

        def run() -> pd.DataFrame:
            model = TickModel(start_price=start_price, annual_vol=annual_vol, tick_size=tick_size, trade_rate=rate)
            return generate_trades(
                start=start, end=end, seed=seed, model=model, first_trade_id=first_trade_id, progress=progress
            )

        frame = _guarded(run, _MODEL_OPTIONS)
    _write(frame, out, index=False)


@synth_app.command("quotes")
def quotes_command(
    out: OutOption,
    start: StartOption,
    end: EndOption,
    seed: SeedOption = 42,
    start_price: StartPriceOption = 30_000.0,
    annual_vol: VolOption = 0.6,
    tick_size: TickOption = 0.01,
    rate: Annotated[float, typer.Option(help="Mean quote updates per second.")] = 4.0,
) -> None:
    """Synthetic top-of-book quotes in [--start, --end).

    bid < ask always; the spread is at least one tick and widens in busy, volatile
    spells. Same arrival model (bursts, silences, seasonality) as `synth trades`.
    """
    from quantbridge.datasets.synth import TickModel, generate_quotes

    with _progress("quotes", start, end) as progress:

        def run() -> pd.DataFrame:
            model = TickModel(start_price=start_price, annual_vol=annual_vol, tick_size=tick_size, quote_rate=rate)
            return generate_quotes(start=start, end=end, seed=seed, model=model, progress=progress)

        frame = _guarded(run, _MODEL_OPTIONS)
    _write(frame, out, index=False)


def _read_bars(path: Path, timeframe: str | None) -> pd.DataFrame:
    from quantbridge.datasets.problems import DataValidationError
    from quantbridge.datasets.readers import DataFormatError, read_bars

    try:
        return read_bars(path, timeframe=timeframe)
    except (DataFormatError, DataValidationError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--bars") from exc


@synth_app.command("from-bars")
def from_bars_command(
    bars: Annotated[
        Path, typer.Option("--bars", help="Bars to rebuild (.csv, .parquet, … — any format `data info` reads).")
    ],
    out: OutOption,
    seed: SeedOption = 42,
    timeframe: Annotated[
        str | None, typer.Option(help="Bar width; inferred from the spacing by default.", callback=_check_timeframe)
    ] = None,
    ticks_per_bar: Annotated[float, typer.Option(min=4, help="Mean ticks per bar (at least 4).")] = 24.0,
    price_step: Annotated[
        float | None, typer.Option(help="Put in-between ticks on this price grid (the tick size).")
    ] = None,
    synthetic_volume: Annotated[
        bool, typer.Option("--synthetic-volume", help="Ignore the bars' volume and assign synthetic amounts.")
    ] = False,
) -> None:
    """Trade ticks that rebuild the given bars exactly.

    Aggregating the ticks to the bars' timeframe gives back open, high, low and close
    bit for bit and the volume exactly. Inside a bar the path visits the extreme
    nearer the open first (as TradingView assumes). Zero-volume bars get no ticks;
    bars without volume get synthetic amounts (and a note says so).
    """
    from quantbridge.datasets.synth import synthesize_ticks_from_bars

    frame = _read_bars(bars, timeframe)
    no_volume = "volume" not in frame.columns or bool(frame["volume"].isna().all())
    if no_volume and not synthetic_volume:
        typer.echo(f"note: {bars} has no volume; trade amounts are synthetic", err=True)
    options = {"ticks_per_bar": "--ticks-per-bar", "price_step": "--price-step", "timeframe": "--timeframe"}
    options |= {"volume": "--synthetic-volume", "bars": "--bars", "seed": "--seed"}

    def run() -> pd.DataFrame:
        return synthesize_ticks_from_bars(
            frame,
            seed=seed,
            ticks_per_bar=ticks_per_bar,
            price_step=price_step,
            timeframe=timeframe,
            volume=None if (synthetic_volume or no_volume) else "bars",
        )

    _write(_guarded(run, options), out, index=False)


def samples_command(
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: the bundled datasets/samples).", show_default=False)
    ] = None,
) -> None:
    """Rebuild the bundled sample data (deterministic: the same frames every time).

    Writes BTCUSDT/ETHUSDT 1h bars for 2024, BTCUSDT 1m bars for January 2024 and a
    day of BTCUSDT trades and quotes, validated, to datasets/samples or --out.
    """
    from quantbridge.datasets.sample_data import build_samples

    if out is not None and out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{str(out)!r} is a file; expected a folder", param_hint="--out")
    build_samples(out, echo=typer.echo)
