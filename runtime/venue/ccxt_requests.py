"""Requests to one ccxt exchange: one at a time, failures classified and redacted, reads retried.

Every call goes through :meth:`Requester.once`, which holds a lock for the request itself
(not for the waits between retries): the venue's worker and its poll loop share one
exchange, and the ``Retry-After`` of a 429 is read from the exchange's last response
headers, which only then surely belong to that request. A failure is raised as
:class:`~.ccxt_errors.RequestFailedError` whose text is redacted and which carries no
reference to the original exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..marketdata.ccxt_rest import Sleep, retry_after
from .ccxt_errors import Failure, Redactor, RequestFailedError, RetryPolicy, classify

__all__ = ["Requester"]

_log = logging.getLogger(__name__)
T = TypeVar("T")


class Requester:
    """Sends requests to ``exchange`` (see the module docstring)."""

    def __init__(self, exchange: Any, policy: RetryPolicy, redactor: Redactor, sleep: Sleep) -> None:
        self.exchange = exchange
        self.policy = policy
        self.redact = redactor
        self._sleep = sleep
        self._lock = asyncio.Lock()
        exchange.enableLastResponseHeaders = True

    async def once(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """One request; :class:`RequestFailedError` when it fails."""
        async with self._lock:
            self.exchange.last_response_headers = None  # a Retry-After must come from this answer
            try:
                return await call()
            except Exception as error:  # every failure is classified, none escapes unredacted
                failed = self._failed(what, error)
        raise failed  # outside the except block: the original exception is not attached

    async def read(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """A request that is safe to repeat: retried after rate limits and transient
        failures, up to the policy's attempts; the last failure is raised."""
        attempt = 0
        while True:
            try:
                return await self.once(what, call)
            except RequestFailedError as failed:
                attempt += 1
                if not failed.failure.retryable or attempt >= self.policy.attempts:
                    raise
                await self.back_off(failed, attempt)

    async def back_off(self, failed: RequestFailedError, attempt: int) -> None:
        """Wait before retry number ``attempt`` (1-based) after ``failed``."""
        wait = self.policy.backoff.delay(attempt - 1, failed.retry_after)
        _log.warning("%s; retry %d in %.3gs", failed, attempt, wait)
        await self._sleep(wait)

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)

    def _failed(self, what: str, error: Exception) -> RequestFailedError:
        failure = classify(error)
        wait = retry_after(self.exchange) if failure is Failure.RATE_LIMITED else None
        return RequestFailedError(what, failure, self.redact.error(error), wait)
