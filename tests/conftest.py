"""Shared fixtures: the reference-data folder, the bundled samples and PostgreSQL databases."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from quantbridge.datasets.paths import REFERENCE_DATA_ENV, reference_data_dir


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """The third-party reference data folder; the test is skipped when it is absent."""
    folder = reference_data_dir()
    if not folder.is_dir():
        pytest.skip(f"reference data not found at {folder} (set ${REFERENCE_DATA_ENV} to its location)")
    return folder


# --- PostgreSQL -----------------------------------------------------------------------------
# ``postgres_url``: a server for the whole session — $QUANTBRIDGE_TEST_POSTGRES_URL when set
# (its role must be allowed to CREATE DATABASE), else a throwaway cluster started with the
# initdb / pg_ctl on PATH (run as the ``postgres`` user when the tests run as root, since
# PostgreSQL refuses to run as root), else the tests that ask for it are skipped.
# ``postgres_db_url``: a fresh, empty database on that server for one test, dropped after it.

POSTGRES_ENV = "QUANTBRIDGE_TEST_POSTGRES_URL"
_PG_USER = "qb"
_PG_SYSTEM_USER = "postgres"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres_user(command: list[str]) -> list[str]:
    """``command``, run as the ``postgres`` system user when this process is root."""
    return ["runuser", "-u", _PG_SYSTEM_USER, "--", *command] if os.geteuid() == 0 else command


def _pg_bin(name: str) -> str | None:
    """``name`` on PATH, else in the distribution's versioned folder (Debian/Ubuntu install
    initdb and pg_ctl under /usr/lib/postgresql/<version>/bin, off PATH)."""
    found = shutil.which(name)
    if found is not None:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: p.parent.parent.name)
    return str(candidates[-1]) if candidates else None


def _run_pg(command: list[str]) -> None:
    command = [_pg_bin(command[0]) or command[0], *command[1:]]
    done = subprocess.run(_as_postgres_user(command), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} failed ({done.returncode}): {done.stderr.strip() or done.stdout}")


def _throwaway_cluster(folder: Path) -> str:
    """Start a PostgreSQL cluster in ``folder`` on a free loopback port; returns its URL."""
    if os.geteuid() == 0:
        shutil.chown(folder, user=_PG_SYSTEM_USER)
    data, port = folder / "data", _free_port()
    _run_pg(["initdb", "-D", str(data), "-A", "trust", "-U", _PG_USER, "--no-sync"])
    options = f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run_pg(["pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start"])
    return f"postgresql+psycopg://{_PG_USER}@127.0.0.1:{port}/postgres"


def _libpq(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as a libpq connection URI (what psycopg.connect takes)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a PostgreSQL server for this session (see the comment above); skips without one."""
    given = os.environ.get(POSTGRES_ENV, "").strip()
    if given:
        yield given
        return
    if _pg_bin("initdb") is None or _pg_bin("pg_ctl") is None:
        pytest.skip(f"no PostgreSQL: set ${POSTGRES_ENV} to a server URL or install PostgreSQL (initdb, pg_ctl)")
    folder = Path(tempfile.mkdtemp(prefix="qb-pg-"))  # short: the socket path must fit in 107 bytes
    try:
        try:
            url = _throwaway_cluster(folder)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            pytest.skip(f"could not start a throwaway PostgreSQL cluster: {error}")
        yield url
        _run_pg(["pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (``qb_<uuid hex>``), dropped afterwards."""
    import psycopg  # only the tests that ask for PostgreSQL need the driver
    from psycopg import sql

    name = f"qb_{uuid.uuid4().hex}"
    server = _libpq(postgres_url)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:  # WITH (FORCE): a leaked connection must not keep it
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend the store supports: a SQLite file (in a folder that
    does not exist yet) and a fresh PostgreSQL database (skipped without a server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'quantbridge.db'}"
    return str(request.getfixturevalue("postgres_db_url"))
