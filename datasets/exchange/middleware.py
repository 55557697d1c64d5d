"""aiohttp middlewares: the request log (outermost) and fault injection.

Requests under ``/_admin/`` are neither logged nor faulted, so a test's own control
traffic never shows up in what it asserts about the client. The log records the query
string and, for a form-encoded body (signed ``POST``s such as order placement), the form
parameters, without the signature.
"""

from __future__ import annotations

import asyncio
from typing import Final

from aiohttp import web

from .faults import FaultKind, FaultPlan, FaultRule
from .requestlog import RequestLog
from .routes_market import Handler, binance_json

__all__ = ["ADMIN_PREFIX", "FAULTS_KEY", "REQUESTS_KEY", "inject_faults", "record_requests"]

ADMIN_PREFIX: Final = "/_admin/"
FAULTS_KEY: Final = web.AppKey("faults", FaultPlan)
REQUESTS_KEY: Final = web.AppKey("requests", RequestLog)
_FAULT_FIELD: Final = web.RequestKey("fault", str)
#: Query parameters never recorded (the API key travels in a header, which is not recorded).
SECRET_PARAMS: Final = frozenset({"signature"})
#: HTTP status recorded when the client went away before the answer (nginx's 499).
CLIENT_CLOSED: Final = 499
#: HTTP status recorded when the server closed the connection without answering (nginx's 444).
NO_RESPONSE: Final = 444
_DROPPED_FIELD: Final = web.RequestKey("dropped", bool)
_FORM_TYPE: Final = "application/x-www-form-urlencoded"

_RATE_LIMIT_BODY: Final = {
    "code": -1003,
    "msg": "Too many requests; current limit of IP is 2400 requests per minute. "
    "Please use the websocket for live updates to avoid polling the API.",
}
_SERVER_ERROR_BODIES: Final = {
    500: ({"code": -1000, "msg": "An unknown error occured while processing the request."}, None),
    502: (None, "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"),
    503: (None, "Service Unavailable."),
    504: (
        None,
        "<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>",
    ),
}
#: A body that starts like JSON and is not.
MALFORMED_BODY: Final = '{"code":0,"msg":<upstream reset>'


def _is_admin(request: web.Request) -> bool:
    return request.path.startswith(ADMIN_PREFIX)


@web.middleware
async def record_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log method, path, query, answered status and applied fault of every request."""
    if _is_admin(request):
        return await handler(request)
    log = request.app[REQUESTS_KEY]
    query = {k: v for k, v in request.query.items() if k not in SECRET_PARAMS}
    ticket = log.open(request.method, request.path, query, await _form(request))
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    except asyncio.CancelledError:
        status = NO_RESPONSE if request.get(_DROPPED_FIELD) else CLIENT_CLOSED
        raise
    finally:
        log.close(ticket, status, request.get(_FAULT_FIELD))


async def _form(request: web.Request) -> dict[str, str]:
    """The form parameters of a form-encoded body (read once; aiohttp caches it for the handler)."""
    if request.content_type != _FORM_TYPE or not request.can_read_body:
        return {}
    return {k: str(v) for k, v in (await request.post()).items() if k not in SECRET_PARAMS}


def _seconds_header(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _server_error(status: int) -> web.Response:
    payload, text = _SERVER_ERROR_BODIES[status]
    if payload is not None:
        return binance_json(payload, status=status)
    return web.Response(status=status, text=text, content_type="text/html")


async def _truncated(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    body = response.body if isinstance(response, web.Response) else None
    raw = body if isinstance(body, bytes) else b""
    return web.Response(status=response.status, body=raw[: len(raw) // 2], content_type="application/json")


async def _accepted(rule: FaultRule, request: web.Request, handler: Handler) -> web.StreamResponse:
    """Handle the request (it takes effect), then delay, replace or drop its answer."""
    response = await handler(request)
    if rule.kind is FaultKind.ACCEPT_THEN_DROP:
        request[_DROPPED_FIELD] = True
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError  # the answer is never written; the log records 444
    await asyncio.sleep(rule.seconds or 0.0)
    if rule.kind is FaultKind.LOST_RESPONSE:
        return _server_error(rule.status or 503)
    return response


_ACCEPTING: Final = frozenset({FaultKind.LOST_RESPONSE, FaultKind.ACCEPT_THEN_DELAY, FaultKind.ACCEPT_THEN_DROP})


async def _apply(rule: FaultRule, request: web.Request, handler: Handler) -> web.StreamResponse:
    if rule.kind in _ACCEPTING:
        return await _accepted(rule, request, handler)
    if rule.kind is FaultKind.REJECT:
        return binance_json({"code": rule.code, "msg": rule.message}, status=rule.status or 400)
    if rule.kind is FaultKind.RATE_LIMIT:
        headers = {"Retry-After": _seconds_header(rule.retry_after or 0.0)}
        return web.json_response(_RATE_LIMIT_BODY, status=429, headers=headers)
    if rule.kind is FaultKind.HTTP_ERROR:
        return _server_error(rule.status or 500)
    if rule.kind is FaultKind.TIMEOUT:
        await asyncio.sleep(rule.seconds or 0.0)
        return await handler(request)
    if rule.kind is FaultKind.MALFORMED:
        return web.Response(status=200, text=MALFORMED_BODY, content_type="application/json")
    return await _truncated(request, handler)


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the plan's decision for this request: delay, then a fault or the real answer."""
    if _is_admin(request):
        return await handler(request)
    action = request.app[FAULTS_KEY].decide(request.path, request.method)
    if action.delay > 0:
        await asyncio.sleep(action.delay)
    if action.rule is None:
        return await handler(request)
    request[_FAULT_FIELD] = action.rule.kind.value
    return await _apply(action.rule, request, handler)
