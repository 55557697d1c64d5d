"""The streaming CandleAggregator and CandleResampler: differential tests against the
vectorised reference (``datasets.resample``), the policies one by one, and real bars."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantbridge.datasets.readers import load_bars
from quantbridge.datasets.resample import EmptyBars
from quantbridge.datasets.synth import synthesize_ticks_from_bars
from quantbridge.runtime.domain import Candle, Quote, Tick
from quantbridge.runtime.marketdata.aggregator import (
    AggregatorStats,
    CandleAggregator,
    EmptyPolicy,
    FirstCandlePolicy,
)
from quantbridge.runtime.marketdata.frames import trade_ticks
from quantbridge.runtime.marketdata.resampler import CandleResampler

from .candle_oracle import expected_rows, quotes_frame, rows, trades_frame

SYMBOL = "BTCUSDT"
DAY0 = pd.Timestamp("2024-03-04", tz="UTC")
MINUTE = pd.Timedelta(minutes=1)
INTERVALS = [pd.Timedelta(seconds=1), MINUTE, pd.Timedelta(minutes=5), pd.Timedelta(hours=1), pd.Timedelta(days=1)]
CRYPTO = "crypto"


def at(offset: str | pd.Timedelta) -> pd.Timestamp:
    return DAY0 + pd.Timedelta(offset)


def tick(offset: str | pd.Timedelta, price: str | Decimal, amount: str = "1", trade_id: int = 0, **kw: str) -> Tick:
    ts = at(offset)
    return Tick(kw.get("symbol", SYMBOL), ts, ts, Decimal(price), Decimal(amount), "buy", trade_id)


def numbered(*specs: tuple[str, str]) -> list[Tick]:
    """Ticks (offset, price) with amount 1 and trade ids 1, 2, …"""
    return [tick(offset, price, trade_id=i) for i, (offset, price) in enumerate(specs, start=1)]


def feed(agg: CandleAggregator, events: list[Tick] | list[Quote]) -> list[Candle]:
    out: list[Candle] = []
    for event in events:
        out += agg.on_event(event)
    return out + agg.flush()


# --- generated streams ----------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """Ticks in arrival order: some delayed inside the grace, some repeated (duplicates)."""

    interval: pd.Timedelta
    grace: pd.Timedelta
    arrivals: list[Tick]
    unique: list[Tick]
    duplicates: int
    late_amended: int
    start: pd.Timestamp | None


def _late_count(unique: list[Tick]) -> int:
    running = -(2**62)
    late = 0
    for t in unique:
        late += t.ts.value < running
        running = max(running, t.ts.value)
    return late


def _start(draw: st.DrawFn, first_ns: int, width: int) -> pd.Timestamp | None:
    kind = draw(st.sampled_from(["none", "aligned", "inside"]))
    bucket = first_ns - first_ns % width
    if kind == "none":
        return None
    if kind == "aligned":
        return pd.Timestamp(bucket, tz="UTC")
    return pd.Timestamp(draw(st.integers(bucket, first_ns)), tz="UTC")


@st.composite
def streams(draw: st.DrawFn, quotes: bool = False) -> Stream:
    interval = draw(st.sampled_from(INTERVALS))
    width_ms = interval.value // 1_000_000
    n = draw(st.integers(1, 40))
    gaps = draw(st.lists(st.integers(0, 3 * width_ms), min_size=n, max_size=n))
    first_ms = DAY0.value // 1_000_000 + draw(st.integers(0, 2 * width_ms))
    times_ms = first_ms + np.cumsum([0, *gaps[1:]])
    grace_ms = draw(st.sampled_from([0, width_ms // 3, 2 * width_ms]))
    delays = draw(st.lists(st.integers(0, grace_ms), min_size=n, max_size=n))
    order = np.argsort(times_ms + np.asarray(delays), kind="stable")
    prices = draw(st.lists(st.integers(1, 400), min_size=n, max_size=n))
    amounts = draw(st.lists(st.integers(1, 5000), min_size=n, max_size=n))
    unique: list[Tick] = []
    for i in order.tolist():
        ts = pd.Timestamp(int(times_ms[i]) * 1_000_000, tz="UTC")
        unique.append(Tick(SYMBOL, ts, ts, Decimal(prices[i]) / 4, Decimal(amounts[i]) / 64, "buy", i + 1))
    arrivals = list(unique)
    repeats = draw(st.lists(st.integers(0, n - 1), max_size=5))
    for original in repeats:  # a duplicate arrives some time after its original
        where = arrivals.index(unique[original])
        arrivals.insert(draw(st.integers(where + 1, len(arrivals))), unique[original])
    start = _start(draw, int(min(times_ms)) * 1_000_000, interval.value)
    grace = pd.Timedelta(milliseconds=grace_ms)
    return Stream(interval, grace, arrivals, unique, len(repeats), _late_count(unique), start)


def as_quotes(ticks: list[Tick]) -> list[Quote]:
    """Quotes with bid = the tick price and a spread of amount-derived quarters (dyadic: exact in floats)."""
    return [
        Quote(t.symbol, t.ts, t.received, t.price, t.price + (t.trade_id % 3 + 1) / Decimal(4), t.amount, t.amount)
        for t in ticks
    ]


def partial_before(stream: Stream, events: list[Tick] | list[Quote]) -> pd.Timestamp:
    if stream.start is not None:
        return stream.start
    first = min(e.ts.value for e in events)
    return pd.Timestamp(first - first % stream.interval.value + 1, tz="UTC")


POLICIES = st.tuples(st.sampled_from(list(EmptyPolicy)), st.sampled_from(list(FirstCandlePolicy)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), POLICIES)
def test_on_tick_when_streamed_with_late_and_duplicate_ticks_equals_vectorised_resample_for_every_policy(
    stream: Stream, policies: tuple[EmptyPolicy, FirstCandlePolicy]
) -> None:
    empty, first = policies
    agg = CandleAggregator(SYMBOL, stream.interval, grace=stream.grace, empty=empty, first=first, start=stream.start)
    got = feed(agg, stream.arrivals)
    expected = expected_rows(
        trades_frame(stream.unique),
        stream.interval,
        empty=empty,
        partial_before=partial_before(stream, stream.unique),
        skip_partial=first is FirstCandlePolicy.SKIP,
    )
    assert rows(got) == expected
    assert agg.stats.ticks == len(stream.unique)
    assert agg.stats.duplicates == stream.duplicates
    assert agg.stats.late_amended == stream.late_amended
    assert (agg.stats.late_dropped, agg.stats.rejected) == (0, 0)
    assert agg.stats.emitted == len(got) and agg.stats.filled == sum(c.filled for c in got)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), POLICIES)
def test_on_quote_when_streamed_with_late_quotes_equals_vectorised_mid_resample_for_every_policy(
    stream: Stream, policies: tuple[EmptyPolicy, FirstCandlePolicy]
) -> None:
    empty, first = policies
    quotes = as_quotes(stream.unique)
    agg = CandleAggregator(
        SYMBOL, stream.interval, source="quotes", grace=stream.grace, empty=empty, first=first, start=stream.start
    )
    got = feed(agg, quotes)
    expected = expected_rows(
        quotes_frame(quotes),
        stream.interval,
        source="quotes",
        empty=empty,
        partial_before=partial_before(stream, quotes),
        skip_partial=first is FirstCandlePolicy.SKIP,
    )
    assert rows(got) == expected
    assert agg.stats.ticks == len(quotes)


@settings(max_examples=200, deadline=None)
@given(streams(), st.sampled_from(list(EmptyPolicy)))
def test_candles_when_streamed_keep_low_le_open_close_le_high_and_conserve_volume(
    stream: Stream, empty: EmptyPolicy
) -> None:
    got = feed(CandleAggregator(SYMBOL, stream.interval, grace=stream.grace, empty=empty), stream.arrivals)
    for c in got:
        assert c.low <= min(c.open, c.close) and max(c.open, c.close) <= c.high
        assert c.close_time - c.open_time == stream.interval and c.open_time.value % stream.interval.value == 0
    assert [c.open_time for c in got] == sorted({c.open_time for c in got})
    assert sum((c.volume for c in got), Decimal(0)) == sum((t.amount for t in stream.unique), Decimal(0))


# --- policies, one by one -------------------------------------------------------------------


def test_on_time_when_market_goes_quiet_closes_the_open_candle_without_another_tick() -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, start=DAY0)
    assert agg.on_tick(tick("10s", "100")) == []
    assert agg.on_time(at("59.999s")) == []
    closed = agg.on_time(at("60s"))
    assert [(c.open_time, c.close, c.partial, c.received) for c in closed] == [(DAY0, Decimal(100), False, at("60s"))]
    assert agg.on_time(at("5min")) == []  # SKIP: quiet minutes give nothing


def test_on_time_when_fill_policy_and_market_quiet_emits_zero_volume_candles_at_previous_close() -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, empty=EmptyPolicy.FILL, start=DAY0)
    agg.on_tick(tick("10s", "100"))
    agg.on_tick(tick("20s", "101", trade_id=2))
    closed = agg.on_time(at("3min30s"))
    assert [(c.open_time, c.open, c.high, c.low, c.close, c.volume, c.filled) for c in closed] == [
        (DAY0, Decimal(100), Decimal(101), Decimal(100), Decimal(101), Decimal(2), False),
        (at("1min"), Decimal(101), Decimal(101), Decimal(101), Decimal(101), Decimal(0), True),
        (at("2min"), Decimal(101), Decimal(101), Decimal(101), Decimal(101), Decimal(0), True),
    ]
    assert agg.stats.filled == 2


def test_on_time_when_fill_policy_and_no_tick_yet_emits_nothing_without_a_previous_close() -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, empty=EmptyPolicy.FILL, start=DAY0)
    assert agg.on_time(at("10min")) == []
    first = agg.on_tick(tick("10min5s", "100")) + agg.on_time(at("12min"))
    assert [(c.open_time, c.filled) for c in first] == [(at("10min"), False), (at("11min"), True)]


def test_on_time_when_grace_positive_holds_the_candle_until_close_plus_grace() -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, grace=pd.Timedelta(seconds=2), start=DAY0)
    agg.on_tick(tick("30s", "100", trade_id=1))
    assert agg.on_tick(tick("61s", "105", trade_id=2)) == []  # the next candle began; this one is held
    assert agg.on_time(at("61.999s")) == []
    assert [c.open_time for c in agg.on_time(at("62s"))] == [DAY0]


def test_on_tick_when_late_inside_the_grace_amends_the_held_candle_by_time_order() -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, grace=pd.Timedelta(seconds=5), start=DAY0)
    ticks = numbered(("20s", "100"), ("40s", "102"), ("61s", "110"), ("10s", "99"), ("59s", "103"))
    candles = feed(agg, ticks)
    assert [(c.open, c.high, c.low, c.close, c.volume) for c in candles[:1]] == [
        (Decimal(99), Decimal(103), Decimal(99), Decimal(103), Decimal(4))  # 10s became the open, 59s the close
    ]
    assert agg.stats.late_amended == 2 and agg.stats.late_dropped == 0


def test_on_tick_when_its_candle_already_closed_drops_counts_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, grace=pd.Timedelta(seconds=1), start=DAY0)
    closed = agg.on_tick(tick("30s", "100", trade_id=1)) + agg.on_tick(tick("61s", "101", trade_id=2))
    assert [c.open_time for c in closed] == [DAY0]
    with caplog.at_level(logging.WARNING):
        assert agg.on_tick(tick("59s", "50", trade_id=3)) == []
    assert agg.stats.late_dropped == 1 and agg.stats.ticks == 2
    assert "dropped a late tick" in caplog.text
    assert [(c.open_time, c.low) for c in agg.flush()] == [(at("1min"), Decimal(101))]  # history not rewritten


def test_on_tick_when_before_the_start_drops_it_as_late() -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, start=at("5min"))
    assert agg.on_tick(tick("4min59s", "100")) == []
    assert agg.stats.late_dropped == 1 and agg.flush() == []


def test_on_tick_when_trade_id_repeats_ignores_the_duplicate() -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, start=DAY0)
    first = tick("10s", "100", trade_id=7)
    candles = feed(agg, [first, tick("20s", "101", trade_id=8), first, replace(first, price=Decimal(1))])
    assert [(c.low, c.volume, c.trades) for c in candles] == [(Decimal(100), Decimal(2), 2)]
    assert agg.stats.duplicates == 2


def test_on_tick_when_duplicate_is_older_than_the_window_is_no_longer_recognised() -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, start=DAY0, dedup_window=2)
    ticks = numbered(("1s", "100"), ("2s", "100"), ("3s", "100"))
    feed_in = [*ticks, ticks[2], ticks[0]]  # id 3 is remembered, id 1 has left the window
    assert [c.trades for c in feed(agg, feed_in)] == [4]
    assert agg.stats.duplicates == 1


@pytest.mark.parametrize(
    ("price", "amount", "symbol", "reason"),
    [
        ("NaN", "1", SYMBOL, "price NaN"),
        ("Infinity", "1", SYMBOL, "price Infinity"),
        ("0", "1", SYMBOL, "price 0"),
        ("-5", "1", SYMBOL, "price -5"),
        ("100", "0", SYMBOL, "amount 0"),
        ("100", "sNaN", SYMBOL, "amount sNaN"),
        ("100", "1", "ETHUSDT", "symbol 'ETHUSDT'"),
    ],
)
def test_on_tick_when_invalid_rejects_counts_and_logs_the_reason_without_raising(
    price: str, amount: str, symbol: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, start=DAY0)
    with caplog.at_level(logging.WARNING):
        assert agg.on_tick(tick("1s", price, amount, symbol=symbol)) == []
    assert agg.stats == AggregatorStats(rejected=1)
    assert reason in caplog.text
    assert agg.flush() == []


@pytest.mark.parametrize(("bid", "ask"), [("101", "100"), ("0", "100"), ("NaN", "100"), ("100", "-1")])
def test_on_quote_when_crossed_or_not_positive_rejects_and_counts(bid: str, ask: str) -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, source="quotes", start=DAY0)
    quote = Quote(SYMBOL, at("1s"), at("1s"), Decimal(bid), Decimal(ask), Decimal(1), Decimal(1))
    assert agg.on_quote(quote) == [] and agg.stats.rejected == 1


def test_on_quote_when_aggregating_quotes_builds_mid_candles_counting_updates() -> None:
    agg = CandleAggregator(SYMBOL, MINUTE, source="quotes", start=DAY0)
    quotes = [
        Quote(SYMBOL, at(s), at(s), Decimal(b), Decimal(a), Decimal(1), Decimal(1))
        for s, b, a in [("1s", "100", "100.1"), ("2s", "100.2", "100.3"), ("3s", "99.9", "100.1")]
    ]
    [candle] = feed(agg, quotes)
    assert (candle.open, candle.high, candle.low, candle.close) == tuple(
        Decimal(x) for x in ("100.05", "100.25", "100.0", "100.0")
    )
    assert (candle.volume, candle.trades) == (Decimal(3), 3)


def test_on_tick_and_on_quote_when_the_kind_is_not_the_source_ignore_and_count_the_event() -> None:
    quotes = CandleAggregator(SYMBOL, MINUTE, source="quotes", start=DAY0)
    trades = CandleAggregator(SYMBOL, MINUTE, start=DAY0)
    quote = Quote(SYMBOL, at("1s"), at("1s"), Decimal(1), Decimal(2), Decimal(1), Decimal(1))
    assert quotes.on_event(tick("1s", "100")) == [] and quotes.on_tick(tick("2s", "100")) == []
    assert trades.on_event(quote) == [] and trades.on_quote(quote) == []
    assert quotes.stats == trades.stats == AggregatorStats(ignored=2)
    assert quotes.flush() == trades.flush() == []


def test_first_candle_when_started_mid_interval_is_flagged_or_skipped_by_policy() -> None:
    ticks = numbered(("30s", "100"), ("70s", "101"))
    flagged = feed(CandleAggregator(SYMBOL, MINUTE, start=at("20s")), ticks)
    skipped = feed(CandleAggregator(SYMBOL, MINUTE, start=at("20s"), first=FirstCandlePolicy.SKIP), ticks)
    aligned = feed(CandleAggregator(SYMBOL, MINUTE, start=DAY0, first=FirstCandlePolicy.SKIP), ticks)
    assert [(c.open_time, c.partial) for c in flagged] == [(DAY0, True), (at("1min"), False)]
    assert [(c.open_time, c.partial) for c in skipped] == [(at("1min"), False)]
    assert [(c.open_time, c.partial) for c in aligned] == [(DAY0, False), (at("1min"), False)]


def test_first_candle_when_no_start_given_is_partial_since_earlier_trades_were_not_seen() -> None:
    candles = feed(CandleAggregator(SYMBOL, MINUTE), numbered(("0s", "100"), ("70s", "101")))
    assert [c.partial for c in candles] == [True, False]


@pytest.mark.parametrize("interval", ["500ms", "1500ms", "2D", "0s"])
def test_init_when_interval_is_not_whole_seconds_from_1s_to_1d_raises(interval: str) -> None:
    with pytest.raises(ValueError, match="1s to 1d"):
        CandleAggregator(SYMBOL, pd.Timedelta(interval))


def test_candles_when_interval_is_one_day_open_at_midnight_utc() -> None:
    agg = CandleAggregator(SYMBOL, pd.Timedelta(days=1), start=DAY0)
    candles = feed(agg, numbered(("23h59min", "100"), ("24h", "101"), ("47h", "99")))
    assert [c.open_time for c in candles] == [DAY0, at("1D")]


# --- multi-timeframe ------------------------------------------------------------------------


def five_minute(ticks: list[Tick], empty: EmptyPolicy = EmptyPolicy.SKIP) -> list[Candle]:
    return feed(CandleAggregator(SYMBOL, pd.Timedelta(minutes=5), start=DAY0, empty=empty), ticks)


def test_resampler_when_the_last_lower_candle_closes_emits_the_higher_one_and_not_before() -> None:
    ticks = [tick(f"{m}min", str(100 + m), trade_id=m + 1) for m in range(0, 125, 5)]
    resampler = CandleResampler(pd.Timedelta(hours=1))
    emitted_after = []
    for i, candle in enumerate(five_minute(ticks)):
        if resampler.on_candle(candle):
            emitted_after.append((i, candle.close_time))
    assert emitted_after == [(11, at("1h")), (23, at("2h"))]  # the 12th and 24th 5m candles
    [last] = resampler.flush()
    assert (last.open_time, last.open, last.close, last.trades) == (at("2h"), Decimal(220), Decimal(220), 1)


def sparse_ticks(n: int, hours: int, quiet_hour: int, seed: int) -> list[Tick]:
    """``n`` ticks over ``hours`` hours, none in hour ``quiet_hour`` (empty 5m and 1h intervals)."""
    offsets = np.sort(np.random.default_rng(seed).integers(0, hours * 3_600_000, n))
    offsets = offsets[offsets // 3_600_000 != quiet_hour]
    return [tick(pd.Timedelta(milliseconds=int(ms)), str(100 + i % 17), trade_id=i) for i, ms in enumerate(offsets)]


@pytest.mark.parametrize("empty", list(EmptyPolicy))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_resampler_when_built_from_lower_candles_equals_aggregating_ticks_directly(
    empty: EmptyPolicy, seed: int
) -> None:
    ticks = sparse_ticks(60, 5, quiet_hour=2, seed=seed)
    lower = five_minute(ticks, empty=empty)
    assert any(c.filled for c in lower) is (empty is EmptyPolicy.FILL)
    resampler = CandleResampler(pd.Timedelta(hours=1), start=DAY0)
    higher = [h for c in lower for h in resampler.on_candle(c)] + resampler.flush()
    direct = feed(CandleAggregator(SYMBOL, pd.Timedelta(hours=1), start=DAY0, empty=empty), ticks)
    assert rows(higher) == rows(direct)
    filled = [False, False, True, False, False] if empty is EmptyPolicy.FILL else [False] * 4  # hour 2 is quiet
    assert [c.filled for c in higher] == filled


def test_resampler_when_the_hour_has_no_last_candle_emits_it_on_the_next_hours_candle() -> None:
    lower = five_minute(numbered(("1min", "100"), ("62min", "101")))
    resampler = CandleResampler(pd.Timedelta(hours=1))
    assert resampler.on_candle(lower[0]) == []
    assert [c.open_time for c in resampler.on_candle(lower[1])] == [DAY0]


def test_resampler_when_clock_passes_the_close_plus_grace_emits_the_quiet_hour() -> None:
    lower = five_minute(numbered(("1min", "100")))
    resampler = CandleResampler(pd.Timedelta(hours=1), grace=pd.Timedelta(seconds=1))
    resampler.on_candle(lower[0])
    assert resampler.on_time(at("1h")) == []
    assert [c.open_time for c in resampler.on_time(at("1h1s"))] == [DAY0]


def test_resampler_when_first_lower_candle_is_mid_hour_flags_or_skips_the_partial_hour() -> None:
    lower = five_minute(numbered(("20min", "100"), ("65min", "101")))
    for first, expected in [
        (FirstCandlePolicy.EMIT_FLAGGED, [(DAY0, True), (at("1h"), False)]),
        (FirstCandlePolicy.SKIP, [(at("1h"), False)]),
    ]:
        resampler = CandleResampler(pd.Timedelta(hours=1), first=first)
        out = [h for c in lower for h in resampler.on_candle(c)] + resampler.flush()
        assert [(c.open_time, c.partial) for c in out] == expected
    told = CandleResampler(pd.Timedelta(hours=1), start=DAY0)
    assert [c.partial for c in [h for c in lower for h in told.on_candle(c)] + told.flush()] == [False, False]


def test_resampler_when_candles_come_out_of_order_or_do_not_divide_raises() -> None:
    lower = five_minute(numbered(("1min", "100"), ("6min", "101")))
    resampler = CandleResampler(pd.Timedelta(hours=1))
    resampler.on_candle(lower[1])
    with pytest.raises(ValueError, match="time order"):
        resampler.on_candle(lower[0])
    with pytest.raises(ValueError, match="not a divisor"):
        CandleResampler(pd.Timedelta(minutes=7)).on_candle(lower[0])


# --- real bars ------------------------------------------------------------------------------


def bar_rows(bars: pd.DataFrame, *, volume: bool = True) -> list[tuple[object, ...]]:
    values = bars[["open", "high", "low", "close", "volume"] if volume else ["open", "high", "low", "close"]]
    return [(t, *(Decimal(float(x)) for x in v)) for t, v in zip(bars.index, values.to_numpy(), strict=True)]


def candle_rows(candles: list[Candle], *, volume: bool = True) -> list[tuple[object, ...]]:
    return [(c.open_time, c.open, c.high, c.low, c.close, *((c.volume,) if volume else ())) for c in candles]


@pytest.mark.reference_data
def test_ticks_synthesised_from_exchange_klines_when_streamed_rebuild_every_bar_exactly(reference_data: Path) -> None:
    bars = load_bars(reference_data / CRYPTO / "BINANCE_BTCUSDT_usdm_1h_api.csv").frame.iloc[:4000]
    ticks = trade_ticks(synthesize_ticks_from_bars(bars, seed=11), SYMBOL, mode="exact")
    agg = CandleAggregator(SYMBOL, pd.Timedelta(hours=1), empty=EmptyPolicy.FILL, start=bars.index[0])
    candles = feed(agg, ticks)
    assert (bars["volume"] == 0).sum() == 3  # the exchange's own filler bars are rebuilt by FILL
    assert candle_rows(candles) == bar_rows(bars)
    assert [c.filled for c in candles] == (bars["volume"] == 0).tolist()


@pytest.mark.reference_data
def test_ticks_synthesised_from_a_tradingview_export_without_volume_rebuild_its_bars(reference_data: Path) -> None:
    bars = load_bars(reference_data / CRYPTO / "BINANCE_BTCUSDT.P_1h_tradingview.csv").frame.iloc[:4000]
    synthetic = synthesize_ticks_from_bars(bars, seed=5, volume=None)
    agg = CandleAggregator(SYMBOL, pd.Timedelta(hours=1), empty=EmptyBars.SKIP, start=bars.index[0])
    candles = feed(agg, trade_ticks(synthetic, SYMBOL))
    assert candle_rows(candles, volume=False) == [
        (t, *(Decimal(repr(float(x))) for x in v))
        for t, v in zip(bars.index, bars[["open", "high", "low", "close"]].to_numpy(), strict=True)
    ]
    assert [c.volume for c in candles] == [
        sum((Decimal(repr(a)) for a in group), Decimal(0))
        for _, group in synthetic.groupby(pd.DatetimeIndex(synthetic["ts"]).floor("1h"))["amount"]
    ]


def export_candles(bars: pd.DataFrame, interval: pd.Timedelta) -> list[Candle]:
    values = bars[["open", "high", "low", "close"]].to_numpy()
    out = []
    for t, (o, h, low, c) in zip(pd.DatetimeIndex(bars.index), values, strict=True):
        prices = [Decimal(repr(float(x))) for x in (o, h, low, c)]
        out.append(Candle(SYMBOL, interval, t, prices[0], prices[1], prices[2], prices[3], Decimal(0)))
    return out


@pytest.mark.reference_data
def test_resampler_when_fed_the_5m_tradingview_export_equals_its_1h_export_on_complete_hours(
    reference_data: Path,
) -> None:
    five = load_bars(reference_data / CRYPTO / "BINANCE_BTCUSDT.P_5m_tradingview.csv").frame
    hourly = load_bars(reference_data / CRYPTO / "BINANCE_BTCUSDT.P_1h_tradingview.csv").frame
    resampler = CandleResampler(pd.Timedelta(hours=1))
    built = [h for c in export_candles(five, pd.Timedelta(minutes=5)) for h in resampler.on_candle(c)]
    built += resampler.flush()
    per_hour = pd.Series(1, index=five.index).groupby(pd.DatetimeIndex(five.index).floor("1h")).sum()
    complete = set(per_hour.index[per_hour == 12])
    ours = {row[0]: row[1:5] for row in rows(built) if row[0] in complete}
    theirs = {row[0]: row[1:5] for row in rows(export_candles(hourly, pd.Timedelta(hours=1))) if row[0] in complete}
    assert len(ours) > 1500 and len(theirs) == len(ours)
    assert ours == theirs
