"""The wheel installs every layer under the ``quantbridge`` namespace and nothing else."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("datasets", "research", "runtime", "bridge", "validation", "cli")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("quantbridge-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_wheel_when_built_installs_nothing_outside_quantbridge(wheel_names: list[str]) -> None:
    top = {name.split("/")[0] for name in wheel_names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"quantbridge"}


def test_wheel_when_built_contains_every_package_of_every_layer(wheel_names: list[str]) -> None:
    for layer in LAYERS:
        for init in (ROOT / layer).rglob("__init__.py"):
            relative = init.relative_to(ROOT).as_posix()
            assert f"quantbridge/{relative}" in wheel_names, f"{relative} missing from the wheel (pyproject packages)"


def test_wheel_when_built_ships_bundled_samples(wheel_names: list[str]) -> None:
    samples = [n for n in wheel_names if n.startswith("quantbridge/datasets/samples/") and n.endswith(".parquet")]
    assert len(samples) >= 3
