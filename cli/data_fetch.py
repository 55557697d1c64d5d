"""``quantbridge data fetch`` / ``data fetch-trades``: download bars or trades into the cache.

Exit codes: 0 done, 1 invalid data (a page or a cached file), 2 bad usage (options,
unknown symbol or timeframe), 3 network failure after retries.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

if TYPE_CHECKING:
    from quantbridge.datasets.download import DownloadSummary, RetryPolicy

EXIT_DATA_ERROR: Final = 1
EXIT_USAGE: Final = 2
EXIT_NETWORK: Final = 3
LOCAL: Final = "local"

ExchangeOption = Annotated[
    str,
    typer.Option(help="ccxt exchange id (e.g. binanceusdm), or 'local' for a local exchange at --exchange-url."),
]
SymbolOption = Annotated[str, typer.Option(help="ccxt unified symbol, e.g. BTC/USDT:USDT for the USDT perpetual.")]
SinceOption = Annotated[str, typer.Option(help="Start of the range (UTC unless an offset is given), e.g. 2024-01-01.")]
UntilOption = Annotated[
    str | None, typer.Option(help="End of the range, exclusive (default: now, by the exchange's clock).")
]
CacheOption = Annotated[
    Path | None, typer.Option(help="Cache directory (default: $QUANTBRIDGE_CACHE or ~/.cache/quantbridge).")
]
UrlOption = Annotated[
    str | None,
    typer.Option(help="Base URL of a Binance-USDM-compatible server, e.g. http://127.0.0.1:8080 (binanceusdm/local)."),
]
ProgressOption = Annotated[bool, typer.Option(help="Show a progress bar on stderr.")]
RetriesOption = Annotated[int, typer.Option(min=0, help="Retries of a failing request before giving up.")]
RetryDelayOption = Annotated[
    float, typer.Option(min=0.0, help="First backoff in seconds (doubles per retry; Retry-After wins).")
]
TimeoutOption = Annotated[float, typer.Option(min=0.001, help="HTTP timeout per request, in seconds.")]
RateLimitOption = Annotated[
    float | None, typer.Option(min=0.0, help="Milliseconds between requests per unit of weight (default: ccxt's).")
]


def _fail(code: int, message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _client(exchange: str, url: str | None, timeout: float, rate_limit_ms: float | None) -> Any:
    timeout_ms = max(1, int(timeout * 1000))
    if exchange == LOCAL or url is not None:
        if exchange not in (LOCAL, "binanceusdm"):
            raise _fail(EXIT_USAGE, f"--exchange-url works with --exchange binanceusdm or local, not {exchange!r}")
        if url is None:
            raise _fail(EXIT_USAGE, "--exchange local needs --exchange-url http://HOST:PORT")
        from quantbridge.datasets.exchange.ccxt_client import binanceusdm_client

        try:
            return binanceusdm_client(url, timeout_ms=timeout_ms, rate_limit_ms=rate_limit_ms)
        except ValueError as error:
            raise _fail(EXIT_USAGE, str(error)) from error
    import ccxt

    if exchange not in ccxt.exchanges:
        raise _fail(
            EXIT_USAGE, f"unknown exchange {exchange!r}; ccxt knows {len(ccxt.exchanges)} ids, e.g. binanceusdm"
        )
    client = getattr(ccxt, exchange)({"enableRateLimit": True, "timeout": timeout_ms})
    if rate_limit_ms is not None:
        client.rateLimit = rate_limit_ms
    return client


def _retry_policy(max_retries: int, retry_delay: float) -> RetryPolicy:
    from quantbridge.datasets.download import RetryPolicy

    return RetryPolicy(max_retries=max_retries, base_delay=retry_delay)


def _run(download: Any, client: Any) -> DownloadSummary:
    """Call ``download()`` and turn its failures into exit codes."""
    import ccxt

    from quantbridge.datasets.download import (
        PageValidationError,
        RetriesExhaustedError,
        UnknownSymbolError,
        UnsupportedTimeframeError,
    )
    from quantbridge.datasets.problems import DataValidationError
    from quantbridge.datasets.timeframes import TimeframeError

    try:
        summary: DownloadSummary = download()
        return summary
    except (UnknownSymbolError, UnsupportedTimeframeError, TimeframeError) as error:
        raise _fail(EXIT_USAGE, str(error)) from error
    except RetriesExhaustedError as error:
        raise _fail(EXIT_NETWORK, str(error)) from error
    except (PageValidationError, DataValidationError) as error:
        raise _fail(EXIT_DATA_ERROR, str(error)) from error
    except ValueError as error:  # a bad argument value (range, timeframe, exchange id)
        raise _fail(EXIT_USAGE, str(error)) from error
    except ccxt.BaseError as error:
        raise _fail(EXIT_DATA_ERROR, f"{type(error).__name__}: {error}") from error
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()


def _range(since: str, until: str | None) -> tuple[Any, Any]:
    from quantbridge.datasets.download import to_utc

    try:
        start, end = to_utc(since), None if until is None else to_utc(until)
    except ValueError as error:
        raise _fail(EXIT_USAGE, f"--since/--until: {error}") from error
    if end is not None and end <= start:
        raise _fail(EXIT_USAGE, f"--until {end.isoformat()} is not after --since {start.isoformat()}")
    return start, end


def fetch(
    symbol: SymbolOption,
    timeframe: Annotated[str, typer.Option(help="Bar width as the exchange names it: 1m, 5m, 1h, 4h, 1d, ...")],
    since: SinceOption,
    until: UntilOption = None,
    exchange: ExchangeOption = "binanceusdm",
    cache: CacheOption = None,
    exchange_url: UrlOption = None,
    progress: ProgressOption = True,
    max_retries: RetriesOption = 5,
    retry_delay: RetryDelayOption = 0.5,
    timeout: TimeoutOption = 10.0,
    rate_limit_ms: RateLimitOption = None,
) -> None:
    """Download closed OHLCV bars of --symbol at --timeframe from --since to --until into the cache.

    Resumes where the cache stops: nothing cached is downloaded again.

    Files: one Parquet per month under <cache>/<exchange>/<symbol>/bars_<timeframe>/.

    The still-forming current bar is never stored ("now" is the exchange's server time).

    Exit codes: 0 ok, 1 invalid data, 2 usage error (also an unknown symbol), 3 network failure after retries.
    """
    from quantbridge.datasets.download import fetch_bars

    start, end = _range(since, until)
    client = _client(exchange, exchange_url, timeout, rate_limit_ms)
    retry = _retry_policy(max_retries, retry_delay)
    summary = _run(
        lambda: fetch_bars(
            client, symbol, timeframe, start, end, cache=cache, exchange_name=exchange, progress=progress, retry=retry
        ),
        client,
    )
    typer.echo(summary.describe())


def fetch_trades(
    symbol: SymbolOption,
    since: SinceOption,
    until: UntilOption = None,
    exchange: ExchangeOption = "binanceusdm",
    cache: CacheOption = None,
    exchange_url: UrlOption = None,
    progress: ProgressOption = True,
    max_retries: RetriesOption = 5,
    retry_delay: RetryDelayOption = 0.5,
    timeout: TimeoutOption = 10.0,
    rate_limit_ms: RateLimitOption = None,
) -> None:
    """Download the trades (Binance: aggregate trades) of --symbol from --since to --until into the cache.

    Finds the first trade by time, then pages by trade id: an interrupted download resumes after the last cached trade.

    Files: one Parquet per month under <cache>/<exchange>/<symbol>/trades/.

    Exit codes: 0 ok, 1 invalid data, 2 usage error (also an unknown symbol), 3 network failure after retries.
    """
    from quantbridge.datasets.download import fetch_trades as download_trades

    start, end = _range(since, until)
    client = _client(exchange, exchange_url, timeout, rate_limit_ms)
    retry = _retry_policy(max_retries, retry_delay)
    summary = _run(
        lambda: download_trades(
            client, symbol, start, end, cache=cache, exchange_name=exchange, progress=progress, retry=retry
        ),
        client,
    )
    typer.echo(summary.describe())
