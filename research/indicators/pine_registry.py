"""The registry: Pine names (``ta.sma``, ``ta.macd``, ``ta.tr``, ``timeframe.change`` …)
mapped to our TradingView-exact implementations, with Pine's parameter names, defaults,
overloads and tuple fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import pandas as pd

from . import tv_extremes as ext
from . import tv_ma as ma
from . import tv_oscillators as osc
from . import tv_signals as sig
from . import tv_stats as stats
from . import tv_trend as trend
from . import tv_volatility as vol
from . import tv_volume as volume
from .pine_types import Args, Overload, PineFunction, Value, tuple_fields
from .sessions import new_period, period_ids, timeframe_change

__all__ = ["REGISTRY"]

_REGISTRY: dict[str, PineFunction] = {}
_Fields = Mapping[str, Callable[[Any], pd.Series]]
_SourceLength = Callable[[pd.Series, int], pd.Series]


def _register(
    name: str,
    params: tuple[str, ...],
    compute: Callable[[Args], Value],
    defaults: Mapping[str, Value] | None = None,
    fields: _Fields | None = None,
    variable: bool = False,
    implicit: tuple[str, str] | None = None,
) -> None:
    """Add ``name``; ``implicit = (param, source)`` adds the overload without ``param``,
    filled from the bar ``source`` (``ta.highest(10)`` reads ``high``)."""
    frozen = MappingProxyType(dict(defaults or {}))
    overloads = [Overload(params, frozen)]
    if implicit is not None:
        rest = tuple(p for p in params if p != implicit[0])
        overloads.append(Overload(rest, frozen, MappingProxyType({implicit[0]: implicit[1]})))
    _REGISTRY[name] = PineFunction(name, tuple(overloads), compute, fields or MappingProxyType({}), variable)


def _bars(a: Args, column: str) -> pd.Series:
    return a.context.source(column)


def _hlc(a: Args) -> tuple[pd.Series, pd.Series, pd.Series]:
    return _bars(a, "high"), _bars(a, "low"), _bars(a, "close")


# --- registration shapes ------------------------------------------------------------


def _source_length(name: str, func: _SourceLength, source: str = "source", implicit: str | None = None) -> None:
    _register(
        name,
        (source, "length"),
        lambda a: func(a.series(source), a.integer("length")),
        implicit=(source, implicit) if implicit else None,
    )


def _source_only(name: str, func: Callable[[pd.Series], pd.Series]) -> None:
    _register(name, ("source",), lambda a: func(a.series("source")))


def _pair(name: str, func: Callable[[pd.Series, pd.Series], pd.Series]) -> None:
    _register(name, ("source1", "source2"), lambda a: func(a.series("source1"), a.series("source2")))


def _percentile(name: str, func: Callable[[pd.Series, int, float], pd.Series]) -> None:
    params = ("source", "length", "percentage")
    _register(name, params, lambda a: func(a.series("source"), a.integer("length"), a.number("percentage")))


def _moment(name: str, func: Callable[[pd.Series, int, bool], pd.Series]) -> None:
    _register(
        name,
        ("source", "length", "biased"),
        lambda a: func(a.series("source"), a.integer("length"), a.flag("biased")),
        defaults={"biased": True},
    )


def _pivot(name: str, func: Callable[[pd.Series, int, int], pd.Series], implicit: str) -> None:
    _register(
        name,
        ("source", "leftbars", "rightbars"),
        lambda a: func(a.series("source"), a.integer("leftbars"), a.integer("rightbars")),
        implicit=("source", implicit),
    )


def _close_volume(name: str, func: Callable[[pd.Series, pd.Series], pd.Series]) -> None:
    _register(name, (), lambda a: func(_bars(a, "close"), _bars(a, "volume")), variable=True)


def _math(name: str, func: Callable[[pd.Series], pd.Series]) -> None:
    _register(name, ("number",), lambda a: func(a.series("number")))


# --- moving averages ------------------------------------------------------------------
_source_length("ta.sma", ma.sma)
_source_length("ta.ema", ma.ema)
_source_length("ta.rma", ma.rma)
_source_length("ta.wma", ma.wma)
_source_length("ta.hma", ma.hma)
_source_only("ta.swma", ma.swma)
_register(
    "ta.vwma",
    ("source", "length"),
    lambda a: ma.vwma(a.series("source"), _bars(a, "volume"), a.integer("length")),
)
_register(
    "ta.alma",
    ("series", "length", "offset", "sigma", "floor"),
    lambda a: ma.alma(a.series("series"), a.integer("length"), a.number("offset"), a.number("sigma"), a.flag("floor")),
    defaults={"floor": False},
)
_register(
    "ta.linreg",
    ("source", "length", "offset"),
    lambda a: ma.linreg(a.series("source"), a.integer("length"), a.integer("offset")),
)

# --- statistics -----------------------------------------------------------------------
_source_length("ta.dev", stats.dev)
_source_length("ta.median", stats.median)
_source_length("ta.mode", stats.mode)
_source_length("ta.percentrank", stats.percentrank)
_source_length("ta.rci", stats.rci)
_source_length("ta.range", ext.range_)
_source_length("math.sum", stats.math_sum)
_moment("ta.stdev", stats.stdev)
_moment("ta.variance", stats.variance)
_percentile("ta.percentile_linear_interpolation", stats.percentile_linear_interpolation)
_percentile("ta.percentile_nearest_rank", stats.percentile_nearest_rank)
_source_only("ta.cum", stats.cum)
_source_only("ta.max", stats.max_)
_source_only("ta.min", stats.min_)
_register(
    "ta.correlation",
    ("source1", "source2", "length"),
    lambda a: stats.correlation(a.series("source1"), a.series("source2"), a.integer("length")),
)

# --- extremes -------------------------------------------------------------------------
_source_length("ta.highest", ext.highest, implicit="high")
_source_length("ta.lowest", ext.lowest, implicit="low")
_source_length("ta.highestbars", ext.highestbars, implicit="high")
_source_length("ta.lowestbars", ext.lowestbars, implicit="low")
_pivot("ta.pivothigh", ext.pivothigh, "high")
_pivot("ta.pivotlow", ext.pivotlow, "low")

# --- oscillators ----------------------------------------------------------------------
_source_length("ta.rsi", osc.rsi)
_source_length("ta.cci", osc.cci)
_source_length("ta.roc", osc.roc)
_source_length("ta.mom", osc.mom)
_source_length("ta.cog", osc.cog)
_source_length("ta.cmo", osc.cmo, source="series")
_register(
    "ta.change",
    ("source", "length"),
    lambda a: osc.change(a.series("source"), a.integer("length")),
    defaults={"length": 1},
)
_register(
    "ta.stoch",
    ("source", "high", "low", "length"),
    lambda a: osc.stoch(a.series("source"), a.series("high"), a.series("low"), a.integer("length")),
)
_register(
    "ta.macd",
    ("source", "fastlen", "slowlen", "siglen"),
    lambda a: osc.macd(a.series("source"), a.integer("fastlen"), a.integer("slowlen"), a.integer("siglen")),
    fields=tuple_fields(("macd", "signal", "hist"), {"line": "macd", "histogram": "hist"}),
)
_register(
    "ta.tsi",
    ("source", "short_length", "long_length"),
    lambda a: osc.tsi(a.series("source"), a.integer("short_length"), a.integer("long_length")),
)
_register(
    "ta.mfi",
    ("series", "length"),
    lambda a: osc.mfi(a.series("series"), _bars(a, "volume"), a.integer("length")),
)
_register("ta.wpr", ("length",), lambda a: osc.wpr(*_hlc(a), a.integer("length")))

# --- volatility -----------------------------------------------------------------------
_BANDS = tuple_fields(("basis", "upper", "lower"), {"base": "basis", "middle": "basis"})
_register("ta.tr", ("handle_na",), lambda a: vol.tr(*_hlc(a), a.flag("handle_na")), {"handle_na": False}, variable=True)
_register("ta.atr", ("length",), lambda a: vol.atr(*_hlc(a), a.integer("length")))
_register(
    "ta.bb",
    ("series", "length", "mult"),
    lambda a: vol.bb(a.series("series"), a.integer("length"), a.number("mult")),
    fields=_BANDS,
)
_register(
    "ta.bbw",
    ("series", "length", "mult"),
    lambda a: vol.bbw(a.series("series"), a.integer("length"), a.number("mult")),
)
_KC_PARAMS = ("series", "length", "mult", "useTrueRange")
_register(
    "ta.kc",
    _KC_PARAMS,
    lambda a: vol.kc(a.series("series"), *_hlc(a), a.integer("length"), a.number("mult"), a.flag("useTrueRange")),
    defaults={"useTrueRange": True},
    fields=_BANDS,
)
_register(
    "ta.kcw",
    _KC_PARAMS,
    lambda a: vol.kcw(a.series("series"), *_hlc(a), a.integer("length"), a.number("mult"), a.flag("useTrueRange")),
    defaults={"useTrueRange": True},
)


# --- trend ----------------------------------------------------------------------------
def _direction_split(sign: float) -> Callable[[Any], pd.Series]:
    """The Pine reference plots: the line where ``direction`` has ``sign``, na elsewhere."""

    def pick(result: trend.SuperTrend) -> pd.Series:
        return result.supertrend.where(np.sign(result.direction) == sign)

    return pick


_register(
    "ta.dmi",
    ("diLength", "adxSmoothing"),
    lambda a: trend.dmi(*_hlc(a), a.integer("diLength"), a.integer("adxSmoothing")),
    fields=tuple_fields(
        ("plus", "minus", "adx"), {"diplus": "plus", "diminus": "minus", "dip": "plus", "dim": "minus"}
    ),
)
_register(
    "ta.supertrend",
    ("factor", "atrPeriod"),
    lambda a: trend.supertrend(*_hlc(a), a.number("factor"), a.integer("atrPeriod")),
    fields=MappingProxyType(
        {**tuple_fields(("supertrend", "direction")), "up": _direction_split(-1.0), "down": _direction_split(1.0)}
    ),
)
_register(
    "ta.sar",
    ("start", "inc", "max"),
    lambda a: trend.sar(*_hlc(a), a.number("start"), a.number("inc"), a.number("max")),
)

# --- volume ---------------------------------------------------------------------------
_register("ta.accdist", (), lambda a: volume.accdist(*_hlc(a), _bars(a, "volume")), variable=True)
_register("ta.iii", (), lambda a: volume.iii(*_hlc(a), _bars(a, "volume")), variable=True)
_register("ta.wad", (), lambda a: volume.wad(*_hlc(a)), variable=True)
_register("ta.wvad", (), lambda a: volume.wvad(_bars(a, "open"), *_hlc(a), _bars(a, "volume")), variable=True)
_close_volume("ta.obv", volume.obv)
_close_volume("ta.pvt", volume.pvt)
_close_volume("ta.nvi", volume.nvi)
_close_volume("ta.pvi", volume.pvi)


def _daily_anchor(a: Args) -> pd.Series:
    """``ta.vwap``'s default anchor: each new trading day, bar 0 included."""
    ids = period_ids(pd.DatetimeIndex(a.context.index), "D", a.context.session)
    return pd.Series(new_period(ids, first_bar=True), index=a.context.index)


def _vwap(a: Args) -> Value:
    anchor = a.condition("anchor") if a.values.get("anchor") is not None else _daily_anchor(a)
    result = volume.vwap(a.series("source"), _bars(a, "volume"), anchor, a.optional_number("stdev_mult"))
    return result if a.values.get("stdev_mult") is not None else result.vwap


_register(
    "ta.vwap",
    ("source", "anchor", "stdev_mult"),
    _vwap,
    defaults={"anchor": None, "stdev_mult": None},
    fields=tuple_fields(("vwap", "upper_band", "lower_band"), {"upper": "upper_band", "lower": "lower_band"}),
    variable=True,
    implicit=("source", "hlc3"),
)

# --- events ---------------------------------------------------------------------------
_pair("ta.cross", sig.cross)
_pair("ta.crossover", sig.crossover)
_pair("ta.crossunder", sig.crossunder)
_source_length("ta.rising", sig.rising)
_source_length("ta.falling", sig.falling)
_register(
    "ta.valuewhen",
    ("condition", "source", "occurrence"),
    lambda a: sig.valuewhen(a.condition("condition"), a.series("source"), a.integer("occurrence")),
)
_register("ta.barssince", ("condition",), lambda a: sig.barssince(a.condition("condition")))

# --- time and helpers -----------------------------------------------------------------
_register(
    "timeframe.change",
    ("timeframe",),
    lambda a: timeframe_change(pd.DatetimeIndex(a.context.index), a.text("timeframe"), a.context.session),
)
_register("na", ("x",), lambda a: a.context.broadcast(a.values["x"]).isna())
_register(
    "nz",
    ("source", "replacement"),
    lambda a: a.series("source").fillna(a.series("replacement")),
    defaults={"replacement": 0},
)


def _elementwise(func: Callable[[Any], Any]) -> Callable[[pd.Series], pd.Series]:
    def apply(series: pd.Series) -> pd.Series:
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.Series(func(series.to_numpy()), index=series.index)

    return apply


def _extreme(a: Args, pick: str) -> pd.Series:
    """Pine's ``math.max`` / ``math.min`` of two series: na if either is na."""
    both = pd.concat([a.series("number0"), a.series("number1")], axis=1)
    return both.max(axis=1, skipna=False) if pick == "max" else both.min(axis=1, skipna=False)


_math("math.abs", _elementwise(np.abs))
_math("math.sign", _elementwise(np.sign))
_math("math.log", _elementwise(np.log))
_math("math.sqrt", _elementwise(np.sqrt))
_register("math.max", ("number0", "number1"), lambda a: _extreme(a, "max"))
_register("math.min", ("number0", "number1"), lambda a: _extreme(a, "min"))

#: Every Pine name the registry provides, read-only.
REGISTRY: Final[Mapping[str, PineFunction]] = MappingProxyType(_REGISTRY)
