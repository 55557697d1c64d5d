"""Parameterised notebooks: run one with papermill, read back the metrics it recorded,
and sweep a grid of parameters over it on Dask.

The contract with a notebook (``notebooks/03_sweep_template.ipynb`` follows it):

* one code cell is tagged ``parameters`` and assigns every parameter a default;
* the notebook calls :func:`record_metrics` (usually in its last cell), which displays
  the metrics as an output of type :data:`METRICS_MIME`; :func:`read_metrics` finds it
  in the executed notebook.

The kernel (``python3``) runs with the notebook's folder as working directory, so
relative paths in parameters are relative to the notebook.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .grid import GridInput, combo_key, expand_grid, parse_grid
from .notebook_params import check_parameters, read_notebook, sweepable_params
from .parallel import map_unordered, progress_bar
from .results import STATUS_FAILED, STATUS_OK, describe_error, write_parquet_atomic
from .summary_html import write_summary_html

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "KERNEL_NAME",
    "METRICS_MIME",
    "NotebookRunError",
    "read_metrics",
    "record_metrics",
    "run_name",
    "run_notebook",
    "sweep_notebook",
]

METRICS_MIME = "application/vnd.quantbridge.metrics+json"
KERNEL_NAME = "python3"
RUNS_FOLDER = "runs"
RESULTS_FILE = "results.parquet"
SUMMARY_FILE = "summary.html"

Row = dict[str, object]


class NotebookRunError(RuntimeError):
    """A notebook that raised while running, or that finished without recording metrics."""


def record_metrics(metrics: Mapping[str, float]) -> None:
    """Display ``metrics`` as this notebook's result (call it in the notebook)."""
    from IPython.display import display

    payload = {name: _encode(float(value)) for name, value in metrics.items()}
    text = "\n".join(f"{name}: {value}" for name, value in payload.items())
    display({METRICS_MIME: payload, "text/plain": text}, raw=True)  # type: ignore[no-untyped-call]


def read_metrics(path: str | os.PathLike[str]) -> dict[str, float]:
    """The metrics an executed notebook recorded (the last :func:`record_metrics` output)."""
    metrics = _recorded(read_notebook(path))
    if metrics is not None:
        return metrics
    raise NotebookRunError(
        f"notebook {path} recorded no metrics (no output of type {METRICS_MIME}; "
        "call quantbridge.research.notebooks.record_metrics(result.metrics) in its last cell)"
    )


def run_notebook(
    path: str | os.PathLike[str],
    params: Mapping[str, object],
    out_path: str | os.PathLike[str],
    *,
    kernel_name: str = KERNEL_NAME,
    timeout: float | None = None,
) -> dict[str, float]:
    """Execute the notebook with ``params`` injected, save it to ``out_path`` and return
    the metrics it recorded. Raises :class:`NotebookParametersError` (no ``parameters``
    cell, or a parameter it does not declare) before running anything, and
    :class:`NotebookRunError` when a cell raises (the executed notebook is kept)."""
    import papermill

    source = Path(path).resolve()
    check_parameters(source, params)
    target = Path(out_path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=dict(params),
            kernel_name=kernel_name,
            cwd=str(source.parent),
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout,
        )
    except papermill.PapermillExecutionError as exc:
        where = f"notebook {source} failed in cell [{exc.exec_count}]"
        raise NotebookRunError(f"{where}: {exc.ename}: {exc.evalue} (executed notebook: {target})") from exc
    except Exception as exc:  # kernel died, timed out, could not start: one error type for callers
        raise NotebookRunError(f"notebook {source} did not run: {describe_error(exc)}") from exc
    return read_metrics(target)


def run_name(params: Mapping[str, object]) -> str:
    """A file name for the run of ``params``: readable, unique, the same on every rerun."""
    readable = "_".join(f"{name}-{value}" for name, value in params.items()) or "defaults"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", readable)[:80]
    digest = hashlib.sha256(combo_key(params).encode()).hexdigest()[:8]
    return f"{slug}_{digest}.ipynb"


@dataclass(frozen=True)
class _Run:
    params: dict[str, object]
    out: Path
    link: str


