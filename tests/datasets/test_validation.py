"""Each schema problem is found, and its message names the row, field and value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.problems import DataValidationError, GapPolicy, ProblemKind, Severity
from quantbridge.datasets.validation import infer_timeframe, validate_bars, validate_quotes, validate_trades


def make_bars(n: int = 10, start: str = "2024-01-01", freq: str = "1h") -> pd.DataFrame:
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="open_time").as_unit("ns")
    close = 100.0 + np.arange(n, dtype=float)
    return pd.DataFrame(
        {"open": close - 0.5, "high": close + 1.0, "low": close - 1.0, "close": close, "volume": 10.0}, index=index
    )


def make_trades(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-01", periods=n, freq="1s", tz="UTC").as_unit("ns"),
            "price": 100.0 + np.arange(n, dtype=float),
            "amount": 1.0,
            "side": ["buy", "sell"] * (n // 2),
            "trade_id": np.arange(1, n + 1, dtype=np.int64),
        }
    )


def make_quotes(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-01", periods=n, freq="1s", tz="UTC").as_unit("ns"),
            "bid": 100.0,
            "ask": 100.5,
            "bid_size": 2.0,
            "ask_size": 3.0,
        }
    )


def only(report_problems: tuple[object, ...], kind: ProblemKind) -> list[object]:
    return [p for p in report_problems if getattr(p, "kind", None) is kind]


def test_validate_bars_when_clean_reports_no_problems() -> None:
    report = validate_bars(make_bars(), source="clean.csv")
    assert report.ok
    assert report.problems == ()
    assert report.timeframe == pd.Timedelta("1h")
    assert report.rows == 10


def test_validate_bars_when_unsorted_names_row_and_time() -> None:
    bars = make_bars()
    bars.index = bars.index[[0, 1, 3, 2, 4, 5, 6, 7, 8, 9]]
    report = validate_bars(bars, source="f.csv", line_offset=2)
    (problem,) = only(report.problems, ProblemKind.UNSORTED)
    message = problem.describe("f.csv", 2)  # type: ignore[attr-defined]
    assert problem.row == 3  # type: ignore[attr-defined]
    assert "row 3 (line 5)" in message
    assert "2024-01-01T02:00:00+00:00" in message


def test_validate_bars_when_duplicate_time_flags_second_occurrence() -> None:
    bars = make_bars()
    bars.index = bars.index[[0, 1, 2, 2, 4, 5, 6, 7, 8, 9]]
    report = validate_bars(bars, source="dup.csv")
    (problem,) = only(report.problems, ProblemKind.DUPLICATE_TIME)
    assert problem.row == 3  # type: ignore[attr-defined]
    assert not report.ok


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_validate_bars_when_price_not_finite_names_field_and_value(value: float) -> None:
    bars = make_bars()
    bars.iloc[4, bars.columns.get_loc("close")] = value
    report = validate_bars(bars, source="nan.csv")
    (problem,) = only(report.problems, ProblemKind.NOT_FINITE)
    assert (problem.row, problem.field) == (4, "close")  # type: ignore[attr-defined]
    assert repr(value) in problem.describe("nan.csv")  # type: ignore[attr-defined]


def test_validate_bars_when_high_below_close_reports_expected_bound() -> None:
    bars = make_bars()
    bars.iloc[6, bars.columns.get_loc("high")] = 105.5  # close is 106
    report = validate_bars(bars, source="hl.csv")
    (problem,) = only(report.problems, ProblemKind.HIGH_BELOW_OPEN_CLOSE)
    text = problem.describe("hl.csv")  # type: ignore[attr-defined]
    assert "row 6" in text and "105.5" in text and "106.0" in text


def test_validate_bars_when_low_above_open_reports_expected_bound() -> None:
    bars = make_bars()
    bars.iloc[2, bars.columns.get_loc("low")] = 101.9  # open is 101.5
    report = validate_bars(bars, source="hl.csv")
    (problem,) = only(report.problems, ProblemKind.LOW_ABOVE_OPEN_CLOSE)
    assert problem.row == 2  # type: ignore[attr-defined]
    assert "101.9" in problem.describe("hl.csv")  # type: ignore[attr-defined]


def test_validate_bars_when_volume_negative_names_row() -> None:
    bars = make_bars()
    bars.iloc[7, bars.columns.get_loc("volume")] = -3.0
    (problem,) = only(validate_bars(bars).problems, ProblemKind.NEGATIVE_VOLUME)
    assert (problem.row, problem.value) == (7, -3.0)  # type: ignore[attr-defined]


def test_validate_bars_when_gap_default_policy_warns_with_missing_count() -> None:
    bars = make_bars(12).drop(make_bars(12).index[[4, 5, 6]])
    report = validate_bars(bars, source="gap.csv")
    assert report.ok  # a gap is not an error by default
    (gap,) = report.gaps
    assert gap.missing_bars == 3
    assert gap.start == pd.Timestamp("2024-01-01 04:00", tz="UTC")
    (problem,) = report.warnings
    assert problem.kind is ProblemKind.GAP and problem.row == 4


def test_validate_bars_when_gap_policy_error_fails() -> None:
    bars = make_bars(12).drop(make_bars(12).index[[4]])
    report = validate_bars(bars, gap_policy=GapPolicy.ERROR)
    assert not report.ok
    assert report.errors[0].severity is Severity.ERROR


def test_validate_bars_when_gap_policy_ignore_still_records_gap() -> None:
    bars = make_bars(12).drop(make_bars(12).index[[4]])
    report = validate_bars(bars, gap_policy=GapPolicy.IGNORE)
    assert report.problems == ()
    assert len(report.gaps) == 1


def test_validate_bars_when_index_naive_reports_bad_index() -> None:
    bars = make_bars()
    bars.index = bars.index.tz_localize(None)
    report = validate_bars(bars)
    assert [p.kind for p in report.errors] == [ProblemKind.BAD_INDEX]


def test_validate_bars_when_column_missing_names_it() -> None:
    report = validate_bars(make_bars().drop(columns=["low"]))
    (problem,) = only(report.problems, ProblemKind.MISSING_COLUMN)
    assert problem.field == "low"  # type: ignore[attr-defined]


def test_validate_bars_when_several_problems_reports_every_one() -> None:
    bars = make_bars(20)
    bars.iloc[3, 4] = -1.0
    bars.iloc[9, 4] = -2.0
    bars.iloc[15, 3] = np.nan
    report = validate_bars(bars)
    assert [p.row for p in report.errors] == [3, 9, 15]


def test_raise_for_errors_when_errors_message_lists_rows_and_counts() -> None:
    bars = make_bars()
    bars.iloc[5, 4] = -1.0
    with pytest.raises(DataValidationError) as caught:
        validate_bars(bars, source="bad.csv", line_offset=2).raise_for_errors()
    message = str(caught.value)
    assert "bad.csv" in message and "row 5 (line 7)" in message and "negative_volume=1" in message
    assert len(caught.value.report.errors) == 1


def test_validate_bars_when_volume_absent_and_not_required_accepts_nan() -> None:
    bars = make_bars()
    bars["volume"] = np.nan
    assert validate_bars(bars, volume_required=False).ok
    assert not validate_bars(bars).ok


def test_infer_timeframe_when_gaps_uses_most_common_spacing() -> None:
    bars = make_bars(50, freq="5min").drop(make_bars(50, freq="5min").index[10:20])
    assert infer_timeframe(bars.index) == pd.Timedelta("5min")


def test_validate_trades_when_clean_reports_no_problems() -> None:
    assert validate_trades(make_trades()).problems == ()


def test_validate_trades_when_duplicate_id_names_row_and_id() -> None:
    trades = make_trades()
    trades.loc[4, "trade_id"] = 2
    (problem,) = only(validate_trades(trades, source="t.csv").problems, ProblemKind.DUPLICATE_TRADE_ID)
    assert (problem.row, problem.value) == (4, 2)  # type: ignore[attr-defined]


def test_validate_trades_when_time_goes_back_reports_unsorted_but_allows_ties() -> None:
    trades = make_trades()
    trades.loc[2, "ts"] = trades.loc[1, "ts"]  # tie: allowed
    trades.loc[4, "ts"] = trades.loc[0, "ts"]  # backwards: error
    problems = validate_trades(trades).problems
    assert [(p.kind, p.row) for p in problems] == [(ProblemKind.UNSORTED, 4)]


def test_validate_trades_when_side_bad_and_amount_zero_reports_both() -> None:
    trades = make_trades()
    trades.loc[1, "side"] = "long"
    trades.loc[3, "amount"] = 0.0
    kinds = {(p.kind, p.row) for p in validate_trades(trades).problems}
    assert kinds == {(ProblemKind.BAD_SIDE, 1), (ProblemKind.NON_POSITIVE_AMOUNT, 3)}


def test_validate_trades_when_ts_naive_reports_bad_dtype() -> None:
    trades = make_trades()
    trades["ts"] = trades["ts"].dt.tz_localize(None)
    assert [p.kind for p in validate_trades(trades).problems] == [ProblemKind.BAD_DTYPE]


def test_validate_quotes_when_crossed_names_bid_and_ask() -> None:
    quotes = make_quotes()
    quotes.loc[2, "bid"] = 101.0
    (problem,) = validate_quotes(quotes, source="q.csv").problems
    assert problem.kind is ProblemKind.CROSSED_QUOTE and problem.row == 2
    assert "100.5" in problem.describe("q.csv")


def test_validate_quotes_when_size_negative_and_price_nan_reports_both() -> None:
    quotes = make_quotes()
    quotes.loc[0, "ask_size"] = -1.0
    quotes.loc[3, "ask"] = np.nan
    kinds = {(p.kind, p.row, p.field) for p in validate_quotes(quotes).problems}
    assert kinds == {(ProblemKind.NEGATIVE_SIZE, 0, "ask_size"), (ProblemKind.NOT_FINITE, 3, "ask")}


def test_infer_timeframe_when_index_in_microseconds_still_reads_the_width() -> None:
    index = pd.date_range("2024-01-01", periods=5, freq="1h", tz="UTC").as_unit("us")
    assert infer_timeframe(index) == pd.Timedelta("1h")
