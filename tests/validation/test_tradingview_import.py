"""Importing TradingView "List of Trades" exports: the reference files and every layout variation."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from quantbridge.datasets.trade_list import TRADE_LIST_COLUMNS
from quantbridge.validation.tradingview import (
    EXTRA_COLUMNS,
    TradeListFormatError,
    read_tradingview_trades,
)

from .tv_exports import TRADES, Layout, export_rows, write_export, write_rows

FORMATS = Path("tradingview") / "trade_list_formats"
BUILTINS = Path("tradingview") / "builtin_strategies"

#: Trades per built-in list (shared/data/README.md), and whether the last one is flagged open.
BUILTIN_COUNTS = {
    "rsi": 194,
    "macd": 1808,
    "bollinger": 579,
    "supertrend": 602,
    "keltnerchannel": 260,
    "channelbreakout": 2946,
    "barupdn": 5550,
    "futures_pnl": 294,
}


def _raw_rows(path: Path, separator: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=separator))


def _row(rows: list[dict[str, str]], number: int, kind: str) -> dict[str, str]:
    number_key = next(iter(rows[0]))
    type_key = list(rows[0])[1]
    return next(r for r in rows if r[number_key] == str(number) and r[type_key].startswith(kind))


# ---------------------------------------------------------------- reference files


@pytest.mark.reference_data
@pytest.mark.parametrize("stem", sorted(BUILTIN_COUNTS))
def test_read_tradingview_trades_when_builtin_list_has_iso_offsets_reads_every_trade_in_utc(
    stem: str, reference_data: Path
) -> None:
    path = reference_data / BUILTINS / f"{stem}_trades.csv"
    raw = _raw_rows(path)
    imported = read_tradingview_trades(path)
    trades = imported.trades
    assert len(trades) == BUILTIN_COUNTS[stem] == len({r["Trade #"] for r in raw})
    assert list(trades.columns) == [*TRADE_LIST_COLUMNS, *EXTRA_COLUMNS]
    assert imported.timezone == "UTC"
    assert str(trades["entry_time"].dtype) == "datetime64[ns, UTC]"
    assert imported.layout.date_format == "ISO 8601 with UTC offset"
    assert imported.layout.row_order == "entry first"
    raw_sides = [r["Type"].removeprefix("Entry ") for r in raw if r["Type"].startswith("Entry")]
    assert trades["side"].value_counts().to_dict() == pd.Series(raw_sides).value_counts().to_dict()
    for number in (1, BUILTIN_COUNTS[stem]):
        entry, exit_ = _row(raw, number, "Entry"), _row(raw, number, "Exit")
        trade = trades[trades["trade_id"] == number].iloc[0]
        assert trade["entry_time"] == pd.Timestamp(entry["Date/Time"]).tz_convert("UTC")
        assert trade["entry_price"] == float(entry["Price USD"])
        assert trade["exit_price"] == float(exit_["Price USD"])
        assert trade["quantity"] == float(entry["Position size (qty)"])
        assert trade["pnl"] == float(exit_["Net P&L USD"])
        assert trade["cumulative_pnl"] == float(exit_["Cumulative P&L USD"])
        assert trade["entry_signal"] == entry["Signal"]


@pytest.mark.reference_data
@pytest.mark.parametrize("stem", sorted(set(BUILTIN_COUNTS) - {"futures_pnl"}))
def test_read_tradingview_trades_when_builtin_list_ends_open_flags_only_the_last_trade(
    stem: str, reference_data: Path
) -> None:
    trades = read_tradingview_trades(reference_data / BUILTINS / f"{stem}_trades.csv").trades
    assert trades["is_open"].tolist() == [False] * (len(trades) - 1) + [True]
    last = trades.iloc[-1]
    assert pd.isna(last["exit_time"])
    assert last["exit_reason"] == "open"
    assert last["mark_time"] == pd.Timestamp("2025-09-12T16:00:00-04:00")  # the last bar of ohlcv.csv
    assert last["exit_price"] == 1.17334  # marked at the last close
    assert trades["exit_time"].iloc[:-1].notna().all()


@pytest.mark.reference_data
def test_read_tradingview_trades_when_exit_signal_is_empty_does_not_guess_open(reference_data: Path) -> None:
    trades = read_tradingview_trades(reference_data / BUILTINS / "futures_pnl_trades.csv").trades
    assert not trades["is_open"].any()
    assert trades["exit_signal"].iloc[-1] == ""


@pytest.mark.reference_data
def test_read_tradingview_trades_when_semicolons_and_day_first_dates_reads_333_long_trades(
    reference_data: Path,
) -> None:
    imported = read_tradingview_trades(reference_data / FORMATS / "semicolon_ddmmyyyy_runup.csv")
    trades = imported.trades
    layout = imported.layout
    assert (layout.separator, layout.decimal, layout.date_format) == (";", ".", "DD.MM.YYYY H:MM")
    assert (layout.language, layout.currency, layout.excursion_names) == ("en", "USDT", "run-up/drawdown")
    assert layout.byte_order_mark
    assert layout.row_order == "exit first"
    assert imported.timezone is None
    assert len(trades) == 333
    assert set(trades["side"]) == {"long"}
    first = trades.iloc[0]
    assert first["entry_time"] == pd.Timestamp("2025-07-01 16:15")
    assert first["exit_time"] == pd.Timestamp("2025-07-02 19:00")
    assert (first["entry_price"], first["exit_price"], first["quantity"]) == (38.999, 39.311, 3.725)
    assert (first["pnl"], first["run_up"], first["drawdown"], first["cumulative_pnl"]) == (1.02, 1.75, -8.13, 0.84)
    assert (first["entry_signal"], first["exit_signal"]) == ("buy", "Long Trail")
    assert (first["entry_line"], first["exit_line"]) == (3, 2)
    assert trades["trade_id"][trades["is_open"]].tolist() == [332, 333]
    assert trades["mark_time"][trades["is_open"]].tolist() == [pd.Timestamp("2025-10-24 21:22")] * 2
    assert trades.loc[trades["trade_id"] == 9, "entry_time"].item() == pd.Timestamp("2025-07-04 09:15")
    last = trades.iloc[-1]
    assert (last["trade_id"], last["entry_price"]) == (333, 39.419)
    assert last["entry_time"] == pd.Timestamp("2025-10-24 16:30")
    assert (last["quantity"], last["pnl"], last["exit_price"], last["entry_signal"]) == (4.203, -1.17, 39.18, "L_2")


@pytest.mark.reference_data
def test_read_tradingview_trades_when_headers_are_russian_maps_every_column(reference_data: Path) -> None:
    path = reference_data / FORMATS / "russian_headers.csv"
    imported = read_tradingview_trades(path)
    trades = imported.trades
    assert (imported.layout.language, imported.layout.currency) == ("ru", "USDT")
    assert imported.layout.date_format == "YYYY-MM-DD HH:MM"
    assert imported.layout.row_order == "exit first"
    assert len(trades) == 104
    assert trades["side"].value_counts().to_dict() == {"short": 84, "long": 20}
    assert not trades["is_open"].any()
    first, last = trades.iloc[0], trades.iloc[-1]
    assert (first["side"], first["entry_price"], first["exit_price"]) == ("short", 94126.2, 102691.7)
    assert first["entry_time"] == pd.Timestamp("2025-01-01 19:30")
    assert first["exit_time"] == pd.Timestamp("2025-01-07 03:30")
    assert first["quantity"] == 0.010624
    assert (first["pnl"], first["return_pct"], first["exit_signal"]) == (-92.46, -9.24, "SL Hit")
    assert (last["trade_id"], last["side"], last["entry_time"]) == (104, "long", pd.Timestamp("2026-02-23 05:30"))
    assert (last["exit_price"], last["pnl"], last["cumulative_pnl"]) == (65692.3, 13.59, 381.47)  # fmt: skip


# ---------------------------------------------------------------- synthetic layouts


def _expected_frame(utc_offset: str | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "trade_id": [t.number for t in TRADES],
            "side": [t.side for t in TRADES],
            "entry_time": [t.entry_time for t in TRADES],
            "exit_time": [t.exit_time if t.exit_signal != "Open" else pd.NaT for t in TRADES],
            "entry_price": [t.entry_price for t in TRADES],
            "exit_price": [t.exit_price for t in TRADES],
            "quantity": [t.quantity for t in TRADES],
            "pnl": [t.pnl for t in TRADES],
            "run_up": [t.run_up for t in TRADES],
            "drawdown": [t.drawdown for t in TRADES],
            "cumulative_pnl": [t.cumulative for t in TRADES],
            "is_open": [False, False, True],
        }
    )
    for column in ("entry_time", "exit_time"):
        frame[column] = frame[column].astype("datetime64[ns]")
    if utc_offset is not None:
        sign = -1 if utc_offset.startswith("-") else 1
        hours, minutes = utc_offset.lstrip("+-").split(":")
        shift = sign * pd.Timedelta(hours=int(hours), minutes=int(minutes))
        for column in ("entry_time", "exit_time"):
            frame[column] = (frame[column] - shift).dt.tz_localize("UTC")
    return frame


LAYOUTS = {
    "comma, iso": Layout(),
    "comma, iso with offset": Layout(dates="iso_offset", offset="+03:00"),
    "comma, iso with negative offset": Layout(dates="iso_offset", offset="-05:30"),
    "semicolon, DD.MM.YYYY H:MM": Layout(separator=";", dates="dmy"),
    "semicolon, decimal comma": Layout(separator=";", decimal=",", dates="dmy"),
    "comma, decimal comma quoted": Layout(separator=",", decimal=","),
    "tab": Layout(separator="\t"),
    "MM/DD/YYYY": Layout(dates="mdy"),
    "byte-order mark": Layout(bom=True),
    "exit row first": Layout(exit_first=True),
    "russian": Layout(labels="ru"),
    "favorable/adverse excursion, Date and time": Layout(labels="en_excursion"),
    "old headers (Contracts, Profit, Cum. Profit)": Layout(labels="en_old", separator=";", decimal=","),
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_read_tradingview_trades_when_layout_varies_reads_the_same_trades(name: str, tmp_path: Path) -> None:
    layout = LAYOUTS[name]
    imported = read_tradingview_trades(write_export(tmp_path / "list.csv", layout))
    expected = _expected_frame(layout.offset if layout.dates == "iso_offset" else None)
    got = imported.trades[expected.columns]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert got["entry_time"].dtype == expected["entry_time"].dtype  # ns, UTC-aware exactly when offsets
    assert imported.layout.separator == layout.separator
    assert imported.layout.decimal == layout.decimal
    assert imported.layout.byte_order_mark == layout.bom
    assert imported.layout.row_order == ("exit first" if layout.exit_first else "entry first")
    assert imported.layout.language == ("ru" if layout.labels == "ru" else "en")
    assert imported.timezone == ("UTC" if layout.dates == "iso_offset" else None)
    assert imported.trades["exit_reason"].tolist() == ["", "", "open"]


def test_read_tradingview_trades_when_excursion_columns_names_them(tmp_path: Path) -> None:
    imported = read_tradingview_trades(write_export(tmp_path / "l.csv", Layout(labels="en_excursion")))
    assert imported.layout.excursion_names == "favorable/adverse excursion"
    assert imported.layout.currency == "USDT"
    assert imported.trades["run_up_pct"].notna().all()


def test_read_tradingview_trades_when_old_headers_lack_position_value_leaves_it_nan(tmp_path: Path) -> None:
    imported = read_tradingview_trades(write_export(tmp_path / "l.csv", Layout(labels="en_old")))
    assert imported.trades["position_value"].isna().all()
    assert imported.layout.currency == "EUR"
    assert imported.trades["return_pct"].tolist() == [1.72, 3.15, -0.5]


def test_read_tradingview_trades_when_pnl_text_has_more_decimals_records_them(tmp_path: Path) -> None:
    rows = export_rows(Layout())
    rows[2][7] = "0.0003"  # trade 1's exit row, Net P&L
    rows[4][7] = "3e-05"
    imported = read_tradingview_trades(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert imported.trades["pnl_decimals"].tolist() == [4, 5, 2]
    assert imported.trades["pnl"].tolist()[:2] == [0.0003, 3e-05]


def test_read_tradingview_trades_when_tz_given_converts_naive_times_across_dst(tmp_path: Path) -> None:
    imported = read_tradingview_trades(write_export(tmp_path / "l.csv", Layout()), tz="America/New_York")
    assert imported.timezone == "America/New_York"
    # 2024-03-10 is the US spring change: 14 March is already EDT (UTC-4)
    assert imported.trades["entry_time"].iloc[0] == pd.Timestamp("2024-03-14 13:30", tz="UTC")
    assert imported.trades["mark_time"].iloc[2] == pd.Timestamp("2024-03-21 16:00", tz="UTC")


def test_localized_when_zone_is_a_fixed_offset_subtracts_it(tmp_path: Path) -> None:
    naive = read_tradingview_trades(write_export(tmp_path / "l.csv", Layout()))
    aware = naive.localized("UTC+05:30")
    assert aware.trades["entry_time"].iloc[0] == pd.Timestamp("2024-03-14 04:00", tz="UTC")
    assert aware.timezone == "UTC+05:30"
    assert naive.trades["entry_time"].dt.tz is None  # the original is unchanged


def test_read_tradingview_trades_when_explicit_date_format_reads_ambiguous_dates(tmp_path: Path) -> None:
    rows = export_rows(Layout(dates="dmy"))
    for row in rows[1:]:
        row[2] = row[2].replace("14.03.", "01.03.").replace("15.03.", "02.03.").replace("20.03.", "03.03.")
        row[2] = row[2].replace("21.03.", "04.03.")
    path = write_rows(tmp_path / "l.csv", rows, Layout())
    imported = read_tradingview_trades(path, date_format="%m.%d.%Y %H:%M")
    assert imported.trades["entry_time"].iloc[1] == pd.Timestamp("2024-02-03 10:00")
    assert imported.layout.date_format == "%m.%d.%Y %H:%M"


# ---------------------------------------------------------------- errors


def _error(path: Path, **kwargs: str) -> TradeListFormatError:
    with pytest.raises(TradeListFormatError) as caught:
        read_tradingview_trades(path, **kwargs)
    return caught.value


def test_read_tradingview_trades_when_dates_fit_day_and_month_first_asks_for_date_format(tmp_path: Path) -> None:
    rows = export_rows(Layout(dates="dmy"))
    for row in rows[1:]:
        row[2] = row[2].replace("14.03.", "01.03.").replace("15.03.", "02.03.").replace("20.03.", "03.03.")
        row[2] = row[2].replace("21.03.", "04.03.")
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert "date_format=" in str(error)
    assert (error.line, error.field) == (2, "Date/Time")  # the first date, as an example
    assert str(tmp_path / "l.csv") in str(error)


def test_read_tradingview_trades_when_one_date_puts_day_second_names_its_line(tmp_path: Path) -> None:
    rows = export_rows(Layout(dates="dmy"))
    rows[5][2] = "03.25.2024 9:00"  # month first while 14.03.2024 is day first
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert (error.line, error.field) == (6, "Date/Time")


def test_read_tradingview_trades_when_one_date_has_another_format_names_its_line(tmp_path: Path) -> None:
    rows = export_rows(Layout())
    rows[4][2] = "15.03.2024 10:00"
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert (error.line, error.field) == (5, "Date/Time")
    assert "15.03.2024 10:00" in str(error)


def test_read_tradingview_trades_when_header_is_unknown_names_it(tmp_path: Path) -> None:
    rows = export_rows(Layout())
    rows[0][6] = "Position wibble"
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert (error.line, error.field) == (1, "Position wibble")
    assert "unknown" in str(error)


def test_read_tradingview_trades_when_required_column_is_absent_says_which(tmp_path: Path) -> None:
    rows = [[cell for k, cell in enumerate(row) if k != 5] for row in export_rows(Layout())]  # no quantity
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert error.line == 1
    assert "quantity" in str(error)


def test_read_tradingview_trades_when_number_is_unparseable_names_line_and_field(tmp_path: Path) -> None:
    rows = export_rows(Layout())
    rows[3][4] = "100.0.1"
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert (error.line, error.field) == (4, "Price USD")
    assert "line 4 field 'Price USD'" in str(error)
    assert "'100.0.1'" in str(error)


def test_read_tradingview_trades_when_price_is_empty_names_line_and_field(tmp_path: Path) -> None:
    rows = export_rows(Layout())
    rows[2][4] = ""
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert (error.line, error.field) == (3, "Price USD")


def test_read_tradingview_trades_when_type_is_unknown_names_line_and_field(tmp_path: Path) -> None:
    rows = export_rows(Layout())
    rows[6][1] = "Exit sideways"
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert (error.line, error.field) == (7, "Type")


def test_read_tradingview_trades_when_a_trade_lacks_its_exit_row_names_the_entry_line(tmp_path: Path) -> None:
    rows = export_rows(Layout())
    del rows[4]  # trade 2's exit
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert error.line == 4
    assert "trade 2 has no exit row" in str(error)


def test_read_tradingview_trades_when_a_row_has_too_many_fields_names_its_line(tmp_path: Path) -> None:
    rows = export_rows(Layout())
    rows[3].append("surplus")
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert error.line == 4


def test_read_tradingview_trades_when_tz_given_for_offset_times_refuses(tmp_path: Path) -> None:
    path = write_export(tmp_path / "l.csv", Layout(dates="iso_offset"))
    error = _error(path, tz="Europe/Moscow")
    assert "offsets" in str(error)


def test_read_tradingview_trades_when_time_does_not_exist_in_tz_names_its_line(tmp_path: Path) -> None:
    rows = export_rows(Layout())
    rows[3][2] = "2024-03-10 02:30"  # the hour New York skips
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()), tz="America/New_York")
    assert error.line == 4
    assert "America/New_York" in str(error)


def test_read_tradingview_trades_when_file_is_not_utf8_refuses(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes("Trade #,Type\n1,Entrée long\n".encode("latin-1"))
    assert "UTF-8" in str(_error(path))


def test_read_tradingview_trades_when_trade_numbers_repeat_names_the_second_row(tmp_path: Path) -> None:
    rows = export_rows(Layout())
    rows[3][0] = "1"  # trade 2's entry claims to be trade 1
    error = _error(write_rows(tmp_path / "l.csv", rows, Layout()))
    assert error.line == 4
    assert "a second entry row for trade 1" in str(error)
