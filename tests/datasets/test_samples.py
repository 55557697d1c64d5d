"""The bundled samples: present, small, valid, and exactly what the recipe builds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from quantbridge.datasets.paths import SAMPLES_DIR, sample_path
from quantbridge.datasets.problems import GapPolicy, ValidationReport
from quantbridge.datasets.sample_data import SAMPLE_FILES, build_samples, main
from quantbridge.datasets.validation import validate_bars, validate_quotes, validate_trades

TOTAL_BUDGET = 10 * 1024 * 1024
FILE_BUDGET = 3 * 1024 * 1024


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("samples")
    build_samples(folder)
    return folder


def validate(name: str, frame: pd.DataFrame) -> ValidationReport:
    if "_trades_" in name:
        return validate_trades(frame, source=name)
    if "_quotes_" in name:
        return validate_quotes(frame, source=name)
    return validate_bars(frame, source=name, gap_policy=GapPolicy.ERROR)


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_bundled_sample_when_read_is_small_and_validates_cleanly(name: str) -> None:
    path = sample_path(name)
    assert path.stat().st_size < FILE_BUDGET
    frame = pd.read_parquet(path)
    assert len(frame) > 1000
    report = validate(name, frame)
    assert report.problems == (), report.messages(limit=5)


def test_bundled_samples_when_summed_stay_under_budget() -> None:
    assert sum(sample_path(name).stat().st_size for name in SAMPLE_FILES) < TOTAL_BUDGET


def test_bundled_samples_when_listed_match_recipe_exactly() -> None:
    assert sorted(p.name for p in SAMPLES_DIR.glob("*.parquet")) == sorted(SAMPLE_FILES)


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_bundled_sample_when_rebuilt_equals_committed_frame(name: str, fresh: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(fresh / name), pd.read_parquet(sample_path(name)), check_exact=True)


def test_build_samples_when_done_leaves_no_temporary_files(fresh: Path) -> None:
    assert sorted(p.name for p in fresh.iterdir()) == sorted(SAMPLE_FILES)


def test_sample_data_main_when_out_given_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(SAMPLE_FILES)
    assert "MiB in 5 files" in capsys.readouterr().out


def test_bundled_trades_when_joined_to_quotes_print_at_bid_or_ask() -> None:
    trades = pd.read_parquet(sample_path("BTCUSDT_trades_1d.parquet"))
    quotes = pd.read_parquet(sample_path("BTCUSDT_quotes_1d.parquet"))
    joined = pd.merge_asof(trades, quotes, on="ts", direction="backward").dropna(subset=["bid"])
    at_touch = (joined["price"] == joined["bid"]) | (joined["price"] == joined["ask"])
    # timestamps are floored to milliseconds, so a quote in the same millisecond may
    # follow the trade; almost every trade still matches the last earlier quote
    assert at_touch.mean() > 0.95
