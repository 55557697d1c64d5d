"""``quantbridge validate``: end to end on a bundled-sample slice and on the TradingView
reference data; exit codes 0 passed, 1 a check failed, 2 bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from quantbridge.cli.main import app
from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.validation.certificates import DATABASE_ENV, CertificateStore, code_hash, params_hash

REFERENCE_MODEL = [
    "--tick-size",
    "0.00001",
    "--qty-step",
    "0.1",
    "--session-timezone",
    "America/New_York",
    "--session-start",
    "17:00",
]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["validate", *args])


def load(folder: Path) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((folder / "validation.json").read_text(encoding="utf-8"))
    return payload


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "BTCUSDT_1h_slice.parquet"
    read_bars(sample_path("BTCUSDT_1h.parquet")).iloc[:500].to_parquet(path)
    return path


def perturbed_trade_list(source: Path, target: Path, trade: str) -> Path:
    """``source`` with the exit price of trade number ``trade`` moved by 0.001."""
    with source.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    price = rows[0].index("Price USD")
    for row in rows[1:]:
        if row[0] == trade and row[1].startswith("Exit"):
            row[price] = f"{float(row[price]) + 0.001:.5f}"
    with target.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return target


def test_validate_when_sma_crossover_on_sample_passes_and_records_certificate(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    result = invoke("sma_crossover", "--data", str(sample), "-p", "fast=5,slow=20")
    assert result.exit_code == 0, result.output
    (out,) = (tmp_path / "runs" / "validate").iterdir()
    payload = load(out)
    assert payload["passed"] is True
    checks = payload["checks"]
    assert set(checks) == {
        "signals_bars",
        "trades_bars",
        "signals_ticks",
        "trades_ticks",
        "candles",
        "causality",
        "warmup",
    }
    assert checks["signals_bars"]["match"] == 1.0 and checks["signals_bars"]["compared"] > 400
    assert checks["trades_ticks"]["matched"] == checks["trades_ticks"]["reference_trades"] > 0
    assert checks["candles"]["matched"] == checks["candles"]["compared"] == 500
    assert (out / "report.html").is_file()
    assert f"report: {Path('runs', 'validate', out.name, 'report.html')}" in result.output
    spec = CATALOGUE.get("sma_crossover")
    with CertificateStore(f"sqlite:///{tmp_path / '.quantbridge' / 'quantbridge.db'}") as store:
        cert = store.find_passing(spec.name, code_hash(spec.function), params_hash(spec.bind({"fast": 5, "slow": 20})))
    assert cert is not None and cert.results["checks"]["signals_bars"]["match"] == 1.0


def test_validate_when_min_parity_is_not_a_ratio_exits_2(sample: Path, tmp_path: Path) -> None:
    result = invoke("sma_crossover", "--data", str(sample), "--min-parity", "1.5", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "--min-parity" in result.output
    assert not (tmp_path / "o").exists()


def test_validate_when_prototype_is_unknown_exits_2(sample: Path) -> None:
    result = invoke("no_such_prototype", "--data", str(sample))
    assert result.exit_code == 2
    assert "no prototype named 'no_such_prototype'" in result.output


def test_validate_when_param_is_malformed_exits_2(sample: Path) -> None:
    result = invoke("sma_crossover", "--data", str(sample), "-p", "fast")
    assert result.exit_code == 2
    assert "expected NAME=VALUE" in result.output


@pytest.mark.reference_data
def test_validate_when_tv_rsi_with_tradingview_trades_matches_all_194(reference_data: Path, tmp_path: Path) -> None:
    folder = reference_data / "tradingview" / "builtin_strategies"
    out = tmp_path / "out"
    result = invoke(
        "tv_rsi",
        "--data",
        str(folder / "ohlcv.csv"),
        "--tradingview-trades",
        str(folder / "rsi_trades.csv"),
        *REFERENCE_MODEL,
        "--parity-bars",
        "1200",
        "--out",
        str(out),
        "--db",
        f"sqlite:///{tmp_path / 'q.db'}",
    )
    assert result.exit_code == 0, result.output
    payload = load(out)
    tradingview = payload["checks"]["tradingview"]
    assert payload["passed"] is True
    assert tradingview["match"] == 1.0
    assert tradingview["reference_trades"] == tradingview["matched"] == 194
    assert tradingview["timezone"]["how"] == "UTC offsets in the file"
    assert payload["parity_bars"] == 1200 and payload["checks"]["signals_ticks"]["match"] == 1.0
    assert '"name":"tradingview"' in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.reference_data
def test_validate_when_tradingview_trade_is_perturbed_exits_1(reference_data: Path, tmp_path: Path) -> None:
    folder = reference_data / "tradingview" / "builtin_strategies"
    trades = perturbed_trade_list(folder / "rsi_trades.csv", tmp_path / "rsi_perturbed.csv", trade="7")
    out, db = tmp_path / "out", f"sqlite:///{tmp_path / 'q.db'}"
    result = invoke(
        "tv_rsi",
        "--data",
        str(folder / "ohlcv.csv"),
        "--tradingview-trades",
        str(trades),
        *REFERENCE_MODEL,
        "--no-from-ticks",
        "--parity-bars",
        "600",
        "--min-parity",
        "0.999",
        "--out",
        str(out),
        "--db",
        db,
    )
    assert result.exit_code == 1, result.output
    payload = load(out)
    assert payload["passed"] is False and payload["failed"] == ["tradingview"]
    assert payload["checks"]["tradingview"]["matched"] == 193
    assert payload["checks"]["tradingview"]["classes"]["price_differs"] == 1
    assert "signals_ticks" not in payload["checks"]
    with CertificateStore(db) as store:
        (cert,) = store.list_certificates("tv_rsi")
    assert cert.passed is False
