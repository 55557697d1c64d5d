"""TradingSession: one strategy on one symbol, paper or live, until stopped.

The session is the imperative shell around the same Engine the backtest drives; only the
injected parts differ (``ScaledClock`` on the exchange's time, a live market-data client,
the paper or ccxt venue, the SQL stores). Its life:

1. **prepare** — load the market from the exchange, record the run, build the engine on
   the stores, restore the account from the stored fills, re-trip a kill switch that was
   engaged when the last run ended, and (live) reconcile with the venue *before* the
   first order (:mod:`.recovery`);
2. **warm up** — the last ``warmup_bars`` closed candles from ``fetch_ohlcv`` go into the
   strategy's bar history; the candle forming at start is fetched once it has closed;
3. **trade** — ticks from the stream into the engine, one at a time; every
   ``timing.tick`` the clock's timers fire (a candle closes on time when ticks pause),
   the control queue is read (``quantbridge kill`` / ``resume``) and a heartbeat written;
4. **stop** — on ``stop()`` (SIGINT/SIGTERM in the CLI), after ``timing.duration`` or when
   the stream fails: stop reading, close the stream and the venue, mark the run stopped.
   Every order and fill was committed when it happened, so a stop (or a crash) never
   leaves half-written state behind.

Every fill passes through :meth:`TradingSession.on_venue_event`, which stores it first
and hands it to the engine only if the store did not know it: a fill is applied once,
also when a restart's reconciliation reports it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

import pandas as pd

from ..clock import ScaledClock
from ..components.notifications import Level, LoggingSink, NotificationCenter, NotificationSink
from ..components.risk import BreakerState
from ..components.risk_config import KillSwitchConfig, RiskConfig
from ..core import Engine, EngineConfig, build_engine
from ..crashpoints import check_crash_setting, crash_point
from ..domain.events import Event, OrderFilled
from ..domain.market import Market
from ..domain.marketdata import Candle
from ..marketdata.aggregator import CandleAggregator
from ..marketdata.ccxt_ws import StreamEvent, StreamEventKind
from ..marketdata.client import MarketDataClient
from ..store import TradingStore
from ..store.runs import RunEnding
from ..venue.simulated import SimulatedVenue, SimulatedVenueConfig
from .config import Mode, SessionConfig
from .control import SessionControl
from .history import HistoryError, candles_through, closed_candles, market_from_ccxt
from .recovery import Reconciler, repair_orders, restore_account, stored_fills
from .venues import LiveVenue, PaperVenue

__all__ = ["AccountBusyError", "SessionSummary", "StreamFactory", "TradingSession", "VenueFactory"]

_log = logging.getLogger(__name__)
#: Seconds housekeeping may keep failing before the run is failed.
_HOUSEKEEPING_PATIENCE: Final = 60.0
#: How often the candle forming at start is asked for before it is reported missing.
_COMPLETE_ATTEMPTS: Final = 20

StreamFactory = Callable[[Sequence[str], ScaledClock], MarketDataClient]
"""Builds the market-data client for the symbols on the session's clock."""
VenueFactory = Callable[["TradingSession"], LiveVenue]
"""Builds the live venue once the engine exists (it may read the session's account)."""


class AccountBusyError(RuntimeError):
    """Another live process trades this account."""


@dataclass
class SessionSummary:
    """What a run did, for the CLI and the logs."""

    run_id: int = 0
    status: str = "starting"
    reason: str = ""
    warmup_candles: int = 0
    ticks: int = 0
    candles: int = 0
    orders: int = 0
    fills: int = 0
    errors: int = 0
    corrections: int = 0
    killed: bool = False
    started: pd.Timestamp | None = None
    stopped: pd.Timestamp | None = None
    notes: list[str] = field(default_factory=list)


