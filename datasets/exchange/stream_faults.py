"""Fault injection for the local exchange's websocket streams.

A :class:`StreamFaultRule` is claimed by a connection when it first subscribes to a
stream matching the rule's ``stream`` glob (a connection carries at most one rule); the
rule then acts after ``after`` stream messages of matching streams were delivered on
that connection:

* ``drop`` — the server closes the connection (close frame, code 1001 "going away");
* ``abort`` — the server drops the TCP connection without a close frame;
* ``stall`` — the connection freezes for ``seconds`` (None: until resumed): nothing is
  sent and pings are not answered; what was published meanwhile is delivered afterwards,
  if the client is still there.

``times`` is how many connections the rule affects (None: every one). The plan is
shared between the caller's thread and the server loop, so it takes a lock. Over HTTP
the same rules are posted to ``POST /_admin/ws/faults`` (:func:`stream_rule_from_mapping`).
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from .faults import FaultRuleError

__all__ = ["StreamAction", "StreamFaultPlan", "StreamFaultRule", "stream_rule_from_mapping"]


class StreamAction(StrEnum):
    """What a rule does to a connection."""

    DROP = "drop"
    ABORT = "abort"
    STALL = "stall"


@dataclass(frozen=True, slots=True)
class StreamFaultRule:
    """Act on the next ``times`` connections subscribing to ``stream`` after ``after`` messages."""

    action: StreamAction
    after: int = 0
    stream: str = "*"
    times: int | None = 1
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.after < 0:
            raise FaultRuleError(f"stream fault {self.action.value}: after must be >= 0, got {self.after}")
        if self.times is not None and self.times < 1:
            raise FaultRuleError(f"stream fault {self.action.value}: times must be >= 1, got {self.times}")
        if self.seconds is not None and (self.action is not StreamAction.STALL or self.seconds < 0):
            raise FaultRuleError(
                f"stream fault {self.action.value}: seconds is only for stall, and must be >= 0; got {self.seconds}"
            )

    @classmethod
    def drop(cls, after: int, *, stream: str = "*", times: int | None = 1) -> StreamFaultRule:
        """Close the next ``times`` matching connections after ``after`` stream messages."""
        return cls(StreamAction.DROP, after, stream, times)

    @classmethod
    def abort(cls, after: int, *, stream: str = "*", times: int | None = 1) -> StreamFaultRule:
        """Cut the TCP connection (no close frame) after ``after`` stream messages."""
        return cls(StreamAction.ABORT, after, stream, times)

    @classmethod
    def stall(
        cls, after: int, *, seconds: float | None = None, stream: str = "*", times: int | None = 1
    ) -> StreamFaultRule:
        """Freeze the connection after ``after`` stream messages, for ``seconds`` (None: until resumed)."""
        return cls(StreamAction.STALL, after, stream, times, seconds)

    def matches(self, stream: str) -> bool:
        return fnmatch.fnmatchcase(stream, self.stream)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready data (the inverse of :func:`stream_rule_from_mapping`); ``times: null`` is kept."""
        data = asdict(self)
        return {key: value for key, value in data.items() if value is not None or key == "times"}


_FIELDS: dict[str, tuple[type, ...]] = {
    "after": (int,),
    "stream": (str,),
    "times": (int,),
    "seconds": (int, float),
}


def stream_rule_from_mapping(data: Mapping[str, Any]) -> StreamFaultRule:
    """A rule from JSON such as ``{"action": "drop", "after": 5, "stream": "*@aggTrade", "times": 2}``;
    :class:`FaultRuleError` names the bad field."""
    unknown = set(data) - set(_FIELDS) - {"action"}
    if unknown:
        raise FaultRuleError(f"stream fault: unknown field(s) {sorted(unknown)}; expected action, {', '.join(_FIELDS)}")
    try:
        action = StreamAction(str(data.get("action")))
    except ValueError:
        actions = ", ".join(a.value for a in StreamAction)
        raise FaultRuleError(f"stream fault: action {data.get('action')!r} is not one of {actions}") from None
    values: dict[str, Any] = {}
    for name, types in _FIELDS.items():
        if name not in data:
            continue
        value = data[name]
        if value is None and name in ("times", "seconds"):
            values[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            expected = " or ".join(t.__name__ for t in types)
            raise FaultRuleError(f"stream fault: {name} = {value!r}, expected {expected}")
        values[name] = value
    return StreamFaultRule(action, **values)


@dataclass(slots=True)
class _Slot:
    rule: StreamFaultRule
    remaining: int | None


class StreamFaultPlan:
    """Ordered stream fault rules; a connection claims the first that matches one of its streams."""

    def __init__(self, rules: tuple[StreamFaultRule, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._slots = [_Slot(rule, rule.times) for rule in rules]

    def add(self, *rules: StreamFaultRule) -> None:
        """Append rules (claimed after the ones already in the plan)."""
        with self._lock:
            self._slots.extend(_Slot(rule, rule.times) for rule in rules)

    def replace(self, rules: tuple[StreamFaultRule, ...]) -> None:
        with self._lock:
            self._slots = [_Slot(rule, rule.times) for rule in rules]

    def clear(self) -> None:
        self.replace(())

    @property
    def rules(self) -> tuple[StreamFaultRule, ...]:
        """The rules still active; ``times`` shows how many connections each has left."""
        with self._lock:
            return tuple(replace(slot.rule, times=slot.remaining) for slot in self._slots)

    def claim(self, stream: str) -> StreamFaultRule | None:
        """The first rule matching ``stream``, consuming one of its ``times``; None if none."""
        with self._lock:
            for slot in self._slots:
                if slot.rule.matches(stream):
                    if slot.remaining is not None:
                        slot.remaining -= 1
                    self._slots = [s for s in self._slots if s.remaining != 0]
                    return slot.rule
            return None
