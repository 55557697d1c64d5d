"""Find the chart timezone of a trade list whose times are naive, from the bars it was run on.

TradingView writes times in the chart's timezone and the export does not say which. A
fill happens at a bar: a market order at its open (time *and* price), a stop or limit
order inside it. So each candidate zone is scored by the checks its reading of the times
passes, over every fill (entries, and exits of closed trades):

- the fill time is a bar open time;
- the fill price lies inside that bar's [low, high];
- for fills that look like market fills — the price equals the open of the bar some
  candidate puts it at — the price equals the open of the bar *this* candidate puts it at.

``score`` = passed checks / checks. Candidates: fixed offsets UTC−12:00 … UTC+14:00 in
15-minute steps and named zones with their DST rules (a fixed offset cannot follow DST).
Candidates that read every time of this list as the same instants are *equivalent* (e.g.
Asia/Tokyo and UTC+09:00); the first in candidate order (UTC, named zones, offsets) is
reported, the others listed. The runner-up is the best candidate that is not equivalent;
a tie with it, or a best score below ``min_score``, raises :class:`TimezoneDetectionError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from .trade_list import TradingViewTradeList, zone_info

__all__ = [
    "NAMED_ZONES",
    "CandidateScore",
    "TimezoneDetection",
    "TimezoneDetectionError",
    "candidate_zones",
    "detect_timezone",
]

#: Named zones tried besides the fixed offsets (one per distinct DST rule in TradingView's menu).
NAMED_ZONES: Final = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Mexico_City",
    "America/Bogota",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Athens",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Tehran",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Hong_Kong",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Chatham",
)
_STEP_MINUTES: Final = 15
_TIE: Final = 1e-12
_NANOS_PER_MINUTE: Final = 60_000_000_000
_NAT: Final = np.iinfo(np.int64).min


class TimezoneDetectionError(ValueError):
    """No candidate aligns the trades with the bars, or two non-equivalent candidates tie."""


@dataclass(frozen=True)
class CandidateScore:
    """How one candidate reads the list: the fractions of fills at a bar open time, inside
    their bar, and (of the market-like fills) at their bar's open price; ``score`` pools the
    checks."""

    zone: str
    score: float
    at_bar_open: float
    inside_bar: float
    at_open_price: float | None


@dataclass(frozen=True)
class TimezoneDetection:
    """The chosen zone, its score, and how strongly it beat the runner-up."""

    zone: str
    score: float
    runner_up: str
    runner_up_score: float
    equivalent: tuple[str, ...]
    best: CandidateScore
    fills: int

    @property
    def margin(self) -> float:
        return self.score - self.runner_up_score

    def localize(self, trades: TradingViewTradeList) -> TradingViewTradeList:
        """``trades`` with its naive times read in the detected zone (UTC afterwards)."""
        return trades.localized(self.zone)

    def to_dict(self) -> dict[str, object]:
        return {
            "zone": self.zone,
            "score": self.score,
            "runner_up": self.runner_up,
            "runner_up_score": self.runner_up_score,
            "margin": self.margin,
            "equivalent": list(self.equivalent),
            "at_bar_open": self.best.at_bar_open,
            "inside_bar": self.best.inside_bar,
            "at_open_price": self.best.at_open_price,
            "fills": self.fills,
        }


def candidate_zones(named: Sequence[str] = NAMED_ZONES) -> tuple[str, ...]:
    """``UTC``, the named zones, then every 15-minute offset from UTC−12:00 to UTC+14:00."""
    offsets = []
    for minutes in range(-12 * 60, 14 * 60 + 1, _STEP_MINUTES):
        if minutes:
            sign = "+" if minutes > 0 else "-"
            offsets.append(f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
    return ("UTC", *named, *offsets)


@dataclass(frozen=True)
class _Fills:
    """Every fill of the list: naive wall time and price."""

    times: pd.DatetimeIndex
    prices: np.ndarray

    @classmethod
    def of(cls, trades: pd.DataFrame) -> _Fills:
        closed = trades[~trades["is_open"].to_numpy(dtype=bool)]
        times = pd.DatetimeIndex(pd.concat([trades["entry_time"], closed["exit_time"]], ignore_index=True))
        times = times.as_unit("ns")
        prices = np.concatenate([trades["entry_price"].to_numpy(float), closed["exit_price"].to_numpy(float)])
        return cls(times, prices)


@dataclass(frozen=True)
class _Bars:
    index: pd.DatetimeIndex
    open: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class _Reading:
    """One candidate's reading: UTC nanoseconds per fill (two rows where DST makes a wall
    time ambiguous: the DST and the standard reading) and the three checks per fill."""

    zone: str
    instants: np.ndarray
    at_bar_open: np.ndarray
    inside_bar: np.ndarray
    at_open_price: np.ndarray


def _instants(times: pd.DatetimeIndex, zone: str) -> np.ndarray:
    tz = zone_info(zone)
    readings = [
        times.tz_localize(tz, ambiguous=np.full(len(times), dst), nonexistent="NaT").tz_convert("UTC")
        for dst in (True, False)
    ]
    return np.stack([r.asi8 for r in readings])


def _read(zone: str, fills: _Fills, bars: _Bars, tolerance: float) -> _Reading:
    instants = _instants(fills.times, zone)
    at_bar_open = np.zeros(len(fills.prices), dtype=bool)
    inside = np.zeros_like(at_bar_open)
    at_open = np.zeros_like(at_bar_open)
    slack = tolerance * np.abs(fills.prices)
    for row in instants:
        position = bars.index.get_indexer(pd.DatetimeIndex(row, tz="UTC"))
        found = (position >= 0) & (row != _NAT)
        safe = np.where(found, position, 0)
        at_bar_open |= found
        inside |= found & (bars.low[safe] - slack <= fills.prices) & (fills.prices <= bars.high[safe] + slack)
        at_open |= found & (np.abs(fills.prices - bars.open[safe]) <= slack)
    return _Reading(zone, instants, at_bar_open, inside, at_open)


def _score(reading: _Reading, market_like: np.ndarray) -> CandidateScore:
    n, m = len(reading.at_bar_open), int(market_like.sum())
    at_open = int((reading.at_open_price & market_like).sum())
    passed = int(reading.at_bar_open.sum()) + int(reading.inside_bar.sum()) + at_open
    return CandidateScore(
        zone=reading.zone,
        score=passed / (2 * n + m),
        at_bar_open=float(reading.at_bar_open.mean()),
        inside_bar=float(reading.inside_bar.mean()),
        at_open_price=at_open / m if m else None,
    )


def _naive_trades(trades: TradingViewTradeList | pd.DataFrame) -> pd.DataFrame:
    frame = trades.trades if isinstance(trades, TradingViewTradeList) else trades
    if getattr(frame["entry_time"].dt, "tz", None) is not None:
        raise ValueError("the trade times already carry a timezone; detection is for naive times")
    if frame.empty:
        raise TimezoneDetectionError("no trades to align")
    return frame


def _bars(bars: pd.DataFrame) -> _Bars:
    index = pd.DatetimeIndex(bars.index)
    if index.tz is None:
        raise ValueError("bars need a UTC DatetimeIndex of open times (quantbridge.datasets.readers.read_bars)")
    return _Bars(
        index.tz_convert("UTC").as_unit("ns"),
        bars["open"].to_numpy(float),
        bars["low"].to_numpy(float),
        bars["high"].to_numpy(float),
    )


def _decide(readings: list[_Reading], scores: list[CandidateScore], min_score: float, fills: int) -> TimezoneDetection:
    order = sorted(range(len(scores)), key=lambda i: -scores[i].score)  # stable: candidate order breaks ties
    best = order[0]
    same = [i for i in order if np.array_equal(readings[i].instants, readings[best].instants)]
    others = [i for i in order if i not in same]
    if scores[best].score < min_score:
        raise TimezoneDetectionError(
            f"no timezone aligns the trades with the bars: best {scores[best].zone} scored "
            f"{scores[best].score:.3f} < {min_score} (fills at a bar open: {scores[best].at_bar_open:.1%})"
        )
    runner = scores[others[0]] if others else CandidateScore("none", 0.0, 0.0, 0.0, None)
    if scores[best].score - runner.score <= _TIE:
        raise TimezoneDetectionError(
            f"{scores[best].zone} and {runner.zone} align the trades equally well "
            f"(score {runner.score:.3f}); name the chart timezone with tz="
        )
    first = min(same)  # candidate order: UTC, named zones, offsets
    return TimezoneDetection(
        zone=scores[first].zone,
        score=scores[best].score,
        runner_up=runner.zone,
        runner_up_score=runner.score,
        equivalent=tuple(scores[i].zone for i in sorted(same) if i != first),
        best=scores[first],
        fills=fills,
    )


def detect_timezone(
    trades: TradingViewTradeList | pd.DataFrame,
    bars: pd.DataFrame,
    *,
    zones: Sequence[str] | None = None,
    min_score: float = 0.9,
    price_tolerance: float = 1e-9,
) -> TimezoneDetection:
    """The zone that makes naive trade times line up with ``bars`` (UTC open times, with
    ``open``/``high``/``low``). ``zones`` replaces :func:`candidate_zones`; ``price_tolerance``
    is relative. Raises :class:`TimezoneDetectionError` when nothing aligns or two candidates tie."""
    fills = _Fills.of(_naive_trades(trades))
    table = _bars(bars)
    readings = [_read(zone, fills, table, price_tolerance) for zone in (zones or candidate_zones())]
    market_like = np.logical_or.reduce([r.at_open_price for r in readings])
    scores = [_score(r, market_like) for r in readings]
    return _decide(readings, scores, min_score, len(fills.prices))
