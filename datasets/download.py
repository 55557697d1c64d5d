"""Download bars and trades through a ccxt client into the Parquet cache, resumably.

:func:`fetch_bars` pages ``fetch_ohlcv`` and :func:`fetch_trades` pages
``fetch_trades`` over ``[since, until)``, writing every page to the cache
(:mod:`quantbridge.datasets.cache`) as soon as it has been validated, so a killed
download resumes where it stopped. What is already cached is never asked for again:
the download covers only the parts of the range the cache lacks (before its first
row, after its last, and holes: missing bars, or trade-id gaps — Binance's aggregate
trade ids are consecutive). An exchange gap inside a cached bar range is asked about
again, one request each time.

Time: nothing here reads the wall clock. "Now" is injected (``now=``) or asked of the
exchange (``fetch_time``); a bar whose close time is after now is still forming and
is never stored, nor is any trade after now.

Errors: transient failures — ccxt's ``OperationFailed`` family (``NetworkError``:
``RequestTimeout``, ``ExchangeNotAvailable`` (5xx), ``DDoSProtection`` /
``RateLimitExceeded`` (418/429); ``BadResponse``; Binance's ``-1000``/``-1001``
internal errors) and malformed bodies — are retried with exponential backoff, waiting
what a ``Retry-After`` header asks for when there is one. ccxt does *not* raise on a
body that is not JSON: it parses the text character by character as if it were the
data and returns rows of ``None`` (or ``[]`` once filtered by ``since``), which would
silently end or corrupt a download, so every page's raw body
(``exchange.last_http_response``) is checked to be a JSON array. After
``max_retries`` a :class:`RetriesExhaustedError` names the symbol, timeframe and time
range. A page that parses but fails validation raises
:class:`PageValidationError` and nothing of it is stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
import pandas as pd

from .cache import CachedSeries, open_series
from .problems import DataValidationError, GapPolicy
from .schemas import BAR_COLUMNS, BAR_INDEX, TRADE_COLUMNS, DataKind
from .timeframes import parse_timeframe
from .validation import validate_bars, validate_trades

__all__ = [
    "DownloadError",
    "DownloadSummary",
    "MalformedResponseError",
    "PageValidationError",
    "RetriesExhaustedError",
    "RetryPolicy",
    "UnknownSymbolError",
    "UnsupportedTimeframeError",
    "fetch_bars",
    "fetch_trades",
    "to_utc",
]

T = TypeVar("T")
_MS: Final = 1_000_000
_HOUR_MS: Final = 3_600_000
_DEFAULT_OHLCV_PAGE: Final = 500
_DEFAULT_TRADES_PAGE: Final = 1000


class DownloadError(RuntimeError):
    """A download that cannot finish; the message names symbol, timeframe and range."""


class RetriesExhaustedError(DownloadError):
    """A transient failure (network, 429, 5xx, malformed body) outlasted the retries."""


class PageValidationError(DownloadError):
    """A page parsed but its data is invalid; ``report`` lists every problem."""

    def __init__(self, message: str, error: DataValidationError) -> None:
        super().__init__(f"{message}\n{error}")
        self.report = error.report


class UnknownSymbolError(DownloadError):
    """The exchange does not list the symbol."""


class UnsupportedTimeframeError(DownloadError):
    """The exchange has no klines at this timeframe."""


class MalformedResponseError(DownloadError):
    """The exchange answered with a body that is not the JSON expected (retried)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried: ``base_delay * factor**attempt`` seconds,
    capped at ``max_delay``, or the exchange's ``Retry-After`` (up to
    ``max_retry_after``; a longer ban fails at once). ``sleep`` is injectable for tests."""

    max_retries: int = 5
    base_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 30.0
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_delay < 0 or self.factor < 1 or self.max_delay < 0:
            raise ValueError(f"{self}: expected max_retries >= 0, base_delay >= 0, factor >= 1, max_delay >= 0")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        return float(min(self.max_delay, self.base_delay * self.factor**attempt))


@dataclass
class DownloadSummary:
    """What one download did: the range ``[start, end)`` it covered (``end`` clipped to
    the exchange's now), rows fetched and rows that were already cached in it, HTTP
    requests made (retried attempts included), retries and the seconds waited before
    each, and the month files written."""

    exchange: str
    symbol: str
    kind: DataKind
    timeframe: str | None
    start: pd.Timestamp
    end: pd.Timestamp
    rows_fetched: int = 0
    rows_cached: int = 0
    requests: int = 0
    retries: int = 0
    retry_waits: list[float] = field(default_factory=list)
    files_written: list[Path] = field(default_factory=list)

    def describe(self) -> str:
        """One line for people."""
        what = "bars" if self.kind is DataKind.BARS else "trades"
        label = f"{self.symbol} {self.timeframe}" if self.timeframe else self.symbol
        return (
            f"{self.exchange} {label} {self.start.isoformat()} .. {self.end.isoformat()}: "
            f"{self.rows_fetched} {what} fetched, {self.rows_cached} already cached; "
            f"{self.requests} requests, {self.retries} retries, {len(self.files_written)} files written"
        )


def to_utc(value: pd.Timestamp | datetime | str) -> pd.Timestamp:
    """A UTC timestamp from a timestamp, datetime or ISO string (naive means UTC)."""
    try:
        stamp = pd.Timestamp(value)
    except ValueError as error:
        raise ValueError(f"{value!r}: expected a date/time such as 2024-01-31 or 2024-01-31T12:00Z") from error
    if pd.isna(stamp):
        raise ValueError(f"{value!r}: expected a date/time, got NaT")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("ns")


def _ms(stamp: pd.Timestamp) -> int:
    return int(stamp.value // _MS)


def _stamp(ms: int) -> pd.Timestamp:
    return pd.Timestamp(ms * _MS, tz="UTC")


def _iso(ms: int) -> str:
    return _stamp(ms).isoformat()


def _time_range(
    since: pd.Timestamp | datetime | str, until: pd.Timestamp | datetime | str | None
) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    start = to_utc(since)
    end = None if until is None else to_utc(until)
    if end is not None and end <= start:
        raise ValueError(f"until {end.isoformat()} is not after since {start.isoformat()}")
    return start, end


def _end_ms(start: pd.Timestamp, until: pd.Timestamp | None, now_ms: int) -> int:
    """The exclusive end of a download: ``until`` (default now), never after now."""
    end = now_ms if until is None else min(_ms(until), now_ms)
    return max(end, _ms(start))


def _range_label(start: pd.Timestamp, end_ms: int) -> str:
    return f"{start.isoformat()} .. {_iso(end_ms)}"


def _retry_after(exchange: Any) -> float | None:
    headers = getattr(exchange, "last_response_headers", None) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return None if raw is None else max(0.0, float(raw))
    except (TypeError, ValueError):  # an HTTP-date: fall back to the backoff
        return None


def _require_json_array(exchange: Any, what: str) -> None:
    body = getattr(exchange, "last_http_response", None)
    if body is None:
        return
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        raise MalformedResponseError(f"{what}: the body is not JSON: {str(body)[:80]!r}") from None
    if not isinstance(parsed, list):
        raise MalformedResponseError(f"{what}: expected a JSON array, got {type(parsed).__name__}")


class _Session:
    """One download's client, retry policy and counters."""

    def __init__(self, exchange: Any, summary: DownloadSummary, retry: RetryPolicy) -> None:
        import ccxt

        self.exchange = exchange
        self.summary = summary
        self.retry = retry
        self.transient: tuple[type[BaseException], ...] = (ccxt.OperationFailed, MalformedResponseError)
        self.header_errors: tuple[type[BaseException], ...] = (ccxt.DDoSProtection, ccxt.ExchangeNotAvailable)
        exchange.enableRateLimit = True
        exchange.enableLastHttpResponse = True
        exchange.enableLastResponseHeaders = True

    def call(self, action: Callable[[], T], what: str) -> T:
        """Run one request with retries; ``what`` names it in errors."""
        attempt = 0
        while True:
            self.summary.requests += 1
            try:
                return action()
            except self.transient as error:
                wait = self._wait_for(error, attempt, what)
                attempt += 1
                self.summary.retries += 1
                self.summary.retry_waits.append(wait)
                self.retry.sleep(wait)

    def _wait_for(self, error: BaseException, attempt: int, what: str) -> float:
        failure = f"{type(error).__name__}: {error}"
        if attempt >= self.retry.max_retries:
            raise RetriesExhaustedError(f"{what}: failed after {attempt} retries: {failure}") from error
        asked = _retry_after(self.exchange) if isinstance(error, self.header_errors) else None
        if asked is None:
            return self.retry.backoff(attempt)
        if asked > self.retry.max_retry_after:
            limit = self.retry.max_retry_after
            raise RetriesExhaustedError(
                f"{what}: the exchange asks to wait {asked:g}s (Retry-After), more than {limit:g}s: {failure}"
            ) from error
        return asked


def _market(session: _Session, symbol: str) -> dict[str, Any]:
    exchange, name = session.exchange, session.summary.exchange
    if not exchange.markets:
        session.call(exchange.load_markets, f"{name} load markets")
    if symbol not in exchange.markets:
        close = sorted(s for s in exchange.markets if s.split("/")[0] == symbol.split("/")[0])[:5]
        hint = f"; similar: {', '.join(close)}" if close else ""
        raise UnknownSymbolError(f"{name}: no market {symbol!r}{hint}")
    market: dict[str, Any] = exchange.market(symbol)
    return market


def _now_ms(session: _Session, now: Callable[[], pd.Timestamp] | None) -> int:
    if now is not None:
        return _ms(to_utc(now()))
    server_ms = session.call(session.exchange.fetch_time, f"{session.summary.exchange} server time")
    return int(server_ms)


def _page_limit(exchange: Any, market: dict[str, Any], method: str, fallback: int) -> int:
    features = getattr(exchange, "features", None) or {}
    scope = features.get(market.get("type"), {}) or {}
    if market.get("subType") in scope:
        scope = scope.get(market.get("subType")) or {}
    limit = ((scope.get(method) or {}) if isinstance(scope, dict) else {}).get("limit")
    return int(limit) if isinstance(limit, int) and limit > 0 else fallback


def _progress(enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


# --- bars -------------------------------------------------------------------------


def _bar_spans(cached: pd.DatetimeIndex, start: int, stop: int, width: int) -> list[tuple[int, int]]:
    """``[from, to)`` millisecond spans of ``[start, stop)`` that the cached open times lack."""
    opens = cached.as_unit("ns").asi8 // _MS
    if not len(opens):
        return [(start, stop)] if start < stop else []
    spans = [(start, int(opens[0]))] if opens[0] - start >= width else []
    gaps = np.flatnonzero(np.diff(opens) > width)
    spans += [(int(opens[i]) + width, int(opens[i + 1])) for i in gaps.tolist()]
    if opens[-1] + width < stop:
        spans.append((int(opens[-1]) + width, stop))
    return spans


def _bar_page(rows: Any, label: str) -> pd.DataFrame:
    if not isinstance(rows, list) or any(not isinstance(r, list) or len(r) < 6 or None in r[:6] for r in rows):
        raise MalformedResponseError(f"{label}: expected rows of [time, open, high, low, close, volume] without nulls")
    times = pd.to_datetime(np.asarray([r[0] for r in rows], dtype=np.int64), unit="ms", utc=True).as_unit("ns")
    values = np.asarray([r[1:6] for r in rows], dtype=np.float64).reshape(len(rows), 5)
    return pd.DataFrame(values, index=pd.DatetimeIndex(times, name=BAR_INDEX), columns=list(BAR_COLUMNS))


def _checked_bars(page: pd.DataFrame, width: pd.Timedelta, label: str) -> pd.DataFrame:
    report = validate_bars(page, source=label, timeframe=width, gap_policy=GapPolicy.IGNORE)
    try:
        report.raise_for_errors()
    except DataValidationError as error:
        raise PageValidationError(f"{label}: invalid page, nothing of it was stored", error) from error
    return page


@dataclass(frozen=True)
class _BarJob:
    symbol: str
    timeframe: str
    width_ms: int
    now_ms: int
    page_limit: int
    series: CachedSeries
    range_label: str

    def label(self, exchange: str, cursor: int) -> str:
        """Names the download and the page, for errors."""
        return f"{exchange} {self.symbol} {self.timeframe} bars {self.range_label}, page from {_iso(cursor)}"


def _bar_pages(session: _Session, job: _BarJob, span: tuple[int, int]) -> Iterator[pd.DataFrame]:
    """Validated closed-bar pages covering ``span``, oldest first."""
    cursor, stop = span
    exchange = session.exchange
    while cursor < stop:
        label = job.label(session.summary.exchange, cursor)

        def request(since: int = cursor, what: str = label) -> Any:
            rows = exchange.fetch_ohlcv(job.symbol, job.timeframe, since, job.page_limit, {"until": stop - 1})
            _require_json_array(exchange, what)
            return rows

        page = _bar_page(session.call(request, label), label)
        opens = pd.DatetimeIndex(page.index).asi8 // _MS
        page = page[(opens >= cursor) & (opens < stop) & (opens + job.width_ms <= job.now_ms)]
        if not len(page):
            return
        yield _checked_bars(page, pd.Timedelta(milliseconds=job.width_ms), label)
        cursor = int(page.index[-1].value // _MS) + job.width_ms


def fetch_bars(
    exchange: Any,
    symbol: str,
    timeframe: str,
    since: pd.Timestamp | datetime | str,
    until: pd.Timestamp | datetime | str | None = None,
    *,
    cache: Path | None = None,
    exchange_name: str | None = None,
    progress: bool = True,
    now: Callable[[], pd.Timestamp] | None = None,
    retry: RetryPolicy | None = None,
    page_limit: int | None = None,
) -> DownloadSummary:
    """Download ``symbol``'s closed ``timeframe`` bars with open time in ``[since, until)``
    (``until`` defaults to now) into the cache under ``cache`` (default: the configured
    cache directory), as ``<exchange_name or exchange.id>/<symbol>/bars_<timeframe>``.

    ``exchange`` is a ccxt client (rate limiting is switched on). Resumes from what is
    cached; returns what was done. Raises :class:`UnknownSymbolError`,
    :class:`UnsupportedTimeframeError`, :class:`RetriesExhaustedError` or
    :class:`PageValidationError`.
    """
    start, end = _time_range(since, until)
    width = parse_timeframe(timeframe)
    name = exchange_name or str(exchange.id)
    series = open_series(name, symbol, DataKind.BARS, timeframe, root=cache)
    summary = DownloadSummary(name, symbol, DataKind.BARS, timeframe, start, start)
    session = _Session(exchange, summary, retry or RetryPolicy())
    market = _market(session, symbol)
    if getattr(exchange, "timeframes", None) and timeframe not in exchange.timeframes:
        raise UnsupportedTimeframeError(f"{name}: no {timeframe!r} klines; available: {', '.join(exchange.timeframes)}")
    now_ms = _now_ms(session, now)
    width_ms = int(width / pd.Timedelta(milliseconds=1))
    end_ms = _end_ms(start, end, now_ms)
    summary.end = _stamp(end_ms)
    stop = min(end_ms, now_ms - width_ms + 1)  # open times below this belong to closed bars
    limit = page_limit or _page_limit(exchange, market, "fetchOHLCV", _DEFAULT_OHLCV_PAGE)
    job = _BarJob(symbol, timeframe, width_ms, now_ms, limit, series, _range_label(start, end_ms))
    series.remove_stale_temp_files()
    cached = series.read(start, summary.end).index
    summary.rows_cached = len(cached)
    spans = _bar_spans(pd.DatetimeIndex(cached), _ms(start), stop, width_ms)
    _run_bar_spans(session, job, spans, progress)
    return summary


def _run_bar_spans(session: _Session, job: _BarJob, spans: list[tuple[int, int]], progress: bool) -> None:
    total = sum(max(0, -(-(b - a) // job.width_ms)) for a, b in spans)
    written: set[Path] = set()
    with _progress(progress) as bar:
        task = bar.add_task(f"{job.symbol} {job.timeframe}", total=total)
        for span in spans:
            for page in _bar_pages(session, job, span):
                written.update(job.series.merge(page))
                session.summary.rows_fetched += len(page)
                bar.advance(task, len(page))
    session.summary.files_written = sorted(written)


# --- trades -----------------------------------------------------------------------


@dataclass(frozen=True)
class _TradeSpan:
    """Trades with ``ts`` in ``[start_ms, stop_ms)`` and id below ``stop_id``, from
    ``from_id`` when known (else found by time)."""

    start_ms: int
    stop_ms: int
    from_id: int | None = None
    stop_id: int | None = None


def _trade_spans(cached: pd.DataFrame, start: int, stop: int) -> list[_TradeSpan]:
    if not len(cached):
        return [_TradeSpan(start, stop)] if start < stop else []
    ids = cached["trade_id"].to_numpy(dtype=np.int64)
    times = pd.DatetimeIndex(cached["ts"]).as_unit("ns").asi8 // _MS
    # the front span ends at the first cached trade's id (trades sharing its time may precede it)
    spans = [_TradeSpan(start, int(times[0]) + 1, stop_id=int(ids[0]))] if times[0] > start else []
    gaps = np.flatnonzero(np.diff(ids) > 1)
    spans += [_TradeSpan(int(times[i]), stop, from_id=int(ids[i]) + 1, stop_id=int(ids[i + 1])) for i in gaps.tolist()]
    spans.append(_TradeSpan(int(times[-1]), stop, from_id=int(ids[-1]) + 1))
    return spans


def _trade_page(trades: Any, label: str) -> pd.DataFrame:
    fields = ("timestamp", "price", "amount", "side", "id")
    if not isinstance(trades, list) or any(
        not isinstance(t, dict) or any(t.get(f) is None for f in fields) for t in trades
    ):
        raise MalformedResponseError(f"{label}: expected trades with timestamp, price, amount, side and id")
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(np.asarray([t["timestamp"] for t in trades], dtype=np.int64), unit="ms", utc=True),
            "price": np.asarray([t["price"] for t in trades], dtype=np.float64),
            "amount": np.asarray([t["amount"] for t in trades], dtype=np.float64),
            "side": pd.Series([str(t["side"]) for t in trades], dtype="str"),
            "trade_id": np.asarray([int(t["id"]) for t in trades], dtype=np.int64),
        }
    )
    frame["ts"] = pd.DatetimeIndex(frame["ts"]).as_unit("ns")
    return frame[list(TRADE_COLUMNS)]


def _checked_trades(page: pd.DataFrame, label: str) -> pd.DataFrame:
    try:
        validate_trades(page, source=label).raise_for_errors()
    except DataValidationError as error:
        raise PageValidationError(f"{label}: invalid page, nothing of it was stored", error) from error
    return page


@dataclass(frozen=True)
class _TradeJob:
    symbol: str
    page_limit: int
    range_label: str

    def label(self, exchange: str, page: str) -> str:
        """Names the download and the page, for errors."""
        return f"{exchange} {self.symbol} trades {self.range_label}, {page}"


def _request_trades(
    session: _Session, job: _TradeJob, label: str, since: int | None, params: dict[str, Any]
) -> pd.DataFrame:
    exchange = session.exchange

    def request() -> Any:
        trades = exchange.fetch_trades(job.symbol, since, job.page_limit, params)
        _require_json_array(exchange, label)
        return trades

    return _trade_page(session.call(request, label), label)


def _first_trades(session: _Session, job: _TradeJob, span: _TradeSpan) -> pd.DataFrame:
    """The first page of a span found by time: hour windows (Binance's aggTrades limit)
    from ``start_ms`` until one holds trades or the span ends."""
    window = span.start_ms
    while window < span.stop_ms:
        until = min(window + _HOUR_MS, span.stop_ms) - 1
        label = job.label(session.summary.exchange, f"window {_iso(window)} .. {_iso(until + 1)}")
        page = _request_trades(session, job, label, window, {"until": until})
        if len(page):
            return page
        window = until + 1
    return _trade_page([], "no trades")


def _keep(page: pd.DataFrame, span: _TradeSpan) -> pd.DataFrame:
    times = pd.DatetimeIndex(page["ts"]).as_unit("ns").asi8 // _MS
    keep = (times >= span.start_ms) & (times < span.stop_ms)
    if span.stop_id is not None:
        keep &= page["trade_id"].to_numpy() < span.stop_id
    return page[keep].reset_index(drop=True)


def _trade_pages(session: _Session, job: _TradeJob, span: _TradeSpan) -> Iterator[pd.DataFrame]:
    """Validated trade pages covering ``span``: by time to find the first trade, then by ``fromId``."""
    by_time = span.from_id is None
    if span.from_id is None:
        page = _first_trades(session, job, span)
    else:
        label = job.label(session.summary.exchange, f"page from id {span.from_id}")
        page = _request_trades(session, job, label, None, {"fromId": span.from_id})
    while len(page):
        kept = _keep(page, span)
        if len(kept):
            yield _checked_trades(kept, job.label(session.summary.exchange, f"page from id {kept['trade_id'].iat[0]}"))
        past_span = len(kept) < len(page)
        newest_reached = not by_time and len(page) < job.page_limit
        if past_span or newest_reached:
            return
        next_id = int(page["trade_id"].to_numpy()[-1]) + 1
        label = job.label(session.summary.exchange, f"page from id {next_id}")
        page = _request_trades(session, job, label, None, {"fromId": next_id})
        by_time = False


def fetch_trades(
    exchange: Any,
    symbol: str,
    since: pd.Timestamp | datetime | str,
    until: pd.Timestamp | datetime | str | None = None,
    *,
    cache: Path | None = None,
    exchange_name: str | None = None,
    progress: bool = True,
    now: Callable[[], pd.Timestamp] | None = None,
    retry: RetryPolicy | None = None,
    page_limit: int | None = None,
) -> DownloadSummary:
    """Download ``symbol``'s trades with ``ts`` in ``[since, until)`` (``until`` defaults
    to now) into the cache as ``<exchange_name or exchange.id>/<symbol>/trades``.

    The first trade of a range is found with hour-wide ``startTime``/``endTime``
    windows (Binance's aggTrades limit); the rest is paged by ``fromId``, which resumes
    exactly after the last cached trade. Same errors as :func:`fetch_bars`.
    """
    start, end = _time_range(since, until)
    name = exchange_name or str(exchange.id)
    series = open_series(name, symbol, DataKind.TRADES, root=cache)
    summary = DownloadSummary(name, symbol, DataKind.TRADES, None, start, start)
    session = _Session(exchange, summary, retry or RetryPolicy())
    market = _market(session, symbol)
    now_ms = _now_ms(session, now)
    stop = _end_ms(start, end, now_ms)  # a trade stamped ``now`` may have same-millisecond successors yet to come
    summary.end = _stamp(stop)
    limit = page_limit or _page_limit(exchange, market, "fetchTrades", _DEFAULT_TRADES_PAGE)
    job = _TradeJob(symbol, limit, _range_label(start, stop))
    series.remove_stale_temp_files()
    cached = series.read(start, summary.end)
    summary.rows_cached = len(cached)
    _run_trade_spans(session, job, series, _trade_spans(cached, _ms(start), stop), progress)
    return summary


def _run_trade_spans(
    session: _Session, job: _TradeJob, series: CachedSeries, spans: list[_TradeSpan], progress: bool
) -> None:
    total = sum(max(0, s.stop_ms - s.start_ms) for s in spans) // 1000
    written: set[Path] = set()
    with _progress(progress) as bar:
        task = bar.add_task(f"{job.symbol} trades (seconds covered)", total=total)
        for span in spans:
            cursor = span.start_ms
            for page in _trade_pages(session, job, span):
                written.update(series.merge(page))
                session.summary.rows_fetched += len(page)
                last = int(pd.DatetimeIndex(page["ts"]).as_unit("ns").asi8[-1] // _MS)
                bar.advance(task, max(0, last - cursor) // 1000)
                cursor = max(cursor, last)
    session.summary.files_written = sorted(written)
