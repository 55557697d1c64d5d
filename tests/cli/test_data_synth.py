"""``quantbridge data synth …`` and ``data samples``: files written, content valid, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from quantbridge.cli.main import app
from quantbridge.datasets.readers import read_bars, read_quotes, read_trades
from quantbridge.datasets.resample import aggregate_trades
from quantbridge.datasets.sample_data import SAMPLE_FILES
from quantbridge.datasets.synth import TickModel, generate_bars, generate_quotes, generate_trades
from quantbridge.datasets.validation import validate_bars, validate_trades

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_synth_bars_when_parquet_out_writes_seeded_valid_bars(tmp_path: Path) -> None:
    out = tmp_path / "bars.parquet"
    code, output = invoke("data", "synth", "bars", "--out", str(out), "--periods", "300", "--seed", "5")
    assert code == 0, output
    assert "wrote 300 rows" in output
    frame = pd.read_parquet(out)
    assert validate_bars(frame).problems == ()
    pd.testing.assert_frame_equal(frame, generate_bars(start="2024-01-01", periods=300, seed=5, start_price=30_000.0))


def test_synth_bars_when_csv_out_writes_bars_the_readers_accept(tmp_path: Path) -> None:
    out = tmp_path / "bars.csv"
    args = ["--out", str(out), "--timeframe", "5m", "--periods", "100", "--start-price", "2000", "--tick-size", "0.1"]
    code, output = invoke("data", "synth", "bars", *args)
    assert code == 0, output
    frame = read_bars(out)
    assert len(frame) == 100
    assert frame["open"].iloc[0] == 2000.0
    assert (frame.index[1] - frame.index[0]) == pd.Timedelta(minutes=5)


def test_synth_trades_when_window_given_writes_seeded_valid_trades(tmp_path: Path) -> None:
    out = tmp_path / "trades.parquet"
    window = ["--start", "2024-03-01", "--end", "2024-03-01T02:00"]
    code, output = invoke("data", "synth", "trades", "--out", str(out), *window, "--seed", "9", "--rate", "1")
    assert code == 0, output
    frame = pd.read_parquet(out)
    assert validate_trades(frame).problems == ()
    expected = generate_trades(start="2024-03-01", end="2024-03-01T02:00", seed=9, model=TickModel(trade_rate=1.0))
    pd.testing.assert_frame_equal(frame, expected)


def test_synth_quotes_when_csv_out_writes_quotes_matching_generator(tmp_path: Path) -> None:
    out = tmp_path / "quotes.csv"
    window = ["--start", "2024-03-01", "--end", "2024-03-01T01:00"]
    code, output = invoke("data", "synth", "quotes", "--out", str(out), *window, "--seed", "2")
    assert code == 0, output
    frame = read_quotes(out)
    expected = generate_quotes(start="2024-03-01", end="2024-03-01T01:00", seed=2)
    assert len(frame) == len(expected)
    np.testing.assert_array_equal(frame["bid"].to_numpy(), expected["bid"].to_numpy())
    assert (frame["bid"] < frame["ask"]).all()


def test_synth_from_bars_when_bars_file_given_ticks_rebuild_bars(tmp_path: Path) -> None:
    bars_path, out = tmp_path / "bars.parquet", tmp_path / "ticks.parquet"
    assert invoke("data", "synth", "bars", "--out", str(bars_path), "--periods", "48")[0] == 0
    code, output = invoke(
        "data", "synth", "from-bars", "--bars", str(bars_path), "--out", str(out), "--price-step", "0.01"
    )
    assert code == 0, output
    ticks = read_trades(out)
    pd.testing.assert_frame_equal(aggregate_trades(ticks, "1h"), pd.read_parquet(bars_path), check_exact=True)


def test_synth_from_bars_when_file_has_no_volume_says_amounts_are_synthetic(tmp_path: Path) -> None:
    bars_path, out = tmp_path / "chart.csv", tmp_path / "ticks.csv"
    bars_path.write_text("time,open,high,low,close\n1704067200,10,12,9,11\n1704070800,11,11.5,10,10.5\n")
    code, output = invoke("data", "synth", "from-bars", "--bars", str(bars_path), "--out", str(out))
    assert code == 0, output
    assert "no volume" in output and "synthetic" in output
    rebuilt = aggregate_trades(read_trades(out), "1h")
    assert rebuilt["high"].tolist() == [12.0, 11.5] and rebuilt["low"].tolist() == [9.0, 10.0]


def test_data_samples_when_out_given_writes_every_sample(tmp_path: Path) -> None:
    code, output = invoke("data", "samples", "--out", str(tmp_path))
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(SAMPLE_FILES)
    assert "KiB" in output


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["bars", "--out", "x.txt"], "--out"),
        (["bars", "--out", "x.csv", "--timeframe", "7x"], "--timeframe"),
        (["bars", "--out", "x.csv", "--periods", "0"], "--periods"),
        (["bars", "--out", "x.csv", "--start", "2024-01-01T00:30"], "--start"),
        (["bars", "--out", "x.csv", "--start", "yesterday-ish"], "--start"),
        (["bars", "--out", "x.csv", "--annual-vol", "-1"], "--annual-vol"),
        (["bars", "--out", "x.csv", "--seed", "-3"], "--seed"),
        (["trades", "--out", "x.csv", "--start", "2024-01-02", "--end", "2024-01-01"], "--end"),
        (["trades", "--out", "x.csv", "--start", "2024-01-01", "--end", "2024-01-02", "--rate", "0"], "--rate"),
        (
            ["quotes", "--out", "x.csv", "--start", "2024-01-01", "--end", "2024-01-02", "--tick-size", "0"],
            "--tick-size",
        ),
        (["from-bars", "--bars", "missing.csv", "--out", "x.csv"], "--bars"),
        (["from-bars", "--bars", "missing.csv", "--out", "x.csv", "--ticks-per-bar", "2"], "--ticks-per-bar"),
    ],
)
def test_synth_when_argument_bad_exits_2_naming_option(
    args: list[str], option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = invoke("data", "synth", *args)
    assert code == 2, output
    assert option in output
    assert not any(tmp_path.iterdir())


def test_data_samples_when_out_is_a_file_exits_2_naming_out(tmp_path: Path) -> None:
    target = tmp_path / "file.parquet"
    target.write_text("")
    code, output = invoke("data", "samples", "--out", str(target))
    assert code == 2 and "--out" in output


@pytest.mark.parametrize(
    ("command", "phrase"),
    [
        (["synth"], "deterministic per --seed"),
        (["synth", "bars"], "GARCH"),
        (["synth", "trades"], "Hawkes"),
        (["synth", "quotes"], "bid < ask"),
        (["synth", "from-bars"], "rebuild the given bars exactly"),
        (["samples"], "bundled sample data"),
    ],
)
def test_help_when_requested_describes_synth_command(command: list[str], phrase: str) -> None:
    code, output = invoke("data", *command, "--help")
    assert code == 0
    assert "Usage:" in output
    assert phrase in " ".join(output.split())


def test_cli_module_when_imported_leaves_pandas_and_numpy_unloaded() -> None:
    probe = "import sys, quantbridge.cli.main; print('pandas' in sys.modules or 'numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"
