"""``quantbridge data info``: summary, JSON output and exit codes scripts can trust."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quantbridge.cli.main", *args], capture_output=True, text=True, timeout=120, check=False
    )


def write_csv(path: Path, body: str) -> Path:
    path.write_text("time,open,high,low,close,volume\n" + body)
    return path


def test_info_when_file_clean_prints_json_summary_and_exits_0(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ok.csv", "1704067200,1,2,0.5,1.5,3\n1704070800,1.5,2,1,1.2,4\n1704081600,1.2,1.3,1,1.1,2\n"
    )
    result = run_cli("data", "info", str(path), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows"] == 3
    assert summary["timeframe"] == "1h"
    assert summary["gaps"] == 1 and summary["missing_bars"] == 2
    assert summary["first"] == "2024-01-01T00:00:00+00:00"


def test_info_when_data_has_errors_exits_1_and_names_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", "1704067200,1,2,0.5,1.5,3\n1704070800,1.5,1.4,1,1.2,-4\n")
    result = run_cli("data", "info", str(path), "--json")
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["problems_by_kind"] == {"high_below_open_close": 1, "negative_volume": 1}
    assert any("row 1 (line 3)" in p for p in summary["problems"])


def test_info_when_file_unreadable_exits_2_with_message(tmp_path: Path) -> None:
    path = tmp_path / "naive.csv"
    path.write_text("time,open,high,low,close\n2024-01-01 00:00,1,2,0.5,1.5\n")
    result = run_cli("data", "info", str(path))
    assert result.returncode == 2
    assert "no UTC offset" in result.stderr


def test_info_when_file_missing_exits_2(tmp_path: Path) -> None:
    result = run_cli("data", "info", str(tmp_path / "nope.csv"))
    assert result.returncode == 2
    assert "no such file" in result.stderr


@pytest.mark.parametrize("command", [[], ["data"], ["data", "info"]])
def test_help_when_requested_describes_command(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout
