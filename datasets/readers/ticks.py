"""Readers for trade ticks and quotes: Parquet or CSV, generic or Binance's column names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..schemas import QUOTE_COLUMNS, TRADE_COLUMNS
from .errors import DataFormatError
from .times import parse_times

__all__ = ["read_quote_table", "read_trade_table"]

# canonical name -> accepted source names (lower case), first match wins
_TRADE_ALIASES: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "time", "timestamp", "transact_time", "datetime", "date"),
    "price": ("price",),
    "amount": ("amount", "qty", "quantity", "size", "volume"),
    "trade_id": ("trade_id", "id", "agg_trade_id", "tradeid"),
}
_QUOTE_ALIASES: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "time", "timestamp", "transaction_time", "event_time", "datetime"),
    "bid": ("bid", "best_bid_price", "bid_price"),
    "ask": ("ask", "best_ask_price", "ask_price"),
    "bid_size": ("bid_size", "best_bid_qty", "bid_qty"),
    "ask_size": ("ask_size", "best_ask_qty", "ask_qty"),
}


def _load(path: Path) -> tuple[pd.DataFrame, int]:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path), 0
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, encoding="utf-8-sig"), 2
    except Exception as exc:  # pandas/pyarrow raise several unrelated types for a bad file
        raise DataFormatError(path, f"not a readable {suffix} file ({exc})") from exc
    raise DataFormatError(path, f"unsupported extension {suffix!r}; expected .parquet or .csv")


def _pick(raw: pd.DataFrame, path: Path, aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    lowered = {str(c).strip().lower(): str(c) for c in raw.columns}
    mapping: dict[str, str] = {}
    for canonical, names in aliases.items():
        source = next((lowered[n] for n in names if n in lowered), None)
        if source is None:
            raise DataFormatError(
                path, f"no {canonical!r} column; expected one named one of {names} (columns: {list(raw.columns)})"
            )
        mapping[canonical] = source
    return mapping


def _side(raw: pd.DataFrame, path: Path, line_offset: int) -> np.ndarray:
    lowered = {str(c).strip().lower(): str(c) for c in raw.columns}
    if "side" in lowered:
        return raw[lowered["side"]].astype("string").str.strip().str.lower().to_numpy(dtype=object)
    if "is_buyer_maker" in lowered:
        maker = raw[lowered["is_buyer_maker"]].astype("string").str.strip().str.lower()
        unknown = ~maker.isin(["true", "false"])
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataFormatError(
                path, f"value {maker.iloc[row]!r} is not true/false", line=row + line_offset, field="is_buyer_maker"
            )
        # The buyer was the resting order, so the aggressor (taker) sold.
        return np.where(maker == "true", "sell", "buy").astype(object)
    raise DataFormatError(
        path, "no 'side' column (or Binance's 'is_buyer_maker'); expected the taker side of each trade"
    )


def _as_float(raw: pd.Series, path: Path, name: str, line_offset: int) -> np.ndarray:
    converted = pd.to_numeric(raw, errors="coerce")
    broken = converted.isna() & raw.notna()
    if broken.any():
        row = int(np.flatnonzero(broken.to_numpy())[0])
        raise DataFormatError(path, f"value {raw.iloc[row]!r} is not a number", line=row + line_offset, field=name)
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def read_trade_table(path: Path, *, tz: str | None = None) -> tuple[pd.DataFrame, int]:
    """Trades in the schema's columns (extras kept after them) and the line of row 0."""
    raw, line_offset = _load(path)
    mapping = _pick(raw, path, _TRADE_ALIASES)
    ts, _ = parse_times(raw[mapping["ts"]], path=path, column=mapping["ts"], line_offset=line_offset, tz=tz)
    ids = pd.to_numeric(raw[mapping["trade_id"]], errors="coerce")
    if ids.isna().any() or not np.all(np.mod(ids.to_numpy(dtype=np.float64), 1) == 0):
        row = int(np.flatnonzero((ids.isna() | (np.mod(ids.fillna(0.5), 1) != 0)).to_numpy())[0])
        raise DataFormatError(
            path,
            f"value {raw[mapping['trade_id']].iloc[row]!r} is not an integer id",
            line=row + line_offset,
            field=mapping["trade_id"],
        )
    frame = pd.DataFrame(
        {
            "ts": ts,
            "price": _as_float(raw[mapping["price"]], path, mapping["price"], line_offset),
            "amount": _as_float(raw[mapping["amount"]], path, mapping["amount"], line_offset),
            "side": _side(raw, path, line_offset),
            "trade_id": ids.to_numpy(dtype=np.int64),
        }
    )
    _keep_extras(frame, raw, set(mapping.values()) | {"side", "is_buyer_maker"}, TRADE_COLUMNS)
    return frame, line_offset


def read_quote_table(path: Path, *, tz: str | None = None) -> tuple[pd.DataFrame, int]:
    """Quotes in the schema's columns (extras kept after them) and the line of row 0."""
    raw, line_offset = _load(path)
    mapping = _pick(raw, path, _QUOTE_ALIASES)
    ts, _ = parse_times(raw[mapping["ts"]], path=path, column=mapping["ts"], line_offset=line_offset, tz=tz)
    frame = pd.DataFrame({"ts": ts})
    for name in QUOTE_COLUMNS[1:]:
        frame[name] = _as_float(raw[mapping[name]], path, mapping[name], line_offset)
    _keep_extras(frame, raw, set(mapping.values()), QUOTE_COLUMNS)
    return frame, line_offset


def _keep_extras(frame: pd.DataFrame, raw: pd.DataFrame, used: set[str], canonical: tuple[str, ...]) -> None:
    for name in raw.columns:
        if str(name) not in used and str(name).lower() not in used and str(name) not in canonical:
            frame[str(name)] = raw[name].to_numpy()
