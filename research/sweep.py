"""Fast-path parameter sweeps: every combination of a grid through the prototype and
:func:`~quantbridge.research.simulator.simulate`, on Dask, one row per combination.

A row holds ``prototype``, ``setup`` (a fingerprint of the bars, rules, model and
engine), the parameters, every metric of :attr:`Result.metrics`, ``status`` (``ok`` /
``failed``) and ``error`` (the exception, for a failed combination). A failing
combination never costs the others: it is reported in its own row.

:func:`sweep_to_parquet` keeps the rows in a Parquet table, written atomically every
few rows, and on a rerun skips the combinations already there with status ``ok`` (for
the same setup); failed ones run again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from quantbridge.datasets.execution import ExecutionModel

from .grid import GridInput, combo_key, expand_grid, parse_grid
from .parallel import map_unordered, progress_bar
from .registry import ParamError, ParamValue, PrototypeSpec
from .results import STATUS_FAILED, STATUS_OK, describe_error, read_results, write_parquet_atomic
from .rules import PositionRules
from .simulator import Engine, simulate

__all__ = [
    "STATUS_FAILED",
    "STATUS_OK",
    "SweepJob",
    "plan_sweep",
    "read_results",
    "run_combination",
    "sweep_prototype",
    "sweep_to_parquet",
    "write_parquet_atomic",
]

FLUSH_EVERY = 20

Row = dict[str, object]


@dataclass(frozen=True)
class SweepJob:
    """What every combination shares besides its parameters (sent to each worker once)."""

    spec: PrototypeSpec
    rules: PositionRules
    model: ExecutionModel
    engine: str
    setup: str


def sweep_prototype(
    spec: PrototypeSpec,
    bars: pd.DataFrame,
    grid: GridInput,
    rules: PositionRules | None = None,
    model: ExecutionModel | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    *,
    engine: Engine | str = Engine.AUTO,
) -> pd.DataFrame:
    """Run every combination of ``grid`` and return one row per combination.

    ``grid``: ``{"fast": "5:50:5", "slow": [50, 100]}`` or ``["fast=5:50:5", …]``
    (see :mod:`quantbridge.research.grid`); parameters not in it keep their default.
    ``rules`` / ``model`` default to the prototype's. ``scheduler``: ``None`` for a
    local Dask cluster, a scheduler address, or ``"synchronous"`` (this process).
    Raises :class:`ParamError` for an unknown parameter or a bad grid value.
    """
    combos = plan_sweep(spec, grid)
    job = _job(spec, bars, rules, model, engine)
    return results_frame(_rows(combos, bars, job, scheduler, progress), spec)


def sweep_to_parquet(
    spec: PrototypeSpec,
    bars: pd.DataFrame,
    grid: GridInput,
    out: str | os.PathLike[str],
    rules: PositionRules | None = None,
    model: ExecutionModel | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    *,
    engine: Engine | str = Engine.AUTO,
    flush_every: int = FLUSH_EVERY,
) -> pd.DataFrame:
    """:func:`sweep_prototype`, resumable: finished rows are appended to the Parquet
    table ``out`` as they come (atomic rewrites), and combinations already in it with
    status ``ok`` for the same setup are skipped. Returns this grid's rows."""
    path = Path(out)
    combos = plan_sweep(spec, grid)
    job = _job(spec, bars, rules, model, engine)
    table = read_results(path)
    done = _keys(table, job, STATUS_OK)
    todo = [combo for combo in combos if combo_key(combo) not in done]
    table = _drop(table, job, {combo_key(combo) for combo in todo})
    pending: list[Row] = []
    for row in _rows(todo, bars, job, scheduler, progress):
        pending.append(row)
        if len(pending) >= flush_every:
            table, pending = _append(path, table, pending, spec), []
    table = _append(path, table, pending, spec)
    wanted = {combo_key(combo) for combo in combos}
    return table[_row_keys(table, job).isin(wanted)].reset_index(drop=True)


def plan_sweep(spec: PrototypeSpec, grid: GridInput) -> list[dict[str, ParamValue]]:
    """Every combination of ``grid`` as full parameter sets (checked, typed)."""
    return expand_grid(spec.defaults, parse_grid(spec.params, grid))


