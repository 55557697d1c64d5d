"""``quantbridge exchange serve``: run the local Binance-USDM-compatible exchange on a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import typer

EXIT_DATA_ERROR: Final = 1
EXIT_USAGE: Final = 2

exchange_app = typer.Typer(
    help="A local Binance-USDM-compatible exchange serving a dataset (for tests and offline demos).",
    no_args_is_help=True,
)


@exchange_app.command("serve")
def serve(
    data: Annotated[
        Path, typer.Option(help="Bars file (Parquet, CSV, Binance klines, ...); its timeframe is the base.")
    ],
    trades: Annotated[
        Path | None, typer.Option(help="Trades file; synthesised from the bars (4 per bar) when absent.")
    ] = None,
    symbol: Annotated[str, typer.Option(help="Exchange symbol id; ccxt lists it as e.g. BTC/USDT:USDT.")] = "BTCUSDT",
    timeframe: Annotated[str | None, typer.Option(help="Base timeframe of the bars (inferred by default).")] = None,
    tick_size: Annotated[str, typer.Option(help="Price tick reported in exchangeInfo.")] = "0.1",
    lot_size: Annotated[str, typer.Option(help="Quantity step reported in exchangeInfo.")] = "0.001",
    now: Annotated[
        str | None, typer.Option(help="Fix the exchange clock (UTC), e.g. 2024-03-01T12:30; default: end of the data.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="Run a moving clock from this time (UTC), replaying the data live; default: first bar."),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(help="Replayed seconds per real second of the moving clock (> 0; default 1)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 0,
) -> None:
    """Serve --data over HTTP like Binance USD-M until Ctrl-C (klines at coarser intervals, trades, tickers, depth).

    Prints the URL as the first line on stdout; fetch with: quantbridge data fetch --exchange local --exchange-url URL

    The clock is fixed at the end of the data (or --now) unless --start/--speed ask for a moving one; orders
    (including conditional /fapi/v1/algoOrder ones) fill as it passes the replayed trades.

    Inject faults with POST /_admin/faults; GET /_admin/requests lists what clients asked; GET/POST /_admin/clock
    reads or sets, pauses, resumes and speeds up the clock.
    """
    from decimal import Decimal, InvalidOperation

    from quantbridge.datasets.download import to_utc
    from quantbridge.datasets.exchange.clock import moving_clock
    from quantbridge.datasets.exchange.loading import load_market
    from quantbridge.datasets.exchange.server import serve as serve_market

    if now is not None and (start is not None or speed is not None):
        typer.echo("error: --now fixes the clock; it cannot be combined with --start/--speed", err=True)
        raise typer.Exit(EXIT_USAGE)
    if speed is not None and not 0 < speed < float("inf"):
        typer.echo(f"error: --speed {speed}: expected a finite number above zero", err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        tick, lot = Decimal(tick_size), Decimal(lot_size)
        clock = None if now is None else to_utc(now)
        start_ms = None if start is None else int(to_utc(start).value // 1_000_000)
    except (InvalidOperation, ValueError) as error:
        typer.echo(f"error: --tick-size/--lot-size/--now/--start: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from error
    try:
        market = load_market(
            data, trades=trades, symbol=symbol, timeframe=timeframe, tick_size=tick, step_size=lot, now=clock
        )
    except (OSError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from error
    replay = moving_clock(start_ms=start_ms, speed=speed, data_start_ms=market.start_ms)
    serve_market(market, host=host, port=port, clock=replay)
