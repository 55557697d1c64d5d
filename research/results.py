"""Results tables shared by the sweeps: row status, error text, atomic Parquet writes."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

__all__ = ["STATUS_FAILED", "STATUS_OK", "describe_error", "read_results", "write_parquet_atomic"]

STATUS_OK = "ok"
STATUS_FAILED = "failed"


def describe_error(exc: BaseException) -> str:
    """``ExceptionType: message`` (one line per row of a results table)."""
    return f"{type(exc).__name__}: {exc}"


def read_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The results table at ``path`` (an empty frame when there is none yet)."""
    file = Path(path)
    return pd.read_parquet(file) if file.exists() else pd.DataFrame()


def write_parquet_atomic(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``frame`` to a temporary file beside ``path``, then rename it over ``path``:
    readers (and a crash) see the old table or the new one, never half of one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        frame.to_parquet(temporary, index=False)
        temporary.replace(target)  # os.replace: atomic on one filesystem
    finally:
        temporary.unlink(missing_ok=True)