def run_combination(params: Mapping[str, ParamValue], *, bars: pd.DataFrame, job: SweepJob) -> Row:
    """One grid point: prototype → ``simulate`` → metrics, or the error in the row."""
    row: Row = {"prototype": job.spec.name, "setup": job.setup, **params}
    try:
        signals = job.spec(bars, **params)
        result = simulate(bars, signals, job.rules, job.model, engine=job.engine)
    except Exception as exc:  # any failure of one combination is that row's result
        return {**row, "status": STATUS_FAILED, "error": describe_error(exc)}
    return {**row, **result.metrics, "status": STATUS_OK, "error": ""}


def results_frame(rows: Iterable[Row], spec: PrototypeSpec) -> pd.DataFrame:
    """Rows as a frame: prototype, setup, parameters, metrics, status, error — sorted by parameters."""
    frame = pd.DataFrame(list(rows))
    head = ["prototype", "setup", *(p.name for p in spec.params)]
    tail = ["status", "error"]
    for column in (*head, *tail):
        if column not in frame:
            frame[column] = pd.Series(dtype="object")
    middle = [c for c in frame.columns if c not in head and c not in tail]
    ordered = frame[[*head, *middle, *tail]]
    return ordered.sort_values(head[2:], kind="stable", na_position="last").reset_index(drop=True)


def setup_fingerprint(bars: pd.DataFrame, rules: PositionRules, model: ExecutionModel, engine: str) -> str:
    """A short hash of everything besides the parameters that decides a row's metrics."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(bars, index=True).to_numpy().tobytes())
    digest.update("|".join((rules.fingerprint(), model.fingerprint(), engine)).encode())
    return digest.hexdigest()[:16]


def _job(
    spec: PrototypeSpec,
    bars: pd.DataFrame,
    rules: PositionRules | None,
    model: ExecutionModel | None,
    engine: Engine | str,
) -> SweepJob:
    chosen_rules = rules or spec.rules
    chosen_model = model or spec.model
    chosen_engine = Engine(engine).value
    setup = setup_fingerprint(bars, chosen_rules, chosen_model, chosen_engine)
    return SweepJob(spec, chosen_rules, chosen_model, chosen_engine, setup)


def _rows(
    combos: Sequence[dict[str, ParamValue]], bars: pd.DataFrame, job: SweepJob, scheduler: str | None, progress: bool
) -> Iterator[Row]:
    shared = {"bars": bars, "job": job}
    with progress_bar(len(combos), f"sweep {job.spec.name}", progress) as advance:
        for position, outcome in map_unordered(run_combination, combos, scheduler=scheduler, shared=shared):
            advance()
            if isinstance(outcome, Exception):
                base: Row = {"prototype": job.spec.name, "setup": job.setup, **combos[position]}
                yield {**base, "status": STATUS_FAILED, "error": describe_error(outcome)}
            else:
                yield outcome


def _row_keys(table: pd.DataFrame, job: SweepJob) -> pd.Series:
    """Each row's combination key, or None for rows of another prototype or setup."""
    if table.empty or "prototype" not in table:
        return pd.Series([None] * len(table), index=table.index, dtype="object")
    names = [p.name for p in job.spec.params]
    mine = (table["prototype"] == job.spec.name) & (table["setup"] == job.setup)
    records = table.reindex(columns=names).to_dict("records")
    keys: list[str | None] = [
        _key(job.spec, row) if is_mine else None for is_mine, row in zip(mine, records, strict=True)
    ]
    return pd.Series(keys, index=table.index, dtype="object")


def _key(spec: PrototypeSpec, row: Mapping[Hashable, object]) -> str | None:
    try:
        return combo_key({p.name: p.coerce(row[p.name]) for p in spec.params})
    except (ParamError, KeyError):
        return None


def _keys(table: pd.DataFrame, job: SweepJob, status: str) -> set[str]:
    keys = _row_keys(table, job)
    return {str(k) for k in keys[(table["status"] == status) & keys.notna()]} if len(table) else set()


def _drop(table: pd.DataFrame, job: SweepJob, keys: set[str]) -> pd.DataFrame:
    """``table`` without the rows of ``keys`` (stale failures about to run again)."""
    if table.empty:
        return table
    return table[~_row_keys(table, job).isin(keys)].reset_index(drop=True)


def _append(path: Path, table: pd.DataFrame, rows: list[Row], spec: PrototypeSpec) -> pd.DataFrame:
    """``table`` with ``rows`` appended, written to ``path`` (also when the file does not exist yet)."""
    if not rows and path.exists():
        return table
    parts = [frame for frame in (table, results_frame(rows, spec)) if not frame.empty]
    table = pd.concat(parts, ignore_index=True) if parts else results_frame([], spec)
    write_parquet_atomic(table, path)
    return table
