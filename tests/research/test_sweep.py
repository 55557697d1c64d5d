"""Grids and fast-path sweeps: typing, expansion, equality with ``simulate``, failures, resume, Dask."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.execution import ExecutionModel
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.grid import GridError, expand_grid, parse_grid
from quantbridge.research.prototypes.sma_crossover import sma_crossover
from quantbridge.research.registry import Param, ParamError, PrototypeSpec
from quantbridge.research.signals import Signals
from quantbridge.research.simulator import simulate
from quantbridge.research.sweep import read_results, sweep_prototype, sweep_to_parquet, write_parquet_atomic

from .bars_factory import bars_from

SMA = CATALOGUE.get("sma_crossover")
SYNC = "synchronous"


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    """A 400-bar random walk: enough crossings for every small grid below."""
    steps = np.random.default_rng(7).normal(0.0, 1.0, 400)
    closes = 100.0 + np.cumsum(steps)
    opens = np.concatenate([[100.0], closes[:-1]])
    return bars_from([(o, max(o, c) + 0.5, min(o, c) - 0.5, c) for o, c in zip(opens, closes, strict=True)])


def counting(calls: list[dict[str, object]], interrupt_at_fast: int | None = None) -> PrototypeSpec:
    """sma_crossover that records each call (and can simulate a crash at one combination)."""

    def counted(bars: pd.DataFrame, fast: int = 10, slow: int = 50, allow_short: bool = True) -> Signals:
        if fast == interrupt_at_fast:
            raise KeyboardInterrupt
        calls.append({"fast": fast, "slow": slow})
        return sma_crossover(bars, fast=fast, slow=slow, allow_short=allow_short)

    return dataclasses.replace(SMA, name="counted", function=counted)


def same_metric(a: object, b: float) -> bool:
    return (isinstance(a, float) and math.isnan(a) and math.isnan(b)) or a == b


# --- grids ---------------------------------------------------------------------------------


def test_parse_grid_when_range_given_includes_stop() -> None:
    assert parse_grid(SMA.params, ["fast=5:50:5"]) == {"fast": [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]}


def test_parse_grid_when_list_given_types_each_value_by_param() -> None:
    values = parse_grid(SMA.params, {"allow_short": "true,no", "slow": [60, "80"]})
    assert values == {"allow_short": [True, False], "slow": [60, 80]}
    assert all(type(v) is int for v in values["slow"])


def test_parse_grid_when_float_range_given_has_no_rounding_drift() -> None:
    assert parse_grid([Param("x", 0.5)], ["x=0.1:0.3:0.1"]) == {"x": [0.1, 0.2, 0.3]}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("fast=1.5:3:0.5", r"'fast'.*not a valid int"),
        ("fast=ten,20", r"'fast'.*not a valid int"),
        ("allow_short=maybe", r"'allow_short'.*not a valid bool"),
        ("fast=1:5", r"'fast'.*below its minimum"),
    ],
)
def test_parse_grid_when_value_has_wrong_type_raises_naming_param_and_type(entry: str, message: str) -> None:
    with pytest.raises(ParamError, match=message):
        parse_grid(SMA.params, [entry])


def test_parse_grid_when_param_unknown_raises_listing_known() -> None:
    with pytest.raises(GridError, match=r"unknown parameter 'speed'.*fast, slow, allow_short"):
        parse_grid(SMA.params, ["speed=1,2"])


@pytest.mark.parametrize("entry", ["fast", "fast=", "=5", "fast=50:5:5", "fast=5:50:0", "fast=1:2:3:4", "fast=5,,6"])
def test_parse_grid_when_entry_malformed_raises_grid_error(entry: str) -> None:
    with pytest.raises(GridError):
        parse_grid(SMA.params, [entry])


def test_parse_grid_when_param_repeated_raises() -> None:
    with pytest.raises(GridError, match="twice"):
        parse_grid(SMA.params, ["fast=5", "fast=10"])


def test_expand_grid_when_two_params_swept_gives_product_over_defaults() -> None:
    combos = expand_grid(SMA.defaults, {"slow": [60, 80], "fast": [5, 10]})
    assert combos == [
        {"fast": 5, "slow": 60, "allow_short": True},
        {"fast": 5, "slow": 80, "allow_short": True},
        {"fast": 10, "slow": 60, "allow_short": True},
        {"fast": 10, "slow": 80, "allow_short": True},
    ]


# --- fast path -----------------------------------------------------------------------------


def test_sweep_when_small_grid_runs_metrics_equal_direct_simulate(bars: pd.DataFrame) -> None:
    table = sweep_prototype(SMA, bars, ["fast=5:15:5", "slow=30,60"], scheduler=SYNC, progress=False)
    assert len(table) == 6 and set(table["status"]) == {"ok"}
    for row in table.to_dict("records"):
        params = {"fast": row["fast"], "slow": row["slow"], "allow_short": row["allow_short"]}
        expected = simulate(bars, SMA(bars, **params), SMA.rules, SMA.model).metrics
        assert all(same_metric(row[name], value) for name, value in expected.items()), params


def test_sweep_when_combination_fails_reports_it_and_keeps_others(bars: pd.DataFrame) -> None:
    table = sweep_prototype(SMA, bars, {"fast": [10, 60], "slow": [50]}, scheduler=SYNC, progress=False)
    ok, failed = table.iloc[0], table.iloc[1]
    assert (ok["fast"], ok["status"], ok["error"]) == (10, "ok", "")
    assert not math.isnan(ok["sharpe"])
    assert failed["fast"] == 60 and failed["status"] == "failed"
    assert "ValueError: fast (60) must be shorter than slow (50)" in failed["error"]
    assert math.isnan(failed["sharpe"])


def test_sweep_to_parquet_when_rerun_skips_finished_combinations(bars: pd.DataFrame, tmp_path: Path) -> None:
    calls: list[dict[str, object]] = []
    spec, out = counting(calls), tmp_path / "results.parquet"
    sweep_to_parquet(spec, bars, ["fast=5,10", "slow=30"], out, scheduler=SYNC, progress=False)
    table = sweep_to_parquet(spec, bars, ["fast=5,10,15", "slow=30"], out, scheduler=SYNC, progress=False)
    assert [c["fast"] for c in calls] == [5, 10, 15]
    assert table["fast"].tolist() == [5, 10, 15]
    assert len(read_results(out)) == 3


def test_sweep_to_parquet_when_interrupted_keeps_flushed_rows_and_resumes(bars: pd.DataFrame, tmp_path: Path) -> None:
    calls: list[dict[str, object]] = []
    out = tmp_path / "results.parquet"
    with pytest.raises(KeyboardInterrupt):
        sweep_to_parquet(
            counting(calls, 15), bars, ["fast=5:20:5", "slow=30"], out, scheduler=SYNC, progress=False, flush_every=1
        )
    assert read_results(out)["fast"].tolist() == [5, 10]
    calls.clear()
    table = sweep_to_parquet(counting(calls), bars, ["fast=5:20:5", "slow=30"], out, scheduler=SYNC, progress=False)
    assert [c["fast"] for c in calls] == [15, 20]
    assert table["fast"].tolist() == [5, 10, 15, 20] and set(table["status"]) == {"ok"}


def test_sweep_to_parquet_when_rerun_retries_failed_combinations_only(bars: pd.DataFrame, tmp_path: Path) -> None:
    calls: list[dict[str, object]] = []
    spec, out = counting(calls), tmp_path / "results.parquet"
    sweep_to_parquet(spec, bars, ["fast=10,40", "slow=30"], out, scheduler=SYNC, progress=False)
    calls.clear()
    table = sweep_to_parquet(spec, bars, ["fast=10,40", "slow=30"], out, scheduler=SYNC, progress=False)
    assert calls == [{"fast": 40, "slow": 30}]
    assert table["status"].tolist() == ["ok", "failed"]
    assert len(read_results(out)) == 2


def test_sweep_to_parquet_when_model_changes_runs_combinations_again(bars: pd.DataFrame, tmp_path: Path) -> None:
    calls: list[dict[str, object]] = []
    spec, out = counting(calls), tmp_path / "results.parquet"
    sweep_to_parquet(spec, bars, ["fast=10", "slow=30"], out, scheduler=SYNC, progress=False)
    costly = ExecutionModel(commission=0.1)
    sweep_to_parquet(spec, bars, ["fast=10", "slow=30"], out, model=costly, scheduler=SYNC, progress=False)
    assert len(calls) == 2
    assert read_results(out)["setup"].nunique() == 2


def test_write_parquet_atomic_when_write_fails_keeps_previous_table(tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"
    write_parquet_atomic(pd.DataFrame({"x": [1, 2]}), out)
    with pytest.raises(Exception, match="object"):
        write_parquet_atomic(pd.DataFrame({"x": [object()]}), out)
    assert read_results(out)["x"].tolist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["results.parquet"]


def test_sweep_when_run_on_local_dask_cluster_matches_synchronous_run(bars: pd.DataFrame) -> None:
    grid = {"fast": [5, 10, 40], "slow": [30]}
    on_dask = sweep_prototype(SMA, bars, grid, progress=False, engine="kernel")
    here = sweep_prototype(SMA, bars, grid, scheduler=SYNC, progress=False, engine="kernel")
    assert on_dask["status"].tolist() == ["ok", "ok", "failed"]
    pd.testing.assert_frame_equal(on_dask, here)
