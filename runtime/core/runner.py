"""The imperative shell: market data from a :class:`MarketDataClient` into the core.

The core is synchronous; clients are asyncio streams. :func:`pump` feeds each event to
the engine and drains the queue before awaiting the next, so the core never runs
concurrently with itself. The clock is the caller's: ``step`` is called with each event's
time first (a replay advances its ``SimulatedClock``; a live loop fires the
``WallClock``'s due timers).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ..marketdata.client import MarketDataClient
from .engine import Engine

__all__ = ["ClockStep", "pump"]

ClockStep = Callable[[pd.Timestamp], None]


async def pump(engine: Engine, client: MarketDataClient, *, step: ClockStep | None = None) -> int:
    """Feed every event of ``client`` to ``engine`` until the stream ends; then close the
    client. Returns how many events were fed."""
    fed = 0
    try:
        async for event in client.events():
            if step is not None:
                step(event.ts)
            engine.feed(event)
            engine.run_until_idle()
            fed += 1
    finally:
        await client.close()
    return fed
