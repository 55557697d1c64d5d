"""``quantbridge status``, ``quantbridge kill`` and ``quantbridge resume``: read and steer
paper/live runs through the store — from any shell, while the runs trade in their own
processes.

``kill`` queues a request that a running session picks up within a second (it trips the
kill switch: entries blocked, working entries cancelled) and waits for the answer; for an
account with no running session (but with runs recorded) it records the trip itself, so the
next run starts with the switch engaged. ``resume`` re-arms it the same way. Exit codes:
0 done, 1 a running session did not confirm within ``--wait`` seconds, 2 bad input (an
account without any recorded run, a database that cannot be opened, nothing running).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Final

import typer

from .research_common import console, fail
from .trade_setup import check_account, database_errors

if TYPE_CHECKING:
    from quantbridge.runtime.store import TradingStore
    from quantbridge.runtime.store.runs import RunRecord

__all__ = ["kill", "resume", "status"]

EXIT_UNCONFIRMED: Final = 1
_POLL: Final = 0.1

DbOpt = Annotated[str | None, typer.Option(help="Database URL (default $QUANTBRIDGE_DB, else .quantbridge/).")]
AccountOpt = Annotated[str | None, typer.Option(help="Only this account (default: every account with a run).")]


def _url(db: str | None) -> str:
    from quantbridge.runtime.store import default_database_url

    return db or default_database_url()


def _now() -> object:
    from quantbridge.runtime.clock import WallClock

    return WallClock().now()


def _open(db: str | None, account: str) -> TradingStore:
    from quantbridge.runtime.store import TradingStore

    with database_errors():
        return TradingStore.open(_url(db), account)


def _latest_runs(store: TradingStore, account: str | None) -> list[RunRecord]:
    store.runs.mark_crashed_if_stale(_now(), account)  # type: ignore[arg-type]
    runs = store.runs.all(account)
    latest: dict[str, RunRecord] = {}
    for run in runs:
        if run.account not in latest or run.id > latest[run.account].id:
            latest[run.account] = run
    return sorted(latest.values(), key=lambda r: r.id)


# ---- status -------------------------------------------------------------------------------------
def status(db: DbOpt = None, account: AccountOpt = None) -> None:
    """Strategies, open orders, positions, P&L and risk state of paper/live runs, from the store."""
    check_account(account)
    with _open(db, account or "status") as store:
        runs = _latest_runs(store, account)
        if not runs:
            typer.echo("no paper or live runs recorded" + (f" for account {account}" if account else ""))
            return
        _print_runs(runs)
        for run in runs:
            with _open(db, run.account) as mine:
                _print_account(mine)


def _print_runs(runs: Sequence[RunRecord]) -> None:
    from rich.table import Table

    table = Table(title="runs (latest per account)")
    for column in ("run", "account", "mode", "strategy", "symbols", "status", "started", "last heartbeat", "gate"):
        table.add_column(column)
    for run in runs:
        gate = f"FORCED: {run.force_reason}" if run.forced else f"certificate {run.certificate_id}"
        beat = run.heartbeat.strftime("%Y-%m-%d %H:%M:%S") if run.heartbeat is not None else "-"
        table.add_row(
            str(run.id),
            run.account,
            run.mode,
            run.strategy,
            ",".join(run.symbols),
            run.status + (f" ({run.stop_reason})" if run.stop_reason else ""),
            run.started.strftime("%Y-%m-%d %H:%M:%S"),
            beat,
            gate,
        )
    console().print(table)


def _realised(store: TradingStore) -> tuple[Decimal, Decimal]:
    """Realised P&L net of commission (the runtime's own ledger replaying the stored fills,
    point value 1 as for linear USDT contracts) and the commission paid."""
    from quantbridge.datasets.trade_list import ExitReason
    from quantbridge.runtime.accounting import Ledger
    from quantbridge.runtime.execution import DEFAULT_MONEY_STEP

    fills = store.fills.all()
    ledger = Ledger(Decimal(0), {fill.symbol: Decimal(1) for fill in fills}, DEFAULT_MONEY_STEP)
    pnl = sum(
        (trade.pnl for fill in fills for trade in ledger.apply(fill, tag="", reason=ExitReason.SIGNAL)), Decimal(0)
    )
    return pnl, sum((fill.commission for fill in fills), Decimal(0))


def _print_account(store: TradingStore) -> None:
    out = console()
    out.rule(f"account {store.account}")
    opened = store.orders.open_orders()
    out.print(f"open orders: {len(opened)}")
    for order in opened:
        level = order.price or order.stop or ""
        out.print(
            f"  {order.client_order_id} {order.strategy_id} {order.side.value} {order.type.value} "
            f"{order.qty} {order.symbol} {level} [{order.status.value}]"
        )
    positions = [p for p in store.accounts.positions().values() if p.qty != 0]
    out.print("positions: " + (", ".join(f"{p.symbol} {p.qty} @ {p.avg_price}" for p in positions) or "flat"))
    balances = store.accounts.balances().values()
    if balances:
        out.print("exchange wallet: " + ", ".join(f"{b.asset} {b.total:,} (free {b.free:,})" for b in balances))
    pnl, fees = _realised(store)
    out.print(f"fills: {len(store.fills)}, realised P&L {pnl:,.4f} (net), commission {fees:,.4f}")
    tripped = [f"{name} ({d.detail})" for name, d in store.risk.breaker_states().items() if d.outcome == "trip"]
    out.print("risk: " + ("TRIPPED " + "; ".join(tripped) if tripped else "no breaker tripped"))
    fixes = store.reconciliations.all()
    if fixes:
        out.print(f"reconciliation corrections: {len(fixes)} (latest: {fixes[-1].kind} {fixes[-1].detail})")
    for alert in store.alerts.recent(5):
        out.print(f"  alert {alert.ts:%Y-%m-%d %H:%M:%S} {alert.kind}: {alert.message}")


# ---- kill / resume ------------------------------------------------------------------------------
def _targets(store: TradingStore, account: str | None) -> tuple[list[str], list[str]]:
    """(accounts with a running session, accounts named but idle)."""
    store.runs.mark_crashed_if_stale(_now(), account)  # type: ignore[arg-type]
    running = sorted({run.account for run in store.runs.running(account)})
    if account is not None and not running:
        _check_known(store, account)
        return [], [account]
    if not running:
        raise fail("no paper or live session is running; name --account to set its kill switch for the next start")
    return running, []


def _check_known(store: TradingStore, account: str) -> None:
    """Exit 2 when no run of ``account`` was ever recorded (a typo would arm nothing)."""
    if store.runs.all(account):
        return
    known = sorted({run.account for run in store.runs.all()})
    listed = ", ".join(known) if known else "none: no paper or live run is recorded in this database"
    raise fail(f"--account {account!r}: no run of this account was ever recorded (known accounts: {listed})")


def _await(store: TradingStore, request_id: int, wait: float) -> str | None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        request = store.control.get(request_id)
        if request is not None and request.handled_at is not None:
            return request.result
        time.sleep(_POLL)
    return None


def _steer(command: str, outcome: str, db: str | None, account: str | None, reason: str, wait: float) -> None:
    from quantbridge.runtime.components.risk_store import RiskDecision

    check_account(account)
    unconfirmed = 0
    with _open(db, account or "control") as store:
        running, idle = _targets(store, account)
        for name in running:
            request_id = store.control.request(name, command, reason, "cli", _now())  # type: ignore[arg-type]
            result = _await(store, request_id, wait)
            unconfirmed += result is None
            typer.echo(f"{name}: {result or f'{command} requested; not confirmed within {wait:g} s'}")
    for name in idle:
        with _open(db, name) as mine:
            mine.risk.add(RiskDecision(_now(), "", "kill_switch", outcome, reason))  # type: ignore[arg-type]
            typer.echo(f"{name}: no running session; kill switch {outcome} recorded for its next start")
    if unconfirmed:
        raise typer.Exit(EXIT_UNCONFIRMED)


WaitOpt = Annotated[float, typer.Option(min=0, help="Seconds to wait for a running session to confirm.")]


def kill(
    account: AccountOpt = None,
    reason: Annotated[str, typer.Option(help="Why (stored and alerted).")] = "kill switch from the CLI",
    db: DbOpt = None,
    wait: WaitOpt = 10.0,
) -> None:
    """Trip the kill switch: no new entries, working entries cancelled, until `quantbridge resume`."""
    _steer("kill", "trip", db, account, reason, wait)


def resume(account: AccountOpt = None, db: DbOpt = None, wait: WaitOpt = 10.0) -> None:
    """Release the kill switch (entries allowed again)."""
    _steer("resume", "reset", db, account, "resumed from the CLI", wait)
