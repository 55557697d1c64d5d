"""``quantbridge paper``, ``status``, ``kill`` and ``resume`` end to end: the real CLI in
its own process, the real ccxt client, a local exchange replaying bars 120× faster than
real time in this process, a SQLite store on disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from quantbridge.datasets.exchange import LocalExchange, MarketData
from quantbridge.datasets.exchange.clock import ReplayClock
from quantbridge.runtime.store import TradingStore
from tests.local_exchange_fixtures import random_walk_bars

SPEED = 120.0
PARAMS = "fast=2,slow=5"
ACCOUNT = "paper:local:demo"


@dataclass
class Venue:
    exchange: LocalExchange
    bars: pd.DataFrame
    url: str


@pytest.fixture
def venue() -> Iterator[Venue]:
    bars = random_walk_bars(3000, seed=11, step_sd=3.0)
    clock = ReplayClock(int(bars.index[120].value // 1_000_000), SPEED)
    with LocalExchange(MarketData.from_bars(bars, clock=clock)) as exchange:
        yield Venue(exchange, bars, exchange.url)


def _cli(*args: str, db: str) -> list[str]:
    return [sys.executable, "-m", "quantbridge.cli.main", *args, "--db", db]


def _paper(venue: Venue, db: str, *extra: str) -> list[str]:
    return _cli("paper", "sma_crossover", "-p", PARAMS, "--exchange-url", venue.url, "--warmup", "30", *extra, db=db)


def _run(args: list[str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)


def _wait_running(db: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with TradingStore.open(db, ACCOUNT) as store:
            run = store.runs.latest(ACCOUNT)
            if run is not None and run.status == "running" and run.heartbeat is not None:
                return
        time.sleep(0.2)
    raise AssertionError("the paper session did not start")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'qb.db'}"


def test_paper_without_a_certificate_is_refused_naming_the_version(venue: Venue, db: str) -> None:
    done = _run(_paper(venue, db, "--duration", "2"))
    assert done.returncode == 3, done.stderr
    assert "refused: sma_crossover" in done.stderr and "no certificate exists" in done.stderr
    assert "--force" in done.stderr
    with TradingStore.open(db, ACCOUNT) as store:
        assert store.runs.latest(ACCOUNT) is None  # nothing ran, nothing traded


def test_paper_run_trades_next_bar_open_records_everything_and_status_reports_it(venue: Venue, db: str) -> None:
    done = _run(_paper(venue, db, "--duration", "8", "--force", "--force-reason", "test run"))
    assert done.returncode == 0, done.stderr
    assert "stopped" in done.stdout
    with TradingStore.open(db, ACCOUNT) as store:
        run = store.runs.latest(ACCOUNT)
        assert run is not None and run.status == "stopped" and run.forced and run.force_reason == "test run"
        assert "duration of 8 s reached" in run.stop_reason
        fills, orders = store.fills.all(), list(store.orders)
        assert len(fills) >= 2, "a 2/5 SMA crossover on a random walk trades within ~16 minutes"
        for fill in fills:  # the paper venue is the backtest's: market orders fill at the next bar's open
            order = store.orders.get(fill.client_order_id)
            assert order is not None and order.status.value == "filled"
            next_open = order.signal_bar + pd.Timedelta(minutes=1)
            assert fill.ts == next_open
            assert fill.price == Decimal(str(round(venue.bars.loc[next_open, "open"], 1)))
        assert {o.client_order_id for o in orders if o.status.value == "filled"} == {f.client_order_id for f in fills}
        for order in orders:  # a clean stop leaves nothing working in a book that dies with the process
            assert order.status.value in ("filled", "cancelled"), order
            if order.status.value == "cancelled":
                assert order.reason.startswith("paper session stopped")
        position = store.accounts.positions()["BTC/USDT:USDT"]
        assert position.qty == sum((f.signed_qty for f in fills), Decimal(0))
        kinds = [a.kind for a in store.alerts.recent(100)]
        assert "session_started" in kinds and "fill" in kinds and "session_stopped" in kinds
    shown = _run(_cli("status", db=db))
    assert shown.returncode == 0, shown.stderr
    assert ACCOUNT in shown.stdout and "FORCED: test run" in shown.stdout and f"fills: {len(fills)}" in shown.stdout


def test_kill_reaches_a_running_session_and_resume_is_kept_for_the_next_start(venue: Venue, db: str) -> None:
    process = subprocess.Popen(
        _paper(venue, db, "--duration", "30", "--force"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_running(db)
        killed = _run(_cli("kill", "--reason", "operator test", db=db))
        assert killed.returncode == 0, killed.stderr
        assert f"{ACCOUNT}: kill switch engaged: operator test" in killed.stdout
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    with TradingStore.open(db, ACCOUNT) as store:
        run = store.runs.latest(ACCOUNT)
        assert run is not None and run.status == "stopped" and run.stop_reason == "SIGTERM received"
        trips = [d for d in store.risk.all() if d.outcome == "trip" and d.rule == "kill_switch"]
        assert [d.detail for d in trips] == ["operator test"]
        assert store.risk.breaker_states()["kill_switch"].outcome == "trip"
    shown = _run(_cli("status", db=db))
    assert "TRIPPED kill_switch (operator test)" in shown.stdout
    resumed = _run(_cli("resume", "--account", ACCOUNT, db=db))  # nothing running: recorded for the next start
    assert resumed.returncode == 0 and "kill switch reset recorded for its next start" in resumed.stdout
    with TradingStore.open(db, ACCOUNT) as store:
        assert store.risk.breaker_states()["kill_switch"].outcome == "reset"


def test_kill_with_nothing_running_and_no_account_is_bad_input(db: str) -> None:
    done = _run(_cli("kill", db=db))
    assert done.returncode == 2 and "no paper or live session is running" in done.stderr


def test_paper_with_a_passing_certificate_needs_no_force_and_records_which(venue: Venue, db: str) -> None:
    from datetime import UTC, datetime

    from quantbridge.research.catalogue import CATALOGUE
    from quantbridge.validation.certificates import CertificateStore, certify

    spec = CATALOGUE.get("sma_crossover")
    params = spec.bind({"fast": "2", "slow": "5"})
    with CertificateStore(db) as certificates:
        for day, passed in ((1, True), (2, False)):  # the newest evidence wins: a later failure revokes a pass
            made = datetime(2026, 1, day, tzinfo=UTC)
            cert = certify(spec.name, spec.function, params, spec.rules, spec.model, venue.bars, {}, passed=passed,
                           created_at=made)  # fmt: skip
            certificates.record(cert)
        assert _run(_paper(venue, db, "--duration", "2")).returncode == 3
        made = datetime(2026, 1, 3, tzinfo=UTC)
        passing = certificates.record(
            certify(spec.name, spec.function, params, spec.rules, spec.model, venue.bars, {}, passed=True,
                    created_at=made)
        )  # fmt: skip
    done = _run(_paper(venue, db, "--duration", "3"))
    assert done.returncode == 0, done.stderr
    with TradingStore.open(db, ACCOUNT) as store:
        run = store.runs.latest(ACCOUNT)
        assert run is not None and not run.forced and run.certificate_id == passing.id


def test_live_on_a_real_exchange_needs_credentials_and_refuses_a_file_others_can_read(db: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANTBRIDGE_") or k == "QUANTBRIDGE_DB"}
    args = _cli("live", "sma_crossover", "--exchange", "binanceusdm", "--force", db=db)
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert "no credentials for binanceusdm" in done.stderr and "QUANTBRIDGE_BINANCEUSDM_API_KEY" in done.stderr
    secret_file = tmp_path / "keys.json"
    secret_file.write_text('{"api_key": "AKIA-visible-key", "secret": "very-secret-value"}', encoding="utf-8")
    secret_file.chmod(0o644)
    done = subprocess.run([*args, "--credentials", str(secret_file)], capture_output=True, text=True, timeout=60,
                          env=env)  # fmt: skip
    assert done.returncode == 2 and "chmod 600" in done.stderr
    assert "AKIA-visible-key" not in done.stderr + done.stdout and "very-secret-value" not in done.stderr + done.stdout


def test_paper_restarted_continues_its_position_so_reversals_and_positions_stay_whole(venue: Venue, db: str) -> None:
    for seconds in ("6", "12"):  # the second run starts with the first run's position in the simulated book
        done = _run(_paper(venue, db, "--duration", seconds, "--force"))
        assert done.returncode == 0, done.stderr
    with TradingStore.open(db, ACCOUNT) as store:
        runs = store.runs.all(ACCOUNT)
        assert [run.status for run in runs] == ["stopped", "stopped"]
        fills = store.fills.all()
        assert any(fill.ts > runs[1].started for fill in fills), "the second run must trade"
        held = Decimal(0)
        for fill in fills:  # sma_crossover holds one unit, long or short: a reversal trades two
            held += fill.signed_qty
            assert abs(held) == 1, f"after fill {fill.fill_id}: position {held}"
        assert store.accounts.positions()["BTC/USDT:USDT"].qty == held
        cancelled = [o.reason for o in store.orders if o.status.value == "cancelled"]
        assert all(reason.startswith("paper session stopped") for reason in cancelled), cancelled


def test_a_second_session_on_a_traded_account_is_refused_and_stale_requests_expire(venue: Venue, db: str) -> None:
    from quantbridge.runtime.clock import WallClock

    with TradingStore.open(db, ACCOUNT) as store:  # left by a kill nobody confirmed
        stale = store.control.request(ACCOUNT, "kill", "stale", "cli", WallClock().now())
    process = subprocess.Popen(_paper(venue, db, "--duration", "20", "--force"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        _wait_running(db)
        second = _run(_paper(venue, db, "--duration", "2", "--force"))
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    finally:
        process.kill()
    assert second.returncode == 1 and "is being traded by run 1" in second.stderr
    with TradingStore.open(db, ACCOUNT) as store:
        request = store.control.get(stale)
        assert request is not None and request.result.startswith("expired")
        assert [r.status for r in store.runs.all(ACCOUNT)] == ["stopped"]  # the refused run left no record
        assert not [d for d in store.risk.all() if d.outcome == "trip"]