class TradingSession:
    """See the module docstring. ``exchange`` is an async ccxt exchange for REST calls
    (markets, OHLCV; the ccxt venue's orders in live mode); ``clock`` runs on the
    exchange's time; ``venue_factory`` is required in live mode."""

    def __init__(
        self,
        config: SessionConfig,
        *,
        exchange: Any,
        store: TradingStore,
        clock: ScaledClock,
        stream_factory: StreamFactory,
        venue_factory: VenueFactory | None = None,
        sinks: Sequence[NotificationSink] = (),
        redact: Callable[[str], str] = str,  # e.g. a Redactor holding the API secrets
    ) -> None:
        if config.mode is Mode.LIVE and venue_factory is None:
            raise ValueError("live mode needs a venue factory (the ccxt venue)")
        self.config = config
        self.exchange = exchange
        self.store = store
        self.clock = clock
        self._stream_factory = stream_factory
        self._venue_factory = venue_factory
        self.notifications = NotificationCenter([LoggingSink(Level.INFO), store.alerts, *sinks])
        self.summary = SessionSummary()
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._engine: Engine | None = None
        self._venue: LiveVenue | None = None
        self._market: Market | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._failed = False
        self._redact = redact
        self._warm_until: pd.Timestamp | None = None

    # ---- public ------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the session has not been prepared yet")
        return self._engine

    @property
    def market(self) -> Market:
        if self._market is None:
            raise RuntimeError("the session has not been prepared yet")
        return self._market

    @property
    def control(self) -> SessionControl:
        return SessionControl(self.engine, f"{self.config.strategy_id} on {self.config.symbol} ({self.config.mode})")

    def stop(self, reason: str = "stop requested", *, failed: bool = False) -> None:
        """Ask the session to stop after the event in progress (signal-handler safe);
        ``failed``: the run ends as failed (exit 1), e.g. the stream or the store gave up."""
        if not self._stop.is_set():
            self.summary.reason = self.summary.reason or self._redact(reason)
            self._failed = self._failed or failed
            self._stop.set()
            self._wake.set()

    async def run(self) -> SessionSummary:
        """Prepare, warm up, trade until stopped; returns the summary (status ``stopped``
        or ``failed``). The run record is closed whatever happens."""
        self.summary.started = self.clock.now()
        try:
            await self._prepare()
            await self._warm_up()
            await self._trade()
            self.summary.status = "failed" if self._failed else "stopped"
        except Exception as exc:
            self.summary.status = "failed"
            self.summary.reason = self._redact(f"{type(exc).__name__}: {exc}")
            if isinstance(exc, HistoryError | AccountBusyError):  # expected: the message says it all
                _log.error("session refused: %s", self.summary.reason)
            else:
                _log.error("session failed: %s", self.summary.reason, exc_info=True)
            self.notifications.notify(self.clock.now(), Level.ERROR, "session_failed", self.summary.reason)
            raise
        finally:
            await self._shutdown()
        return self.summary

    # ---- prepare -----------------------------------------------------------------------------
    async def _prepare(self) -> None:
        config = self.config
        check_crash_setting()
        markets = await self.exchange.load_markets()
        self._market = market_from_ccxt(config.symbol, markets, getattr(self.exchange, "precisionMode", None))
        now = self.clock.now()
        crashed = self.store.runs.mark_crashed_if_stale(now, config.account)
        busy = self.store.runs.running(config.account)
        if busy:
            run = busy[-1]
            raise AccountBusyError(
                f"account {config.account} is being traded by run {run.id} (pid {run.pid} on {run.host}); "
                "one process per account: stop it first, or use another --account"
            )
        run_id = self.store.runs.start(
            config.account,
            config.mode.value,
            config.strategy_id,
            [config.symbol],
            config.exchange,
            dict(config.params),
            now,
            forced=config.forced,
            force_reason=config.force_reason,
            certificate_id=config.certificate_id,
        )
        self.summary.run_id = run_id
        self.store = TradingStore.on_engine(self.store.engine, config.account, run_id)
        self._expire_control_requests(now)
        if crashed:
            self._notify(Level.WARNING, "crash_detected", f"run(s) {', '.join(map(str, crashed))} ended without a stop")
        self._engine = self._build_engine()
        self._notify(Level.WARNING if config.forced else Level.INFO, "session_started", self._start_message())
        self._schedule_daily_summary(now)
        await self._recover()

    def _expire_control_requests(self, now: pd.Timestamp) -> None:
        """Requests left unhandled by an earlier run are not carried out now (the CLI told
        its user they were not confirmed): a stale ``resume`` must not undo a newer kill."""
        for request in self.store.control.pending(self.config.account):
            self.store.control.mark_handled(request.id, now, "expired: not handled by the run it was sent to")

    def _start_message(self) -> str:
        config = self.config
        gate = (
            f"FORCED without a passing certificate ({config.force_reason})"
            if config.forced
            else f"certificate {config.certificate_id}"
        )
        return (
            f"{config.mode.value} {config.strategy_id} on {config.symbol} {config.timeframe} "
            f"({config.exchange}, account {config.account}): {gate}"
        )

    def _build_engine(self) -> Engine:
        config = self.config
        market = self.market
        markets = {market.symbol: market}
        interval = pd.Timedelta(self.exchange.parse_timeframe(config.timeframe), unit="s")
        venue = self._make_venue(markets)
        engine = build_engine(
            markets=markets,
            clock=self.clock,
            venue=venue,
            config=EngineConfig(model=config.model, risk=self._risk_config()),
            notifications=self.notifications,
            order_store=self.store.orders,
            aggregators=lambda symbol: CandleAggregator(symbol, interval, start=self.clock.now()),
            risk_store=self.store.risk,
        )
        venue.attach(self.on_venue_event)
        engine.market_data.on_partial = self._on_partial
        spec = config.spec
        engine.strategies.add(
            config.strategy_id,
            market.symbol,
            spec.create(config.params),
            params=config.params,
            window=spec.window(config.params),
        )
        self._venue = venue
        return engine

    def _risk_config(self) -> RiskConfig:
        """The configured chain, always with a kill switch: `quantbridge kill`, Telegram's
        /kill and recovery rely on it."""
        risk = self.config.risk or RiskConfig()
        if risk.kill_switch is None:
            _log.warning("the risk configuration has no kill switch: one is added (not engaged)")
            risk = risk.model_copy(update={"kill_switch": KillSwitchConfig()})
        return risk

    def _make_venue(self, markets: dict[str, Market]) -> LiveVenue:
        if self.config.mode is Mode.PAPER:
            simulated = SimulatedVenue(markets, self.clock, SimulatedVenueConfig(self.config.model))
            return PaperVenue(simulated)
        assert self._venue_factory is not None
        return self._venue_factory(self)

    async def _recover(self) -> None:
        engine = self.engine
        for key in repair_orders(self.store, self.config.strategy_id):
            self.store.reconciliations.record(self.clock.now(), "order_fills", "stored fills applied to the order", key)
        fills = stored_fills(self.store, engine.account, self.config.strategy_id)
        restored = restore_account(engine.account, self.store, fills)
        if isinstance(self._venue, PaperVenue):
            self._venue.simulated.restore_fills(fills)
        self._restore_breakers()
        reconciler = Reconciler(self, self.store)
        if self.config.mode is Mode.PAPER:
            corrections = reconciler.close_paper_orders()
        else:
            corrections = await reconciler.reconcile_live(self._venue)
        engine.run_until_idle()
        self.summary.corrections = corrections
        if restored or corrections:
            self._notify(
                Level.WARNING if corrections else Level.INFO,
                "recovered",
                f"restored {restored} stored fills; {corrections} corrections after reconciling with the venue",
            )

    def _restore_breakers(self) -> None:
        states = {
            name: BreakerState(True, decision.detail, decision.ts)
            for name, decision in self.store.risk.breaker_states().items()
            if decision.outcome == "trip"
        }
        if states:
            self.engine.risk.restore(states)
            self._notify(Level.WARNING, "breakers_restored", f"still tripped from the last run: {', '.join(states)}")

    # ---- warm-up -----------------------------------------------------------------------------
    async def _warm_up(self) -> None:
        config = self.config
        candles = await closed_candles(
            self.exchange, self.market, config.timeframe, config.warmup_bars, self.clock.now()
        )
        loaded = self.engine.strategies.preload(self.market.symbol, candles)
        if candles:
            self.engine.account.set_mark(self.market.symbol, candles[-1].close)
            self._warm_until = candles[-1].open_time
        self.summary.warmup_candles = loaded
        self._notify(Level.INFO, "warmed_up", f"{loaded} closed {config.timeframe} candles of history loaded")

    def _on_partial(self, candle: Candle) -> None:
        """The candle that was forming at start has closed: fetch it whole."""
        self._spawn(self._complete(candle), "complete-first-candle")

    async def _complete(self, partial: Candle) -> None:
        """Feed every candle from the one after the warm-up to the partial one, once the
        exchange has closed them all (startup may span more than one interval)."""
        interval = partial.interval
        first = self._warm_until + interval if self._warm_until is not None else partial.open_time
        try:
            for _ in range(_COMPLETE_ATTEMPTS):
                candles = await candles_through(self.exchange, self.market, self.config.timeframe, first,
                                                partial.open_time)  # fmt: skip
                if candles is not None:
                    self._feed_history(candles, first, partial.open_time)
                    return
                await asyncio.sleep(min(1.0, self.clock.wall_seconds(interval) / 10))
        except Exception as exc:  # a hole in the history is reported, never silent
            _log.exception("fetching the first live candle failed")
            self._notify(Level.WARNING, "history_gap", f"candles from {first.isoformat()} not fetched: {exc}")
            return
        self._notify(Level.WARNING, "history_gap", f"candle {partial.open_time.isoformat()} not served by the exchange")

    def _feed_history(self, candles: list[Candle], first: pd.Timestamp, last: pd.Timestamp) -> None:
        for candle in candles:
            self.engine.feed(candle)
        self.engine.run_until_idle()
        expected = int((last - first) / candles[0].interval) + 1 if candles else 0
        if len(candles) != expected:
            self._notify(Level.WARNING, "history_gap", f"{expected - len(candles)} candle(s) missing before {last}")

    # ---- trading -----------------------------------------------------------------------------
    async def _trade(self) -> None:
        assert self._venue is not None
        await self._venue.start()
        stream = self._stream_factory([self.market.symbol], self.clock)
        self._spawn(self._consume(stream), "market-data")
        self._spawn(self._housekeeping(), "housekeeping")
        if self.config.mode is Mode.LIVE:
            self._spawn(self._refresh_balances(), "balances")
        try:
            await self._until_stopped()
        finally:
            await stream.close()

    async def _until_stopped(self) -> None:
        """Wait for a stop, the duration, or a task of the session dying (which fails the run)."""
        duration = self.config.timing.duration
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            done, _ = await asyncio.wait([stopped, *self._tasks], timeout=duration, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not done:
            self.stop(f"duration of {duration:g} s reached")
        for task in done:
            if task is stopped or task.cancelled():
                continue
            error = task.exception()
            what = f"{task.get_name()} failed: {type(error).__name__}: {error}" if error else f"{task.get_name()} ended"
            if error is not None or not self._stop.is_set():
                self._notify(Level.ERROR, "session_error", what)
                self.stop(what, failed=True)

    async def _consume(self, stream: MarketDataClient) -> None:
        engine = self.engine
        try:
            async for event in stream.events():
                self.summary.ticks += 1
                engine.feed(event)
                engine.run_until_idle()
                if self._stop.is_set():
                    return
        except Exception as exc:  # the stream gave up (an error retrying cannot heal)
            self._notify(Level.ERROR, "connection_lost", f"market data stream failed: {exc}", source="stream")
            self.stop(f"market data stream failed: {exc}", failed=True)

    async def _housekeeping(self) -> None:
        """Timers, control requests and the heartbeat. A step that raises is reported and
        retried on the next round; one that keeps failing for a minute fails the run."""
        timing = self.config.timing
        loop = asyncio.get_running_loop()
        next_control = next_heartbeat = loop.time()
        failing_since: float | None = None
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timing.tick)
            self._wake.clear()
            try:
                self.clock.fire_due()
                self.engine.run_until_idle()
                if loop.time() >= next_control:
                    next_control = loop.time() + timing.control
                    self._read_control()
                if loop.time() >= next_heartbeat:
                    next_heartbeat = loop.time() + timing.heartbeat
                    self._heartbeat()
                failing_since = None
            except Exception as exc:
                failing_since = failing_since or loop.time()
                _log.exception("housekeeping step failed")
                self._notify(Level.ERROR, "session_error", f"housekeeping: {type(exc).__name__}: {exc}")
                if loop.time() - failing_since > _HOUSEKEEPING_PATIENCE:
                    raise

    async def _refresh_balances(self) -> None:
        """The exchange's wallet every ``timing.balances`` seconds (shown by ``quantbridge status``)."""
        while not self._stop.is_set():
            try:
                raw = await self.exchange.fetch_balance()
                now = self.clock.now()
                for asset, total in (raw.get("total") or {}).items():
                    free = (raw.get("free") or {}).get(asset)
                    if total is not None:
                        self.store.accounts.save_balance(asset, Decimal(str(total)), Decimal(str(free or 0)), now)
            except Exception as exc:  # a failed refresh is only stale information: log and go on
                _log.warning("balance refresh failed: %s", type(exc).__name__)
            await asyncio.sleep(self.config.timing.balances)

    def _read_control(self) -> None:
        control = self.control
        for request in self.store.control.pending(self.config.account):
            try:
                result = control.apply(request.command, request.reason)
            except Exception as exc:  # answer it: an unanswerable request must not come back forever
                result = f"failed: {type(exc).__name__}: {exc}"
                _log.exception("control %s failed", request.command)
            self.store.control.mark_handled(request.id, self.clock.now(), result)
            _log.info("control %s from %s: %s", request.command, request.source, result)

    def _heartbeat(self) -> None:
        now = self.clock.now()
        self.store.runs.heartbeat(self.summary.run_id, now)
        account = self.engine.account
        for position in account.positions():
            self.store.accounts.save_position(position.symbol, position.qty, position.avg_price, now, "runtime")

    def _schedule_daily_summary(self, now: pd.Timestamp) -> None:
        """A summary at every UTC midnight (exchange time): P&L, orders, fills, breakers."""
        self.clock.set_timer(now.floor("D") + pd.Timedelta(days=1), self._daily_summary)

    def _daily_summary(self, now: pd.Timestamp) -> None:
        control, account = self.control, self.engine.account
        text = f"positions: {control.positions_text()}; kill switch {'ENGAGED' if control.killed else 'off'}"
        self._notify(
            Level.INFO,
            "daily_summary",
            text,
            date=f"{now - pd.Timedelta(days=1):%Y-%m-%d}",
            pnl=f"{account.realised_pnl + account.unrealised_pnl():,.2f}",
            trades=str(len(account.trades)),
            equity=f"{account.equity():,.2f}",
        )
        self._schedule_daily_summary(now)

    # ---- venue events ------------------------------------------------------------------------
    def on_venue_event(self, event: Event) -> None:
        """Store a fill before the engine sees it; a fill the store knows is not applied again."""
        if isinstance(event, OrderFilled):
            crash_point("after_fill")
            try:
                fresh = self.store.fills.add(event.fill)
            except Exception as exc:  # the fill cannot be made durable: stop trading, keep it for recovery
                self._store_failed(event, exc)
                return
            if not fresh:
                _log.info("fill %s already recorded: not applied again", event.fill.fill_id)
                return
            crash_point("after_fill_stored")
        self.engine.push(event)
        self._wake.set()

    def _store_failed(self, event: OrderFilled, error: Exception) -> None:
        """A fill the store could not record: the engine must not act on state it cannot
        keep, so the kill switch trips and the run stops; the next start reconciles the fill
        from the exchange."""
        message = f"fill {event.fill.fill_id} could not be stored ({type(error).__name__}: {error}); trading stopped"
        _log.error(message)
        self._notify(Level.ERROR, "store_failed", message)
        with contextlib.suppress(Exception):
            self.engine.kill("store failure: " + message)
        self.stop(message, failed=True)

    # ---- stop --------------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # already reported by _until_stopped when it ended the run
                _log.debug("task %s ended with an error", task.get_name(), exc_info=True)
        if self._venue is not None:
            with contextlib.suppress(Exception):
                await self._venue.close()
        now = self.clock.now()
        self.summary.stopped = now
        if self._engine is not None:
            if self.config.mode is Mode.PAPER:
                reason = "paper session stopped: its simulated book goes with it"
                Reconciler(self, self.store).close_paper_orders(reason, "paper_stop")
            self._engine.run_until_idle()
            self._heartbeat()
            self._fill_summary(self._engine)
            self._notify(Level.INFO, "session_stopped", f"{self.summary.status}: {self.summary.reason or 'done'}")
        if self.summary.run_id:
            status: RunEnding = "stopped" if self.summary.status == "stopped" else "failed"
            self.store.runs.stop(self.summary.run_id, now, status, self.summary.reason)

    def _fill_summary(self, engine: Engine) -> None:
        stats = engine.stats
        self.summary.candles = stats.market_data.candles
        self.summary.orders = stats.orders
        self.summary.fills = stats.fills
        self.summary.errors = stats.errors + stats.strategy_errors
        self.summary.killed = self.control.killed

    # ---- helpers -----------------------------------------------------------------------------
    def _spawn(self, work: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    def _notify(self, level: Level, kind: str, message: str, **fields: str) -> None:
        self.notifications.notify(self.clock.now(), level, kind, message, strategy=self.config.strategy_id, **fields)

    def on_stream_event(self, event: StreamEvent) -> None:
        """Connection losses and recoveries of the market-data stream, as alerts."""
        source = f"{event.symbol} {event.channel}"
        if event.kind in (StreamEventKind.DISCONNECTED, StreamEventKind.STALLED):
            self._notify(Level.ERROR, "connection_lost", event.detail or event.kind.value, source=source)
        elif event.kind is StreamEventKind.RECONNECTED:
            self._notify(Level.WARNING, "connection_restored", "data flows again", source=source)
        elif event.kind is StreamEventKind.BACKFILLED:
            self._notify(Level.INFO, "backfilled", f"{event.count} trades recovered over REST", source=source)
