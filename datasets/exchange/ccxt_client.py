"""Real ccxt ``binanceusdm`` clients pointed at a local exchange.

Every HTTP entry of ``exchange.urls['api']`` (``fapiPublic``, ``fapiPublicV2``,
``fapiPrivate``…, and the spot/coin-M ones too, so nothing can reach the real
Binance) keeps its path and gets the local server's scheme and host. With
``options['fetchMarkets'] = {'types': ['linear']}`` and ``options['fetchCurrencies'] =
False`` loading markets costs one ``GET /fapi/v1/exchangeInfo``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ccxt
    import ccxt.async_support

__all__ = ["binanceusdm_async_client", "binanceusdm_client", "point_at"]


def _base(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"exchange url {url!r}: expected http://host:port")
    return f"{parts.scheme}://{parts.netloc}"


def point_at(exchange: Any, url: str) -> None:
    """Rewrite the host of every HTTP API URL of a ccxt exchange to ``url``'s."""
    base = _base(url)
    api = exchange.urls["api"]
    for key, value in list(api.items()):
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            api[key] = base + urlsplit(value).path


def _config(timeout_ms: int, rate_limit_ms: float | None, extra: dict[str, Any] | None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": timeout_ms,
        "options": {"fetchMarkets": {"types": ["linear"]}, "fetchCurrencies": False},
    }
    if rate_limit_ms is not None:
        config["rateLimit"] = rate_limit_ms
    config.update(extra or {})
    return config


def binanceusdm_client(
    url: str, *, timeout_ms: int = 10_000, rate_limit_ms: float | None = None, config: dict[str, Any] | None = None
) -> ccxt.binanceusdm:
    """A synchronous ``ccxt.binanceusdm`` talking to the local exchange at ``url``.

    ``rate_limit_ms`` overrides ccxt's spacing between requests (Binance's 50 ms per
    unit of weight; a kline page costs 2-5 units) — tests lower it to stay fast.
    """
    import ccxt

    exchange = ccxt.binanceusdm(_config(timeout_ms, rate_limit_ms, config))
    point_at(exchange, url)
    return exchange


def binanceusdm_async_client(
    url: str, *, timeout_ms: int = 10_000, rate_limit_ms: float | None = None, config: dict[str, Any] | None = None
) -> ccxt.async_support.binanceusdm:
    """The ``ccxt.async_support`` variant of :func:`binanceusdm_client`; ``await
    client.close()`` when done."""
    import ccxt.async_support

    exchange = ccxt.async_support.binanceusdm(_config(timeout_ms, rate_limit_ms, config))
    point_at(exchange, url)
    return exchange
