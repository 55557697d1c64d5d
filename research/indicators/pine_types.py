"""The pieces the Pine registry is made of: the evaluation context, bound arguments,
overloads and registry entries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from .sessions import Session
from .sources import SOURCES

__all__ = ["Args", "Overload", "PineContext", "PineError", "PineFunction", "Value", "truthy", "tuple_fields"]

#: What a Pine expression evaluates to: a series, a scalar, ``None`` (na) or a tuple of
#: series (the NamedTuple a multi-output function returns).
Value: TypeAlias = pd.Series | float | int | bool | str | tuple[Any, ...] | None

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def truthy(series: pd.Series) -> pd.Series:
    """A series as Pine conditions see it: bools as they are, numbers true when non-zero,
    na false."""
    if series.dtype == bool:
        return series
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.Series(~np.isnan(values) & (values != 0.0), index=series.index)


class PineError(ValueError):
    """A Pine expression cannot be evaluated (unknown function, wrong arguments…)."""


@dataclass(frozen=True)
class PineContext:
    """The bars an expression runs on and the session that anchors ``timeframe.change``."""

    bars: pd.DataFrame
    session: Session = field(default_factory=Session)

    @property
    def index(self) -> pd.Index:
        return self.bars.index

    def source(self, name: str) -> pd.Series:
        return SOURCES[name](self.bars)

    def broadcast(self, value: Value) -> pd.Series:
        """``value`` as a series on the bars' index (a scalar repeats, na is NaN)."""
        if isinstance(value, pd.Series):
            return value
        if value is None:
            return pd.Series(np.nan, index=self.index)
        if isinstance(value, tuple | str):
            raise PineError(f"expected a series or a number, got {value!r}")
        return pd.Series(value, index=self.index)


@dataclass(frozen=True)
class Args:
    """Evaluated, bound arguments of one call, with typed accessors."""

    values: Mapping[str, Value]
    context: PineContext

    def series(self, name: str) -> pd.Series:
        return self.context.broadcast(self.values[name]).astype("float64")

    def condition(self, name: str) -> pd.Series:
        return truthy(self.context.broadcast(self.values[name]))

    def integer(self, name: str) -> int:
        value = self.values[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise PineError(f"{name} must be an integer constant, got {value!r}")
        return int(value)

    def number(self, name: str) -> float:
        value = self.values[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PineError(f"{name} must be a number, got {value!r}")
        return float(value)

    def flag(self, name: str) -> bool:
        value = self.values[name]
        if not isinstance(value, bool):
            raise PineError(f"{name} must be true or false, got {value!r}")
        return value

    def text(self, name: str) -> str:
        value = self.values[name]
        if not isinstance(value, str):
            raise PineError(f"{name} must be a string, got {value!r}")
        return value

    def optional_number(self, name: str) -> float | None:
        return None if self.values.get(name) is None else self.number(name)


@dataclass(frozen=True)
class Overload:
    """One signature: positional parameter order, defaults of the optional ones, and
    parameters the overload fills from bar sources (``ta.highest(length)`` reads
    ``high``)."""

    params: tuple[str, ...]
    defaults: Mapping[str, Value] = field(default_factory=dict)
    implicit: Mapping[str, str] = field(default_factory=dict)

    def accepts(self, positional: int, keywords: tuple[str, ...]) -> bool:
        names = self.params[:positional]
        if positional > len(self.params) or any(k in names or k not in self.params for k in keywords):
            return False
        given = set(names) | set(keywords)
        return all(p in given or p in self.defaults for p in self.params)


@dataclass(frozen=True)
class PineFunction:
    """A registry entry: a Pine function (or bare variable) and how to compute it."""

    name: str
    overloads: tuple[Overload, ...]
    compute: Callable[[Args], Value]
    fields: Mapping[str, Callable[[Any], pd.Series]] = field(default_factory=dict)
    variable: bool = False  # usable without parentheses, e.g. ``ta.tr``, ``ta.obv``


def tuple_fields(
    names: tuple[str, ...], aliases: Mapping[str, str] = _EMPTY
) -> Mapping[str, Callable[[Any], pd.Series]]:
    """Field getters for a tuple result: each name picks its position; aliases map
    other common names (``base`` → ``basis``)."""

    def getter(position: int) -> Callable[[Any], pd.Series]:
        return lambda result: result[position]

    getters = {name: getter(i) for i, name in enumerate(names)}
    getters.update({alias: getters[target] for alias, target in aliases.items()})
    return MappingProxyType(getters)
