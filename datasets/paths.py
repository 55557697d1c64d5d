"""Where data lives: the bundled samples, the download cache, and the shared reference data."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "REFERENCE_DATA_ENV",
    "SAMPLES_DIR",
    "cache_dir",
    "reference_data_dir",
    "sample_path",
]

#: Environment variable naming the folder of third-party reference data.
REFERENCE_DATA_ENV = "QUANTBRIDGE_REFERENCE_DATA"
#: Environment variable naming the download cache (default ``~/.cache/quantbridge``).
CACHE_ENV = "QUANTBRIDGE_CACHE"

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def reference_data_dir() -> Path:
    """The reference data folder: ``$QUANTBRIDGE_REFERENCE_DATA``, else ``../shared/data``
    relative to the project checkout. It may not exist; callers decide what that means."""
    configured = os.environ.get(REFERENCE_DATA_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return (_PROJECT_ROOT.parent / "shared" / "data").resolve()


def cache_dir() -> Path:
    """The on-disk cache of downloaded market data."""
    configured = os.environ.get(CACHE_ENV)
    base = Path(configured).expanduser() if configured else Path.home() / ".cache" / "quantbridge"
    return base.resolve()


def sample_path(name: str) -> Path:
    """A bundled sample file by name (e.g. ``"BTCUSDT_1h.parquet"``)."""
    path = SAMPLES_DIR / name
    if not path.exists():
        available = ", ".join(sorted(p.name for p in SAMPLES_DIR.glob("*.parquet"))) or "none"
        raise FileNotFoundError(f"no bundled sample named {name!r} in {SAMPLES_DIR} (available: {available})")
    return path
