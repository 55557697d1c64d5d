"""RunStore: one row per paper or live run — what traded, where, and how it ended.

A run starts ``running`` with the process id and host of the process that trades; it
beats (:meth:`RunStore.heartbeat`) while it trades and ends ``stopped`` (asked to),
``failed`` (an error ended it) or ``crashed``. A process that died without saying so
is found by :meth:`RunStore.mark_crashed_if_stale`: a ``running`` run on *this* host
whose process no longer exists is marked ``crashed`` (runs of other hosts cannot be
checked from here and are left alone). A run carrying *this* process's id that this
process did not start is crashed too: its process died and the id was handed out again
(a restarted container numbers its processes from 1 again). Every write is its own
committed transaction.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

import pandas as pd
from sqlalchemy import Engine, insert, select, update

from ._base import checked_account, reading
from .schema import RUN_MODES, RunRow

__all__ = ["RunEnding", "RunMode", "RunRecord", "RunStatus", "RunStore", "UnknownRunError", "process_alive"]

RunMode = Literal["paper", "live"]
RunStatus = Literal["running", "stopped", "crashed", "failed"]
RunEnding = Literal["stopped", "crashed", "failed"]
_ENDINGS: Final = ("stopped", "crashed", "failed")
#: The runs this process started, as (database, run id): a ``running`` run with this
#: process's id that is not among them belongs to an earlier process whose id was reused.
_OWN_RUNS: set[tuple[str, int]] = set()


class UnknownRunError(KeyError):
    """No run has this id."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as stored (``heartbeat`` and ``stopped`` are None until they happen)."""

    id: int
    account: str
    mode: RunMode
    strategy: str
    symbols: tuple[str, ...]
    exchange: str
    params: Mapping[str, Any]
    forced: bool
    force_reason: str
    certificate_id: int | None
    pid: int
    host: str
    started: pd.Timestamp
    heartbeat: pd.Timestamp | None
    stopped: pd.Timestamp | None
    status: RunStatus
    stop_reason: str


def _record(row: RunRow) -> RunRecord:
    return RunRecord(
        id=row.id,
        account=row.account,
        mode=cast("RunMode", row.mode),
        strategy=row.strategy,
        symbols=tuple(row.symbols),
        exchange=row.exchange,
        params=row.params,
        forced=row.forced,
        force_reason=row.force_reason,
        certificate_id=row.certificate_id,
        pid=row.pid,
        host=row.host,
        started=row.started,
        heartbeat=row.heartbeat,
        stopped=row.stopped,
        status=cast("RunStatus", row.status),
        stop_reason=row.stop_reason,
    )


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (``os.kill(pid, 0)``; an exited
    child that was not waited for still exists, as a zombie)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by another user
        return True
    return True


