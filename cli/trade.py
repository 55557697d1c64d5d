"""``quantbridge paper STRATEGY`` and ``quantbridge live STRATEGY``: trade a validated
prototype on live market data — with simulated fills (paper) or real orders (live).

STRATEGY is a prototype of the research catalogue, traded through the bridge exactly as
``quantbridge validate`` checked it. Both commands refuse a version (code + parameters)
without a passing parity certificate unless ``--force`` (recorded with the run and
alerted). ``--exchange local`` (the default) trades against the bundled local exchange,
started in-process on ``--data`` and replayed ``--speed`` times faster than real time, or
one already running at ``--exchange-url``.

Exit codes: 0 stopped cleanly (Ctrl-C, SIGTERM, ``--duration``), 1 the run failed,
2 bad input (an invalid option, a symbol the exchange does not list, a database that
cannot be opened, missing credentials), 3 refused by the validation gate.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .research_common import console, fail
from .trade_setup import (
    DEFAULT_LOCAL_DATA,
    LOCAL,
    Connection,
    check_account,
    check_gate,
    check_timeframe,
    connect,
    database_errors,
    default_account,
    load_risk,
    prototype_named,
    start_local_exchange,
)

if TYPE_CHECKING:
    from quantbridge.runtime.live import SessionConfig, SessionSummary, TradingSession
    from quantbridge.runtime.live.credentials import Credentials

__all__ = ["live", "paper"]

EXIT_RUN_FAILED = 1

StrategyArg = Annotated[str, typer.Argument(help="A prototype of the catalogue (see `quantbridge research list`).")]
ExchangeOpt = Annotated[str, typer.Option(help="'local' (the bundled local exchange) or a ccxt id, e.g. binanceusdm.")]
SymbolOpt = Annotated[str, typer.Option(help="ccxt unified symbol.")]
TimeframeOpt = Annotated[str, typer.Option(help="Candle interval the strategy trades on.")]
ParamsOpt = Annotated[list[str] | None, typer.Option("--params", "-p", help="NAME=VALUE (repeatable, or a=1,b=2).")]
DurationOpt = Annotated[float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Trade without a passing certificate (recorded, alerted).")]
ForceReasonOpt = Annotated[str, typer.Option(help="Why --force was needed (stored with the run).")]
DbOpt = Annotated[str | None, typer.Option(help="Database URL (default $QUANTBRIDGE_DB, else .quantbridge/).")]
AccountOpt = Annotated[str | None, typer.Option(help="Account name in the store (default mode:exchange:key).")]
UrlOpt = Annotated[str | None, typer.Option(help="A local exchange already running (quantbridge exchange serve).")]
DataOpt = Annotated[Path, typer.Option(help="Dataset the in-process local exchange replays.")]
SpeedOpt = Annotated[float, typer.Option(min=0.001, help="Replay speed of the in-process local exchange.")]
WarmupOpt = Annotated[int | None, typer.Option(min=1, help="History bars to warm up on (default 2× the prototype's).")]
RiskOpt = Annotated[Path | None, typer.Option(help="Risk chain as JSON (RiskConfig fields); default: kill switch.")]
CredentialsOpt = Annotated[Path | None, typer.Option(help="JSON file {api_key, secret}, chmod 600 (live).")]
TelegramOpt = Annotated[
    bool, typer.Option(help="Alerts and /commands on Telegram ($QUANTBRIDGE_TELEGRAM_TOKEN, _CHAT_IDS).")
]


@dataclass(frozen=True)
class _Request:
    mode: str
    strategy: str
    exchange: str
    symbol: str
    timeframe: str
    params: list[str]
    duration: float | None
    force: bool
    force_reason: str
    db: str | None
    account: str | None
    exchange_url: str | None
    data: Path
    speed: float
    warmup: int | None
    risk: Path | None
    credentials: Path | None
    telegram: bool


def paper(
    strategy: StrategyArg,
    exchange: ExchangeOpt = LOCAL,
    symbol: SymbolOpt = "BTC/USDT:USDT",
    timeframe: TimeframeOpt = "1m",
    params: ParamsOpt = None,
    duration: DurationOpt = None,
    force: ForceOpt = False,
    force_reason: ForceReasonOpt = "",
    db: DbOpt = None,
    account: AccountOpt = None,
    exchange_url: UrlOpt = None,
    data: DataOpt = DEFAULT_LOCAL_DATA,
    speed: SpeedOpt = 60.0,
    warmup: WarmupOpt = None,
    risk: RiskOpt = None,
    telegram: TelegramOpt = False,
) -> None:
    """Paper-trade STRATEGY: live market data, fills simulated as in the backtest."""
    _main(
        _Request(
            "paper",
            strategy,
            exchange,
            symbol,
            timeframe,
            params or [],
            duration,
            force,
            force_reason,
            db,
            account,
            exchange_url,
            data,
            speed,
            warmup,
            risk,
            None,
            telegram,
        )
    )


def live(
    strategy: StrategyArg,
    exchange: ExchangeOpt = LOCAL,
    symbol: SymbolOpt = "BTC/USDT:USDT",
    timeframe: TimeframeOpt = "1m",
    params: ParamsOpt = None,
    duration: DurationOpt = None,
    force: ForceOpt = False,
    force_reason: ForceReasonOpt = "",
    db: DbOpt = None,
    account: AccountOpt = None,
    exchange_url: UrlOpt = None,
    data: DataOpt = DEFAULT_LOCAL_DATA,
    speed: SpeedOpt = 60.0,
    warmup: WarmupOpt = None,
    risk: RiskOpt = None,
    credentials: CredentialsOpt = None,
    telegram: TelegramOpt = False,
) -> None:
    """Trade STRATEGY with real orders through ccxt (durable orders, crash recovery, risk chain)."""
    _main(
        _Request(
            "live",
            strategy,
            exchange,
            symbol,
            timeframe,
            params or [],
            duration,
            force,
            force_reason,
            db,
            account,
            exchange_url,
            data,
            speed,
            warmup,
            risk,
            credentials,
            telegram,
        )
    )


# ---- the run -------------------------------------------------------------------------------------
def _configure_logging() -> None:
    """Notifications and session events on stderr; the in-process exchange's access log muted."""
    from rich.logging import RichHandler

    handler = RichHandler(console=console(stderr=True), show_path=False, rich_tracebacks=False)
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[handler], force=True)
    for noisy in ("aiohttp.access", "aiohttp.server", "ccxt", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _main(request: _Request) -> None:
    from quantbridge.cli.validate import _pairs
    from quantbridge.research.registry import ParamError
    from quantbridge.runtime.store import default_database_url

    _configure_logging()
    check_timeframe(request.timeframe, request.exchange)
    check_account(request.account)
    spec = prototype_named(request.strategy)
    try:
        bound = spec.bind(_pairs(request.params))
    except ParamError as exc:
        raise fail(str(exc)) from exc
    db = request.db or default_database_url()
    gate = check_gate(spec, bound, db, request.force, request.force_reason)
    credentials = _credentials(request)
    warmup = request.warmup or max(2 * spec.warmup(bound), 50)
    summary = _trade(request, spec, bound, db, gate, credentials, warmup)
    _print(summary)
    if summary.status != "stopped":
        raise typer.Exit(EXIT_RUN_FAILED)


def _trade(
    request: _Request, spec: Any, bound: Any, db: str, gate: Any, credentials: Credentials | None, warmup: int
) -> SessionSummary:
    """Start the in-process local exchange if needed and run the session; what the exchange
    says cannot be traded (no such symbol, unusable market data) is bad input (exit 2)."""
    from quantbridge.runtime.live.history import HistoryError

    server = None
    url = request.exchange_url or ""
    if request.exchange == LOCAL and not url:
        server = start_local_exchange(request.data, request.speed, None, warmup)
        url = server.url
    try:
        return asyncio.run(_run(request, spec, bound, db, gate, credentials, warmup, url))
    except HistoryError as exc:
        raise fail(str(exc)) from None
    finally:
        if server is not None:
            server.stop()


def _credentials(request: _Request) -> Credentials | None:
    from quantbridge.runtime.live.credentials import CredentialsError, load_credentials

    if request.mode != "live" or (request.exchange == LOCAL and request.credentials is None):
        return None
    try:
        return load_credentials(request.exchange, request.credentials)
    except CredentialsError as exc:
        raise fail(str(exc)) from exc


async def _run(
    request: _Request, spec: Any, bound: Any, db: str, gate: Any, credentials: Credentials | None, warmup: int, url: str
) -> SessionSummary:
    from quantbridge.runtime.store import TradingStore

    async with connect(request.exchange, url, credentials) as connection:
        await _check_market(request, connection)
        account = request.account or default_account(request.mode, connection)
        config = _session_config(request, spec, bound, gate, warmup, account, connection)
        with database_errors():
            store = TradingStore.open(db, account)
        try:
            return await _run_session(config, connection, store, request.telegram)
        finally:
            store.close()


async def _check_market(request: _Request, connection: Connection) -> None:
    """Exit 2, before any run is recorded, when the exchange does not list ``--symbol`` or
    does not serve its candles at ``--timeframe`` (asked for one candle)."""
    import ccxt

    timeframes = getattr(connection.rest, "timeframes", None) or {}
    if connection.name != LOCAL and timeframes and request.timeframe not in timeframes:
        served = ", ".join(timeframes)
        raise fail(f"--timeframe {request.timeframe!r}: the {connection.name} exchange serves candles of {served}")
    markets = await connection.rest.load_markets()
    if request.symbol not in markets:
        listed = ", ".join(sorted(markets)[:10])
        raise fail(f"--symbol {request.symbol!r}: not listed by the {connection.name} exchange (e.g. {listed})")
    try:
        await connection.rest.fetch_ohlcv(request.symbol, request.timeframe, limit=1)
    except (ccxt.BadRequest, ccxt.NotSupported) as exc:
        what = f"--timeframe {request.timeframe!r}: the {connection.name} exchange serves no candles of this interval"
        raise fail(f"{what} ({exc})") from None


def _session_config(
    request: _Request, spec: Any, bound: Any, gate: Any, warmup: int, account: str, connection: Connection
) -> SessionConfig:
    from quantbridge.bridge import bridge
    from quantbridge.runtime.live import Mode, SessionConfig, SessionTiming

    strategy = bridge(spec, bound)  # window None: the path the certificate proved (all closed bars)
    return SessionConfig(
        mode=Mode(request.mode),
        account=account,
        exchange=connection.name,
        strategy_id=spec.name,
        spec=strategy.spec(spec.name),
        params={},
        symbol=request.symbol,
        timeframe=request.timeframe,
        model=strategy.model,
        warmup_bars=warmup,
        risk=load_risk(request.risk),
        timing=SessionTiming(duration=request.duration),
        forced=gate.forced,
        force_reason=gate.reason,
        certificate_id=gate.certificate_id,
    )


async def _run_session(config: SessionConfig, connection: Connection, store: Any, telegram: bool) -> SessionSummary:
    from quantbridge.runtime.live import TradingSession
    from quantbridge.runtime.marketdata.ccxt_ws import CcxtWebsocketClient
    from quantbridge.runtime.venue import Redactor

    from .trade_telegram import telegram_sinks

    sessions: list[TradingSession] = []

    def stream(symbols: Any, clock: Any) -> Any:
        return CcxtWebsocketClient(connection.pro_factory(), symbols, clock, on_event=sessions[0].on_stream_event)

    async with telegram_sinks(telegram, connection.clock) as (sinks, attach_control):
        session = TradingSession(
            config,
            exchange=connection.rest,
            store=store,
            clock=connection.clock,
            stream_factory=stream,
            venue_factory=_venue_factory(connection) if config.mode == "live" else None,
            sinks=sinks,
            redact=Redactor(connection.secrets),
        )
        sessions.append(session)
        _install_signals(session)
        await attach_control(session)
        return await session.run()


def _venue_factory(connection: Connection) -> Any:
    from quantbridge.runtime.venue.ccxt_venue import CcxtVenue

    def factory(session: TradingSession) -> Any:
        return CcxtVenue(
            connection.rest,
            {session.market.symbol: session.market},
            session.clock,
            notifications=session.notifications,
            position_of=lambda symbol: session.engine.account.position(symbol).qty,
            known_fills=[fill.fill_id for fill in session.store.fills.all()],
            secrets=connection.secrets,
        )

    return factory


def _install_signals(session: TradingSession) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, session.stop, f"{signal.Signals(sig).name} received")


def _print(summary: SessionSummary) -> None:
    from rich.table import Table

    table = Table(title=f"run {summary.run_id}: {summary.status} — {summary.reason or 'done'}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name in ("warmup_candles", "ticks", "candles", "orders", "fills", "corrections", "errors"):
        table.add_row(name.replace("_", " "), str(getattr(summary, name)))
    table.add_row("kill switch", "ENGAGED" if summary.killed else "off")
    console().print(table)
    logging.getLogger(__name__).info("run %s %s", summary.run_id, summary.status)
