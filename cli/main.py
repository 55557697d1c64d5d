"""The ``quantbridge`` console script. Heavy libraries are imported inside commands."""

from __future__ import annotations

import typer

from .backtest import backtest
from .data import data_app
from .exchange import exchange_app
from .research import research_app
from .trade import live, paper
from .trade_status import kill, resume, status
from .validate import validate

app = typer.Typer(
    name="quantbridge",
    help="Research-to-production workbench: data, research, validation, backtest, paper and live.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.add_typer(exchange_app, name="exchange")
app.add_typer(research_app, name="research")
app.command("backtest")(backtest)
app.command("validate")(validate)
app.command("paper")(paper)
app.command("live")(live)
app.command("status")(status)
app.command("kill")(kill)
app.command("resume")(resume)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
