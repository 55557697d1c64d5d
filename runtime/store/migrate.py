"""Apply the Alembic migrations in :mod:`.migrations` to a database (upgrade to head).

Alembic is configured in code (no ``alembic.ini``): the script location is this package's
``migrations`` folder, and the connection is handed to ``env.py`` through
``Config.attributes`` so the upgrade runs in the caller's transaction (all revisions
pending are applied, or none on PostgreSQL, whose DDL is transactional).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

__all__ = ["MIGRATIONS", "alembic_config", "current_revision", "head_revision", "upgrade", "upgrade_to_head"]

#: The Alembic script folder (env.py and versions/).
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for this package's migrations (``url`` for offline/CLI use)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str) -> None:
    """Bring ``engine``'s database to ``revision`` (``"head"``, or a revision id such as ``"0001"``)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def upgrade_to_head(engine: Engine) -> None:
    """Bring ``engine``'s database to the newest revision (a no-op when it is there)."""
    upgrade(engine, "head")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None``: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
