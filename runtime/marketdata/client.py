"""The MarketDataClient port: one small protocol, several implementations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from ..domain import Quote, Tick

__all__ = ["MarketDataClient", "MarketEvent"]

MarketEvent = Tick | Quote


class MarketDataClient(Protocol):
    """A source of ticks and quotes for some symbols.

    ``events()`` yields events in the order the source delivers them (a replay: by
    ``(ts, sequence)``; a live source: as received, ``received`` stamped from the
    injected Clock). ``close()`` releases connections; it is safe to call twice.
    """

    def events(self) -> AsyncIterator[MarketEvent]: ...

    async def close(self) -> None: ...
