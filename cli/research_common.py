"""Helpers shared by the ``quantbridge research`` commands: exit codes, console, tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

EXIT_OK = 0
EXIT_RUNS_FAILED = 1
EXIT_BAD_INPUT = 2


def console(*, stderr: bool = False) -> Console:
    """A console (on stdout, or ``stderr``) as wide as the terminal, or 200 columns when
    output is redirected."""
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(width=None if stream.isatty() else 200, stderr=stderr)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print ``error: message`` on stderr; the caller raises the returned Exit."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def absolute_path(value: object) -> object:
    """A string naming an existing file or folder relative to the current directory,
    made absolute (notebooks run in their own folder); anything else unchanged."""
    return str(Path(value).resolve()) if isinstance(value, str) and value and Path(value).exists() else value


def format_value(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return "" if value is None else str(value)


def print_table(frame: pd.DataFrame, columns: Sequence[str], title: str) -> None:
    """``frame``'s ``columns`` (those it has) as a rich table; numbers right-aligned."""
    from rich.table import Table
    from rich.text import Text

    shown = [c for c in dict.fromkeys(columns) if c in frame.columns]
    table = Table(title=title)
    for column in shown:
        numeric = frame[column].dtype.kind in "iuf"
        table.add_column(column, justify="right" if numeric else "left")
    for row in frame[shown].to_dict("records"):
        table.add_row(*(Text(format_value(row[c])) for c in shown))
    console().print(table)
