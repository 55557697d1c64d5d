"""Opening the database: migrations (0001 → head), the schema they build, SQLite pragmas, URL secrecy."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect
from sqlalchemy.dialects import sqlite

from quantbridge.runtime.store import (
    DATABASE_ENV,
    Base,
    CertificateRow,
    DatabaseOpenError,
    current_revision,
    default_database_url,
    head_revision,
    open_database,
)
from quantbridge.runtime.store.migrate import alembic_config, upgrade
from quantbridge.runtime.store.types import DecimalText, UtcNanos
from quantbridge.validation.certificates import DATABASE_ENV as CERTIFICATES_DATABASE_ENV
from quantbridge.validation.certificates import CertificateStore

TRADING_TABLES = {
    "runs",
    "orders",
    "fills",
    "positions",
    "balances",
    "risk_decisions",
    "alerts",
    "control_requests",
    "reconciliations",
}
CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def certificate_values() -> dict[str, object]:
    return {
        "prototype": "sma_crossover",
        "code_hash": "c" * 64,
        "params_hash": "p" * 64,
        "params": {"fast": 10},
        "rules_fingerprint": "r" * 64,
        "rules": {},
        "model_fingerprint": "m" * 64,
        "model": {"fees": 0.001},
        "data_hash": "d" * 64,
        "results": {"checks": {"x": 1.0}},
        "passed": True,
        "created_at": CREATED,
        "tool_version": "0.0.1",
    }


def test_open_when_database_is_at_0001_upgrades_to_head_and_keeps_certificates(database_url: str) -> None:
    if database_url.startswith("sqlite:///"):  # a plain engine needs the folder (open_database makes it)
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    old = create_engine(database_url)
    try:
        config = alembic_config()
        with old.begin() as connection:  # the database as release 0001 left it
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            connection.execute(insert(CertificateRow).values(**certificate_values()))
        assert current_revision(old) == "0001"
        assert "orders" not in inspect(old).get_table_names()
    finally:
        old.dispose()

    with CertificateStore(database_url) as store:
        certificates = store.list_certificates()
        assert current_revision(store.engine) == head_revision() == "0002"
        assert set(inspect(store.engine).get_table_names()) >= TRADING_TABLES

    assert [(c.prototype, c.created_at, c.params, c.passed) for c in certificates] == [
        ("sma_crossover", CREATED, {"fast": 10}, True)
    ]


def test_migrations_at_head_build_exactly_the_orm_schema(database_url: str) -> None:
    engine = open_database(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_downgrade_to_0001_then_open_when_reopened_rebuilds_the_trading_tables(database_url: str) -> None:
    engine = open_database(database_url)
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        assert current_revision(engine) == "0001"
        assert not TRADING_TABLES & set(inspect(engine).get_table_names())
        upgrade(engine, "head")
        assert current_revision(engine) == "0002"
        assert set(inspect(engine).get_table_names()) >= TRADING_TABLES
    finally:
        engine.dispose()


def test_open_when_sqlite_folder_is_missing_creates_it_and_sets_durability_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "quantbridge.db"
    engine = open_database(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            pragmas = [
                connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            ]
    finally:
        engine.dispose()
    assert path.is_file()
    assert pragmas == ["wal", 2, 1, 10000]  # synchronous 2 is FULL


def test_open_when_server_is_unreachable_raises_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://trader:s3cr%40t-Pw@127.0.0.1:{port}/quantbridge?connect_timeout=2"

    with caplog.at_level(logging.DEBUG), pytest.raises(DatabaseOpenError) as raised:
        open_database(url)

    message = str(raised.value)
    assert f"trader:***@127.0.0.1:{port}/quantbridge" in message
    assert "s3cr" not in message and "s3cr" not in caplog.text
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_open_when_url_cannot_be_parsed_raises_without_showing_it() -> None:
    with pytest.raises(DatabaseOpenError) as raised:
        open_database("not a url with password hunter2")
    assert "hunter2" not in str(raised.value)


def test_default_database_url_when_env_is_set_or_not(tmp_path: Path) -> None:
    assert DATABASE_ENV == CERTIFICATES_DATABASE_ENV == "QUANTBRIDGE_DB"
    assert default_database_url({}, tmp_path) == f"sqlite:///{tmp_path.resolve() / '.quantbridge' / 'quantbridge.db'}"
    assert (
        default_database_url({DATABASE_ENV: " postgresql+psycopg://u@h/db "}, tmp_path) == "postgresql+psycopg://u@h/db"
    )


def test_column_types_when_given_floats_or_naive_times_refuse_them() -> None:
    dialect = sqlite.dialect()
    with pytest.raises(TypeError, match="Decimal"):
        DecimalText().process_bind_param(0.1, dialect)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        UtcNanos().process_bind_param(pd.Timestamp("2024-01-01"), dialect)
    assert DecimalText().process_bind_param(Decimal("-0.00100"), dialect) == "-0.00100"
    assert UtcNanos().process_bind_param(pd.Timestamp("2024-01-01 02:00", tz="Europe/Berlin"), dialect) == (
        pd.Timestamp("2024-01-01 01:00", tz="UTC").value
    )
    assert UtcNanos().process_result_value(1, dialect) == pd.Timestamp(1, unit="ns", tz="UTC")
