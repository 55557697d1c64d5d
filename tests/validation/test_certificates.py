"""Parity certificates: hashes, the SQLite store (Alembic-migrated on open) and find_passing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, inspect

from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.runtime.store import current_revision, head_revision
from quantbridge.validation.certificates import (
    DATABASE_ENV,
    CertificateStore,
    ParityCertificate,
    certify,
    code_hash,
    data_hash,
    default_database_url,
    params_hash,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return read_bars(sample_path("BTCUSDT_1h.parquet")).iloc[:200]


def make(bars: pd.DataFrame, *, passed: bool = True, at: datetime = T0, **params: object) -> ParityCertificate:
    spec = CATALOGUE.get("sma_crossover")
    bound = spec.bind(params)
    return certify(
        spec.name,
        spec.function,
        bound,
        spec.rules,
        spec.model,
        bars,
        {"checks": {"x": 1.0}},
        passed=passed,
        created_at=at,
    )


def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'quantbridge.db'}"


def prototype_a(bars: pd.DataFrame, n: int = 1) -> None:
    return None


def prototype_b(bars: pd.DataFrame, n: int = 2) -> None:
    return None


def test_open_when_file_is_new_applies_migrations_to_head(tmp_path: Path) -> None:
    url = store_url(tmp_path)
    with CertificateStore(url):
        pass
    engine = create_engine(url)
    try:
        assert current_revision(engine) == head_revision() == "0002"
        assert "parity_certificates" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_open_when_already_migrated_keeps_certificates(tmp_path: Path, bars: pd.DataFrame) -> None:
    url = store_url(tmp_path)
    with CertificateStore(url) as store:
        store.record(make(bars))
    with CertificateStore(url) as store:
        assert len(store.list_certificates()) == 1


def test_record_when_read_back_round_trips_every_field(tmp_path: Path, bars: pd.DataFrame) -> None:
    cert = make(bars, fast=5, slow=20)
    with CertificateStore(store_url(tmp_path)) as store:
        recorded = store.record(cert)
        loaded = store.latest(cert.prototype, cert.code_hash, cert.params_hash)
    assert recorded.id is not None
    assert loaded == cert
    assert loaded is not None and loaded.id == recorded.id
    assert loaded.created_at == T0 and loaded.created_at.tzinfo is not None
    assert loaded.params == {"allow_short": True, "fast": 5, "slow": 20}
    assert loaded.model["instrument"]["symbol"] == "SYMBOL"


def test_certify_when_created_at_is_naive_raises(bars: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make(bars, at=datetime(2024, 5, 1))  # noqa: DTZ001 - the point of the test


def test_hashes_when_inputs_are_equal_are_stable(bars: pd.DataFrame) -> None:
    first, second = make(bars), make(bars.copy())
    assert (first.code_hash, first.params_hash, first.data_hash) == (
        second.code_hash,
        second.params_hash,
        second.data_hash,
    )
    assert len(first.code_hash) == len(first.data_hash) == 64


def test_params_hash_when_params_change_changes() -> None:
    assert params_hash({"fast": 10, "slow": 50}) == params_hash({"slow": 50, "fast": 10})
    assert params_hash({"fast": 10, "slow": 50}) != params_hash({"fast": 11, "slow": 50})


def test_data_hash_when_a_value_or_the_index_changes_changes(bars: pd.DataFrame) -> None:
    moved = bars.copy()
    moved.iloc[100, moved.columns.get_loc("close")] += 0.01
    shifted = bars.copy()
    shifted.index = shifted.index + pd.Timedelta(hours=1)
    assert len({data_hash(bars), data_hash(moved), data_hash(shifted), data_hash(bars.iloc[:-1])}) == 4


def test_code_hash_when_function_differs_changes() -> None:
    assert code_hash(prototype_a) == code_hash(prototype_a)
    assert code_hash(prototype_a) != code_hash(prototype_b)


def test_find_passing_when_latest_passed_returns_it(tmp_path: Path, bars: pd.DataFrame) -> None:
    failed, passed = make(bars, passed=False), make(bars, at=T0 + timedelta(hours=1))
    with CertificateStore(store_url(tmp_path)) as store:
        store.record(failed)
        store.record(passed)
        found = store.find_passing(passed.prototype, passed.code_hash, passed.params_hash)
    assert found == passed


def test_find_passing_when_a_later_run_failed_returns_none(tmp_path: Path, bars: pd.DataFrame) -> None:
    passed, failed = make(bars), make(bars, passed=False, at=T0 + timedelta(hours=1))
    with CertificateStore(store_url(tmp_path)) as store:
        store.record(passed)
        store.record(failed)
        assert store.find_passing(passed.prototype, passed.code_hash, passed.params_hash) is None
        assert store.latest(passed.prototype, passed.code_hash, passed.params_hash) == failed


def test_find_passing_when_params_or_code_differ_returns_none(tmp_path: Path, bars: pd.DataFrame) -> None:
    cert = make(bars)
    other_params = make(bars, fast=12)
    with CertificateStore(store_url(tmp_path)) as store:
        store.record(cert)
        assert store.find_passing(cert.prototype, cert.code_hash, other_params.params_hash) is None
        assert store.find_passing(cert.prototype, code_hash(prototype_a), cert.params_hash) is None
        assert store.find_passing("tv_rsi", cert.code_hash, cert.params_hash) is None


def test_list_certificates_when_several_returns_newest_first(tmp_path: Path, bars: pd.DataFrame) -> None:
    times = [T0 + timedelta(minutes=m) for m in (5, 0, 10)]
    with CertificateStore(store_url(tmp_path)) as store:
        for at in times:
            store.record(make(bars, at=at))
        listed = store.list_certificates("sma_crossover", limit=2)
        assert store.list_certificates("tv_rsi") == []
    assert [c.created_at for c in listed] == [T0 + timedelta(minutes=10), T0 + timedelta(minutes=5)]


def test_default_database_url_when_env_unset_is_sqlite_under_project(tmp_path: Path) -> None:
    assert default_database_url({}, tmp_path) == f"sqlite:///{tmp_path.resolve() / '.quantbridge' / 'quantbridge.db'}"
    assert default_database_url({DATABASE_ENV: "postgresql://h/db"}, tmp_path) == "postgresql://h/db"


def test_store_when_postgres_is_available_round_trips(postgres_db_url: str, bars: pd.DataFrame) -> None:
    older, cert = make(bars, passed=False), make(bars, at=T0 + timedelta(hours=1))
    with CertificateStore(postgres_db_url) as store:
        store.record(older)
        recorded = store.record(cert)
        loaded = store.latest(cert.prototype, cert.code_hash, cert.params_hash)
        assert current_revision(store.engine) == head_revision()
    assert loaded == cert and loaded is not None and loaded.id == recorded.id
    assert loaded.created_at == cert.created_at and loaded.params == cert.params
