"""Fault injection for the local exchange: a programmable, seeded plan of bad responses.

A :class:`FaultPlan` holds :class:`FaultRule` values. For each request the plan picks,
in rule order, the first *fault* rule whose path pattern matches and that fires (a
rule fires for its next ``times`` matching requests, with ``probability`` drawn from
the plan's seeded RNG, or on every matching request when neither is set). ``DELAY``
rules never stop the search: every firing delay rule adds its seconds to the request,
which is how a test slows a download down without failing it. A rule with a ``method``
matches only requests with that HTTP method (``POST`` to fault order placement but not
the ``GET`` that looks the order up afterwards).

Order faults, and what the order endpoint does:

* ``reject`` — answer Binance's error ``{"code": code, "msg": message}`` (HTTP ``status``,
  400 by default) without handling the request: no order is placed.
  :data:`BINANCE_ERROR_MESSAGES` supplies the message of well-known codes (-2019 margin,
  -1111 precision, -4164 min notional, ...).
* ``lost_response`` — place the order, then answer a 5xx (optionally after ``seconds``).
* ``accept_then_delay`` — place the order, then send the real answer ``seconds`` later
  (a client with a shorter timeout sees a timeout although the order exists).
* ``accept_then_drop`` — place the order, then close the TCP connection without any answer
  (the client sees a network error; recorded with status 444, nginx's "no response").

The plan is shared between the test's thread and the server's event loop, so every
method takes a lock. Over HTTP (subprocess mode) the same rules are posted as JSON to
``POST /_admin/faults`` (see :func:`rule_from_mapping`).
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

__all__ = [
    "BINANCE_ERROR_MESSAGES",
    "FaultAction",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "FaultRuleError",
    "rule_from_mapping",
]

#: HTTP statuses a ``HTTP_ERROR`` rule may answer with.
SERVER_ERROR_STATUSES = frozenset({500, 502, 503, 504})
#: Binance's messages for error codes a ``reject`` rule may leave the message out for.
BINANCE_ERROR_MESSAGES: Mapping[int, str] = {
    -1001: "Internal error; unable to process your request. Please try again.",
    -1021: "Timestamp for this request is outside of the recvWindow.",
    -1111: "Precision is over the maximum defined for this asset.",
    -2010: "NEW_ORDER_REJECTED",
    -2019: "Margin is insufficient.",
    -2021: "Order would immediately trigger.",
    -2022: "ReduceOnly Order is rejected.",
    -4116: "ClientOrderId is duplicated.",
    -4164: "Order's notional must be no smaller than 5 (unless you choose reduce only).",
}
_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})


class FaultKind(StrEnum):
    """What a rule does to a matching request."""

    RATE_LIMIT = "rate_limit"
    """HTTP 429 with a ``Retry-After`` header and Binance's ``-1003`` body."""
    HTTP_ERROR = "http_error"
    """HTTP 500/502/503/504."""
    TIMEOUT = "timeout"
    """Hold the response for ``seconds`` (longer than the client's timeout), then answer."""
    MALFORMED = "malformed"
    """HTTP 200 with a body that is not JSON."""
    TRUNCATED = "truncated"
    """HTTP 200 with the real body cut in half."""
    DELAY = "delay"
    """Answer normally after ``seconds``; does not stop other rules from firing."""
    LOST_RESPONSE = "lost_response"
    """Handle the request (an order is accepted), then lose the answer: hold it for
    ``seconds`` when given (a client timeout), and answer HTTP ``status`` (5xx)."""
    REJECT = "reject"
    """Answer Binance's error ``code``/``message`` (HTTP ``status``, default 400) without
    handling the request (an order is not placed)."""
    ACCEPT_THEN_DELAY = "accept_then_delay"
    """Handle the request (an order is accepted), then send the real answer ``seconds`` later."""
    ACCEPT_THEN_DROP = "accept_then_drop"
    """Handle the request (an order is accepted), then close the connection with no answer."""


