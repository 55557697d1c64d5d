"""The validation report: one self-contained HTML file with the summary, the equity
curves and every check's section."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.validation.report import render_report, write_report
from quantbridge.validation.run import CheckOutcome, ValidationConfig, ValidationRun, run_validation


@pytest.fixture(scope="module")
def run() -> ValidationRun:
    bars = read_bars(sample_path("BTCUSDT_1h.parquet")).iloc[:300]
    spec = CATALOGUE.get("sma_crossover")
    instrument = spec.model.instrument.model_copy(update={"tick_size": 0.01, "qty_step": 1e-8})
    model = spec.model.model_copy(update={"instrument": instrument})
    config = ValidationConfig(spec, {"fast": 5, "slow": 20}, spec.rules, model, from_ticks=True)
    return run_validation(config, bars)


def test_write_report_when_run_passed_is_one_offline_file(run: ValidationRun, tmp_path: Path) -> None:
    path = write_report(run, tmp_path / "out" / "report.html")
    text = path.read_text(encoding="utf-8")
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
    assert 'src="http' not in text and "src='http" not in text
    assert text.count("<script") >= 1
    assert len(re.findall(r"plotly\.js v\d", text)) == 1  # the library is inlined exactly once


def test_render_report_when_run_passed_has_every_section(run: ValidationRun) -> None:
    text = render_report(run)
    assert "PASSED" in text and "FAILED" not in text
    for name in ("signals_bars", "signals_ticks", "trades_bars", "candles", "causality", "warmup"):
        assert f">{name}<" in text
    for section in ("check-signals_bars", "check-candles", "check-causality", "check-warmup"):
        assert f"id='{section}'" in text
    assert '"name":"simulator"' in text and '"name":"runtime (bars)"' in text and '"name":"runtime (ticks)"' in text


def test_render_report_when_a_check_failed_says_failed_and_shows_its_fragment() -> None:
    index = pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC")
    failing = CheckOutcome(
        name="tradingview",
        passed=False,
        match=0.5,
        counts={"reference_trades": 2, "matched": 1},
        summary="1 of 2 TradingView trades matched",
        details={},
        html="<table><tr><td>missing</td></tr></table>",
    )
    run = ValidationRun(
        prototype="demo",
        params={"fast": 3},
        bars=3,
        parity_bars=3,
        min_parity=1.0,
        checks=(failing,),
        equity={
            "simulator": pd.Series([1.0, 2.0, 3.0], index=index),
            "tradingview": pd.Series([1.0, 2.5], index=index[:2]),
        },
    )
    text = render_report(run)
    assert "FAILED" in text and "50.0000%" in text
    assert "<td>missing</td>" in text
    assert '"name":"tradingview"' in text
    assert run.failed_checks == ("tradingview",)
    assert run.to_dict()["checks"]["tradingview"]["matched"] == 1
