"""``Signals``: what a prototype returns — orders it wants, bar by bar.

Every array is aligned to the input bars. At bar *i* (decided on its close):

* ``long_entry[i]`` asks for a long entry order working on the next bar (or filled at
  this bar's close with ``Timing.BAR_CLOSE``). It is a **market** order unless
  ``long_entry_stop[i]`` (a buy-stop price) or ``long_entry_limit[i]`` (a buy-limit
  price) is given, as in Pine's ``strategy.entry(..., stop=…, limit=…)``. An order
  lives for one bar; a prototype that keeps an order working (Pine orders persist
  until cancelled) repeats it on every bar it should work.
* ``long_exit[i]`` closes the long position at market.
* ``short_*`` mirror them.
* ``size[i]`` overrides the ExecutionModel's sizing with a quantity (NaN: use it).
* ``long_entry_from[i]`` names the bar that *placed* the long entry order working after
  bar *i* (default: *i* itself, a fresh order every bar). Pine orders persist until
  filled or cancelled; a prototype that models such an order repeats it with the same
  ``from`` bar, so the simulator treats the rows as one order: it exists only if
  pyramiding allowed it when placed, it is sized when placed, and once filled it is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Signals", "SignalsError"]

_BOOL_FIELDS = ("long_entry", "long_exit", "short_entry", "short_exit")
_PRICE_FIELDS = ("long_entry_stop", "long_entry_limit", "short_entry_stop", "short_entry_limit", "size")


class SignalsError(ValueError):
    """Signals that do not fit the bars or the contract."""


def _as_bool(name: str, values: pd.Series | np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=np.bool_)
    array = np.asarray(values)
    if array.shape != (n,):
        raise SignalsError(f"{name}: expected {n} values aligned to the bars, got shape {array.shape}")
    if array.dtype != np.bool_:
        if array.dtype == object or not np.isin(array[~pd.isna(array)], (0, 1)).all():
            raise SignalsError(f"{name}: expected booleans, got dtype {array.dtype}")
        if pd.isna(array).any():
            raise SignalsError(f"{name}: row {int(np.flatnonzero(pd.isna(array))[0])} is NaN; expected True/False")
        array = array.astype(np.bool_)
    return array


def _as_price(name: str, values: pd.Series | np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise SignalsError(f"{name}: expected {n} values aligned to the bars, got shape {array.shape}")
    bad = np.isinf(array) | (array <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SignalsError(f"{name}: row {row} is {array[row]!r}; expected a positive price/size or NaN")
    return array


def _as_origin(name: str, values: pd.Series | np.ndarray | None, n: int) -> np.ndarray:
    own = np.arange(n, dtype=np.int64)
    if values is None:
        return own
    array = np.asarray(values)
    if array.shape != (n,) or not np.issubdtype(array.dtype, np.integer):
        raise SignalsError(f"{name}: expected {n} integer bar positions, got {array.dtype} shape {array.shape}")
    bad = (array < 0) | (array > own)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SignalsError(f"{name}: row {row} names bar {array[row]}; expected a bar at or before {row}")
    return array.astype(np.int64)


@dataclass(frozen=True, eq=False)
class Signals:
    """Entry/exit orders per bar (see the module docstring for the exact meaning)."""

    index: pd.DatetimeIndex
    long_entry: np.ndarray
    long_exit: np.ndarray
    short_entry: np.ndarray
    short_exit: np.ndarray
    long_entry_stop: np.ndarray
    long_entry_limit: np.ndarray
    short_entry_stop: np.ndarray
    short_entry_limit: np.ndarray
    size: np.ndarray
    long_entry_from: np.ndarray
    short_entry_from: np.ndarray
    long_name: str = "long"
    short_name: str = "short"
    indicators: dict[str, pd.Series] = field(default_factory=dict)
    """Values the prototype computed (for reports and divergence tables)."""

    @classmethod
    def build(
        cls,
        index: pd.DatetimeIndex,
        *,
        long_entry: pd.Series | np.ndarray | None = None,
        long_exit: pd.Series | np.ndarray | None = None,
        short_entry: pd.Series | np.ndarray | None = None,
        short_exit: pd.Series | np.ndarray | None = None,
        long_entry_stop: pd.Series | np.ndarray | None = None,
        long_entry_limit: pd.Series | np.ndarray | None = None,
        short_entry_stop: pd.Series | np.ndarray | None = None,
        short_entry_limit: pd.Series | np.ndarray | None = None,
        size: pd.Series | np.ndarray | None = None,
        long_entry_from: pd.Series | np.ndarray | None = None,
        short_entry_from: pd.Series | np.ndarray | None = None,
        long_name: str = "long",
        short_name: str = "short",
        indicators: dict[str, pd.Series] | None = None,
    ) -> Signals:
        """Validate and align; omitted columns are all False / all NaN."""
        n = len(index)
        bools = dict(zip(_BOOL_FIELDS, (long_entry, long_exit, short_entry, short_exit), strict=True))
        prices = dict(
            zip(
                _PRICE_FIELDS,
                (long_entry_stop, long_entry_limit, short_entry_stop, short_entry_limit, size),
                strict=True,
            )
        )
        return cls(
            index=index,
            **{k: _as_bool(k, v, n) for k, v in bools.items()},
            **{k: _as_price(k, v, n) for k, v in prices.items()},
            long_entry_from=_as_origin("long_entry_from", long_entry_from, n),
            short_entry_from=_as_origin("short_entry_from", short_entry_from, n),
            long_name=long_name,
            short_name=short_name,
            indicators=dict(indicators or {}),
        )

    def __len__(self) -> int:
        return len(self.index)

    def to_frame(self) -> pd.DataFrame:
        """All columns as one frame on the bars' index."""
        names = (*_BOOL_FIELDS, *_PRICE_FIELDS, "long_entry_from", "short_entry_from")
        data = {name: getattr(self, name) for name in names}
        return pd.DataFrame(data, index=self.index)

    def equals(self, other: Signals) -> bool:
        """Same orders on the same bars (NaN prices compare equal)."""
        return self.index.equals(other.index) and self.to_frame().equals(other.to_frame())
