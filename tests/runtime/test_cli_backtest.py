"""``quantbridge backtest``: files written, a self-contained report, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from quantbridge.cli.main import app
from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.resample import aggregate_trades
from quantbridge.datasets.trade_list import TRADE_LIST_COLUMNS
from quantbridge.runtime import strategies
from quantbridge.runtime.registry import StrategySpec
from quantbridge.runtime.strategy import Context

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["backtest", *args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "BTCUSDT_1h.parquet"
    pd.read_parquet(sample_path("BTCUSDT_1h.parquet")).iloc[:1500].to_parquet(path)
    return path


@pytest.fixture(scope="module")
def trades_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "BTCUSDT_trades.parquet"
    pd.read_parquet(sample_path("BTCUSDT_trades_1d.parquet")).iloc[:20_000].to_parquet(path)
    return path


def test_backtest_when_bars_given_writes_all_outputs_and_prints_the_folder(bars_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = invoke("sma_crossover", "--data", str(bars_file), "--out", str(out))
    assert code == 0, output
    assert output.rstrip().endswith(f"output: {out}")
    trades = pd.read_csv(out / "trades.csv")
    assert tuple(trades.columns) == TRADE_LIST_COLUMNS and len(trades) > 10
    equity = pd.read_csv(out / "equity.csv")
    assert len(equity) == 1500 and list(equity.columns) == ["open_time", "equity", "cash", "position", "close"]
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["strategy"] == "sma_crossover" and summary["trades"] == len(trades)
    assert set(summary["metrics"]) >= {"net_profit", "max_drawdown", "sharpe"}


def test_backtest_report_when_written_is_self_contained(bars_file: Path, tmp_path: Path) -> None:
    code, output = invoke("rsi", "--data", str(bars_file), "--out", str(tmp_path))
    assert code == 0, output
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert re.search(r"<script[^>]*\bsrc=", page) is None  # nothing fetched from the network
    assert "Plotly.newPlot" in page and "plotly.js v" in page.lower()  # the library is inlined
    assert "max_drawdown" in page and "Drawdown" in page


def test_backtest_params_when_trailing_or_repeated_give_the_same_run(bars_file: Path, tmp_path: Path) -> None:
    assert invoke("sma_crossover", "fast=5", "slow=20", "--data", str(bars_file), "--out", str(tmp_path / "a"))[0] == 0
    args = ("--params", "fast=5", "-p", "slow=20", "--data", str(bars_file), "--out", str(tmp_path / "b"))
    assert invoke("sma_crossover", *args)[0] == 0
    assert (tmp_path / "a" / "trades.csv").read_bytes() == (tmp_path / "b" / "trades.csv").read_bytes()
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["params"] == {
        "fast": 5,
        "slow": 20,
        "allow_short": True,
    }


def test_backtest_when_ticks_given_trades_like_bars_resampled_from_them(trades_file: Path, tmp_path: Path) -> None:
    code, output = invoke(
        "sma_crossover",
        "fast=3",
        "slow=8",
        "--data",
        str(trades_file),
        "--from",
        "ticks",
        "--timeframe",
        "5m",
        "--out",
        str(tmp_path / "ticks"),
    )
    assert code == 0, output
    bars = aggregate_trades(pd.read_parquet(trades_file), "5m")
    bars_path = tmp_path / "BTCUSDT_5m.parquet"
    bars.to_parquet(bars_path)
    assert (
        invoke("sma_crossover", "fast=3", "slow=8", "--data", str(bars_path), "--out", str(tmp_path / "bars"))[0] == 0
    )
    from_ticks = pd.read_csv(tmp_path / "ticks" / "trades.csv")
    from_bars = pd.read_csv(tmp_path / "bars" / "trades.csv")
    assert len(from_ticks) > 5
    pd.testing.assert_frame_equal(from_ticks, from_bars)


def test_backtest_when_no_out_given_creates_a_new_folder_under_runs(
    bars_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("sma_crossover", "--data", str(bars_file))[0] == 0
    code, output = invoke("sma_crossover", "--data", str(bars_file))
    assert code == 0
    assert output.rstrip().endswith("output: runs/backtest/sma_crossover-BTCUSDT_1h-2")
    assert (tmp_path / "runs" / "backtest" / "sma_crossover-BTCUSDT_1h" / "trades.csv").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", "--data", "{bars}"), "no runtime strategy named 'nope' (registered: rsi, sma_crossover)"),
        (("sma_crossover", "fast=x", "--data", "{bars}"), "parameter 'fast': 'x' is not a valid int"),
        (("sma_crossover", "speed=3", "--data", "{bars}"), "has no parameter 'speed'"),
        (("sma_crossover", "fast=50", "slow=10", "--data", "{bars}"), "fast (50) must be shorter than slow (10)"),
        (("sma_crossover", "fast", "--data", "{bars}"), "parameter 'fast': expected NAME=VALUE"),
        (("sma_crossover", "--data", "{missing}"), "no such file"),
        (("sma_crossover", "--data", "{trades}", "--from", "ticks"), "--timeframe is needed with --from ticks"),
        (("sma_crossover", "--data", "{bars}", "--tick-size", "-1"), "--tick-size '-1': expected a positive number"),
        (("sma_crossover", "--data", "{bars}", "--leverage", "0.5"), "--leverage 0.5: expected at least 1"),
    ],
)
def test_backtest_when_input_is_bad_exits_2_naming_the_problem(
    args: tuple[str, ...], message: str, bars_file: Path, trades_file: Path, tmp_path: Path
) -> None:
    paths = {"bars": str(bars_file), "trades": str(trades_file), "missing": str(tmp_path / "missing.csv")}
    code, output = invoke(*(a.format(**paths) for a in args), "--out", str(tmp_path / "out"))
    assert code == 2, output
    assert message in output


class Exploding:
    def on_candle(self, ctx: Context) -> None:
        if ctx.bars.index == 3:
            raise RuntimeError("strategy bug")


def test_backtest_when_the_strategy_fails_exits_1_and_still_writes_outputs(
    bars_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = StrategySpec(name="exploding", factory=Exploding, description="raises on bar 3")
    monkeypatch.setattr(strategies, "STRATEGIES", strategies.STRATEGIES.with_spec(spec))
    code, output = invoke("exploding", "--data", str(bars_file), "--out", str(tmp_path))
    assert code == 1, output
    assert "1 strategy and 0 engine error(s)" in output
    assert (tmp_path / "trades.csv").is_file()


def test_backtest_help_when_asked_describes_usage_and_exit_codes() -> None:
    code, output = invoke("--help")
    assert code == 0
    assert "STRATEGY" in output and "--from" in output and "Exit 0 ok, 1 the run failed, 2 bad input" in output
