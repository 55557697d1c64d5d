"""``quantbridge paper --telegram`` against a local Telegram Bot API stub: alerts reach the
allowed chat with the exact texts, /commands from it steer the session, a stranger's are
ignored, the daily summary arrives at midnight, and the token never reaches the output."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from quantbridge.datasets.exchange import LocalExchange, MarketData
from quantbridge.datasets.exchange.accounts import AccountConfig
from quantbridge.datasets.exchange.clock import ReplayClock
from quantbridge.runtime.notify.bot_api_stub import BotApiStub
from quantbridge.runtime.store import TradingStore
from tests.local_exchange_fixtures import random_walk_bars

TOKEN = "123456:TEST-token-never-logged"
OWNER, STRANGER = 111, 999
ACCOUNT = "paper:local:demo"
T = TypeVar("T")


class StubThread:
    """The Bot API stub on its own event loop in a thread (the CLI runs in another process)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.stub = BotApiStub(TOKEN)
        self.call(self.stub.start)

    def call(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(timeout=10)

    def texts(self, chat: int) -> list[str]:
        return list(self.stub.texts(chat))

    def close(self) -> None:
        self.call(self.stub.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture
def telegram() -> Iterator[StubThread]:
    stub = StubThread()
    try:
        yield stub
    finally:
        stub.close()


@pytest.fixture
def exchange() -> Iterator[LocalExchange]:
    bars = random_walk_bars(3000, seed=3, step_sd=3.0)
    start = bars.index[0] + (bars.index[1430] - bars.index[0])  # 23:50 on the first day
    clock = ReplayClock(int(start.value // 1_000_000), 120.0)
    market = MarketData.from_bars(bars, clock=clock)
    with LocalExchange(market, accounts=AccountConfig(balances={"USDT": Decimal(1_000_000)})) as served:
        yield served


def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_paper_with_telegram_alerts_obeys_the_owner_ignores_strangers_and_hides_the_token(
    exchange: LocalExchange, telegram: StubThread, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'qb.db'}"
    env = {
        **os.environ,
        "QUANTBRIDGE_TELEGRAM_TOKEN": TOKEN,
        "QUANTBRIDGE_TELEGRAM_CHAT_IDS": str(OWNER),
        "QUANTBRIDGE_TELEGRAM_API_URL": telegram.stub.base_url,
    }
    args = [
        sys.executable, "-m", "quantbridge.cli.main", "paper", "sma_crossover", "-p", "fast=2,slow=5",
        "--exchange-url", exchange.url, "--warmup", "30", "--force", "--force-reason", "telegram test",
        "--duration", "40", "--db", db, "--telegram",
    ]  # fmt: skip
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: any("warmed_up" in t for t in telegram.texts(OWNER)), "the warm-up alert")
        telegram.call(lambda: telegram.stub.push_command(STRANGER, "/kill I am not the owner"))
        telegram.call(lambda: telegram.stub.push_command(OWNER, "/status"))
        _wait_for(
            lambda: any(t.startswith("sma_crossover on BTC/USDT:USDT (paper)") for t in telegram.texts(OWNER)),
            "the /status reply",
        )
        telegram.call(lambda: telegram.stub.push_command(OWNER, "/kill owner says stop"))
        _wait_for(
            lambda: any(t.startswith("kill switch engaged: owner says stop") for t in telegram.texts(OWNER)),
            "the /kill reply",
        )
        _wait_for(
            lambda: any(t.startswith("📊 DAILY 2024-01-01: PnL") for t in telegram.texts(OWNER)),
            "the daily summary at midnight",
        )
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    texts = telegram.texts(OWNER)
    status = next(t for t in texts if t.startswith("sma_crossover on BTC/USDT:USDT (paper)"))
    assert "trading" in status.split("\n")[0] and "breakers tripped: none" in status  # the stranger changed nothing
    assert telegram.texts(STRANGER) == []
    assert "🛑 KILL SWITCH tripped: owner says stop" in texts
    assert any(t.startswith("⚠️ session_started: paper sma_crossover on BTC/USDT:USDT 1m") for t in texts)
    assert any(t.startswith("ℹ️ session_stopped: stopped: SIGTERM received") for t in texts)
    for stream in (out, err, *texts):
        assert TOKEN not in stream and TOKEN.split(":")[1] not in stream
    with TradingStore.open(db, ACCOUNT) as store:
        trips = [d.detail for d in store.risk.all() if d.rule == "kill_switch" and d.outcome == "trip"]
        assert trips == ["owner says stop"]
