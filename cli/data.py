"""``quantbridge data …``: describe, synthesise and download market data."""

from __future__ import annotations

import typer

data_app = typer.Typer(help="Load, describe, synthesise and download market data.", no_args_is_help=True)
