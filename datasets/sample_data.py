"""The bundled sample data: how ``datasets/samples/*.parquet`` is made.

Run ``python -m quantbridge.datasets.sample_data [--out DIR]`` (or ``quantbridge data
samples``) to rebuild them. Everything is synthetic (:mod:`quantbridge.datasets.synth`)
and deterministic: the seeds and parameters below are the whole recipe, so a rebuild
gives the same frames (Parquet bytes may differ by the writer's version metadata).

=============================  ==========================================================
``BTCUSDT_1h.parquet``         2024, hourly bars (8,784), BTC-like: 42,000 start, 55 % vol
``ETHUSDT_1h.parquet``         2024, hourly bars (8,784), ETH-like: 2,300 start, 65 % vol
``BTCUSDT_1m.parquet``         January 2024, one-minute bars (44,640)
``BTCUSDT_trades_1d.parquet``  2024-01-02, trade ticks (~1 per second, bursts, silences)
``BTCUSDT_quotes_1d.parquet``  2024-01-02, top-of-book quotes; the trades print at them
=============================  ==========================================================

Each frame is validated (bars with gaps as errors) before it is written, and written
atomically (a temporary file in the same folder, then ``os.replace``) with zstd
(level 9) and encodings chosen per column (see ``_encodings``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .paths import SAMPLES_DIR
from .problems import GapPolicy
from .synth import BarModel, TickModel, generate_bars, generate_market
from .validation import validate_bars, validate_quotes, validate_trades

__all__ = ["SAMPLE_FILES", "build_samples", "main", "sample_frames"]

SAMPLE_FILES = (
    "BTCUSDT_1h.parquet",
    "ETHUSDT_1h.parquet",
    "BTCUSDT_1m.parquet",
    "BTCUSDT_trades_1d.parquet",
    "BTCUSDT_quotes_1d.parquet",
)

_YEAR = ("2024-01-01", 366 * 24)
_BTC = BarModel(start_price=42_000.0, annual_vol=0.55, tick_size=0.01, hourly_volume=1_200.0, volume_step=0.00001)
_ETH = BarModel(start_price=2_300.0, annual_vol=0.65, tick_size=0.01, hourly_volume=15_000.0, volume_step=0.0001)
_BTC_MINUTES = BarModel(
    start_price=42_000.0, annual_vol=0.55, tick_size=0.01, hourly_volume=1_200.0, volume_step=0.00001,
    garch_alpha=0.04, garch_beta=0.95,
)  # fmt: skip
_BTC_TICKS = TickModel(start_price=44_000.0, annual_vol=0.55, tick_size=0.01, trade_rate=1.0, quote_rate=2.0)
_DAY = ("2024-01-02", "2024-01-03")


def sample_frames() -> dict[str, pd.DataFrame]:
    """Every sample frame by file name, freshly generated."""
    trades, quotes = generate_market(start=_DAY[0], end=_DAY[1], seed=5, model=_BTC_TICKS)
    return {
        "BTCUSDT_1h.parquet": generate_bars(start=_YEAR[0], periods=_YEAR[1], seed=1, model=_BTC),
        "ETHUSDT_1h.parquet": generate_bars(start=_YEAR[0], periods=_YEAR[1], seed=2, model=_ETH),
        "BTCUSDT_1m.parquet": generate_bars(
            start="2024-01-01", periods=31 * 24 * 60, timeframe="1m", seed=3, model=_BTC_MINUTES
        ),
        "BTCUSDT_trades_1d.parquet": trades,
        "BTCUSDT_quotes_1d.parquet": quotes,
    }


def _validate(name: str, frame: pd.DataFrame) -> None:
    if "_trades_" in name:
        report = validate_trades(frame, source=name)
    elif "_quotes_" in name:
        report = validate_quotes(frame, source=name)
    else:
        report = validate_bars(frame, source=name, gap_policy=GapPolicy.ERROR)
    report.raise_for_errors()


def _encodings(frame: pd.DataFrame) -> dict[str, Any]:
    """Parquet encodings that suit the data: delta encoding for the sorted int64 times
    and ids of ticks (half the size of the default), byte-stream-split for the float
    columns of bars; dictionaries (the default) elsewhere."""
    if "ts" in frame.columns:
        deltas = {name: "DELTA_BINARY_PACKED" for name in ("ts", "trade_id") if name in frame.columns}
        return {"column_encoding": deltas, "use_dictionary": [c for c in frame.columns if c not in deltas]}
    floats = [str(c) for c in frame.columns if frame[c].dtype == "float64"]
    return {"use_dictionary": False, "column_encoding": dict.fromkeys(floats, "BYTE_STREAM_SPLIT")}


def _write_atomic(frame: pd.DataFrame, path: Path, *, index: bool) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        Path(temporary).chmod(0o644)  # mkstemp makes it private; samples are for everyone
        options = _encodings(frame)
        frame.to_parquet(temporary, engine="pyarrow", compression="zstd", compression_level=9, index=index, **options)
        Path(temporary).replace(path)  # atomic on POSIX and Windows (os.replace)
    finally:
        Path(temporary).unlink(missing_ok=True)


def build_samples(out_dir: Path | str | None = None, *, echo: Callable[[str], None] | None = None) -> list[Path]:
    """Generate, validate and write every sample into ``out_dir`` (default: the bundled
    ``datasets/samples``); returns the written paths. ``echo`` receives one line per
    file with its size."""
    folder = Path(out_dir) if out_dir is not None else SAMPLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, frame in sample_frames().items():
        _validate(name, frame)
        path = folder / name
        _write_atomic(frame, path, index=isinstance(frame.index, pd.DatetimeIndex))
        written.append(path)
        if echo is not None:
            echo(f"{path}  {len(frame):>9,} rows  {path.stat().st_size / 1024:>8.1f} KiB")
    if echo is not None:
        echo(f"total {sum(p.stat().st_size for p in written) / 1024 / 1024:.2f} MiB in {len(written)} files")
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m quantbridge.datasets.sample_data [--out DIR]``."""
    parser = argparse.ArgumentParser(description="Rebuild quantbridge's bundled sample data (deterministic).")
    parser.add_argument("--out", type=Path, default=None, help=f"output folder (default: {SAMPLES_DIR})")
    args = parser.parse_args(argv)
    build_samples(args.out, echo=print)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
