"""Papermill runs and notebook sweeps: parameter checks, metrics read back, failures, resume."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.notebook_params import (
    NotebookParametersError,
    coerce_parameters,
    notebook_parameters,
)
from quantbridge.research.notebooks import NotebookRunError, read_metrics, run_notebook, sweep_notebook
from quantbridge.research.registry import ParamError
from quantbridge.research.simulator import simulate

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SYNC = "synchronous"

PARAMETERS = 'x = 1\ny: float = 2.0\nlabel = "a"\nstart = None\nnow = compute()'
BODY = """
from pathlib import Path
from quantbridge.research.notebooks import record_metrics
with open("runs.log", "a") as log:
    log.write(f"{x}\\n")
if x < 0:
    raise ValueError("negative x")
record_metrics({"score": x * y, "sibling": float(Path("sibling.txt").exists()), "odd": float("inf")})
"""


def write_notebook(path: Path, parameters: str | None, body: str = BODY) -> Path:
    """A tiny notebook: an optional cell tagged 'parameters', then ``body``."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        notebook.cells.append(cell)
    notebook.cells.append(nbformat.v4.new_code_cell(body))
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def template(tmp_path: Path) -> Path:
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "sibling.txt").write_text("beside the notebook")
    return write_notebook(folder / "tiny.ipynb", 'x = 1\ny: float = 2.0\nlabel = "a"')


def runs_logged(notebook: Path) -> list[str]:
    log = notebook.parent / "runs.log"
    return log.read_text().split() if log.exists() else []


# --- parameters cell -------------------------------------------------------------------------


def test_notebook_parameters_when_cell_assigns_values_returns_defaults_in_order(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "p.ipynb", PARAMETERS)
    assert notebook_parameters(path) == {"x": 1, "y": 2.0, "label": "a", "start": None, "now": "compute()"}


def test_coerce_parameters_when_text_given_types_it_by_defaults(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "p.ipynb", 'x = 1\ny = 2.0\nflag = True\nlabel = "a"\nstart = None')
    typed = coerce_parameters(path, {"x": "3", "y": "4", "flag": "no", "label": "7", "start": "[1, 2]"})
    assert typed == {"x": 3, "y": 4.0, "flag": False, "label": "7", "start": [1, 2]}
    assert type(typed["y"]) is float


def test_coerce_parameters_when_text_has_wrong_type_raises_naming_param(template: Path) -> None:
    with pytest.raises(ParamError, match=r"'x'.*not a valid int"):
        coerce_parameters(template, {"x": "abc"})


# --- run_notebook ----------------------------------------------------------------------------


def test_run_notebook_when_params_given_writes_executed_notebook_and_returns_metrics(template: Path) -> None:
    out = template.parent / "out" / "run.ipynb"
    metrics = run_notebook(template, {"x": 3, "label": "b"}, out)
    assert metrics == {"score": 6.0, "sibling": 1.0, "odd": math.inf}  # sibling: ran in the notebook's folder
    executed = nbformat.read(out, as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "x = 3" in injected[0].source
    assert read_metrics(out) == metrics


def test_run_notebook_when_no_parameters_cell_raises_naming_notebook(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "plain.ipynb", None)
    with pytest.raises(NotebookParametersError, match=r"plain\.ipynb has no cell tagged 'parameters'"):
        run_notebook(path, {}, tmp_path / "out.ipynb")
    assert not (tmp_path / "out.ipynb").exists()


def test_run_notebook_when_param_unknown_raises_naming_it_and_known_ones(template: Path) -> None:
    with pytest.raises(NotebookParametersError, match=r"no parameter 'z'.*known: x, y, label"):
        run_notebook(template, {"z": 1}, template.parent / "out.ipynb")
    assert runs_logged(template) == []


def test_run_notebook_when_cell_raises_reports_error_and_keeps_executed_notebook(template: Path) -> None:
    out = template.parent / "failed.ipynb"
    with pytest.raises(NotebookRunError, match="ValueError: negative x"):
        run_notebook(template, {"x": -1}, out)
    assert out.exists()


def test_read_metrics_when_notebook_recorded_none_raises(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "silent.ipynb", "x = 1", body="x")
    with pytest.raises(NotebookRunError, match="recorded no metrics"):
        read_metrics(path)


def test_run_notebook_when_sweep_template_runs_records_prototype_metrics(tmp_path: Path) -> None:
    params = {"fast": 20, "slow": 100, "data": "ETHUSDT_1h.parquet"}
    metrics = run_notebook(NOTEBOOKS / "03_sweep_template.ipynb", params, tmp_path / "run.ipynb")
    bars = read_bars(sample_path("ETHUSDT_1h.parquet"))
    spec = CATALOGUE.get("sma_crossover")
    expected = simulate(bars, spec(bars, fast=20, slow=100), spec.rules, spec.model).metrics
    assert metrics == pytest.approx(expected, nan_ok=True)


# --- sweep_notebook --------------------------------------------------------------------------


def test_sweep_notebook_when_grid_runs_writes_runs_results_and_summary(template: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    frame = sweep_notebook(template, ["x=1,-1,2"], out, scheduler=SYNC, sort_by="score", progress=False)
    assert frame["x"].tolist() == [-1, 1, 2]
    assert frame["status"].tolist() == ["failed", "ok", "ok"]
    assert "ValueError: negative x" in frame["error"].iloc[0]
    assert all((out / link).exists() for link in frame["notebook"])
    assert pd.read_parquet(out / "results.parquet")["score"].tolist()[1:] == [2.0, 4.0]
    html = (out / "summary.html").read_text()
    best, worse = html.index(frame["notebook"].iloc[2]), html.index(frame["notebook"].iloc[1])
    assert best < worse, "ranked by score, best first"
    assert "negative x" in html and "<script" not in html


def test_sweep_notebook_when_rerun_skips_finished_runs(template: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    sweep_notebook(template, {"x": [1, 2]}, out, scheduler=SYNC, progress=False)
    frame = sweep_notebook(template, {"x": [1, 2, 3]}, out, scheduler=SYNC, progress=False)
    assert runs_logged(template) == ["1", "2", "3"]
    assert frame["score"].tolist() == [2.0, 4.0, 6.0]


def test_sweep_notebook_when_grid_value_has_wrong_type_raises_before_running(template: Path, tmp_path: Path) -> None:
    with pytest.raises(ParamError, match=r"'x'.*not a valid int"):
        sweep_notebook(template, ["x=1,abc"], tmp_path / "sweep", scheduler=SYNC, progress=False)
    assert runs_logged(template) == []
    assert not (tmp_path / "sweep").exists()


# --- the committed notebooks -----------------------------------------------------------------


def test_build_notebooks_when_checked_committed_notebooks_match_generator() -> None:
    result = subprocess.run(
        [sys.executable, str(NOTEBOOKS / "build_notebooks.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["01_explore.ipynb", "02_prototype_to_production.ipynb", "03_sweep_template.ipynb"])
def test_notebook_when_committed_has_no_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
