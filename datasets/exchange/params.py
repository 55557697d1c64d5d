"""Parameters of Binance's signed (account and trade) requests, checked the Binance way.

Any API key is accepted (``X-MBX-APIKEY`` names the account) and the ``signature``
parameter must be present, but it is not checked. Parameters come from the query string
and, for ``POST``, the form body. Bad values raise :class:`~.wire.BinanceError` with
Binance's codes: -1102 (missing or malformed), -1100 (not an integer), -1111 (finer than
the tick or lot step), -1106 (sent when not allowed).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Final

from aiohttp import web

from .wire import BinanceError

__all__ = ["boolean", "check_step", "int_param", "lookup", "positive_decimal", "required", "signed_params"]

_API_KEY_HEADER: Final = "X-MBX-APIKEY"
_BOOLEANS: Final = {"true": True, "false": False}


async def signed_params(request: web.Request) -> tuple[str, dict[str, str]]:
    """The API key and the parameters of a signed request (query plus form body)."""
    key = request.headers.get(_API_KEY_HEADER, "")
    if not key:
        raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)
    params = dict(request.query)
    if request.method == "POST":
        params.update({name: str(value) for name, value in (await request.post()).items()})
    if not params.get("signature"):
        raise BinanceError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    if not params.get("timestamp"):
        raise BinanceError(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
    return key, params


def _missing(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def lookup(params: Mapping[str, str], name: str) -> str | None:
    """``params[name]``, matching the name case-insensitively (Binance documents ``algoid``
    and ``clientalgoid`` in lower case for some endpoints); None when absent or empty."""
    value = params.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in params.items() if k.lower() == lowered), None)
    return value or None


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise _missing(name)
    return value


def positive_decimal(params: Mapping[str, str], name: str) -> Decimal:
    """A mandatory positive decimal parameter."""
    try:
        value = Decimal(required(params, name))
    except InvalidOperation:
        raise _missing(name) from None
    if not value.is_finite() or value <= 0:
        raise _missing(name)
    return value


def int_param(params: Mapping[str, str], name: str) -> int | None:
    raw = lookup(params, name)
    if raw is None:
        return None
    if not raw.lstrip("-").isdigit():
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")
    return int(raw)


def boolean(params: Mapping[str, str], name: str) -> bool:
    """An optional ``"true"``/``"false"`` parameter (any case); false when absent."""
    raw = params.get(name)
    if raw is None or raw == "":
        return False
    try:
        return _BOOLEANS[raw.lower()]
    except KeyError:
        raise BinanceError(-1102, f"Parameter '{name}' must be 'true' or 'false'.") from None


def check_step(value: Decimal, step: Decimal, what: str) -> None:
    """-1111 when ``value`` is not a multiple of ``step`` (tick size, lot step)."""
    if value % step != 0:
        raise BinanceError(-1111, f"Precision is over the maximum defined for this asset ({what}).")
