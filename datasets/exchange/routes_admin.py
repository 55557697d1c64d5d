"""Control endpoints for a local exchange running in another process.

* ``GET /_admin/faults`` — the active rules.
* ``POST /_admin/faults`` — ``{"rules": [{"kind": "rate_limit", "path": "/fapi/v1/klines",
  "times": 1, "retry_after": 1}, ...], "seed": 7, "replace": true}``; ``replace`` (default
  true) swaps the plan, false appends. A rule without ``times`` or ``probability`` fires on
  every matching request. Bad rules answer 400 with ``{"error": ...}``.
* ``DELETE /_admin/faults`` — no faults any more.
  Order faults: ``{"kind": "reject", "path": "/fapi/v1/order", "method": "POST", "code": -2019}``
  (``message`` defaults for well-known codes), ``{"kind": "accept_then_delay", "seconds": 2}``,
  ``{"kind": "accept_then_drop"}``; any rule may name a ``method``.
* ``DELETE /_admin/faults`` — no faults any more.
* ``GET /_admin/requests`` — ``{"requests": [{"method", "path", "query", "form", "status", "fault"}]}``.
* ``DELETE /_admin/requests`` — forget the log.
* ``GET /_admin/clock`` — ``{"now_ms": int, "speed": float, "paused": bool, "settable": bool}``;
  a clock that is not a :class:`~.clock.ReplayClock` (a fixed or test-driven one) reads
  as paused at speed 0 and is not settable.
* ``POST /_admin/clock`` — any of ``{"now_ms": int, "speed": float, "paused": bool}``
  (applied in that order: jump, change speed, pause or resume); answers the new state,
  400 for a bad body, 409 when the clock is not settable.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .clock import ReplayClock
from .faults import FaultRule, FaultRuleError, rule_from_mapping
from .market import MarketData
from .middleware import FAULTS_KEY, REQUESTS_KEY
from .routes_market import MARKET_KEY

__all__ = ["add_admin_routes"]


def _rules_payload(rules: tuple[FaultRule, ...]) -> dict[str, Any]:
    return {"rules": [rule.to_mapping() for rule in rules]}


def _parse_plan(body: Any) -> tuple[tuple[FaultRule, ...], int | None, bool]:
    if not isinstance(body, dict) or not isinstance(body.get("rules"), list):
        raise FaultRuleError(
            'expected a JSON object {"rules": [...], "seed": int (optional), "replace": bool (optional)}'
        )
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise FaultRuleError(f"seed = {seed!r}, expected an integer")
    replace = body.get("replace", True)
    if not isinstance(replace, bool):
        raise FaultRuleError(f"replace = {replace!r}, expected true or false")
    rules = []
    for position, item in enumerate(body["rules"]):
        if not isinstance(item, dict):
            raise FaultRuleError(f"rules[{position}] = {item!r}, expected an object")
        rules.append(rule_from_mapping(item))
    return tuple(rules), seed, replace


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(_rules_payload(request.app[FAULTS_KEY].rules))


async def post_faults(request: web.Request) -> web.Response:
    plan = request.app[FAULTS_KEY]
    try:
        rules, seed, replace = _parse_plan(json.loads(await request.text()))
    except (json.JSONDecodeError, FaultRuleError) as error:
        return web.json_response({"error": str(error)}, status=400)
    if replace:
        plan.replace(rules, seed=seed)
    else:
        plan.add(*rules)
    return web.json_response(_rules_payload(plan.rules))


async def delete_faults(request: web.Request) -> web.Response:
    request.app[FAULTS_KEY].clear()
    return web.json_response(_rules_payload(()))


async def get_requests(request: web.Request) -> web.Response:
    records = request.app[REQUESTS_KEY].records()
    return web.json_response({"requests": [record.to_mapping() for record in records]})


async def delete_requests(request: web.Request) -> web.Response:
    request.app[REQUESTS_KEY].clear()
    return web.json_response({"requests": []})


def _clock_state(market: MarketData) -> dict[str, Any]:
    clock = market.clock
    if isinstance(clock, ReplayClock):
        return {**clock.state(), "settable": True}
    return {"now_ms": market.now_ms(), "speed": 0.0, "paused": True, "settable": False}


def _clock_change(body: Any) -> tuple[int | None, float | None, bool | None]:
    if not isinstance(body, dict) or set(body) - {"now_ms", "speed", "paused"}:
        raise FaultRuleError('expected a JSON object with any of "now_ms" (int), "speed" (number > 0), "paused" (bool)')
    now_ms, speed, paused = body.get("now_ms"), body.get("speed"), body.get("paused")
    if now_ms is not None and (isinstance(now_ms, bool) or not isinstance(now_ms, int)):
        raise FaultRuleError(f"now_ms = {now_ms!r}, expected an integer (epoch milliseconds)")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, int | float) or not speed > 0):
        raise FaultRuleError(f"speed = {speed!r}, expected a number > 0")
    if paused is not None and not isinstance(paused, bool):
        raise FaultRuleError(f"paused = {paused!r}, expected true or false")
    return now_ms, None if speed is None else float(speed), paused


async def get_clock(request: web.Request) -> web.Response:
    return web.json_response(_clock_state(request.app[MARKET_KEY]))


async def post_clock(request: web.Request) -> web.Response:
    market = request.app[MARKET_KEY]
    clock = market.clock
    if not isinstance(clock, ReplayClock):
        return web.json_response({"error": "this exchange's clock is not a ReplayClock; it cannot be set"}, status=409)
    try:
        now_ms, speed, paused = _clock_change(json.loads(await request.text() or "{}"))
    except (json.JSONDecodeError, FaultRuleError) as error:
        return web.json_response({"error": str(error)}, status=400)
    if now_ms is not None:
        clock.set(now_ms)
    if speed is not None:
        clock.set_speed(speed)
    if paused is not None:
        (clock.pause if paused else clock.resume)()
    return web.json_response(_clock_state(market))


def add_admin_routes(app: web.Application) -> None:
    """Register the ``/_admin/`` control endpoints on ``app``."""
    app.router.add_get("/_admin/clock", get_clock)
    app.router.add_post("/_admin/clock", post_clock)
    app.router.add_get("/_admin/faults", get_faults)
    app.router.add_post("/_admin/faults", post_faults)
    app.router.add_delete("/_admin/faults", delete_faults)
    app.router.add_get("/_admin/requests", get_requests)
    app.router.add_delete("/_admin/requests", delete_requests)
