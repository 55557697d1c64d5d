"""How the ccxt venue reads failures: ccxt's error hierarchy sorted by what the venue may
do next, the retry policy, and the redactor that keeps credentials out of every text it
produces.

ccxt raises ``NetworkError`` (timeouts, connection failures, 5xx, rate limits) and other
``OperationFailed`` errors when an answer is missing or unusable, and ``ExchangeError``
subclasses (``InvalidOrder``, ``InsufficientFunds``, ``BadSymbol``, ``BadRequest``,
``AuthenticationError``, ``PermissionDenied``…) when the exchange answered and refused.
:func:`classify` maps an exception to a :class:`Failure`:

* ``RATE_LIMITED`` — 418/429 (``DDoSProtection``, ``RateLimitExceeded``): the exchange
  turned the request away before handling it; wait (``Retry-After``) and send again;
* ``UNCERTAIN`` — any other transient failure (see
  :func:`~quantbridge.runtime.marketdata.ccxt_rest.is_transient`) or an exception that is
  not ccxt's: the request may or may not have taken effect;
* ``NOT_FOUND`` — ``OrderNotFound``: the exchange has no such order;
* ``DUPLICATE`` — the client order id is already taken at the exchange (ccxt's
  ``DuplicateOrderId``, or a message saying "duplicate");
* ``REFUSED`` — every other ccxt error: a definitive refusal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from ..marketdata.ccxt_rest import Backoff, is_transient

__all__ = ["Failure", "Redactor", "RequestFailedError", "RetryPolicy", "classify"]

#: Exchange attributes ccxt keeps credentials in.
_CREDENTIALS: Final = ("apiKey", "secret", "password", "uid", "login", "privateKey", "walletAddress", "token")
#: A request signature in a URL or body (derived from the secret; replayable within its window).
_SIGNATURE: Final = re.compile(r"(signature=)[^&\s\"']+", re.IGNORECASE)
_MASK: Final = "***"
#: How much of an error text a reason keeps.
_MAX_DETAIL: Final = 300


class Failure(StrEnum):
    """What a failed request means for the venue (see the module docstring)."""

    RATE_LIMITED = "rate_limited"
    UNCERTAIN = "uncertain"
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    REFUSED = "refused"

    @property
    def retryable(self) -> bool:
        """Whether asking again may succeed (the failure says nothing about the request itself)."""
        return self in (Failure.RATE_LIMITED, Failure.UNCERTAIN)


def classify(error: BaseException) -> Failure:
    """The :class:`Failure` an exception raised by a ccxt call stands for."""
    import ccxt

    if isinstance(error, ccxt.DuplicateOrderId) or (
        isinstance(error, ccxt.ExchangeError) and "duplicat" in str(error).lower()
    ):
        return Failure.DUPLICATE
    if isinstance(error, ccxt.OrderNotFound):
        return Failure.NOT_FOUND
    if isinstance(error, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return Failure.RATE_LIMITED
    if not isinstance(error, Exception) or is_transient(error) or not isinstance(error, ccxt.BaseError):
        return Failure.UNCERTAIN
    return Failure.REFUSED


class Redactor:
    """Removes secrets from text: each secret string given (every occurrence) and request
    signatures (``signature=…``). Every reason, log line and exception message the ccxt
    venue produces from an exchange's text goes through one."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        found = {secret for secret in secrets if secret}
        self._secrets = tuple(sorted(found, key=len, reverse=True))  # longest first: a secret may contain another

    @classmethod
    def for_exchange(cls, exchange: Any, extra: Iterable[str] = ()) -> Redactor:
        """A redactor for the credentials configured on a ccxt exchange, and ``extra`` strings."""
        found = [value for name in _CREDENTIALS if isinstance(value := getattr(exchange, name, None), str)]
        return cls([*found, *extra])

    def __call__(self, text: object) -> str:
        out = _SIGNATURE.sub(r"\1" + _MASK, str(text))
        for secret in self._secrets:
            out = out.replace(secret, _MASK)
        return out

    def error(self, error: BaseException) -> str:
        """``ErrorName: message`` of ``error``, redacted and cut to a readable length."""
        text = self(f"{type(error).__name__}: {error}")
        return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


class RequestFailedError(Exception):
    """A request to the exchange failed: ``failure`` says how, ``detail`` is the redacted
    error text, ``retry_after`` the wait the exchange asked for (seconds, if it did).
    Raised without the original exception attached, so no unredacted text travels with it."""

    def __init__(self, what: str, failure: Failure, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{what}: {detail}")
        self.what = what
        self.failure = failure
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the venue tries.

    * ``attempts`` — failed requests allowed per operation (sending one order, one read)
      before it gives up;
    * ``backoff`` — the wait before each retry (exponential, or the ``Retry-After`` asked);
    * ``settle`` — seconds after a send whose outcome is unknown before an "order not
      found" answer is trusted: a request still travelling may reach the exchange until
      its ``recvWindow`` has passed (Binance: ccxt sends 10 s), and Binance keeps client
      order ids unique only among *open* orders, so resending earlier could trade twice.
      0 trusts the first answer (an exchange that keeps client ids unique forever).
    """

    attempts: int = 5
    backoff: Backoff = field(default_factory=Backoff)
    settle: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy: attempts must be >= 1, got {self.attempts}")
        if self.settle < 0:
            raise ValueError(f"RetryPolicy: settle must be >= 0 seconds, got {self.settle}")
