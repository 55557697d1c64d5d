"""The ORM schema (SQLAlchemy 2, typed). The tables are *created* by the Alembic revisions
in :mod:`.migrations`, never by ``metadata.create_all``; this module is what the code reads
and writes, and what a new revision is compared against."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "CertificateRow"]

HASH_LENGTH = 64


class Base(DeclarativeBase):
    """The declarative base of every quantbridge table."""


class CertificateRow(Base):
    """One parity certificate (see :class:`quantbridge.validation.certificates.ParityCertificate`)."""

    __tablename__ = "parity_certificates"
    __table_args__ = (Index("ix_parity_certificates_version", "prototype", "code_hash", "params_hash", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prototype: Mapped[str] = mapped_column(String(200))
    code_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    params_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules_fingerprint: Mapped[str] = mapped_column(String(HASH_LENGTH))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_fingerprint: Mapped[str] = mapped_column(String(HASH_LENGTH))
    model: Mapped[dict[str, Any]] = mapped_column(JSON)
    data_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    results: Mapped[dict[str, Any]] = mapped_column(JSON)
    passed: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tool_version: Mapped[str] = mapped_column(String(50))
