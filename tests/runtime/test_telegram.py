"""TelegramSink, TelegramControl and the Bot API stub: real python-telegram-bot on loopback."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pandas as pd
import pytest
from telegram import Bot

from quantbridge.runtime.clock import SimulatedClock, WallClock
from quantbridge.runtime.components.notifications import Level, Notification, NotificationCenter
from quantbridge.runtime.notify.bot_api_stub import BotApiStub
from quantbridge.runtime.notify.telegram import RateLimiter, TelegramSink, create_bot, format_notification
from quantbridge.runtime.notify.telegram_control import FakeControlPort, TelegramControl

T = TypeVar("T")
TOKEN = "123456:SECRET-token-abcdefghijklmnopqrstuvwxyz"
CHAT = 1001
T0 = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # python-telegram-bot 22 warns when RetryAfter is built with the legacy int form
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


def run(work: Coroutine[Any, Any, T]) -> T:
    async def main() -> T:
        result = await asyncio.wait_for(work, 20)
        await asyncio.sleep(0)
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not pending, f"tasks left running: {pending}"
        return result

    return asyncio.run(main())


def sim_sleep(clock: SimulatedClock) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        clock.advance_to(clock.now() + pd.Timedelta(seconds=seconds))
        await asyncio.sleep(0)

    return sleep


@asynccontextmanager
async def telegram(clock: SimulatedClock | None = None) -> AsyncIterator[tuple[BotApiStub, Bot]]:
    async with BotApiStub(TOKEN, clock=clock) as stub, create_bot(TOKEN, stub.base_url) as bot:
        yield stub, bot


def note(kind: str, message: str, level: Level = Level.INFO, **fields: str) -> Notification:
    return Notification(T0, level, kind, message, tuple(fields.items()))


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


# -- message texts ------------------------------------------------------------------------

TEXTS = [
    (
        note("fill", "filled", side="buy", qty="0.5", symbol="BTC/USDT", price="42000.1", order="s1-BTC-7-entry"),
        "✅ FILL buy 0.5 BTC/USDT @ 42000.1 (s1-BTC-7-entry)",
    ),
    (
        note("order_rejected", "insufficient margin", Level.WARNING, order="s1-x"),
        "⛔ REJECTED s1-x: insufficient margin",
    ),
    (note("risk_trip", "drawdown 12% > 10%", Level.WARNING, rule="drawdown"), "⚠️ RISK drawdown: drawdown 12% > 10%"),
    (note("kill_switch", "from CLI", Level.ERROR, state="ENGAGED"), "🛑 KILL SWITCH ENGAGED: from CLI"),
    (
        note("connection_lost", "websocket closed", Level.ERROR, source="binanceusdm"),
        "🔌 CONNECTION LOST binanceusdm: websocket closed",
    ),
    (
        note("connection_restored", "down 12 s", source="binanceusdm"),
        "🔗 CONNECTION RESTORED binanceusdm: down 12 s",
    ),
    (
        note("daily_summary", "", date="2026-01-01", pnl="+12.50", trades="7", equity="1012.50"),
        "📊 DAILY 2026-01-01: PnL +12.50 | trades 7 | equity 1012.50",
    ),
    (note("strategy_error", "boom", Level.ERROR, symbol="ETH/USDT"), "❗ strategy_error: boom | symbol=ETH/USDT"),
    (note("fill", "filled order o1", order="o1"), "ℹ️ fill: filled order o1 | order=o1"),
]


@pytest.mark.parametrize(("notification", "text"), TEXTS)
def test_format_is_exact(notification: Notification, text: str) -> None:
    assert format_notification(notification) == text


def test_every_kind_is_delivered_with_its_exact_text_through_the_center() -> None:
    async def scenario() -> list[str]:
        clock = SimulatedClock(T0)
        async with telegram() as (stub, bot):
            sink = TelegramSink(bot, [CHAT], clock, sleep=sim_sleep(clock))
            center = NotificationCenter([sink])
            await sink.start()
            for notification, _ in TEXTS:
                fields = dict(notification.fields)
                center.notify(T0, notification.level, notification.kind, notification.message, **fields)
            await sink.aclose()
            assert sink.stats.sent == len(TEXTS)
            return stub.texts(CHAT)

    assert run(scenario()) == [text for _, text in TEXTS]


# -- rate limits and retries --------------------------------------------------------------


def test_rate_limit_spaces_messages_per_chat_and_groups() -> None:
    group = -500

    async def scenario() -> BotApiStub:
        clock = SimulatedClock(T0)
        async with telegram(clock) as (stub, bot):
            sink = TelegramSink(bot, [CHAT, 1002, group], clock, sleep=sim_sleep(clock))
            await sink.start()
            for i in range(5):
                sink.emit(note("info", f"m{i}"))
            await sink.aclose()
            return stub

    stub = run(scenario())
    assert len(stub.messages) == 15
    for chat, spacing in ((CHAT, 1.0), (1002, 1.0), (group, 3.0)):
        times = [m.ts for m in stub.messages if m.chat_id == chat]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times) if a and b]
        assert len(gaps) == 4 and min(gaps) >= spacing - 1e-6, (chat, gaps)
    everything = [m.ts for m in stub.messages if m.ts is not None]
    assert min((b - a).total_seconds() for a, b in itertools.pairwise(everything)) >= 1 / 30 - 1e-6


def test_global_limit_is_30_per_second() -> None:
    clock = SimulatedClock(T0)
    limiter = RateLimiter(clock)
    sent = 0
    while clock.now() < T0 + pd.Timedelta(seconds=1):
        chat = 10_000 + sent  # distinct chats: only the global bucket binds
        if limiter.delay(chat) == 0:
            limiter.take(chat)
            sent += 1
        clock.advance_to(clock.now() + pd.Timedelta(milliseconds=1))
    assert sent == 30


def test_429_waits_retry_after_then_delivers() -> None:
    async def scenario() -> tuple[BotApiStub, TelegramSink]:
        clock = SimulatedClock(T0)
        async with telegram(clock) as (stub, bot):
            stub.fail_next("sendMessage", "429", retry_after=7)
            sink = TelegramSink(bot, [CHAT], clock, sleep=sim_sleep(clock))
            await sink.start()
            sink.emit(note("info", "hello"))
            await sink.aclose()
            return stub, sink

    stub, sink = run(scenario())
    attempts = [r for r in stub.requests if r.method == "sendMessage"]
    assert [r.outcome for r in attempts] == ["429", "ok"]
    assert attempts[0].ts is not None and attempts[1].ts is not None
    assert (attempts[1].ts - attempts[0].ts).total_seconds() >= 7
    assert stub.texts(CHAT) == ["ℹ️ info: hello"]
    assert (sink.stats.sent, sink.stats.retried, sink.stats.failed) == (1, 1, 0)


def test_5xx_and_dropped_connections_are_retried_with_backoff() -> None:
    async def scenario() -> tuple[BotApiStub, TelegramSink]:
        clock = SimulatedClock(T0)
        async with telegram(clock) as (stub, bot):
            stub.fail_next("sendMessage", "500", count=2)
            stub.fail_next("sendMessage", "drop")
            sink = TelegramSink(bot, [CHAT], clock, sleep=sim_sleep(clock), backoff=2.0)
            await sink.start()
            sink.emit(note("info", "after storms"))
            await sink.aclose()
            return stub, sink

    stub, sink = run(scenario())
    attempts = [r for r in stub.requests if r.method == "sendMessage"]
    assert [r.outcome for r in attempts] == ["500", "500", "drop", "ok"]
    gaps = [(b.ts - a.ts).total_seconds() for a, b in itertools.pairwise(attempts) if a.ts and b.ts]
    assert gaps == [2.0, 4.0, 8.0]
    assert stub.texts(CHAT) == ["ℹ️ info: after storms"]
    assert (sink.stats.sent, sink.stats.retried) == (1, 3)


def test_gives_up_after_max_attempts_and_keeps_going() -> None:
    async def scenario() -> tuple[BotApiStub, TelegramSink]:
        clock = SimulatedClock(T0)
        async with telegram(clock) as (stub, bot):
            stub.fail_next("sendMessage", "500", count=3)
            sink = TelegramSink(bot, [CHAT], clock, sleep=sim_sleep(clock), max_attempts=3)
            await sink.start()
            sink.emit(note("info", "lost"))
            sink.emit(note("info", "next"))
            await sink.aclose()
            return stub, sink

    stub, sink = run(scenario())
    assert stub.texts(CHAT) == ["ℹ️ info: next"]
    assert (sink.stats.sent, sink.stats.failed) == (1, 1)


# -- never blocks, never raises ------------------------------------------------------------


def test_dead_telegram_never_blocks_or_raises_in_emit() -> None:
    async def scenario() -> tuple[list[float], TelegramSink]:
        loop = asyncio.get_running_loop()
        async with telegram() as (stub, bot):
            stub.stall("sendMessage")
            sink = TelegramSink(bot, [CHAT], WallClock(), max_queue=50)
            await sink.start()
            await asyncio.sleep(0)
            durations = []
            for i in range(200):
                started = loop.time()
                sink.emit(note("fill", f"f{i}"))
                durations.append(loop.time() - started)
            await asyncio.sleep(0.2)  # the sender is stuck in the stalled request
            assert sink.queued == 49 and not stub.messages  # 50 queued, one of them in flight
            await sink.aclose(drain_timeout=0.1)
            return durations, sink

    durations, sink = run(scenario())
    assert max(durations) < 0.005
    assert sink.stats.dropped_info == 200 - 50 and sink.stats.sent == 0


def test_overflow_drops_info_before_alerts() -> None:
    async def scenario() -> tuple[BotApiStub, TelegramSink]:
        clock = SimulatedClock(T0)
        async with telegram() as (stub, bot):
            sink = TelegramSink(bot, [CHAT], clock, sleep=sim_sleep(clock), max_queue=4)
            sink.emit(note("info", "i1"))
            sink.emit(note("risk_trip", "a1", Level.WARNING, rule="r"))
            sink.emit(note("info", "i2"))
            sink.emit(note("kill_switch", "a2", Level.ERROR, state="ENGAGED"))
            sink.emit(note("connection_lost", "a3", Level.ERROR, source="x"))  # evicts i1
            sink.emit(note("risk_trip", "a4", Level.WARNING, rule="r"))  # evicts i2
            sink.emit(note("info", "i3"))  # no room for info: dropped itself
            sink.emit(note("risk_trip", "a5", Level.WARNING, rule="r"))  # only alerts left: evicts a1
            await sink.start()
            await sink.aclose()
            return stub, sink

    stub, sink = run(scenario())
    assert stub.texts(CHAT) == [
        "🛑 KILL SWITCH ENGAGED: a2",
        "🔌 CONNECTION LOST x: a3",
        "⚠️ RISK r: a4",
        "⚠️ RISK r: a5",
    ]
    assert (sink.stats.dropped_info, sink.stats.dropped_alerts) == (3, 1)


def test_sender_survives_a_failing_formatter_and_center_never_sees_it() -> None:
    def broken(notification: Notification) -> str:
        raise RuntimeError("bad formatter")

    async def scenario() -> tuple[TelegramSink, NotificationCenter]:
        async with telegram() as (_, bot):
            sink = TelegramSink(bot, [CHAT], SimulatedClock(T0), formatter=broken)
            center = NotificationCenter([sink])
            center.notify(T0, Level.ERROR, "kill_switch", "x")
            return sink, center

    sink, center = run(scenario())
    assert sink.stats.errors == 1 and center.failures == 0


# -- secrecy ------------------------------------------------------------------------------


def test_token_never_in_logs_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> TelegramSink:
        clock = SimulatedClock(T0)
        async with telegram() as (stub, bot):
            stub.fail_next("sendMessage", "500", count=2)
            stub.fail_next("sendMessage", "drop")
            sink = TelegramSink(bot, [CHAT], clock, sleep=sim_sleep(clock), max_attempts=3)
            await sink.start()
            sink.emit(note("info", "x"))
            await sink.aclose()
            assert TOKEN not in repr(sink) and TOKEN not in repr(stub)
            return sink

    sink = run(scenario())
    assert sink.stats.failed == 1
    assert "sendMessage" in caplog.text and "dropped after 3 attempt(s)" in caplog.text
    assert TOKEN not in caplog.text
    assert "SECRET" not in caplog.text


# -- two-way control ----------------------------------------------------------------------


def test_control_commands_from_allowed_chat_reach_the_port_and_reply(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = FakeControlPort(positions="BTC/USDT long 0.5", pnl="PnL +12.50")

    async def scenario() -> tuple[BotApiStub, TelegramControl]:
        async with telegram() as (stub, bot):
            control = TelegramControl(bot, port, [CHAT], poll_timeout=1)
            for text in ("/status", "/positions", "/pnl", "/kill drawdown too deep", "/status", "/resume", "/x"):
                await stub.push_command(CHAT, text)
            await control.start()
            await until(lambda: len(stub.texts(CHAT)) == 7)
            await control.aclose()
            return stub, control

    stub, control = run(scenario())
    assert stub.texts(CHAT) == [
        "status: running",
        "BTC/USDT long 0.5",
        "PnL +12.50",
        "kill switch engaged: drawdown too deep",
        "status: KILLED",
        "kill switch released",
        "unknown command; try /status /positions /pnl /kill /resume",
    ]
    assert port.kill_reasons == ["drawdown too deep"] and port.resumed == 1 and not port.killed
    assert control.handled == 7
    assert TOKEN not in caplog.text


def test_control_ignores_and_logs_other_chats(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = FakeControlPort()
    intruder = 666

    async def scenario() -> tuple[BotApiStub, TelegramControl]:
        async with telegram() as (stub, bot):
            control = TelegramControl(bot, port, [CHAT], poll_timeout=1)
            await stub.push_command(intruder, "/kill")
            await stub.push_command(CHAT, "/status")
            await control.start()
            await until(lambda: bool(stub.texts(CHAT)))
            await control.aclose()
            return stub, control

    stub, control = run(scenario())
    assert not port.killed and stub.texts(intruder) == []
    assert control.ignored == 1 and control.handled == 1
    assert "telegram command /kill from chat 666 ignored: chat not allowed" in caplog.text
    assert TOKEN not in caplog.text


def test_control_survives_polling_errors() -> None:
    port = FakeControlPort()

    async def scenario() -> tuple[BotApiStub, TelegramControl]:
        async with telegram() as (stub, bot):
            stub.fail_next("getUpdates", "500")
            control = TelegramControl(bot, port, [CHAT], poll_timeout=1, error_backoff=0.01)
            await stub.push_command(CHAT, "/pnl")
            await control.start()
            await until(lambda: bool(stub.texts(CHAT)))
            await control.aclose()
            return stub, control

    stub, control = run(scenario())
    assert stub.texts(CHAT) == ["PnL 0"] and control.errors == 1