def sweep_notebook(
    path: str | os.PathLike[str],
    grid: GridInput,
    out_dir: str | os.PathLike[str],
    scheduler: str | None = None,
    *,
    sort_by: str = "sharpe",
    progress: bool = True,
    kernel_name: str = KERNEL_NAME,
) -> pd.DataFrame:
    """Run the notebook for every combination of ``grid`` (values typed by the
    ``parameters`` cell's defaults; parameters not in the grid keep them), on Dask.

    Writes each executed notebook to ``out_dir/runs/``, all rows to
    ``out_dir/results.parquet`` and ``out_dir/summary.html`` (ranked by ``sort_by``).
    A combination whose executed notebook already holds metrics and no error is not run
    again (delete ``out_dir/runs`` after changing the notebook). With a remote
    ``scheduler``, the notebook and ``out_dir`` must be on a filesystem the workers share.
    Returns one row per combination: parameters, metrics, status, error, notebook.
    """
    source = Path(path).resolve()
    folder = Path(out_dir).resolve()  # workers may run elsewhere: absolute paths (on a shared filesystem)
    values = parse_grid(sweepable_params(source), grid)
    runs = [
        _Run(dict(combo), folder / RUNS_FOLDER / run_name(combo), f"{RUNS_FOLDER}/{run_name(combo)}")
        for combo in expand_grid({}, values)
    ]
    rows = [_finished(run) for run in runs]
    todo = [run for run, row in zip(runs, rows, strict=True) if row is None]
    done = [row for row in rows if row is not None]
    frame = _frame([*done, *_execute(todo, source, scheduler, progress, kernel_name)], list(values))
    write_parquet_atomic(frame, folder / RESULTS_FILE)
    write_summary_html(frame, folder / SUMMARY_FILE, title=f"Sweep of {source.name}", sort_by=sort_by)
    return frame


def run_planned(run: _Run, *, notebook: str, kernel_name: str) -> Row:
    """One sweep run (a Dask task): execute, read metrics, or report the error."""
    try:
        metrics = run_notebook(notebook, run.params, run.out, kernel_name=kernel_name)
    except Exception as exc:  # one failed run is that row's result, never the sweep's
        return _failed(run, exc)
    return {**run.params, **metrics, "status": STATUS_OK, "error": "", "notebook": run.link}


def _execute(todo: list[_Run], source: Path, scheduler: str | None, progress: bool, kernel_name: str) -> list[Row]:
    rows: list[Row] = []
    shared = {"notebook": str(source), "kernel_name": kernel_name}
    with progress_bar(len(todo), f"notebook sweep {source.name}", progress) as advance:
        for position, outcome in map_unordered(run_planned, todo, scheduler=scheduler, shared=shared):
            advance()
            rows.append(_failed(todo[position], outcome) if isinstance(outcome, Exception) else outcome)
    return rows


def _finished(run: _Run) -> Row | None:
    """The row of a run already executed with metrics and no error, else None."""
    if not run.out.exists():
        return None
    try:
        notebook = read_notebook(run.out)
    except (OSError, ValueError):  # unreadable (e.g. cut short while being written): run it again
        return None
    metrics = _recorded(notebook)
    if metrics is None or any(o.get("output_type") == "error" for c in notebook.cells for o in c.get("outputs", [])):
        return None
    return {**run.params, **metrics, "status": STATUS_OK, "error": "", "notebook": run.link}


def _recorded(notebook: NotebookNode) -> dict[str, float] | None:
    """The last metrics :func:`record_metrics` displayed in ``notebook``, if any."""
    for cell in reversed(notebook.cells):
        for output in reversed(cell.get("outputs", [])):
            payload = output.get("data", {}).get(METRICS_MIME)
            if isinstance(payload, Mapping):
                return {str(name): _decode(value) for name, value in payload.items()}
    return None


def _failed(run: _Run, exc: BaseException) -> Row:
    link = run.link if run.out.exists() else ""  # a kernel that never started leaves no notebook
    return {**run.params, "status": STATUS_FAILED, "error": describe_error(exc), "notebook": link}


def _frame(rows: list[Row], names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    head, tail = names, ["status", "error", "notebook"]
    for column in (*head, *tail):
        if column not in frame:
            frame[column] = pd.Series(dtype="object")
    middle = [c for c in frame.columns if c not in head and c not in tail]
    ordered = frame[[*head, *middle, *tail]]
    return ordered.sort_values(head, kind="stable").reset_index(drop=True) if head else ordered


def _encode(value: float) -> float | str:
    return value if math.isfinite(value) else repr(value)


def _decode(value: object) -> float:
    return float(value) if isinstance(value, (int, float, str)) else math.nan
