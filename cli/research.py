"""``quantbridge research …``: the prototype catalogue, papermill runs and parameter sweeps.

Exit codes: 0 ok, 1 some runs failed, 2 bad input (unknown prototype or parameter, bad
grid, notebook without a ``parameters`` cell, unreadable data).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .research_common import EXIT_RUNS_FAILED, absolute_path, console, fail

if TYPE_CHECKING:
    from quantbridge.research.registry import Param

research_app = typer.Typer(help="Prototypes, papermill notebook runs and parameter sweeps.", no_args_is_help=True)


def describe_param(param: Param) -> str:
    """``fast: int = 10 [2..500]`` — type, default, range or choices, help."""
    text = f"{param.name}: {param.kind.__name__} = {param.default}"
    if param.low is not None or param.high is not None:
        text += f" [{_bound(param.low)}..{_bound(param.high)}]"
    if param.choices:
        text += " {" + ", ".join(param.choices) + "}"
    return text + (f" — {param.help}" if param.help else "")


def _bound(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


@research_app.command("list")
def list_prototypes() -> None:
    """List the prototypes of the catalogue: name, parameters (type, default, range) and description."""
    from rich.table import Table
    from rich.text import Text

    from quantbridge.research.catalogue import CATALOGUE

    table = Table(title=f"{len(CATALOGUE)} prototype(s)")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("parameters")
    table.add_column("description")
    for spec in CATALOGUE:
        params = Text("\n".join(describe_param(p) for p in spec.params) or "none")
        description = Text(spec.description.strip().splitlines()[0] if spec.description.strip() else "")
        table.add_row(Text(spec.name), params, description)
    console().print(table)


def name_values(names: list[str], extra: list[str]) -> dict[str, str]:
    """``-p NAME VALUE`` pairs: each ``-p`` takes a name (its value follows it, left by
    the parser among the extra arguments in order) or a ``NAME=VALUE``."""
    pairs: dict[str, str] = {}
    values = iter(extra)
    for name in names:
        key, sep, value = name.partition("=")
        if not sep:
            following = next(values, None)
            if following is None:
                raise fail(f"-p {name}: expected -p NAME VALUE")
            value = following
        if key in pairs:
            raise fail(f"parameter {key!r} given twice")
        pairs[key] = value
    leftover = list(values)
    if leftover:
        raise fail(f"unexpected argument(s): {' '.join(leftover)} (parameters are given as -p NAME VALUE)")
    return pairs


# a parameter's value is left among the extra arguments (Typer has no repeatable
# two-value option); unknown options are let through so that `-p x -1` works
@research_app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    notebook: Annotated[Path, typer.Argument(help="The notebook to execute (it needs a cell tagged 'parameters').")],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "-p", "--param", metavar="NAME VALUE", help="A parameter, repeatable: -p fast 20 (or -p fast=20)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write the executed notebook.", show_default="runs/<notebook>/<params>.ipynb"),
    ] = None,
) -> None:
    """Execute NOTEBOOK with papermill; print where the executed notebook is and its metrics.

    The kernel (python3) runs in the notebook's folder. Values are typed by the defaults in its parameters cell.

    A string value naming an existing path relative to the current directory is passed as an absolute path.

    Exit 0 ok, 1 the notebook failed, 2 bad input.
    """
    from quantbridge.research.notebook_params import coerce_parameters
    from quantbridge.research.notebooks import NotebookRunError, run_name, run_notebook
    from quantbridge.research.registry import ParamError

    raw = name_values(list(param or []), list(ctx.args))
    try:
        params = {name: absolute_path(value) for name, value in coerce_parameters(notebook, raw).items()}
    except (ParamError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    target = out or Path("runs") / notebook.stem / run_name(params)
    try:
        metrics = run_notebook(notebook, params, target)
    except NotebookRunError as exc:
        if target.exists():
            typer.echo(f"executed notebook: {target}")
        raise fail(str(exc), EXIT_RUNS_FAILED) from exc
    typer.echo(f"executed notebook: {target}")
    print_metrics(metrics)


def print_metrics(metrics: dict[str, float]) -> None:
    """The recorded metrics, one per row."""
    from rich.table import Table

    table = Table(title="metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, f"{value:.6g}")
    console().print(table)


from .research_sweep import sweep  # noqa: E402 - the command registers after research_app exists

research_app.command("sweep")(sweep)
