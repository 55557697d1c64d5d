"""Real ccxt ``binanceusdm`` clients pointed at a local exchange.

Every HTTP entry of ``exchange.urls['api']`` (``fapiPublic``, ``fapiPublicV2``,
``fapiPrivate``…, and the spot/coin-M ones too, so nothing can reach the real
Binance) keeps its path and gets the local server's scheme and host. With
``options['fetchMarkets'] = {'types': ['linear']}`` and ``options['fetchCurrencies'] =
False`` loading markets costs one ``GET /fapi/v1/exchangeInfo``.

ccxt picks the error table by the URL's host (``https://fapi.binance.com/`` → the USD-M
one, where -2019 is ``InsufficientFunds``, -2022/-4116/-4164 ``InvalidOrder``, -2021
``OrderImmediatelyFillable``); a local URL would get only the generic table (where those
codes are plain ``ExchangeError``). :func:`point_at` therefore also makes the client use
the USD-M table for the local ``/fapi/`` URLs, so errors raise what they raise against
Binance. (ccxt maps -1111, precision, to ``BadRequest`` on Binance too.)

The ccxt.pro (websocket) client also gets every websocket URL of
``exchange.urls['api']['ws']`` (nested: ``linear``, ``spot``, ``ws-api``…) rewritten to
``ws://`` + the local host, keeping the path: ccxt 4.5 turns the linear ``…/ws`` into
``…/public/ws/<n>`` (trade, bookTicker, depth) or ``…/market/ws/<n>`` (aggTrade,
ticker, kline), both of which the local exchange serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ccxt
    import ccxt.async_support
    import ccxt.pro

__all__ = ["binanceusdm_async_client", "binanceusdm_client", "binanceusdm_pro_client", "point_at", "point_ws_at"]

_WS_SCHEMES = {"http": "ws", "https": "wss"}


def _base(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"exchange url {url!r}: expected http://host:port")
    return f"{parts.scheme}://{parts.netloc}"


def point_at(exchange: Any, url: str) -> None:
    """Rewrite the host of every HTTP API URL of a ccxt exchange to ``url``'s, and have
    errors from its ``/fapi/`` URLs raise the exceptions of Binance's USD-M table."""
    base = _base(url)
    api = exchange.urls["api"]
    for key, value in list(api.items()):
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            api[key] = base + urlsplit(value).path
    _use_linear_errors(exchange, base)


def _use_linear_errors(exchange: Any, base: str) -> None:
    by_url = getattr(exchange, "get_exceptions_by_url", None)
    linear = exchange.exceptions.get("linear") if isinstance(getattr(exchange, "exceptions", None), dict) else None
    if by_url is None or not isinstance(linear, dict):
        return  # not a binance client: nothing to adapt
    original = getattr(by_url, "__wrapped__", by_url)

    def exceptions_by_url(request_url: str | None, exact_or_broad: str) -> Any:
        if request_url is not None and request_url.startswith(base + "/fapi/"):
            return linear.get(exact_or_broad, {})
        return original(request_url, exact_or_broad)

    exceptions_by_url.__wrapped__ = original  # type: ignore[attr-defined]
    exchange.get_exceptions_by_url = exceptions_by_url


def _config(
    timeout_ms: int,
    rate_limit_ms: float | None,
    extra: dict[str, Any] | None,
    api_key: str | None = None,
    secret: str | None = None,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": timeout_ms,
        "options": {"fetchMarkets": {"types": ["linear"]}, "fetchCurrencies": False},
    }
    if rate_limit_ms is not None:
        config["rateLimit"] = rate_limit_ms
    if api_key is not None or secret is not None:
        config.update(apiKey=api_key or "", secret=secret or "")
    config.update(extra or {})
    return config


def binanceusdm_client(
    url: str,
    *,
    timeout_ms: int = 10_000,
    rate_limit_ms: float | None = None,
    config: dict[str, Any] | None = None,
    api_key: str | None = None,
    secret: str | None = None,
) -> ccxt.binanceusdm:
    """A synchronous ``ccxt.binanceusdm`` talking to the local exchange at ``url``.

    ``rate_limit_ms`` overrides ccxt's spacing between requests (Binance's 50 ms per
    unit of weight; a kline page costs 2-5 units) — tests lower it to stay fast.
    ``api_key`` and ``secret`` enable the signed (order and account) endpoints; the local
    exchange keeps one account per API key and does not check signatures.
    """
    import ccxt

    exchange = ccxt.binanceusdm(_config(timeout_ms, rate_limit_ms, config, api_key, secret))
    point_at(exchange, url)
    return exchange


def binanceusdm_async_client(
    url: str,
    *,
    timeout_ms: int = 10_000,
    rate_limit_ms: float | None = None,
    config: dict[str, Any] | None = None,
    api_key: str | None = None,
    secret: str | None = None,
) -> ccxt.async_support.binanceusdm:
    """The ``ccxt.async_support`` variant of :func:`binanceusdm_client`; ``await
    client.close()`` when done."""
    import ccxt.async_support

    exchange = ccxt.async_support.binanceusdm(_config(timeout_ms, rate_limit_ms, config, api_key, secret))
    point_at(exchange, url)
    return exchange


def _rewrite_ws(urls: dict[str, Any], base: str) -> None:
    for key, value in list(urls.items()):
        if isinstance(value, dict):
            _rewrite_ws(value, base)
        elif isinstance(value, str) and value.startswith(("ws://", "wss://")):
            urls[key] = base + urlsplit(value).path


def point_ws_at(exchange: Any, url: str) -> None:
    """Rewrite every websocket URL of a ccxt.pro exchange to ``url``'s host (``http`` → ``ws``)."""
    parts = urlsplit(_base(url))
    _rewrite_ws(exchange.urls["api"]["ws"], f"{_WS_SCHEMES[parts.scheme]}://{parts.netloc}")


def binanceusdm_pro_client(
    url: str,
    *,
    timeout_ms: int = 10_000,
    rate_limit_ms: float | None = None,
    keepalive_ms: int | None = None,
    config: dict[str, Any] | None = None,
) -> ccxt.pro.binanceusdm:
    """A ``ccxt.pro.binanceusdm`` (websocket streams and the async REST API) talking to the
    local exchange at ``url`` (``http://host:port``); ``await client.close()`` when done.

    ``keepalive_ms`` overrides ccxt's ping interval (Binance's 180 s); ccxt declares the
    connection dead when no pong came for two intervals — tests lower it to detect a
    stalled server quickly.
    """
    import ccxt.pro

    settings = _config(timeout_ms, rate_limit_ms, config)
    if keepalive_ms is not None:
        settings["streaming"] = {**settings.get("streaming", {}), "keepAlive": keepalive_ms}
    exchange = ccxt.pro.binanceusdm(settings)
    point_at(exchange, url)
    point_ws_at(exchange, url)
    return exchange
