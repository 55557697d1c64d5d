"""``quantbridge research list | run | sweep``: output and exit codes (0 ok, 1 runs failed, 2 bad input)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from quantbridge.cli.main import app
from quantbridge.cli.research_common import absolute_path
from quantbridge.research.catalogue import CATALOGUE

BODY = """
from quantbridge.research.notebooks import record_metrics
if x < 0:
    raise ValueError("negative x")
record_metrics({"sharpe": float(x), "total_return": x / 100})
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["research", *args])


def write_notebook(path: Path, parameters: str | None = "x = 1\nlabel = 'a'") -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        notebook.cells.append(cell)
    notebook.cells.append(nbformat.v4.new_code_cell(BODY))
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 hourly bars of a random walk, as a quantbridge Parquet file."""
    closes = 100.0 + np.cumsum(np.random.default_rng(3).normal(0.0, 1.0, 300))
    index = pd.date_range("2024-01-01", periods=300, freq="1h", tz="UTC", name="open_time").as_unit("ns")
    frame = pd.DataFrame(
        {"open": closes, "high": closes + 1, "low": closes - 1, "close": closes, "volume": 1.0}, index=index
    )
    path = tmp_path_factory.mktemp("data") / "bars.parquet"
    frame.to_parquet(path)
    return path


def test_list_when_run_shows_every_prototype_with_params_and_ranges() -> None:
    result = invoke("list")
    assert result.exit_code == 0
    assert all(name in result.stdout for name in CATALOGUE.names())
    assert "fast: int = 10 [2..500] — fast SMA length" in result.stdout


def test_run_when_params_given_prints_executed_notebook_and_metrics(tmp_path: Path) -> None:
    notebook, out = write_notebook(tmp_path / "nb.ipynb"), tmp_path / "executed.ipynb"
    result = invoke("run", str(notebook), "-p", "x", "3", "-p", "label=b", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert f"executed notebook: {out}" in result.stdout
    assert "sharpe" in result.stdout
    injected = nbformat.read(out, as_version=4).cells[1].source
    assert "x = 3" in injected and 'label = "b"' in injected


def test_run_when_notebook_raises_exits_1_with_error(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "nb.ipynb")
    result = invoke("run", str(notebook), "-p", "x", "-1", "--out", str(tmp_path / "out.ipynb"))
    assert result.exit_code == 1
    assert "ValueError: negative x" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "z", "1"], "no parameter 'z'"),
        (["-p", "x", "abc"], "'x': 'abc' is not a valid int"),
        (["-p", "x"], "expected -p NAME VALUE"),
        (["-p", "x", "1", "--outt", "f"], "unexpected argument(s): --outt f"),
    ],
)
def test_run_when_param_bad_exits_2_naming_it(tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke("run", str(write_notebook(tmp_path / "nb.ipynb")), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_run_when_notebook_has_no_parameters_cell_exits_2(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "plain.ipynb", parameters=None)
    result = invoke("run", str(notebook), "-p", "x", "1")
    assert result.exit_code == 2
    assert "has no cell tagged 'parameters'" in result.stderr


def test_sweep_prototype_when_grid_ok_prints_top_rows_writes_table_and_exits_0(tmp_path: Path, bars_file: Path) -> None:
    out = tmp_path / "results.parquet"
    grid = ["--grid", "fast=5,10", "--grid", "slow=30"]
    args = ["sweep", "--prototype", "sma_crossover", "--data", str(bars_file), *grid, "--scheduler", "synchronous"]
    result = invoke(*args, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "top 2 of 2 by sharpe" in result.stdout
    assert "2 combination(s): 2 ok, 0 failed" in result.stdout
    assert pd.read_parquet(out)["fast"].tolist() == [5, 10]


def test_sweep_prototype_when_some_combinations_fail_exits_1_and_lists_them(bars_file: Path) -> None:
    grid = ["--grid", "fast=10,40", "--grid", "slow=30"]
    result = invoke(
        "sweep", "--prototype", "sma_crossover", "--data", str(bars_file), *grid, "--scheduler", "synchronous"
    )
    assert result.exit_code == 1
    assert "failed: fast=40, slow=30, allow_short=True: ValueError" in result.stderr
    assert "1 ok, 1 failed" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prototype", "nope", "--grid", "fast=5"], "no prototype named 'nope'"),
        (["--prototype", "sma_crossover", "--grid", "fast=5.5"], "'fast': '5.5' is not a valid int"),
        (["--prototype", "sma_crossover", "--grid", "speed=1"], "unknown parameter 'speed'"),
        (["--prototype", "sma_crossover", "--grid", "fast"], "expected NAME=VALUES"),
        (["--grid", "fast=5"], "give either NOTEBOOK or --prototype"),
    ],
)
def test_sweep_when_input_bad_exits_2_with_reason(args: list[str], message: str) -> None:
    result = invoke("sweep", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_sweep_when_sort_metric_unknown_exits_2_listing_metrics(bars_file: Path) -> None:
    args = ["--prototype", "sma_crossover", "--data", str(bars_file), "--grid", "fast=5", "--grid", "slow=30"]
    result = invoke("sweep", *args, "--scheduler", "synchronous", "--sort", "nope")
    assert result.exit_code == 2
    assert "--sort 'nope' is not a metric" in result.stderr and "sharpe" in result.stderr


def test_sweep_notebook_when_run_writes_outputs_and_exits_1_on_a_failed_run(tmp_path: Path) -> None:
    notebook, out = write_notebook(tmp_path / "nb.ipynb"), tmp_path / "sweep"
    result = invoke("sweep", str(notebook), "--grid", "x=-1,2", "--out", str(out), "--scheduler", "synchronous")
    assert result.exit_code == 1
    assert f"summary: {out / 'summary.html'}" in result.stdout
    assert "top 1 of 1 by sharpe" in result.stdout
    assert "failed: x=-1: NotebookRunError" in result.stderr
    assert (out / "results.parquet").exists() and len(list((out / "runs").glob("*.ipynb"))) == 2


def test_sweep_notebook_when_no_parameters_cell_exits_2(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "plain.ipynb", parameters=None)
    result = invoke("sweep", str(notebook), "--grid", "x=1", "--out", str(tmp_path / "sweep"))
    assert result.exit_code == 2
    assert "has no cell tagged 'parameters'" in result.stderr
    assert not (tmp_path / "sweep").exists()


def test_absolute_path_when_value_names_existing_file_makes_it_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.parquet").write_bytes(b"")
    assert absolute_path("data.parquet") == str(tmp_path / "data.parquet")
    assert absolute_path("missing.parquet") == "missing.parquet"
    assert absolute_path(3) == 3


@pytest.mark.parametrize("command", [[], ["list"], ["run"], ["sweep"]])
def test_help_when_requested_describes_command(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.stdout and "research" in result.stdout
