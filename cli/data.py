"""``quantbridge data …``: describe, synthesise and download market data."""

from __future__ import annotations

import typer

data_app = typer.Typer(help="Load, describe, synthesise and download market data.", no_args_is_help=True)

from .data_info import info  # noqa: E402 - commands register after data_app exists

data_app.command("info")(info)

from .data_synth import samples_command, synth_app  # noqa: E402 - commands register after data_app exists

data_app.add_typer(synth_app, name="synth")
data_app.command("samples")(samples_command)

from .data_fetch import fetch, fetch_trades  # noqa: E402 - commands register after data_app exists

data_app.command("fetch")(fetch)
data_app.command("fetch-trades")(fetch_trades)