class RunStore:
    """The ``runs`` table (all accounts). ``host`` names this machine (default: its host name)."""

    def __init__(self, engine: Engine, *, host: str | None = None) -> None:
        self._engine = engine
        self._database = engine.url.render_as_string(hide_password=True)
        self.host = host or socket.gethostname()

    def start(
        self,
        account: str,
        mode: RunMode,
        strategy: str,
        symbols: Sequence[str],
        exchange: str,
        params: Mapping[str, object],
        started: pd.Timestamp,
        *,
        forced: bool = False,
        force_reason: str = "",
        certificate_id: int | None = None,
        pid: int | None = None,
    ) -> int:
        """Record a new ``running`` run of this process (or of ``pid``) on this host; returns its id.
        ``forced`` (trading without a passing certificate) needs a ``force_reason``; parameter
        values JSON cannot hold are stored as their text."""
        if mode not in RUN_MODES:
            raise ValueError(f"run mode {mode!r}: expected one of {', '.join(RUN_MODES)}")
        if forced and not force_reason.strip():
            raise ValueError("a forced run needs a force_reason")
        statement = insert(RunRow).values(
            account=checked_account(account),
            mode=mode,
            strategy=strategy,
            symbols=list(symbols),
            exchange=exchange,
            params=json.loads(json.dumps(dict(params), sort_keys=True, default=str)),
            forced=forced,
            force_reason=force_reason,
            certificate_id=certificate_id,
            pid=os.getpid() if pid is None else pid,
            host=self.host,
            started=started,
            status="running",
            stop_reason="",
        )
        with self._engine.begin() as connection:
            key = connection.execute(statement).inserted_primary_key
        if key is None:  # pragma: no cover - every backend we support returns the new id
            raise RuntimeError("the database did not return the new run's id")
        run_id = int(key[0])
        if pid is None or pid == os.getpid():
            _OWN_RUNS.add((self._database, run_id))
        return run_id

    def _update(self, run_id: int, **values: object) -> None:
        with self._engine.begin() as connection:
            changed = connection.execute(update(RunRow).where(RunRow.id == run_id).values(**values)).rowcount
        if changed != 1:
            raise UnknownRunError(f"run {run_id} does not exist")

    def heartbeat(self, run_id: int, ts: pd.Timestamp) -> None:
        """The run is alive at ``ts``."""
        self._update(run_id, heartbeat=ts)

    def stop(self, run_id: int, ts: pd.Timestamp, status: RunEnding = "stopped", reason: str = "") -> None:
        """The run ended at ``ts``: ``stopped``, ``failed`` or ``crashed``, and why."""
        if status not in _ENDINGS:
            raise ValueError(f"run status {status!r}: a run ends {', '.join(_ENDINGS)}")
        self._update(run_id, stopped=ts, status=status, stop_reason=reason)

    def mark_crashed_if_stale(self, ts: pd.Timestamp, account: str | None = None) -> tuple[int, ...]:
        """Mark ``crashed`` (stopped at ``ts``) every ``running`` run of this host whose process
        is gone (of ``account``, when given); returns their ids, oldest first. A run with this
        process's id that this process did not start counts as gone (the id was reused)."""
        crashed: list[int] = []
        for run in self.running(account):
            if run.host != self.host or self._alive(run):
                continue
            reason = f"process {run.pid} on {run.host} was gone at {ts.isoformat()} (last heartbeat {run.heartbeat})"
            statement = (
                update(RunRow)
                .where(RunRow.id == run.id, RunRow.status == "running")
                .values(status="crashed", stopped=ts, stop_reason=reason)
            )
            with self._engine.begin() as connection:
                if connection.execute(statement).rowcount == 1:
                    crashed.append(run.id)
        return tuple(crashed)

    def _alive(self, run: RunRecord) -> bool:
        if run.pid == os.getpid():
            return (self._database, run.id) in _OWN_RUNS
        return process_alive(run.pid)

    def get(self, run_id: int) -> RunRecord | None:
        with reading(self._engine) as session:
            row = session.get(RunRow, run_id)
            return None if row is None else _record(row)

    def latest(self, account: str | None = None) -> RunRecord | None:
        """The run started last (of ``account``, when given)."""
        query = select(RunRow).order_by(RunRow.id.desc()).limit(1)
        if account is not None:
            query = query.where(RunRow.account == account)
        with reading(self._engine) as session:
            row = session.scalars(query).first()
            return None if row is None else _record(row)

    def all(self, account: str | None = None) -> tuple[RunRecord, ...]:
        """Every run (of ``account``, when given), oldest first."""
        query = select(RunRow).order_by(RunRow.id)
        if account is not None:
            query = query.where(RunRow.account == account)
        with reading(self._engine) as session:
            return tuple(_record(row) for row in session.scalars(query))

    def running(self, account: str | None = None) -> tuple[RunRecord, ...]:
        """The runs marked ``running`` (of ``account``, when given), oldest first."""
        query = select(RunRow).where(RunRow.status == "running").order_by(RunRow.id)
        if account is not None:
            query = query.where(RunRow.account == account)
        with reading(self._engine) as session:
            return tuple(_record(row) for row in session.scalars(query))
