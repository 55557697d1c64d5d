"""Websocket market streams (Binance USD-M's) and their ``/_admin/ws/`` control endpoints.

Stream endpoints, at every prefix Binance serves USD-M market streams from (``/ws``, and
the split ``/public/ws`` and ``/market/ws`` that ccxt 4.5 uses):

* ``/ws`` and ``/ws/<name>`` — raw streams: events arrive as they are; a ``<name>`` that
  is a stream (``btcusdt@aggTrade``) is subscribed at once, any other (ccxt's ``/ws/0``)
  is ignored.
* ``/stream?streams=a/b`` — combined streams: events arrive as ``{"stream": name, "data": event}``.

On any connection the client may send ``{"method": "SUBSCRIBE", "params": [names], "id": n}``
(answered ``{"result": null, "id": n}``), ``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS``
(``{"result": [names], "id": n}``), ``SET_PROPERTY ["combined", bool]`` and
``GET_PROPERTY ["combined"]``. Errors are answered ``{"error": {"code": c, "msg": m}, "id": n}``
with Binance's codes (2 invalid request, 3 invalid JSON). Pings are answered with pongs,
except while the connection is stalled.

Control (not logged, not faulted):

* ``GET /_admin/ws/connections`` — ``{"connections": [{"id", "path", "streams", "sent", "stalled", "fault"}]}``.
* ``POST /_admin/ws/drop`` — ``{"abrupt": false}``: close every open connection now.
* ``POST /_admin/ws/stall`` — ``{"seconds": 2.5}`` (null: until resumed); ``POST /_admin/ws/resume``.
* ``GET|POST|DELETE /_admin/ws/faults`` — stream fault rules, posted as
  ``{"rules": [{"action": "drop", "after": 5, "stream": "*@aggTrade", "times": 1}], "replace": true}``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection
from typing import Any, Final

from aiohttp import WSMsgType, web

from .faults import FaultRuleError
from .stream_connection import StreamConnection
from .stream_faults import StreamFaultRule, stream_rule_from_mapping
from .stream_wire import StreamName, parse_stream
from .streams import StreamHub

__all__ = ["STREAMS_KEY", "add_stream_routes"]

STREAMS_KEY: Final = web.AppKey("streams", StreamHub)
_PREFIXES: Final = ("", "/public", "/market")
_METHODS: Final = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
#: How long a finished connection waits for its sender to complete a close handshake.
_SENDER_GRACE: Final = 1.0


class _RequestError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def _noop() -> None:
    return None


def _stream_names(params: Any, listed: Collection[str]) -> list[StreamName]:
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise _RequestError(2, "Invalid request: params must be a list of stream names")
    names = [parse_stream(raw, listed) for raw in params]
    unknown = [raw for raw, name in zip(params, names, strict=True) if name is None]
    if unknown:
        raise _RequestError(2, f"Invalid request: invalid stream {unknown[0]!r}")
    return [name for name in names if name is not None]


def _combined_property(params: Any, *, setting: bool) -> Any:
    if not isinstance(params, list) or not params or params[0] != "combined":
        raise _RequestError(2, "Invalid request: the only property is 'combined'")
    if setting and (len(params) != 2 or not isinstance(params[1], bool)):
        raise _RequestError(1, "Invalid value type: expected Boolean")
    return params[1] if setting else None


def _dispatch(
    connection: StreamConnection, method: Any, params: Any, listed: Collection[str]
) -> tuple[Any, Callable[[], None]]:
    """The result of one request and what to do once it is answered."""
    if method == "SUBSCRIBE":
        names = _stream_names(params, listed)
        return None, lambda: connection.subscribe(names)
    if method == "UNSUBSCRIBE":
        raws = [name.raw for name in _stream_names(params, listed)]
        return None, lambda: connection.unsubscribe(raws)
    if method == "LIST_SUBSCRIPTIONS":
        return list(connection.streams), _noop
    if method == "SET_PROPERTY":
        connection.combined = bool(_combined_property(params, setting=True))
        return None, _noop
    if method == "GET_PROPERTY":
        _combined_property(params, setting=False)
        return connection.combined, _noop
    raise _RequestError(2, f"Invalid request: method must be one of {', '.join(_METHODS)}")


def _handle_text(connection: StreamConnection, text: str, listed: Collection[str]) -> None:
    try:
        request = json.loads(text)
    except json.JSONDecodeError as error:
        connection.answer({"error": {"code": 3, "msg": f"Invalid JSON: {error}"}, "id": None})
        return
    if not isinstance(request, dict):
        connection.answer({"error": {"code": 2, "msg": "Invalid request: expected a JSON object"}, "id": None})
        return
    request_id = request.get("id")
    try:
        result, then = _dispatch(connection, request.get("method"), request.get("params", []), listed)
    except _RequestError as error:
        connection.answer({"error": {"code": error.code, "msg": error.msg}, "id": request_id})
        return
    connection.answer({"result": result, "id": request_id})
    then()


async def _read(ws: web.WebSocketResponse, connection: StreamConnection, listed: Collection[str]) -> None:
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            _handle_text(connection, message.data, listed)
        elif message.type is WSMsgType.PING and not connection.stalled:
            await ws.pong(message.data)


async def _settle(sender: asyncio.Task[None]) -> None:
    """Let the sender finish a close handshake it started; cancel it if it hangs."""
    try:
        await asyncio.wait({sender}, timeout=_SENDER_GRACE)
    finally:
        if not sender.done():
            sender.cancel()


async def _serve(request: web.Request, initial: list[str], *, combined: bool) -> web.WebSocketResponse:
    hub = request.app[STREAMS_KEY]
    ws = web.WebSocketResponse(autoping=False)
    await ws.prepare(request)
    connection = hub.register(ws, request.path, combined=combined)
    connection.attach(request.transport)
    listed = hub.listed()
    connection.subscribe(name for name in (parse_stream(raw, listed) for raw in initial) if name is not None)
    sender = asyncio.create_task(connection.run_sender(), name=f"stream-sender-{connection.id}")
    try:
        await _read(ws, connection, listed)
    finally:
        hub.unregister(connection)
        connection.finish()
        await _settle(sender)
    return ws


async def raw_stream(request: web.Request) -> web.WebSocketResponse:
    name = request.match_info.get("name")
    return await _serve(request, [name] if name else [], combined=False)


async def combined_stream(request: web.Request) -> web.WebSocketResponse:
    streams = request.query.get("streams", "")
    return await _serve(request, [s for s in streams.split("/") if s], combined=True)


# --- admin ----------------------------------------------------------------------------------


async def _body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    if not text.strip():
        return {}
    data = json.loads(text)
    if not isinstance(data, dict):
        raise FaultRuleError("expected a JSON object")
    return data


def _bad_request(error: Exception) -> web.Response:
    return web.json_response({"error": str(error)}, status=400)


async def get_connections(request: web.Request) -> web.Response:
    infos = request.app[STREAMS_KEY].snapshot()
    return web.json_response({"connections": [info.to_mapping() for info in infos]})


async def post_drop(request: web.Request) -> web.Response:
    try:
        abrupt = (await _body(request)).get("abrupt", False)
    except (json.JSONDecodeError, FaultRuleError) as error:
        return _bad_request(error)
    if not isinstance(abrupt, bool):
        return _bad_request(FaultRuleError(f"abrupt = {abrupt!r}, expected true or false"))
    return web.json_response({"dropped": await request.app[STREAMS_KEY].drop_now(abrupt=abrupt)})


async def post_stall(request: web.Request) -> web.Response:
    try:
        seconds = (await _body(request)).get("seconds")
    except (json.JSONDecodeError, FaultRuleError) as error:
        return _bad_request(error)
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0):
        return _bad_request(FaultRuleError(f"seconds = {seconds!r}, expected a number >= 0 or null"))
    return web.json_response({"stalled": request.app[STREAMS_KEY].stall_now(seconds)})


async def post_resume(request: web.Request) -> web.Response:
    return web.json_response({"resumed": request.app[STREAMS_KEY].resume_now()})


def _rules_payload(rules: tuple[StreamFaultRule, ...]) -> dict[str, Any]:
    return {"rules": [rule.to_mapping() for rule in rules]}


async def get_stream_faults(request: web.Request) -> web.Response:
    return web.json_response(_rules_payload(request.app[STREAMS_KEY].faults.rules))


def _parse_rules(body: dict[str, Any]) -> tuple[tuple[StreamFaultRule, ...], bool]:
    items, replace = body.get("rules"), body.get("replace", True)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise FaultRuleError('expected {"rules": [{"action": ..., ...}], "replace": bool (optional)}')
    if not isinstance(replace, bool):
        raise FaultRuleError(f"replace = {replace!r}, expected true or false")
    return tuple(stream_rule_from_mapping(item) for item in items), replace


async def post_stream_faults(request: web.Request) -> web.Response:
    plan = request.app[STREAMS_KEY].faults
    try:
        rules, replace = _parse_rules(await _body(request))
    except (json.JSONDecodeError, FaultRuleError) as error:
        return _bad_request(error)
    if replace:
        plan.replace(rules)
    else:
        plan.add(*rules)
    return web.json_response(_rules_payload(plan.rules))


async def delete_stream_faults(request: web.Request) -> web.Response:
    request.app[STREAMS_KEY].faults.clear()
    return web.json_response(_rules_payload(()))


async def _start_hub(app: web.Application) -> None:
    await app[STREAMS_KEY].start()


async def _stop_hub(app: web.Application) -> None:
    await app[STREAMS_KEY].stop()


def add_stream_routes(app: web.Application, hub: StreamHub) -> None:
    """Register the stream endpoints and their admin routes; start/stop ``hub`` with the app."""
    app[STREAMS_KEY] = hub
    for prefix in _PREFIXES:
        app.router.add_get(f"{prefix}/ws", raw_stream)
        app.router.add_get(f"{prefix}/ws/{{name}}", raw_stream)
        app.router.add_get(f"{prefix}/stream", combined_stream)
    app.router.add_get("/_admin/ws/connections", get_connections)
    app.router.add_post("/_admin/ws/drop", post_drop)
    app.router.add_post("/_admin/ws/stall", post_stall)
    app.router.add_post("/_admin/ws/resume", post_resume)
    app.router.add_get("/_admin/ws/faults", get_stream_faults)
    app.router.add_post("/_admin/ws/faults", post_stream_faults)
    app.router.add_delete("/_admin/ws/faults", delete_stream_faults)
    app.on_startup.append(_start_hub)
    app.on_shutdown.append(_stop_hub)
