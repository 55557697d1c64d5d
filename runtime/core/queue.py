"""The core's event queue: a heap ordered by ``(ts, sequence)``.

The sequence is the order of arrival, so events stamped with the same time come out in
the order they were queued, and the order never depends on anything but the inputs.
"""

from __future__ import annotations

import heapq
import itertools

from ..domain.events import Event

__all__ = ["EventQueue"]


class EventQueue:
    __slots__ = ("_heap", "_sequence")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Event]] = []
        self._sequence = itertools.count()

    def push(self, event: Event) -> int:
        """Queue ``event``; returns its sequence number."""
        sequence = next(self._sequence)
        heapq.heappush(self._heap, (event.ts.value, sequence, event))
        return sequence

    def pop(self) -> Event:
        """The earliest event (``IndexError`` when empty)."""
        return heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        return len(self._heap)

    def __bool__(self) -> bool:
        return bool(self._heap)
