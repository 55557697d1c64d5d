"""Parity certificates: the record that one strategy *version* passed (or failed) validation.

A version is the prototype's name, its **code hash** (SHA-256 of the function's source and
of its module's source, so an edit to a helper in the same module counts) and its
**params hash** (SHA-256 of the bound parameters as canonical JSON). A certificate adds the
rules and the model (fingerprints and full JSON), the **data hash** (SHA-256 of the bars'
column names, values and index), every check's result (JSON), the verdict, the creation
time (passed in: library code never reads the clock) and the tool version.

Certificates live in the project database (:mod:`quantbridge.runtime.store`, shared with
the trading runtime) through SQLAlchemy 2: a SQLite file by default, PostgreSQL (or
anything SQLAlchemy speaks) by URL. The URL is, in order: the one given,
``$QUANTBRIDGE_DB``, ``sqlite:///<cwd>/.quantbridge/quantbridge.db`` (the project is the
folder the command runs in, like ``runs/``). Opening a store upgrades the schema to the
newest Alembic revision (:func:`quantbridge.runtime.store.open_database`).

What the runtime asks before paper or live trading is :meth:`CertificateStore.find_passing`:
the **most recent** certificate of that exact version, if it passed. A later failing run of
the same version (other data, other rules) therefore revokes an earlier pass — the newest
evidence wins.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session

from quantbridge.runtime.store import DATABASE_ENV, CertificateRow, default_database_url, open_database

__all__ = [
    "DATABASE_ENV",
    "CertificateStore",
    "Fingerprinted",
    "ParityCertificate",
    "certify",
    "code_hash",
    "data_hash",
    "default_database_url",
    "params_hash",
    "tool_version",
]


def _sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _source(obj: object) -> str:
    """The source text of ``obj`` (a function or module); its code object's bytes and
    constants when no source is available (a function typed into a console)."""
    try:
        return inspect.getsource(obj)  # type: ignore[arg-type]
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        return "" if code is None else repr((code.co_code, code.co_consts, code.co_names))


def code_hash(function: Callable[..., Any]) -> str:
    """SHA-256 of ``function``'s source and of its module's source (see the module docstring)."""
    target = inspect.unwrap(function)
    module = inspect.getmodule(target)
    module_text = "" if module is None else _source(module)
    name = f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}"
    return _sha256(name.encode(), _source(target).encode(), module_text.encode())


def params_hash(params: Mapping[str, object]) -> str:
    """SHA-256 of the parameters as canonical JSON (key order does not matter)."""
    return _sha256(_canonical(dict(params)).encode())


def data_hash(bars: pd.DataFrame) -> str:
    """SHA-256 of the bars' column names and dtypes, values and index (row order counts)."""
    header = _canonical([[str(c), str(t)] for c, t in bars.dtypes.items()])
    rows = pd.util.hash_pandas_object(bars, index=True).to_numpy().tobytes()
    return _sha256(header.encode(), str(bars.index.dtype).encode(), rows)


def tool_version() -> str:
    """The installed quantbridge version (``unknown`` when not installed)."""
    try:
        return version("quantbridge")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class ParityCertificate:
    """One validation verdict for one strategy version (see the module docstring).
    ``id`` is set once it is recorded."""

    prototype: str
    code_hash: str
    params: Mapping[str, Any]
    params_hash: str
    rules_fingerprint: str
    rules: Mapping[str, Any]
    model_fingerprint: str
    model: Mapping[str, Any]
    data_hash: str
    results: Mapping[str, Any]
    passed: bool
    created_at: datetime
    tool_version: str
    id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "prototype": self.prototype,
            "code_hash": self.code_hash,
            "params": dict(self.params),
            "params_hash": self.params_hash,
            "rules_fingerprint": self.rules_fingerprint,
            "rules": dict(self.rules),
            "model_fingerprint": self.model_fingerprint,
            "model": dict(self.model),
            "data_hash": self.data_hash,
            "passed": self.passed,
            "created_at": self.created_at.isoformat(),
            "tool_version": self.tool_version,
            "results": dict(self.results),
        }


class Fingerprinted(Protocol):
    """What :func:`certify` needs of rules and models (``PositionRules``, ``ExecutionModel``)."""

    def fingerprint(self) -> str: ...

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


