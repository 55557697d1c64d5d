"""``quantbridge data …``: describe, synthesise and download market data."""

from __future__ import annotations

import typer

data_app = typer.Typer(help="Load, describe, synthesise and download market data.", no_args_is_help=True)

from .data_info import info  # noqa: E402 - commands register after data_app exists

data_app.command("info")(info)
