"""What every store shares: an account name check and short-lived sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

__all__ = ["checked_account", "reading"]


def checked_account(account: str) -> str:
    """``account`` if it is a non-empty name without surrounding blanks, else ``ValueError``."""
    if not account or account != account.strip():
        raise ValueError(f"account {account!r}: expected a non-empty name without surrounding blanks")
    return account


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A session for reads (its objects stay usable after it closes)."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