class FaultRuleError(ValueError):
    """A fault rule with a missing or out-of-range field."""


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One rule: which requests (``path`` glob), what happens, and how often.

    ``times`` limits the rule to the next N matching requests; ``probability`` makes
    each matching request fire with that chance (seeded); neither means every request.
    """

    kind: FaultKind
    path: str = "*"
    times: int | None = None
    probability: float | None = None
    status: int | None = None
    retry_after: float | None = None
    seconds: float | None = None
    method: str | None = None
    code: int | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())
        if self.kind is FaultKind.REJECT and self.message is None and self.code is not None:
            object.__setattr__(self, "message", BINANCE_ERROR_MESSAGES.get(self.code))
        _check_rule(self)

    @classmethod
    def rate_limit(cls, path: str = "*", *, retry_after: float = 1.0, times: int | None = 1) -> FaultRule:
        """HTTP 429 with ``Retry-After: retry_after`` for the next ``times`` requests."""
        return cls(FaultKind.RATE_LIMIT, path, times=times, retry_after=retry_after)

    @classmethod
    def http_error(cls, path: str = "*", *, status: int = 503, times: int | None = 1) -> FaultRule:
        """A 5xx answer for the next ``times`` requests."""
        return cls(FaultKind.HTTP_ERROR, path, times=times, status=status)

    @classmethod
    def timeout(cls, path: str = "*", *, seconds: float, times: int | None = 1) -> FaultRule:
        """Hold the next ``times`` responses for ``seconds`` (pick more than the client timeout)."""
        return cls(FaultKind.TIMEOUT, path, times=times, seconds=seconds)

    @classmethod
    def malformed(cls, path: str = "*", *, times: int | None = 1) -> FaultRule:
        """Answer the next ``times`` requests with a body that is not JSON."""
        return cls(FaultKind.MALFORMED, path, times=times)

    @classmethod
    def truncated(cls, path: str = "*", *, times: int | None = 1) -> FaultRule:
        """Answer the next ``times`` requests with the real body cut in half."""
        return cls(FaultKind.TRUNCATED, path, times=times)

    @classmethod
    def delay(cls, path: str = "*", *, seconds: float, times: int | None = None) -> FaultRule:
        """Slow every matching request (or the next ``times``) by ``seconds``."""
        return cls(FaultKind.DELAY, path, times=times, seconds=seconds)

    @classmethod
    def lost_response(
        cls, path: str = "*", *, status: int = 503, seconds: float | None = None, times: int | None = 1
    ) -> FaultRule:
        """Process the next ``times`` requests, then answer ``status`` instead of the real
        answer, after holding it ``seconds`` (more than the client timeout: a timeout after send)."""
        return cls(FaultKind.LOST_RESPONSE, path, times=times, status=status, seconds=seconds)

    @classmethod
    def reject(
        cls,
        path: str = "/fapi/v1/order",
        *,
        code: int,
        message: str | None = None,
        status: int = 400,
        method: str | None = "POST",
        times: int | None = 1,
    ) -> FaultRule:
        """Answer the next ``times`` matching requests (by default ``POST``s: order placement)
        with Binance's error ``code`` and ``message`` (looked up in
        :data:`BINANCE_ERROR_MESSAGES` when left out) without handling them: nothing is placed.
        ccxt raises by code, e.g. -2019 → ``InsufficientFunds``, -4164 → ``InvalidOrder``."""
        return cls(FaultKind.REJECT, path, times=times, status=status, method=method, code=code, message=message)

    @classmethod
    def accept_then_delay(
        cls, path: str = "/fapi/v1/order", *, seconds: float, method: str | None = "POST", times: int | None = 1
    ) -> FaultRule:
        """Handle the next ``times`` matching requests (the order is placed), then send the real
        answer ``seconds`` later; a client whose timeout is shorter raises ``RequestTimeout``."""
        return cls(FaultKind.ACCEPT_THEN_DELAY, path, times=times, seconds=seconds, method=method)

    @classmethod
    def accept_then_drop(
        cls, path: str = "/fapi/v1/order", *, method: str | None = "POST", times: int | None = 1
    ) -> FaultRule:
        """Handle the next ``times`` matching requests (the order is placed), then close the
        connection without answering; ccxt raises ``ExchangeNotAvailable`` (a ``NetworkError``)."""
        return cls(FaultKind.ACCEPT_THEN_DROP, path, times=times, method=method)

    def matches(self, path: str, method: str | None = None) -> bool:
        """Whether a request to ``path`` (with HTTP ``method``, when known) is this rule's."""
        if self.method is not None and method is not None and method.upper() != self.method:
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def to_mapping(self) -> dict[str, Any]:
        """The rule as JSON-ready data (the inverse of :func:`rule_from_mapping`)."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def _fail(rule: FaultRule, problem: str) -> FaultRuleError:
    return FaultRuleError(f"fault rule {rule.kind.value}: {problem}")


def _check_server_status(rule: FaultRule) -> None:
    allowed = (None, *SERVER_ERROR_STATUSES) if rule.kind is FaultKind.LOST_RESPONSE else SERVER_ERROR_STATUSES
    if rule.status not in allowed:
        raise _fail(rule, f"status must be one of {sorted(SERVER_ERROR_STATUSES)}, got {rule.status}")
    if rule.seconds is not None and rule.seconds < 0:
        raise _fail(rule, f"seconds must be >= 0, got {rule.seconds}")


def _check_retry_after(rule: FaultRule) -> None:
    if rule.retry_after is None or rule.retry_after < 0:
        raise _fail(rule, f"retry_after must be >= 0 seconds, got {rule.retry_after}")


def _check_seconds(rule: FaultRule) -> None:
    if rule.seconds is None or rule.seconds < 0:
        raise _fail(rule, f"seconds must be >= 0, got {rule.seconds}")


def _check_reject(rule: FaultRule) -> None:
    if rule.code is None or rule.code >= 0:
        raise _fail(rule, f"code must be a negative Binance error code such as -2019, got {rule.code}")
    if not rule.message:
        known = ", ".join(str(code) for code in sorted(BINANCE_ERROR_MESSAGES))
        raise _fail(rule, f"message is required for code {rule.code} (known codes: {known})")
    if rule.status is not None and not 400 <= rule.status <= 499:
        raise _fail(rule, f"status must be a 4xx HTTP status, got {rule.status}")


_KIND_CHECKS: dict[FaultKind, Callable[[FaultRule], None]] = {
    FaultKind.HTTP_ERROR: _check_server_status,
    FaultKind.LOST_RESPONSE: _check_server_status,
    FaultKind.RATE_LIMIT: _check_retry_after,
    FaultKind.TIMEOUT: _check_seconds,
    FaultKind.DELAY: _check_seconds,
    FaultKind.ACCEPT_THEN_DELAY: _check_seconds,
    FaultKind.REJECT: _check_reject,
}


def _check_rule(rule: FaultRule) -> None:
    if rule.times is not None and rule.times < 1:
        raise _fail(rule, f"times must be >= 1, got {rule.times}")
    if rule.probability is not None and not 0.0 < rule.probability <= 1.0:
        raise _fail(rule, f"probability must be in (0, 1], got {rule.probability}")
    if rule.method is not None and rule.method not in _HTTP_METHODS:
        raise _fail(rule, f"method must be one of {sorted(_HTTP_METHODS)}, got {rule.method!r}")
    check = _KIND_CHECKS.get(rule.kind)
    if check is not None:
        check(rule)


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "path": (str,),
    "times": (int,),
    "probability": (int, float),
    "status": (int,),
    "retry_after": (int, float),
    "seconds": (int, float),
    "method": (str,),
    "code": (int,),
    "message": (str,),
}


def rule_from_mapping(data: Mapping[str, Any]) -> FaultRule:
    """Build a rule from JSON data such as ``{"kind": "rate_limit", "path": "/fapi/v1/klines",
    "times": 2, "retry_after": 1}``; raises :class:`FaultRuleError` naming the bad field."""
    unknown = set(data) - set(_FIELD_TYPES) - {"kind"}
    if unknown:
        raise FaultRuleError(
            f"fault rule: unknown field(s) {sorted(unknown)}; expected kind, {', '.join(_FIELD_TYPES)}"
        )
    try:
        kind = FaultKind(str(data.get("kind")))
    except ValueError:
        kinds = ", ".join(k.value for k in FaultKind)
        raise FaultRuleError(f"fault rule: kind {data.get('kind')!r} is not one of {kinds}") from None
    values: dict[str, Any] = {}
    for name, types in _FIELD_TYPES.items():
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            expected = " or ".join(t.__name__ for t in types)
            raise FaultRuleError(f"fault rule {kind.value}: field {name!r} = {value!r}, expected {expected}")
        values[name] = value
    return FaultRule(kind, **values)


@dataclass(frozen=True, slots=True)
class FaultAction:
    """What to do with one request: an optional fault and the total extra delay."""

    rule: FaultRule | None = None
    delay: float = 0.0

    @property
    def kind(self) -> FaultKind | None:
        return None if self.rule is None else self.rule.kind


@dataclass(slots=True)
class _Slot:
    """A rule in a plan and how many more times it may fire (None: unlimited)."""

    rule: FaultRule
    remaining: int | None


class FaultPlan:
    """The ordered rules and the seeded RNG that decides probabilistic ones."""

    def __init__(self, rules: tuple[FaultRule, ...] = (), *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._slots = [_Slot(rule, rule.times) for rule in rules]
        self._rng = random.Random(seed)

    def add(self, *rules: FaultRule) -> None:
        """Append rules (evaluated after the ones already in the plan)."""
        with self._lock:
            self._slots.extend(_Slot(rule, rule.times) for rule in rules)

    def replace(self, rules: tuple[FaultRule, ...], *, seed: int | None = None) -> None:
        """Swap in a new rule list (and reseed the RNG when ``seed`` is given)."""
        with self._lock:
            self._slots = [_Slot(rule, rule.times) for rule in rules]
            if seed is not None:
                self._rng = random.Random(seed)

    def clear(self) -> None:
        """Drop every rule: requests are answered normally again."""
        self.replace(())

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        """The rules still active; a ``times`` rule shows how many times it has left."""
        with self._lock:
            return tuple(replace(slot.rule, times=slot.remaining) for slot in self._slots)

    def decide(self, path: str, method: str | None = None) -> FaultAction:
        """Consume the rules for one request to ``path`` (HTTP ``method``) and say what to do."""
        with self._lock:
            delay = 0.0
            chosen: FaultRule | None = None
            for slot in self._slots:
                rule = slot.rule
                if (rule.kind is not FaultKind.DELAY and chosen is not None) or not rule.matches(path, method):
                    continue
                if not self._fires(rule):
                    continue
                if slot.remaining is not None:
                    slot.remaining -= 1
                if rule.kind is FaultKind.DELAY:
                    delay += rule.seconds or 0.0
                else:
                    chosen = rule
            self._slots = [slot for slot in self._slots if slot.remaining != 0]
            return FaultAction(chosen, delay)

    def _fires(self, rule: FaultRule) -> bool:
        return rule.probability is None or self._rng.random() < rule.probability
