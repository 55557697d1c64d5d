"""Where the quantbridge database is and how it is opened.

One database holds everything durable: the validation layer's parity certificates and
the trading runtime's state (one Alembic history, owned by this package). The URL is,
in order: the one given, ``$QUANTBRIDGE_DB``, ``sqlite:///<cwd>/.quantbridge/quantbridge.db``
(the project is the folder the command runs in). PostgreSQL by URL, e.g.
``postgresql+psycopg://user@127.0.0.1:5432/quantbridge``.

:func:`open_database` guarantees, before it returns an engine:

* a SQLite file's folder exists, and every SQLite connection runs with
  ``journal_mode=WAL``, ``synchronous=FULL`` (a committed transaction survives a power
  loss), ``foreign_keys=ON`` and ``busy_timeout=10000`` (a writer waits up to 10 s for
  another process's lock instead of failing at once);
* the schema is at the newest Alembic revision;
* no message it raises or logs contains the URL's password (``DatabaseOpenError`` carries
  the URL rendered with ``***``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, quote_plus

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError

from .migrate import head_revision, upgrade_to_head

__all__ = ["DATABASE_ENV", "DatabaseOpenError", "default_database_url", "open_database", "safe_url"]

_log = logging.getLogger(__name__)

#: The environment variable naming the project database (a SQLAlchemy URL).
DATABASE_ENV: Final = "QUANTBRIDGE_DB"
_DEFAULT_FILE: Final = Path(".quantbridge") / "quantbridge.db"
_SQLITE_PRAGMAS: Final = (
    "PRAGMA busy_timeout=10000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)
_UNPARSABLE: Final = "<unparsable database URL, not shown>"


class DatabaseOpenError(RuntimeError):
    """The database could not be opened or migrated (the message names it without its password)."""


def default_database_url(environ: Mapping[str, str] | None = None, root: Path | None = None) -> str:
    """``$QUANTBRIDGE_DB``, else a SQLite file ``<root>/.quantbridge/quantbridge.db`` (root: cwd)."""
    env = os.environ if environ is None else environ
    given = env.get(DATABASE_ENV, "").strip()
    if given:
        return given
    return f"sqlite:///{((root or Path.cwd()) / _DEFAULT_FILE).resolve()}"


def safe_url(url: str | URL) -> str:
    """``url`` for messages and logs: its password, if any, shown as ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return _UNPARSABLE


def _is_sqlite_file(url: URL) -> bool:
    database = url.database or ""
    return url.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Set the durability and integrity pragmas on a new SQLite connection (outside any transaction)."""
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _redacted(error: BaseException, password: str | None) -> str:
    text = f"{type(error).__name__}: {error}"
    if password:
        for form in {password, quote(password, safe=""), quote_plus(password)}:
            text = text.replace(form, "***")
    return text


def _engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)  # a pooled connection may outlive a server restart
    if _is_sqlite_file(url):
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_database(url: str | URL) -> Engine:
    """An engine on ``url`` whose schema is at head (see the module docstring for the guarantees).
    Raises :class:`DatabaseOpenError` when the URL cannot be parsed, the server cannot be reached
    or a migration fails. The caller disposes of the engine (``engine.dispose()``)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseOpenError(f"cannot open the database: {_UNPARSABLE}") from None
    shown = parsed.render_as_string(hide_password=True)
    engine: Engine | None = None
    try:
        engine = _engine(parsed)
        upgrade_to_head(engine)
    except Exception as error:  # any failure, re-raised with the password taken out of its text
        if engine is not None:
            engine.dispose()
        message = _redacted(error, parsed.password)
        raise DatabaseOpenError(f"cannot open the database {shown}: {message}") from None
    _log.debug("database %s at revision %s", shown, head_revision())
    return engine
