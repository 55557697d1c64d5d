"""``quantbridge validate PROTOTYPE --data FILE``: prove a prototype's parity before it trades.

Runs :func:`quantbridge.validation.run.run_validation` (signal and trade parity from bars
and ticks, candle parity, causality, warm-up, and the TradingView reconciliation when a
trade list is given), prints a summary table, writes ``validation.json`` and a
self-contained ``report.html`` into ``--out`` (default: a new folder under
``runs/validate/``), and records a parity certificate in the project database (``--db``,
else ``$QUANTBRIDGE_DB``, else ``.quantbridge/quantbridge.db`` in the current folder).

Exit codes: 0 every gating check passed, 1 a check failed (or the prototype could not be
bridged), 2 bad input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .research_common import console, fail

if TYPE_CHECKING:
    import pandas as pd

    from quantbridge.datasets.execution import ExecutionModel
    from quantbridge.research.registry import PrototypeSpec
    from quantbridge.validation.certificates import ParityCertificate
    from quantbridge.validation.run import ValidationConfig, ValidationRun

__all__ = ["validate"]

EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
_DEFAULT_QTY_STEP = 1e-8


@dataclass(frozen=True)
class _Instrument:
    tick_size: float | None
    qty_step: float | None
    point_value: float | None
    session_timezone: str | None
    session_start: str | None


def _pairs(tokens: list[str]) -> dict[str, str]:
    """``k=v`` tokens (also ``a=1,b=2``)."""
    pairs: dict[str, str] = {}
    for token in (part for raw in tokens for part in raw.split(",") if part):
        key, sep, value = token.partition("=")
        if not sep or not key.strip():
            raise fail(f"parameter {token!r}: expected NAME=VALUE")
        if key.strip() in pairs:
            raise fail(f"parameter {key.strip()!r} given twice")
        pairs[key.strip()] = value.strip()
    return pairs


def _prototype(name: str) -> PrototypeSpec:
    from quantbridge.research.catalogue import CATALOGUE
    from quantbridge.research.registry import UnknownPrototypeError

    try:
        return CATALOGUE.get(name)
    except UnknownPrototypeError as exc:
        raise fail(str(exc)) from exc


def _bars(data: Path) -> pd.DataFrame:
    from quantbridge.datasets.problems import DataValidationError
    from quantbridge.datasets.readers import DataFormatError, read_bars

    try:
        bars = read_bars(data)
    except (OSError, DataFormatError, DataValidationError, ValueError) as exc:
        raise fail(f"{data}: {exc}") from exc
    if len(bars) < 2:
        raise fail(f"{data}: {len(bars)} bar(s); validation needs at least 2")
    return bars


def _model(base: ExecutionModel, bars: pd.DataFrame, given: _Instrument) -> ExecutionModel:
    """``base`` on the instrument the options describe: tick size given, else the model's,
    else inferred from the prices; quantity step given, else the model's, else 1e-8."""
    from pydantic import ValidationError

    from quantbridge.datasets.execution import ExecutionModel
    from quantbridge.datasets.instruments import infer_tick_size

    instrument = base.instrument.model_dump()
    instrument["tick_size"] = given.tick_size or base.instrument.tick_size or infer_tick_size(bars)
    instrument["qty_step"] = given.qty_step or base.instrument.qty_step or _DEFAULT_QTY_STEP
    if given.point_value is not None:
        instrument["point_value"] = given.point_value
    session = {"session_timezone": given.session_timezone, "session_start": given.session_start}
    data = {**base.model_dump(), **{k: v for k, v in session.items() if v is not None}, "instrument": instrument}
    try:
        return ExecutionModel.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise fail(f"execution model: {error['msg']} ({'.'.join(map(str, error['loc']))})") from exc


def _out_dir(out: Path | None, prototype: str, data: Path) -> Path:
    if out is not None:
        return out
    base = Path("runs") / "validate" / f"{prototype}-{data.stem}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _run(config: ValidationConfig, bars: pd.DataFrame) -> ValidationRun:
    from quantbridge.bridge import BridgeError
    from quantbridge.datasets.readers import DataFormatError
    from quantbridge.validation.run import run_validation
    from quantbridge.validation.tradingview import TimezoneDetectionError

    try:
        return run_validation(config, bars)
    except BridgeError as exc:
        raise fail(f"the prototype cannot be bridged: {exc}", EXIT_CHECK_FAILED) from exc
    except (DataFormatError, TimezoneDetectionError, OSError) as exc:
        raise fail(str(exc)) from exc


def _print_summary(run: ValidationRun) -> None:
    from rich.table import Table

    table = Table(title=f"validate {run.prototype}: {'PASSED' if run.passed else 'FAILED'}")
    for column in ("check", "verdict", "match", "detail"):
        table.add_column(column, justify="right" if column == "match" else "left")
    for check in run.checks:
        verdict = "info" if not check.gating else "pass" if check.passed else "FAIL"
        style = None if not check.gating else "green" if check.passed else "bold red"
        match = "" if check.match is None else f"{check.match:.2%}"
        table.add_row(check.name, verdict, match, check.summary, style=style)
    console().print(table)


