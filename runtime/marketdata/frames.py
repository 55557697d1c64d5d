"""Dataset frames (``quantbridge.datasets`` trade and quote schemas) → ``Tick`` / ``Quote`` values.

The conversion is vectorised where Python objects allow it: every distinct price,
amount and timestamp is converted once (``pandas.factorize``) and the objects are
shared between rows, so a frame on a price grid costs a dictionary of a few thousand
``Decimal`` values, not one parse per row.

Floats become decimals in one of two ways (``DecimalMode``):

* ``"shortest"`` (default): the shortest decimal that reads back as the same float
  (``repr``) — the text a CSV or an exchange sent, e.g. ``42000.1``.
* ``"exact"``: the float's exact binary value (``Decimal(0.1)`` has 55 digits). Use it for
  synthetic amounts built by binary splitting (``synthesize_ticks_from_bars``), whose
  exact sum is the bar's volume.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, Literal, TypeVar, cast

import numpy as np
import pandas as pd

from ..domain import Quote, Tick

__all__ = ["NO_LATENCY", "DecimalMode", "decimals", "quote_events", "timestamps", "trade_ticks"]

DecimalMode = Literal["shortest", "exact"]
Side = Literal["buy", "sell"]
T = TypeVar("T")
_SIDES: Final = frozenset({"buy", "sell"})
#: ``received = ts``: the event is seen when it happens.
NO_LATENCY: Final = pd.Timedelta(0)


def decimals(values: np.ndarray, mode: DecimalMode = "shortest") -> list[Decimal]:
    """One ``Decimal`` per float in ``values``; each distinct value is converted once."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=np.float64), use_na_sentinel=False)
    floats = np.asarray(uniques, dtype=np.float64).tolist()
    if mode == "shortest":
        table = [Decimal(repr(x)) for x in floats]
    elif mode == "exact":
        table = [Decimal(x) for x in floats]
    else:
        raise ValueError(f"mode {mode!r}: expected 'shortest' or 'exact'")
    return _spread(table, codes)


def timestamps(ns: np.ndarray) -> list[pd.Timestamp]:
    """UTC ``Timestamp`` objects for epoch nanoseconds; each distinct time is boxed once."""
    codes, uniques = pd.factorize(np.asarray(ns, dtype=np.int64))
    boxed = list(pd.to_datetime(np.asarray(uniques, dtype=np.int64), unit="ns", utc=True))
    return boxed if len(boxed) == len(codes) else _spread(boxed, codes)


def _spread(table: list[T], codes: np.ndarray) -> list[T]:
    """``[table[c] for c in codes]``, vectorised."""
    spread = np.empty(len(table), dtype=object)
    spread[:] = table
    return list(spread[codes])


def _ns(frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(frame["ts"]).as_unit("ns").asi8, dtype=np.int64)


def _received(ns: np.ndarray, stamps: list[pd.Timestamp], latency: pd.Timedelta) -> list[pd.Timestamp]:
    return stamps if latency == NO_LATENCY else timestamps(ns + latency.value)


def _sides(frame: pd.DataFrame) -> list[Side]:
    codes, uniques = pd.factorize(frame["side"])
    names = [str(name) for name in uniques]
    unknown = set(names) - _SIDES
    if unknown or (codes < 0).any():
        raise ValueError(f"trades: side must be 'buy' or 'sell', found {sorted(unknown) or 'missing values'}")
    return _spread(cast("list[Side]", names), codes)


def _column(frame: pd.DataFrame, name: str, mode: DecimalMode) -> list[Decimal]:
    return decimals(frame[name].to_numpy(dtype=np.float64), mode)


def trade_ticks(
    frame: pd.DataFrame,
    symbol: str,
    *,
    latency: pd.Timedelta = NO_LATENCY,
    mode: DecimalMode = "shortest",
) -> list[Tick]:
    """Ticks from a trades frame (``ts, price, amount, side, trade_id``), in row order;
    ``received`` is ``ts + latency``."""
    ns = _ns(frame)
    stamps = timestamps(ns)
    rows = zip(
        stamps,
        _received(ns, stamps, latency),
        _column(frame, "price", mode),
        _column(frame, "amount", mode),
        _sides(frame),
        frame["trade_id"].to_numpy(dtype=np.int64).tolist(),
        strict=True,
    )
    return [Tick(symbol, ts, rec, price, amount, side, tid) for ts, rec, price, amount, side, tid in rows]


def quote_events(
    frame: pd.DataFrame,
    symbol: str,
    *,
    latency: pd.Timedelta = NO_LATENCY,
    mode: DecimalMode = "shortest",
) -> list[Quote]:
    """Quotes from a quotes frame (``ts, bid, ask, bid_size, ask_size``), in row order;
    ``received`` is ``ts + latency``."""
    ns = _ns(frame)
    stamps = timestamps(ns)
    rows = zip(
        stamps,
        _received(ns, stamps, latency),
        _column(frame, "bid", mode),
        _column(frame, "ask", mode),
        _column(frame, "bid_size", mode),
        _column(frame, "ask_size", mode),
        strict=True,
    )
    return [Quote(symbol, ts, rec, bid, ask, bsize, asize) for ts, rec, bid, ask, bsize, asize in rows]
