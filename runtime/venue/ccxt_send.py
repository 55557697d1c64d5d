"""Placing one order at a ccxt exchange so that it is never lost and never doubled.

:meth:`Sender.place` sends a :class:`~.ccxt_orders.Prepared` request and keeps going
until it knows where the order stands:

* **answered** — the create call returned: the order is at the exchange;
* **refused** — the exchange refused it (``InvalidOrder``, ``InsufficientFunds``,
  ``BadSymbol``, ``BadRequest``, ``AuthenticationError``, ``PermissionDenied``, any other
  ``ExchangeError``): the reason is the redacted error text;
* **rate limited** — wait (``Retry-After`` or the backoff) and send again: a 418/429 is
  turned away before the exchange handles the request;
* **uncertain** — a timeout, a lost connection, a 5xx, a body ccxt cannot read: the
  request may have reached the exchange. Before anything is sent again the order is
  looked up by its client id: found → it is at the exchange (adopted); not found → once
  the policy's ``settle`` time since the uncertain send has passed (a request still
  travelling could arrive until then), sent again with the *same* client id;
* **duplicate client id** — the exchange already has an order with this client id: it
  is ours (the id is deterministic), so it is looked up and adopted.

After ``policy.attempts`` failed requests a final lookup decides: found → adopted; not
found → refused with ``venue unreachable after N attempts``; no answer → **pending**: the
order's fate is unknown, the venue keeps it and resolves it later (never reported as
rejected while it might be at the exchange).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..clock import Clock
from .ccxt_decode import ExchangeOrder, decode_order
from .ccxt_errors import Failure, RequestFailedError
from .ccxt_fetch import order_by_client_id
from .ccxt_orders import Prepared
from .ccxt_requests import Requester

__all__ = ["Placement", "Sender"]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a sent order stands: at the exchange (``view``), refused (``reason``), or
    unknown (``pending``, with the last failure as ``reason``)."""

    view: ExchangeOrder | None = None
    reason: str = ""
    pending: bool = False


@dataclass(slots=True)
class _Attempt:
    """The state of one order's sending: failed requests so far, the last failure, and
    since when the order may be at the exchange without our knowing."""

    failures: int = 0
    last: str = ""
    uncertain_since: pd.Timestamp | None = None
    settled: bool = False


class Sender:
    """Places orders through ``requests`` (see the module docstring)."""

    def __init__(self, requests: Requester, clock: Clock) -> None:
        self._requests = requests
        self._clock = clock

    async def place(self, prepared: Prepared) -> Placement:
        state = _Attempt()
        limit = self._requests.policy.attempts
        while state.failures < limit:
            step = self._lookup_step if state.uncertain_since is not None else self._create_step
            placement = await step(prepared, state)
            if placement is not None:
                return placement
        return await self._give_up(prepared, state)

    async def lookup(self, client_order_id: str, symbol: str, *, conditional: bool) -> ExchangeOrder | None:
        """The exchange's view of our order ``client_order_id`` (None: it has no such
        order); :class:`RequestFailedError` when the exchange could not say."""
        return await order_by_client_id(self._requests, client_order_id, symbol, conditional=conditional, retry=False)

    # ---- steps ------------------------------------------------------------------------------
    async def _create_step(self, prepared: Prepared, state: _Attempt) -> Placement | None:
        try:
            raw = await self._requests.once(f"create {prepared.client_order_id}", lambda: self._create(prepared))
        except RequestFailedError as failed:
            return await self._after_create_failure(failed, state)
        return Placement(view=decode_order(raw))

    async def _after_create_failure(self, failed: RequestFailedError, state: _Attempt) -> Placement | None:
        state.failures += 1
        state.last = failed.detail
        if failed.failure is Failure.REFUSED or failed.failure is Failure.NOT_FOUND:
            return Placement(reason=failed.detail)
        if failed.failure is Failure.DUPLICATE:
            state.uncertain_since = state.uncertain_since or self._clock.now()
            return None  # ours already: look it up at once
        if failed.failure is Failure.UNCERTAIN:
            state.uncertain_since, state.settled = self._clock.now(), False
        if state.failures < self._requests.policy.attempts:
            await self._requests.back_off(failed, state.failures)
        return None

    async def _lookup_step(self, prepared: Prepared, state: _Attempt) -> Placement | None:
        try:
            view = await self.lookup(prepared.client_order_id, prepared.symbol, conditional=prepared.conditional)
        except RequestFailedError as failed:
            state.failures += 1
            state.last = failed.detail
            if state.failures < self._requests.policy.attempts:
                await self._requests.back_off(failed, state.failures)
            return None
        if view is not None:
            return Placement(view=view)
        if await self._settle(state):
            return None  # waited for requests still travelling: look again
        state.uncertain_since = None  # provably not at the exchange: send again, same client id
        return None

    async def _settle(self, state: _Attempt) -> bool:
        """Wait out the rest of the settle time once per uncertain send; True if it waited."""
        if state.settled or state.uncertain_since is None:
            return False
        state.settled = True
        elapsed = (self._clock.now() - state.uncertain_since).total_seconds()
        left = self._requests.policy.settle - elapsed
        if left <= 0:
            return False
        await self._requests.sleep(left)
        return True

    async def _give_up(self, prepared: Prepared, state: _Attempt) -> Placement:
        attempts = self._requests.policy.attempts
        await self._settle(state)
        try:
            view = await self.lookup(prepared.client_order_id, prepared.symbol, conditional=prepared.conditional)
        except RequestFailedError as failed:
            return Placement(reason=f"unknown after {attempts} attempts: {failed.detail}", pending=True)
        if view is not None:
            return Placement(view=view)
        return Placement(reason=f"venue unreachable after {attempts} attempts (last: {state.last})")

    async def _create(self, prepared: Prepared) -> Any:
        exchange = self._requests.exchange
        return await exchange.create_order(
            prepared.symbol, prepared.type, prepared.side, prepared.amount, prepared.price, dict(prepared.params)
        )
