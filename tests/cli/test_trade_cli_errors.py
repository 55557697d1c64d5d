"""Bad input to ``quantbridge paper`` / ``status`` / ``kill`` / ``resume`` ends in exit 2 and
one ``error:`` line naming the bad value — never a traceback, never a recorded run — run
through the real CLI in its own process; plus the secrets kept out of a connection's
repr and the crash detection of a run whose process id was reused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from quantbridge.runtime.store import RunStore, TradingStore, open_database

ACCOUNT = "paper:local:demo"
T0 = pd.Timestamp("2024-03-01 12:00", tz="UTC")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    command = [sys.executable, "-m", "quantbridge.cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def _paper(db: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return _run("paper", "sma_crossover", "--db", db, "--force", "--duration", "1", *extra)


def _assert_bad_input(done: subprocess.CompletedProcess[str], *named: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert "error:" in done.stderr, done.stderr
    for text in named:
        assert text in done.stderr, done.stderr


def _runs(db: str) -> tuple[object, ...]:
    with TradingStore.open(db, ACCOUNT) as store:
        return store.runs.all()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'qb.db'}"


@pytest.mark.parametrize("command", ["paper", "status"])
def test_a_database_url_that_cannot_be_opened_is_bad_input_named_without_its_password(command: str) -> None:
    for url, shown in (("notaurl://x", "notaurl://x"), ("notaurl://trader:hunter2@db.example/qb", "trader:***@")):
        done = _paper(url) if command == "paper" else _run("status", "--db", url)
        _assert_bad_input(done, "--db", shown)
        assert "hunter2" not in done.stderr + done.stdout


@pytest.mark.parametrize(("timeframe", "why"), [("7q", "not a timeframe"), ("2d", "from 1s to 1d"), ("0m", "1s to 1d")])
def test_a_timeframe_that_cannot_be_served_is_refused_before_anything_runs(
    timeframe: str, why: str, db: str, tmp_path: Path
) -> None:
    done = _paper(db, "--timeframe", timeframe)
    _assert_bad_input(done, f"--timeframe {timeframe!r}", why)
    assert not (tmp_path / "qb.db").exists()  # refused before the gate opened the database


def test_a_timeframe_the_exchange_does_not_serve_is_bad_input_and_records_no_run(db: str) -> None:
    done = _paper(db, "--timeframe", "1s")  # the bundled data is 1m bars: no 1s candles
    _assert_bad_input(done, "--timeframe '1s'", "serves no candles of this interval")
    assert _runs(db) == ()


def test_a_symbol_the_local_exchange_does_not_list_is_bad_input_and_records_no_run(db: str) -> None:
    done = _paper(db, "--symbol", "FOO/BAR")
    _assert_bad_input(done, "--symbol 'FOO/BAR'", "not listed", "BTC/USDT:USDT")
    assert _runs(db) == ()


def test_an_account_name_the_store_refuses_is_bad_input(db: str, tmp_path: Path) -> None:
    done = _paper(db, "--account", " padded")
    _assert_bad_input(done, "--account", "' padded'", "surrounding blanks")
    assert not (tmp_path / "qb.db").exists()


@pytest.mark.parametrize("command", ["kill", "resume"])
def test_kill_or_resume_of_an_account_never_seen_is_bad_input_listing_the_known_ones(command: str, db: str) -> None:
    with TradingStore.open(db, ACCOUNT) as store:
        run = store.runs.start(ACCOUNT, "paper", "sma_crossover", ["BTC/USDT:USDT"], "local", {}, T0)
        store.runs.stop(run, T0 + pd.Timedelta(minutes=1))
    done = _run(command, "--account", "typo", "--db", db)
    _assert_bad_input(done, "--account 'typo'", f"known accounts: {ACCOUNT}")
    with TradingStore.open(db, "typo") as store:
        assert not store.risk.all()  # nothing armed for an account that does not exist


def test_a_connection_repr_shows_neither_the_api_key_nor_the_secret() -> None:
    from quantbridge.cli.trade_setup import Connection
    from quantbridge.runtime.clock import ScaledClock

    key, secret = "AKIA-visible-key", "very-secret-value"

    class Rest:  # a ccxt client keeps the credentials it signs with
        def __repr__(self) -> str:
            return f"Rest(apiKey={key}, secret={secret})"

    connection = Connection("binanceusdm", Rest(), object, ScaledClock(T0, 1.0), (key, secret), "key-fingerprint")
    shown = repr(connection)
    assert "binanceusdm" in shown and "key-fingerprint" in shown
    assert key not in shown and secret not in shown


def test_a_running_run_with_this_process_id_that_this_process_did_not_start_is_crashed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    engine = open_database(url)
    try:
        runs = RunStore(engine)
        earlier = (  # an earlier process (a container ago) that had the id this process has now
            "import sys; from quantbridge.runtime.store import RunStore, open_database; import pandas as pd;"
            "store = RunStore(open_database(sys.argv[1]));"
            "print(store.start('paper-1', 'paper', 'sma', ['BTC/USDT'], 'local', {}, pd.Timestamp(0, tz='UTC'),"
            " pid=int(sys.argv[2])))"
        )
        made = subprocess.run([sys.executable, "-c", earlier, url, str(os.getpid())], capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        reused = int(made.stdout)
        mine = runs.start("paper-2", "paper", "sma", ["BTC/USDT"], "local", {}, T0)  # this process's own run

        assert runs.mark_crashed_if_stale(T0 + pd.Timedelta(hours=1)) == (reused,)

        record = runs.get(reused)
        assert record is not None and record.pid == os.getpid() and record.status == "crashed"
        assert [r.id for r in runs.running()] == [mine]
        assert RunStore(engine).mark_crashed_if_stale(T0 + pd.Timedelta(hours=2)) == ()  # a new store knows it too
    finally:
        engine.dispose()