def certify(
    prototype: str,
    function: Callable[..., Any],
    params: Mapping[str, object],
    rules: Fingerprinted,
    model: Fingerprinted,
    bars: pd.DataFrame,
    results: Mapping[str, Any],
    *,
    passed: bool,
    created_at: datetime,
    version: str | None = None,
) -> ParityCertificate:
    """A certificate for ``function`` (named ``prototype``) with ``params`` under ``rules`` and
    ``model`` on ``bars``; ``results`` must be JSON-serialisable (each check's ``to_dict()``)."""
    plain_params = json.loads(_canonical(dict(params)))
    return ParityCertificate(
        prototype=prototype,
        code_hash=code_hash(function),
        params=plain_params,
        params_hash=params_hash(plain_params),
        rules_fingerprint=rules.fingerprint(),
        rules=rules.model_dump(mode="json"),
        model_fingerprint=model.fingerprint(),
        model=model.model_dump(mode="json"),
        data_hash=data_hash(bars),
        results=json.loads(json.dumps(dict(results), allow_nan=False)),
        passed=passed,
        created_at=created_at,
        tool_version=version or tool_version(),
    )


def _row(cert: ParityCertificate) -> CertificateRow:
    return CertificateRow(
        prototype=cert.prototype,
        code_hash=cert.code_hash,
        params_hash=cert.params_hash,
        params=dict(cert.params),
        rules_fingerprint=cert.rules_fingerprint,
        rules=dict(cert.rules),
        model_fingerprint=cert.model_fingerprint,
        model=dict(cert.model),
        data_hash=cert.data_hash,
        results=dict(cert.results),
        passed=cert.passed,
        created_at=cert.created_at.astimezone(UTC),
        tool_version=cert.tool_version,
    )


def _certificate(row: CertificateRow) -> ParityCertificate:
    created = row.created_at
    created = created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)  # SQLite: naive UTC
    return ParityCertificate(
        prototype=row.prototype,
        code_hash=row.code_hash,
        params=row.params,
        params_hash=row.params_hash,
        rules_fingerprint=row.rules_fingerprint,
        rules=row.rules,
        model_fingerprint=row.model_fingerprint,
        model=row.model,
        data_hash=row.data_hash,
        results=row.results,
        passed=row.passed,
        created_at=created,
        tool_version=row.tool_version,
        id=row.id,
    )


def _newest_first(query: Select[CertificateRow]) -> Select[CertificateRow]:
    return query.order_by(CertificateRow.created_at.desc(), CertificateRow.id.desc())


class CertificateStore:
    """Parity certificates in a database (``url``: see :func:`default_database_url`).
    Opening upgrades the schema to the newest revision (``DatabaseOpenError`` when it cannot:
    the message never shows the URL's password). Use as a context manager or
    call :meth:`close`."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_database_url()
        self.engine: Engine = open_database(self.url)

    def __enter__(self) -> CertificateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def record(self, cert: ParityCertificate) -> ParityCertificate:
        """Store ``cert``; returns it with its ``id``."""
        row = _row(cert)
        with self._session() as session:
            session.add(row)
            session.flush()
            return _certificate(row)

    def latest(self, prototype: str, code_hash: str, params_hash: str) -> ParityCertificate | None:
        """The most recent certificate of this version, passed or not."""
        query = select(CertificateRow).where(
            CertificateRow.prototype == prototype,
            CertificateRow.code_hash == code_hash,
            CertificateRow.params_hash == params_hash,
        )
        with self._session() as session:
            row = session.scalars(_newest_first(query).limit(1)).first()
            return None if row is None else _certificate(row)

    def find_passing(self, prototype: str, code_hash: str, params_hash: str) -> ParityCertificate | None:
        """The certificate that lets this version trade: the most recent one, if it passed."""
        cert = self.latest(prototype, code_hash, params_hash)
        return cert if cert is not None and cert.passed else None

    def list_certificates(self, prototype: str | None = None, *, limit: int | None = None) -> list[ParityCertificate]:
        """Certificates, newest first (of one prototype when given)."""
        query = select(CertificateRow)
        if prototype is not None:
            query = query.where(CertificateRow.prototype == prototype)
        query = _newest_first(query)
        if limit is not None:
            query = query.limit(limit)
        with self._session() as session:
            return [_certificate(row) for row in session.scalars(query)]
