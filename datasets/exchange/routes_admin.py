"""Control endpoints for a local exchange running in another process.

* ``GET /_admin/faults`` — the active rules.
* ``POST /_admin/faults`` — ``{"rules": [{"kind": "rate_limit", "path": "/fapi/v1/klines",
  "times": 1, "retry_after": 1}, ...], "seed": 7, "replace": true}``; ``replace`` (default
  true) swaps the plan, false appends. A rule without ``times`` or ``probability`` fires on
  every matching request. Bad rules answer 400 with ``{"error": ...}``.
* ``DELETE /_admin/faults`` — no faults any more.
* ``GET /_admin/requests`` — ``{"requests": [{"method", "path", "query", "status", "fault"}]}``.
* ``DELETE /_admin/requests`` — forget the log.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .faults import FaultRule, FaultRuleError, rule_from_mapping
from .middleware import FAULTS_KEY, REQUESTS_KEY

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


def add_admin_routes(app: web.Application) -> None:
    """Register the ``/_admin/`` control endpoints on ``app``."""
    app.router.add_get("/_admin/faults", get_faults)
    app.router.add_post("/_admin/faults", post_faults)
    app.router.add_delete("/_admin/faults", delete_faults)
    app.router.add_get("/_admin/requests", get_requests)
    app.router.add_delete("/_admin/requests", delete_requests)
