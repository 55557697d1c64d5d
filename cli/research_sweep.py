"""``quantbridge research sweep``: a grid over a papermill notebook, or over a catalogue
prototype on the fast path (prototype → simulate), on Dask."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .research_common import EXIT_OK, EXIT_RUNS_FAILED, absolute_path, fail, print_table

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

DEFAULT_SAMPLE = "BTCUSDT_1h.parquet"
SHOWN_METRICS = ("total_return", "sharpe", "max_drawdown", "win_rate", "trade_count")


def sweep(
    notebook: Annotated[
        Path | None, typer.Argument(help="A papermill notebook (cell tagged 'parameters'); omit it with --prototype.")
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid", "-g", metavar="NAME=SPEC", help="start:stop:step (inclusive), a,b,c or one value; repeatable."
        ),
    ] = None,
    prototype: Annotated[str | None, typer.Option(help="Sweep this catalogue prototype on the fast path.")] = None,
    data: Annotated[
        Path | None, typer.Option(help="Bars for --prototype.", show_default=f"bundled {DEFAULT_SAMPLE}")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="NOTEBOOK: output folder (default runs/<notebook>-sweep). --prototype: a Parquet results table, "
            "resumed when it exists (default: none, print only)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:port), or 'synchronous' to run in this process.",
            show_default="a local cluster, 2 worker processes",
        ),
    ] = None,
    sort: Annotated[str, typer.Option(help="Metric to rank by.")] = "sharpe",
    ascending: Annotated[bool, typer.Option(help="Rank lowest first (e.g. --sort max_drawdown --ascending).")] = False,
    top: Annotated[int, typer.Option(min=1, help="How many rows to print.")] = 10,
) -> None:
    """Sweep a parameter grid over NOTEBOOK or a --prototype, on Dask; print the best rows.

    NOTEBOOK: each combination is a papermill run; executed notebooks, results.parquet and summary.html go to --out.

    --prototype: the fast path (prototype → simulator), one row per combination, kept in --out (Parquet) when given.

    Both resume: finished combinations are not run again. Exit 0 ok, 1 some failed (the others are kept), 2 bad input.
    """
    if (notebook is None) == (prototype is None):
        raise fail("give either NOTEBOOK or --prototype NAME (not both)")
    entries = list(grid or [])
    if notebook is not None:
        frame, names = _sweep_notebook(notebook, entries, out, scheduler, sort)
    else:
        frame, names = _sweep_prototype(str(prototype), entries, data, out, scheduler)
    raise typer.Exit(_report(frame, names, sort, ascending, top))


def _sweep_notebook(
    notebook: Path, entries: list[str], out: Path | None, scheduler: str | None, sort: str
) -> tuple[pd.DataFrame, list[str]]:
    from quantbridge.research.grid import parse_grid
    from quantbridge.research.notebook_params import sweepable_params
    from quantbridge.research.notebooks import RESULTS_FILE, SUMMARY_FILE, sweep_notebook
    from quantbridge.research.registry import ParamError

    try:
        values = parse_grid(sweepable_params(notebook), entries)
    except (ParamError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    grid = {name: [absolute_path(v) for v in column] for name, column in values.items()}
    folder = out or Path("runs") / f"{notebook.stem}-sweep"
    frame = _on_cluster(lambda: sweep_notebook(notebook, grid, folder, scheduler, sort_by=sort), scheduler)
    typer.echo(f"executed notebooks: {folder / 'runs'}")
    typer.echo(f"results: {folder / RESULTS_FILE}")
    typer.echo(f"summary: {folder / SUMMARY_FILE}")
    return frame, [*values, "notebook"]


def _sweep_prototype(
    name: str, entries: list[str], data: Path | None, out: Path | None, scheduler: str | None
) -> tuple[pd.DataFrame, list[str]]:
    from quantbridge.datasets.paths import sample_path
    from quantbridge.datasets.readers import read_bars
    from quantbridge.research.catalogue import CATALOGUE
    from quantbridge.research.registry import UnknownPrototypeError
    from quantbridge.research.sweep import plan_sweep, sweep_prototype, sweep_to_parquet

    try:
        spec = CATALOGUE.get(name)
        plan_sweep(spec, entries)  # a bad grid fails before data is read or a cluster starts
        bars = read_bars(data or sample_path(DEFAULT_SAMPLE))
    except (UnknownPrototypeError, ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    if out is None:
        frame = _on_cluster(lambda: sweep_prototype(spec, bars, entries, scheduler=scheduler), scheduler)
    else:
        frame = _on_cluster(lambda: sweep_to_parquet(spec, bars, entries, out, scheduler=scheduler), scheduler)
        typer.echo(f"results: {out}")
    return frame, [p.name for p in spec.params]


def _on_cluster(work: Callable[[], pd.DataFrame], scheduler: str | None) -> pd.DataFrame:
    try:
        return work()
    except OSError as exc:  # e.g. no scheduler at the address (distributed raises OSError/TimeoutError)
        raise fail(f"sweep could not run on {scheduler or 'a local Dask cluster'}: {exc}") from exc


def _report(frame: pd.DataFrame, names: list[str], sort: str, ascending: bool, top: int) -> int:
    ok = frame[frame["status"] == "ok"]
    failed = frame[frame["status"] != "ok"]
    if len(ok) and sort not in ok.columns:
        metrics = [c for c in ok.columns if c not in (*names, "prototype", "setup", "status", "error")]
        raise fail(f"--sort {sort!r} is not a metric of these results (metrics: {', '.join(metrics)})")
    if len(ok):
        best = ok.sort_values(sort, ascending=ascending, na_position="last", kind="stable").head(top)
        columns = [c for c in names if c != "notebook"]
        print_table(best, [*columns, sort, *SHOWN_METRICS], title=f"top {len(best)} of {len(ok)} by {sort}")
    for row in failed.head(top).to_dict("records"):
        params = ", ".join(f"{n}={row[n]}" for n in names if n != "notebook" and n in row)
        typer.echo(f"failed: {params}: {row['error']}", err=True)
    if len(failed) > top:
        typer.echo(f"… and {len(failed) - top} more failed combination(s)", err=True)
    typer.echo(f"{len(frame)} combination(s): {len(ok)} ok, {len(failed)} failed")
    return EXIT_RUNS_FAILED if len(failed) else EXIT_OK
