"""``python -m quantbridge.datasets.exchange --data FILE [--port N]``: serve a dataset.

Prints the server's URL as the first line on stdout, then serves until SIGTERM/SIGINT.
The clock is fixed at the end of the data (or ``--now``) unless ``--start``/``--speed``
ask for a moving one: from ``--start`` (default: the first bar's open) at ``--speed``
replayed seconds per real second (default 1). ``POST /_admin/clock`` can set, pause,
resume or speed up either. Exit status 1 when the data cannot be loaded, 2 for bad
arguments.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

__all__ = ["main"]


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above zero")
    return value


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number above zero")
    return value


def _timestamp(text: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date/time (e.g. 2024-01-31T12:00)") from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m quantbridge.datasets.exchange",
        description="Serve a bar dataset as a Binance USD-M compatible exchange on loopback.",
    )
    parser.add_argument("--data", type=Path, required=True, help="bars file (Parquet, CSV, Binance klines, ...)")
    parser.add_argument("--trades", type=Path, help="trades file; synthesised from the bars when absent")
    parser.add_argument("--symbol", default="BTCUSDT", help="exchange symbol id (default BTCUSDT)")
    parser.add_argument("--timeframe", help="base timeframe of the bars (inferred when absent)")
    parser.add_argument("--tick-size", type=_decimal, default=Decimal("0.1"), help="price tick (default 0.1)")
    parser.add_argument("--lot-size", type=_decimal, default=Decimal("0.001"), help="quantity step (default 0.001)")
    parser.add_argument("--now", type=_timestamp, help="fix the exchange clock (default: close of the last bar)")
    parser.add_argument("--start", type=_timestamp, help="run a moving clock from this time (UTC)")
    parser.add_argument(
        "--speed", type=_speed, help="replayed seconds per real second of the moving clock (default 1 with --start)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault plan's RNG")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load the dataset and serve it; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.now is not None and (args.start is not None or args.speed is not None):
        parser.error("--now fixes the clock; it cannot be combined with --start/--speed")
    from .clock import moving_clock
    from .faults import FaultPlan
    from .loading import load_market
    from .server import serve

    try:
        market = load_market(
            args.data,
            trades=args.trades,
            symbol=args.symbol,
            timeframe=args.timeframe,
            tick_size=args.tick_size,
            step_size=args.lot_size,
            now=args.now,
        )
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    start_ms = None if args.start is None else int(args.start.value // 1_000_000)
    clock = moving_clock(start_ms=start_ms, speed=args.speed, data_start_ms=market.start_ms)
    serve(market, host=args.host, port=args.port, faults=FaultPlan(seed=args.seed), clock=clock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