def _certify(
    run: ValidationRun, config: ValidationConfig, bars: pd.DataFrame, db: str | None
) -> tuple[ParityCertificate, str]:
    from sqlalchemy.exc import SQLAlchemyError

    from quantbridge.runtime.clock import WallClock
    from quantbridge.validation.certificates import CertificateStore, certify

    spec = config.prototype
    results = run.to_dict()
    cert = certify(
        spec.name,
        spec.function,
        spec.bind(config.params),
        config.rules,
        config.model,
        bars,
        results,
        passed=run.passed,
        created_at=WallClock().now().to_pydatetime(),
    )
    try:
        with CertificateStore(db) as store:
            return store.record(cert), store.url
    except (SQLAlchemyError, OSError) as exc:
        raise fail(f"could not record the certificate in {db or 'the project database'}: {exc}") from exc


def _redacted(url: str) -> str:
    """``url`` without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _write(run: ValidationRun, target: Path, cert: ParityCertificate | None) -> tuple[Path, Path]:
    from quantbridge.validation.report import write_report

    target.mkdir(parents=True, exist_ok=True)
    payload = run.to_dict()
    if cert is not None:
        payload["certificate"] = {k: v for k, v in cert.to_dict().items() if k != "results"}
    json_path = target / "validation.json"
    json_path.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return json_path, write_report(run, target / "report.html")


def validate(
    prototype: Annotated[str, typer.Argument(help="A prototype of the catalogue (see `quantbridge research list`).")],
    data: Annotated[Path, typer.Option("--data", help="Bars (CSV or Parquet).")],
    params: Annotated[
        list[str] | None, typer.Option("--params", "-p", help="NAME=VALUE (repeatable, or a=1,b=2).")
    ] = None,
    tradingview_trades: Annotated[
        Path | None, typer.Option(help="TradingView 'List of Trades' export to reconcile with.")
    ] = None,
    tz: Annotated[
        str | None, typer.Option(help="Chart timezone of the trade list's naive times (default: detected).")
    ] = None,
    min_parity: Annotated[float, typer.Option(help="Lowest match ratio a check may have and pass.")] = 1.0,
    out: Annotated[
        Path | None, typer.Option(help="Output folder.", show_default="runs/validate/<prototype>-<data>")
    ] = None,
    from_ticks: Annotated[
        bool, typer.Option("--from-ticks/--no-from-ticks", help="Also drive the runtime from synthesised ticks.")
    ] = True,
    parity_bars: Annotated[
        int | None,
        typer.Option(min=2, help="Bridge parity on the last N bars (the bridge recomputes the prototype per bar)."),
    ] = None,
    db: Annotated[
        str | None, typer.Option(help="Database URL for the certificate.", show_default="$QUANTBRIDGE_DB or sqlite")
    ] = None,
    tick_size: Annotated[
        float | None, typer.Option(min=0.0, help="Price grid (default: the model's, else inferred from the data).")
    ] = None,
    qty_step: Annotated[
        float | None, typer.Option(min=0.0, help="Quantity grid (default: the model's, else 1e-8).")
    ] = None,
    point_value: Annotated[float | None, typer.Option(min=0.0, help="Cash per 1.0 of price per unit.")] = None,
    session_timezone: Annotated[
        str | None, typer.Option(help="Timezone of the trading day, e.g. America/New_York.")
    ] = None,
    session_start: Annotated[str | None, typer.Option(help="Local time the trading day starts, HH:MM.")] = None,
) -> None:
    """Validate PROTOTYPE on --data: signal and trade parity between the prototype and its
    bridged runtime strategy (from bars and ticks), candle parity, causality, warm-up, and
    the TradingView trade list when given. Writes validation.json and report.html and
    records a parity certificate.

    Exit 0 passed, 1 a check failed, 2 bad input.
    """
    from quantbridge.datasets.params import ParamError
    from quantbridge.validation.run import ValidationConfig

    spec = _prototype(prototype)
    try:
        bound = spec.bind(_pairs(params or []))
    except ParamError as exc:
        raise fail(str(exc)) from exc
    if not 0.0 <= min_parity <= 1.0:
        raise fail(f"--min-parity {min_parity}: expected a ratio in [0, 1]")
    if tradingview_trades is not None and not tradingview_trades.is_file():
        raise fail(f"--tradingview-trades {tradingview_trades}: no such file")
    bars = _bars(data)
    instrument = _Instrument(tick_size, qty_step, point_value, session_timezone, session_start)
    config = ValidationConfig(
        prototype=spec,
        params=bound,
        rules=spec.rules,
        model=_model(spec.model, bars, instrument),
        min_parity=min_parity,
        from_ticks=from_ticks,
        parity_bars=parity_bars,
        tradingview_trades=tradingview_trades,
        tradingview_tz=tz,
    )
    run = _run(config, bars)
    _print_summary(run)
    cert, url = _certify(run, config, bars, db)
    json_path, report_path = _write(run, _out_dir(out, spec.name, data), cert)
    typer.echo(f"certificate: #{cert.id} ({'passing' if cert.passed else 'failing'}) in {_redacted(url)}")
    typer.echo(f"validation.json: {json_path}")
    typer.echo(f"report: {report_path}")
    if not run.passed:
        raise fail(f"check(s) failed: {', '.join(run.failed_checks)}", EXIT_CHECK_FAILED)
