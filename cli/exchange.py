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
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 0,
) -> None:
    """Serve --data over HTTP like Binance USD-M until Ctrl-C (klines at coarser intervals, trades, tickers, depth).

    Prints the URL as the first line on stdout; fetch with: quantbridge data fetch --exchange local --exchange-url URL

    Inject faults with POST /_admin/faults; GET /_admin/requests lists what clients asked.
    """
    from decimal import Decimal, InvalidOperation

    from quantbridge.datasets.download import to_utc
    from quantbridge.datasets.exchange.loading import load_market
    from quantbridge.datasets.exchange.server import serve as serve_market

    try:
        tick, lot = Decimal(tick_size), Decimal(lot_size)
        clock = None if now is None else to_utc(now)
    except (InvalidOperation, ValueError) as error:
        typer.echo(f"error: --tick-size/--lot-size/--now: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from error
    try:
        market = load_market(
            data, trades=trades, symbol=symbol, timeframe=timeframe, tick_size=tick, step_size=lot, now=clock
        )
    except (OSError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from error
    serve_market(market, host=host, port=port)
