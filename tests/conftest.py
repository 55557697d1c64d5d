"""Shared fixtures: the reference-data folder and the bundled samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantbridge.datasets.paths import REFERENCE_DATA_ENV, reference_data_dir


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """The third-party reference data folder; the test is skipped when it is absent."""
    folder = reference_data_dir()
    if not folder.is_dir():
        pytest.skip(f"reference data not found at {folder} (set ${REFERENCE_DATA_ENV} to its location)")
    return folder
