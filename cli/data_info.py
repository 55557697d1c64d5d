"""``quantbridge data info FILE``: what a market-data file holds and what is wrong with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from quantbridge.datasets.problems import ValidationReport

EXIT_OK = 0
EXIT_DATA_ERRORS = 1
EXIT_BAD_INPUT = 2


def _summary(report: ValidationReport, extra: dict[str, object]) -> dict[str, object]:
    from quantbridge.datasets.timeframes import format_timeframe

    gaps = report.gaps
    largest = max(gaps, key=lambda g: g.missing_bars, default=None)
    return {
        "file": report.source,
        "kind": report.kind,
        **extra,
        "rows": report.rows,
        "first": report.first.isoformat() if report.first is not None else None,
        "last": report.last.isoformat() if report.last is not None else None,
        "timeframe": format_timeframe(report.timeframe) if report.timeframe is not None else None,
        "gaps": len(gaps),
        "missing_bars": sum(g.missing_bars for g in gaps),
        "largest_gap": f"{largest.missing_bars} bars from {largest.start.isoformat()}" if largest else None,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "problems_by_kind": dict(sorted(report.kind_counts().items())),
    }


def _print_rich(summary: dict[str, object], report: ValidationReport, max_problems: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{summary['file']}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in summary.items():
        if key != "file":
            table.add_row(key, str(value))
    console.print(table)
    shown = report.messages(limit=max_problems)
    for message in shown:
        console.print(f"  - {message}", markup=False, highlight=False)
    if len(report.problems) > len(shown):
        console.print(f"  … and {len(report.problems) - len(shown)} more problem(s) (use --max-problems)")
    verdict = "[green]OK[/green]" if report.ok else f"[red]{len(report.errors)} error(s)[/red]"
    console.print(f"verdict: {verdict}")


def info(
    file: Annotated[Path, typer.Argument(help="A bar, trade or quote file (.csv, .parquet, .feather, .json).")],
    kind: Annotated[str, typer.Option(help="bars, trades or quotes; detected from the columns by default.")] = "auto",
    format: Annotated[
        str | None,
        typer.Option(help="Bar format: csv, tradingview, binance-klines, freqtrade-json, freqtrade-feather, parquet."),
    ] = None,
    tz: Annotated[str | None, typer.Option(help="Timezone of times written without a UTC offset.")] = None,
    timeframe: Annotated[
        str | None, typer.Option(help="Bar width (e.g. 1h); inferred from the spacing by default.")
    ] = None,
    max_problems: Annotated[int, typer.Option(help="How many problems to list.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Summarise a market-data file: range, rows, timeframe, gaps and every problem.

    Exit code 0 when the data has no errors (gaps are warnings), 1 when it has
    errors, 2 when the file cannot be read as market data.
    """
    from quantbridge.datasets.readers import DataFormatError, detect_kind, load_bars, load_quotes, load_trades
    from quantbridge.datasets.schemas import DataKind

    try:
        chosen = DataKind(kind) if kind != "auto" else detect_kind(file)
        extra: dict[str, object] = {}
        if chosen is DataKind.BARS:
            loaded = load_bars(file, format=format, tz=tz, timeframe=timeframe)
            report = loaded.report
            extra = {
                "format": str(loaded.format),
                "time_form": str(loaded.time_form),
                "volume": "yes" if loaded.has_volume else "absent in file (NaN)",
                "extra_columns": list(loaded.extra_columns),
            }
        else:
            report = (load_trades if chosen is DataKind.TRADES else load_quotes)(file, tz=tz).report
    except (DataFormatError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    summary = _summary(report, extra)
    if as_json:
        summary["problems"] = report.messages(limit=max_problems)
        typer.echo(json.dumps(summary, indent=2, default=str))
    else:
        _print_rich(summary, report, max_problems)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_DATA_ERRORS)
