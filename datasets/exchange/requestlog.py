"""What clients asked the local exchange: one record per request, in arrival order.

A record is opened when a request arrives and completed with the status it was
answered with, so a slow (timed-out) request keeps its place before the retry that
followed it. ``status`` is None while the request is still being answered; 499 means
the client went away first, 444 that the server dropped the connection (an
``accept_then_drop`` fault). ``form`` holds the parameters of a form-encoded body (what
ccxt sends to signed ``POST`` endpoints such as ``/fapi/v1/order``), so a test can see
which order arrived (:attr:`RequestRecord.params` merges both).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["RequestLog", "RequestRecord"]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request: method, path, query and form parameters, the status answered and the fault applied."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    status: int | None = None
    fault: str | None = None
    form: Mapping[str, str] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, str]:
        """Query and form parameters together (the form wins on a clash, as the exchange reads them)."""
        return {**self.query, **self.form}

    def to_mapping(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "form": dict(self.form),
            "status": self.status,
            "fault": self.fault,
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RequestRecord:
        """The inverse of :meth:`to_mapping` (for ``GET /_admin/requests`` answers)."""
        status = data.get("status")
        fault = data.get("fault")
        return cls(
            method=str(data["method"]),
            path=str(data["path"]),
            query={str(k): str(v) for k, v in dict(data.get("query") or {}).items()},
            form={str(k): str(v) for k, v in dict(data.get("form") or {}).items()},
            status=None if status is None else int(status),
            fault=None if fault is None else str(fault),
        )


class RequestLog:
    """Thread-safe list of :class:`RequestRecord` (the server writes, tests read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._first_ticket = 0  # the ticket of _records[0]; grows when the log is cleared

    def open(self, method: str, path: str, query: Mapping[str, str], form: Mapping[str, str] | None = None) -> int:
        """Record an arriving request; returns its ticket for :meth:`close`."""
        with self._lock:
            self._records.append(RequestRecord(method, path, dict(query), form=dict(form or {})))
            return self._first_ticket + len(self._records) - 1

    def close(self, ticket: int, status: int, fault: str | None) -> None:
        """Complete the record of ``ticket`` with the answer's status and fault."""
        with self._lock:
            position = ticket - self._first_ticket
            if 0 <= position < len(self._records):
                self._records[position] = replace(self._records[position], status=status, fault=fault)

    def records(self, path: str | None = None) -> list[RequestRecord]:
        """A copy of the records, optionally only those for ``path``."""
        with self._lock:
            chosen = list(self._records)
        return chosen if path is None else [r for r in chosen if r.path == path]

    def count(self, path: str | None = None) -> int:
        """How many requests (to ``path``) arrived."""
        return len(self.records(path))

    def clear(self) -> None:
        """Forget every record (requests still in flight are not recorded when they finish)."""
        with self._lock:
            self._first_ticket += len(self._records)
            self._records.clear()
