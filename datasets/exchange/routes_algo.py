"""HTTP handlers for Binance USD-M's Algo Service: conditional orders, as ccxt 4.5's
``binanceusdm`` sends them (any order with ``stopPrice``/``triggerPrice``,
``stopLossPrice`` or ``takeProfitPrice`` goes here, and the ``trigger: True`` param picks
these endpoints for fetching and cancelling).

* ``POST /fapi/v1/algoOrder`` — ``algoType=CONDITIONAL``, ``symbol``, ``side``, ``type``
  (``STOP_MARKET``, ``TAKE_PROFIT_MARKET``, ``STOP``, ``TAKE_PROFIT``), ``triggerPrice``,
  ``quantity`` (not with ``closePosition=true``), ``price`` (the limit types),
  ``clientAlgoId``, ``reduceOnly``, ``closePosition``, ``timeInForce``; ``positionSide``
  must be ``BOTH`` (one-way mode). ``workingType`` is accepted, but triggers always look
  at trade prices (``CONTRACT_PRICE``); ``TRAILING_STOP_MARKET`` is not served (-1116).
  ccxt: ``create_order(symbol, 'market', 'sell', 0.01, None, {'stopPrice': 60000,
  'reduceOnly': True, 'clientOrderId': 'qb-abc'})``.
* ``GET /fapi/v1/algoOrder`` — by ``algoId`` or ``clientAlgoId`` (ccxt: ``fetch_order(id,
  symbol, {'trigger': True})``, or ``fetch_order(None, symbol, {'trigger': True,
  'clientOrderId': cid})``).
* ``DELETE /fapi/v1/algoOrder`` — by ``algoId`` or ``clientAlgoId``; answers Binance's short
  ``{"algoId", "clientAlgoId", "code": "200", "msg": "success"}`` (ccxt parses no status
  from it: fetch the order to see ``canceled``); -2011 when it is not waiting any more.
* ``GET /fapi/v1/openAlgoOrders`` — the waiting ones (``symbol`` optional; ccxt:
  ``fetch_open_orders(symbol, params={'trigger': True})``).
* ``GET /fapi/v1/allAlgoOrders`` — all of a ``symbol`` (``algoId``, ``startTime``,
  ``endTime``, ``limit``; ccxt: ``fetch_orders(symbol, params={'trigger': True})``).
* ``DELETE /fapi/v1/algoOpenOrders`` — cancel the waiting ones of a ``symbol`` (ccxt:
  ``cancel_all_orders(symbol, {'trigger': True})``).

Algo ids count from 1000000001, apart from order ids (from 1), so one is never taken
for the other. Mapping a fill back to its algo order: when an algo order triggers, the exchange places
its actual order with a new ``orderId`` and ``clientOrderId`` = the algo's
``clientAlgoId``; the algo order then reports ``actualOrderId`` (ccxt:
``order['info']['actualOrderId']``) and, once filled, ``actualPrice``. The fill appears in
``GET /fapi/v1/userTrades`` with that ``orderId`` (ccxt: ``trade['order']``), and
``GET /fapi/v1/order`` finds the actual order by ``orderId`` or by
``origClientOrderId=<clientAlgoId>`` (ccxt: ``fetch_order(None, symbol,
{'origClientOrderId': cid})``). Like Binance, the algo order itself carries no
``executedQty``/``avgPrice`` (ccxt shows ``filled`` 0): read them from the actual order.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from . import wire
from .accounts import ZERO
from .market import SymbolSpec
from .matching import Venue
from .orders import AlgoOrder, AlgoRequest, AlgoType
from .params import boolean, check_step, int_param, lookup, positive_decimal, required, signed_params
from .routes_market import Handler, binance_json
from .routes_orders import ALL_DONE, SIDES, VENUE_KEY
from .wire import BinanceError

__all__ = ["add_algo_routes", "algo_payload"]

_ALGO_TYPE: Final = "CONDITIONAL"
_MARKET_TYPES: Final = frozenset({AlgoType.STOP_MARKET, AlgoType.TAKE_PROFIT_MARKET})


def _venue(request: web.Request) -> Venue:
    return request.app[VENUE_KEY]


def algo_payload(algo: AlgoOrder) -> dict[str, Any]:
    """An algo order the way ``GET /fapi/v1/algoOrder`` answers it."""
    request, actual = algo.request, algo.actual
    return {
        "algoId": algo.algo_id,
        "clientAlgoId": algo.client_id,
        "algoType": _ALGO_TYPE,
        "orderType": request.type.value,
        "symbol": request.symbol,
        "side": request.side,
        "positionSide": "BOTH",
        "timeInForce": request.time_in_force,
        "quantity": wire.num(request.quantity),
        "algoStatus": algo.status.value,
        "actualOrderId": "" if actual is None else str(actual.order_id),
        "actualPrice": wire.num(actual.avg_price if actual is not None else ZERO),
        "triggerPrice": wire.num(request.trigger_price),
        "price": wire.num(request.price),
        "icebergQuantity": None,
        "tpTriggerPrice": "0",
        "tpPrice": "0",
        "slTriggerPrice": "0",
        "slPrice": "0",
        "tpOrderType": "",
        "selfTradePreventionMode": "NONE",
        "workingType": "CONTRACT_PRICE",
        "priceMatch": "NONE",
        "closePosition": request.close_position,
        "priceProtect": False,
        "reduceOnly": request.reduce_only,
        "createTime": algo.created_ms,
        "updateTime": algo.updated_ms,
        "triggerTime": algo.trigger_ms,
        "goodTillDate": 0,
    }


def _algo_type(params: Mapping[str, str]) -> AlgoType:
    if required(params, "algoType") != _ALGO_TYPE:
        raise BinanceError(-1116, "Invalid algoType: only CONDITIONAL is supported.")
    try:
        return AlgoType(required(params, "type"))
    except ValueError:
        raise BinanceError(-1116, "Invalid orderType.") from None


def _quantity(params: Mapping[str, str], kind: AlgoType, spec: SymbolSpec) -> tuple[Decimal, bool]:
    """The quantity and the close-position flag, checked against each other."""
    if not boolean(params, "closePosition"):
        quantity = positive_decimal(params, "quantity")
        check_step(quantity, spec.step_size, "quantity")
        return quantity, False
    if kind not in _MARKET_TYPES:
        raise BinanceError(-4136, f"Target strategy invalid for orderType {kind.value},closePosition true")
    if params.get("quantity"):
        raise BinanceError(-1106, "Parameter 'quantity' sent when not required.")
    if boolean(params, "reduceOnly"):
        raise BinanceError(-1106, "Parameter 'reduceOnly' sent when not required.")
    return ZERO, True


def _algo_request(venue: Venue, params: Mapping[str, str]) -> AlgoRequest:
    spec = venue.series(required(params, "symbol")).spec
    side = required(params, "side")
    if side not in SIDES:
        raise BinanceError(-1117, "Invalid side.")
    if params.get("positionSide", "BOTH") != "BOTH":
        raise BinanceError(-4061, "Order's position side does not match user's setting.")
    kind = _algo_type(params)
    trigger = positive_decimal(params, "triggerPrice")
    check_step(trigger, spec.tick_size, "triggerPrice")
    price = ZERO
    if kind not in _MARKET_TYPES:
        price = positive_decimal(params, "price")
        check_step(price, spec.tick_size, "price")
    quantity, close_position = _quantity(params, kind, spec)
    return AlgoRequest(
        spec.symbol,
        side,
        kind,
        trigger,
        quantity,
        price,
        client_id=params.get("clientAlgoId") or None,
        time_in_force=params.get("timeInForce", "GTC"),
        reduce_only=boolean(params, "reduceOnly"),
        close_position=close_position,
    )


def _algo_ref(params: Mapping[str, str]) -> tuple[int | None, str | None, str | None]:
    algo_id, client_id = int_param(params, "algoId"), lookup(params, "clientAlgoId")
    if algo_id is None and client_id is None:
        raise BinanceError(-1102, "Param 'clientAlgoId' or 'algoId' must be sent, but both were empty/null!")
    return algo_id, client_id, params.get("symbol") or None


async def new_algo_order(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    venue = _venue(request)
    return binance_json(algo_payload(venue.place_algo(key, _algo_request(venue, params))))


async def query_algo_order(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    return binance_json(algo_payload(_venue(request).find_algo(key, *_algo_ref(params))))


async def cancel_algo_order(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    algo = _venue(request).cancel_algo(key, *_algo_ref(params))
    return binance_json({"algoId": algo.algo_id, "clientAlgoId": algo.client_id, "code": "200", "msg": "success"})


def _symbol_or_none(venue: Venue, params: Mapping[str, str]) -> str | None:
    symbol = params.get("symbol") or None
    return None if symbol is None else venue.series(symbol).spec.symbol


async def open_algo_orders(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    venue = _venue(request)
    algo_id = int_param(params, "algoId")
    algos = venue.algo_orders(key, _symbol_or_none(venue, params), open_only=True)
    return binance_json([algo_payload(a) for a in algos if algo_id in (None, a.algo_id)])


def _chosen_algos(algos: list[AlgoOrder], params: Mapping[str, str]) -> list[AlgoOrder]:
    start, end, from_id = int_param(params, "startTime"), int_param(params, "endTime"), int_param(params, "algoId")
    limit = int_param(params, "limit") or 500
    if not 1 <= limit <= 1000:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    chosen = [
        a
        for a in algos
        if (from_id is None or a.algo_id >= from_id)
        and (start is None or a.created_ms >= start)
        and (end is None or a.created_ms <= end)
    ]
    return chosen[:limit] if from_id is not None or start is not None else chosen[-limit:]


async def all_algo_orders(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    venue = _venue(request)
    symbol = venue.series(required(params, "symbol")).spec.symbol
    return binance_json([algo_payload(a) for a in _chosen_algos(venue.algo_orders(key, symbol), params)])


async def cancel_all_algo_orders(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    venue = _venue(request)
    venue.cancel_all_algos(key, venue.series(required(params, "symbol")).spec.symbol)
    return binance_json(ALL_DONE)


def add_algo_routes(app: web.Application) -> None:
    """Register the Algo Service endpoints on ``app`` (which must hold a venue under ``VENUE_KEY``)."""
    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/fapi/v1/algoOrder", new_algo_order),
        ("GET", "/fapi/v1/algoOrder", query_algo_order),
        ("DELETE", "/fapi/v1/algoOrder", cancel_algo_order),
        ("GET", "/fapi/v1/openAlgoOrders", open_algo_orders),
        ("GET", "/fapi/v1/allAlgoOrders", all_algo_orders),
        ("DELETE", "/fapi/v1/algoOpenOrders", cancel_all_algo_orders),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
