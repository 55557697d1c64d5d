"""HTTP handlers for Binance USD-M's signed (account and trade) endpoints, as ccxt 4.5's
``binanceusdm`` calls them: ``/fapi/v1/order`` (POST, GET, DELETE), ``openOrders``,
``allOpenOrders`` (DELETE), ``userTrades``, ``leverage``, ``leverageBracket``,
``/fapi/v2|v3/balance``, ``/fapi/v2|v3/account`` (``fetch_balance`` uses v3) and
``/fapi/v2|v3/positionRisk`` (``fetch_positions`` uses v3). Conditional orders
(``/fapi/v1/algoOrder`` and friends) are served by :mod:`.routes_algo`.

Any API key is accepted (``X-MBX-APIKEY`` names the account) and the ``signature``
parameter must be present, but it is not checked (see :mod:`.params`). New orders take
``symbol``, ``side``, ``type`` (``MARKET``, ``LIMIT``; ``STOP_MARKET`` with ``stopPrice``
is still served here for old clients), ``quantity``, ``price``, ``timeInForce``,
``newClientOrderId`` and ``reduceOnly``. The other conditional types are answered -4120,
as Binance does since they moved to the Algo Service.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from . import wire
from .accounts import ZERO, Account
from .matching import Fill, Order, OrderRequest, OrderType, Venue
from .params import boolean, check_step, int_param, positive_decimal, required, signed_params
from .routes_market import Handler, binance_json
from .wire import BinanceError

__all__ = ["ALL_DONE", "VENUE_KEY", "add_order_routes", "fill_payload", "order_payload"]

VENUE_KEY: Final = web.AppKey("venue", Venue)
SIDES: Final = ("BUY", "SELL")
#: Binance's answer to a cancel-all request.
ALL_DONE: Final = {"code": 200, "msg": "The operation of cancel all open order is done."}
_ALGO_ONLY_TYPES: Final = frozenset({"STOP", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"})


def _venue(request: web.Request) -> Venue:
    return request.app[VENUE_KEY]


def _order_type(params: Mapping[str, str]) -> OrderType:
    raw = required(params, "type")
    if raw in _ALGO_ONLY_TYPES:
        raise BinanceError(
            -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
        )
    try:
        return OrderType(raw)
    except ValueError:
        raise BinanceError(-1116, "Invalid orderType.") from None


def _prices(params: Mapping[str, str], kind: OrderType, tick: Decimal) -> tuple[Decimal, Decimal]:
    price = stop = ZERO
    if kind is OrderType.LIMIT:
        price = positive_decimal(params, "price")
        check_step(price, tick, "price")
    if kind is OrderType.STOP_MARKET:
        stop = positive_decimal(params, "stopPrice")
        check_step(stop, tick, "stopPrice")
    return price, stop


def _order_request(venue: Venue, params: Mapping[str, str]) -> OrderRequest:
    spec = venue.series(required(params, "symbol")).spec
    side = required(params, "side")
    if side not in SIDES:
        raise BinanceError(-1117, "Invalid side.")
    kind = _order_type(params)
    if boolean(params, "closePosition"):
        raise BinanceError(-1106, "Parameter 'closePosition' sent when not required.")
    quantity = positive_decimal(params, "quantity")
    check_step(quantity, spec.step_size, "quantity")
    price, stop = _prices(params, kind, spec.tick_size)
    return OrderRequest(
        spec.symbol,
        side,
        kind,
        quantity,
        price,
        stop,
        params.get("newClientOrderId") or None,
        params.get("timeInForce", "GTC"),
        boolean(params, "reduceOnly"),
    )


def _check_stop(venue: Venue, request: OrderRequest) -> None:
    last = venue.last_price(request.symbol)
    if request.type is not OrderType.STOP_MARKET or last is None:
        return
    beyond = last >= request.stop_price if request.side == "BUY" else last <= request.stop_price
    if beyond:
        raise BinanceError(-2021, "Order would immediately trigger.")


def order_payload(order: Order) -> dict[str, Any]:
    """An order the way ``GET /fapi/v1/order`` answers it."""
    request = order.request
    return {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": order.status.value,
        "clientOrderId": order.client_id,
        "price": wire.num(request.price),
        "avgPrice": wire.num(order.avg_price),
        "origQty": wire.num(request.quantity),
        "executedQty": wire.num(order.executed),
        "cumQuote": wire.num(order.executed * order.avg_price),
        "timeInForce": request.time_in_force,
        "type": request.type.value,
        "reduceOnly": request.reduce_only,
        "closePosition": False,
        "side": request.side,
        "positionSide": "BOTH",
        "stopPrice": wire.num(request.stop_price),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": request.type.value,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "time": order.created_ms,
        "updateTime": order.updated_ms,
    }


def fill_payload(fill: Fill) -> dict[str, Any]:
    """A user trade the way ``GET /fapi/v1/userTrades`` answers it."""
    buyer = fill.order.sign > 0
    return {
        "buyer": buyer,
        "commission": wire.num(fill.settlement.commission),
        "commissionAsset": fill.settlement.commission_asset,
        "id": fill.trade_id,
        "maker": fill.maker,
        "orderId": fill.order.order_id,
        "price": wire.num(fill.price),
        "qty": wire.num(fill.quantity),
        "quoteQty": wire.num(fill.price * fill.quantity),
        "realizedPnl": wire.num(fill.settlement.realised_pnl),
        "side": fill.order.request.side,
        "positionSide": "BOTH",
        "symbol": fill.order.symbol,
        "time": fill.time_ms,
    }


async def new_order(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    venue = _venue(request)
    order_request = _order_request(venue, params)
    _check_stop(venue, order_request)
    return binance_json(order_payload(venue.place(key, order_request)))


def _order_ref(params: Mapping[str, str]) -> tuple[str, int | None, str | None]:
    order_id, client_id = int_param(params, "orderId"), params.get("origClientOrderId") or None
    if order_id is None and client_id is None:
        raise BinanceError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
    return required(params, "symbol"), order_id, client_id


async def query_order(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    return binance_json(order_payload(_venue(request).find(key, *_order_ref(params))))


async def cancel_order(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    return binance_json(order_payload(_venue(request).cancel(key, *_order_ref(params))))


async def cancel_all_open_orders(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    venue = _venue(request)
    venue.cancel_all(key, venue.series(required(params, "symbol")).spec.symbol)
    return binance_json(ALL_DONE)


async def open_orders(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    venue = _venue(request)
    symbol = params.get("symbol") or None
    if symbol is not None:
        venue.series(symbol)
    return binance_json([order_payload(o) for o in venue.open_orders(key, symbol)])


def _chosen_fills(fills: list[Fill], params: Mapping[str, str]) -> list[Fill]:
    start, end, from_id = int_param(params, "startTime"), int_param(params, "endTime"), int_param(params, "fromId")
    limit = int_param(params, "limit") or 500
    if not 1 <= limit <= 1000:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    chosen = [
        f
        for f in fills
        if (from_id is None or f.trade_id >= from_id)
        and (start is None or f.time_ms >= start)
        and (end is None or f.time_ms <= end)
    ]
    return chosen[:limit] if from_id is not None or start is not None else chosen[-limit:]


async def user_trades(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    venue = _venue(request)
    symbol = venue.series(required(params, "symbol")).spec.symbol
    return binance_json([fill_payload(f) for f in _chosen_fills(venue.fills(key, symbol), params)])


def _asset_entries(account: Account, marks: Mapping[str, Decimal], now_ms: int) -> list[dict[str, Any]]:
    entries = []
    for asset, wallet in sorted(account.balances.items()):
        unrealised = account.unrealised(asset, marks)
        margin = account.initial_margin(asset, marks)
        available = account.available(asset, marks)
        entries.append(
            {
                "asset": asset,
                "walletBalance": wire.num(wallet),
                "balance": wire.num(wallet),
                "unrealizedProfit": wire.num(unrealised),
                "crossUnPnl": wire.num(unrealised),
                "marginBalance": wire.num(wallet + unrealised),
                "maintMargin": "0",
                "initialMargin": wire.num(margin),
                "positionInitialMargin": wire.num(margin),
                "openOrderInitialMargin": "0",
                "crossWalletBalance": wire.num(wallet),
                "availableBalance": wire.num(available),
                "maxWithdrawAmount": wire.num(max(available, ZERO)),
                "marginAvailable": True,
                "accountAlias": "local",
                "updateTime": account.update_ms or now_ms,
            }
        )
    return entries


async def balance(request: web.Request) -> web.Response:
    key, _ = await signed_params(request)
    venue = _venue(request)
    venue.sync()
    return binance_json(_asset_entries(venue.account(key), venue.marks(), venue.market.now_ms()))


def _position_entry(venue: Venue, account: Account, symbol: str, marks: Mapping[str, Decimal]) -> dict[str, Any]:
    quote = venue.series(symbol).spec.quote
    position = account.position(symbol, quote)
    mark = marks.get(symbol, position.entry_price)
    margin = position.initial_margin(mark)
    return {
        "symbol": symbol,
        "positionSide": "BOTH",
        "positionAmt": wire.num(position.amount),
        "entryPrice": wire.num(position.entry_price),
        "breakEvenPrice": wire.num(position.entry_price),
        "markPrice": wire.num(mark),
        "unRealizedProfit": wire.num(position.unrealised(mark)),
        "liquidationPrice": "0",
        "isolatedMargin": "0",
        "notional": wire.num(position.amount * mark),
        "marginAsset": quote,
        "isolatedWallet": "0",
        "initialMargin": wire.num(margin),
        "maintMargin": "0",
        "positionInitialMargin": wire.num(margin),
        "openOrderInitialMargin": "0",
        "leverage": str(position.leverage),
        "marginType": "cross",
        "isAutoAddMargin": "false",
        "maxNotionalValue": "1000000",
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": position.update_ms,
    }


def _positions(venue: Venue, key: str, params: Mapping[str, str], *, open_only: bool) -> list[dict[str, Any]]:
    venue.sync()
    account = venue.account(key)
    marks = venue.marks()
    symbol = params.get("symbol") or None
    symbols = [venue.series(symbol).spec.symbol] if symbol else [s.spec.symbol for s in venue.market.symbols]
    entries = [_position_entry(venue, account, s, marks) for s in symbols]
    return [e for e in entries if e["positionAmt"] != "0"] if open_only else entries


async def position_risk_v2(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    return binance_json(_positions(_venue(request), key, params, open_only=False))


async def position_risk_v3(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    return binance_json(_positions(_venue(request), key, params, open_only=True))


async def account_info(request: web.Request) -> web.Response:
    key, _ = await signed_params(request)
    venue = _venue(request)
    positions = _positions(venue, key, {}, open_only=False)
    assets = _asset_entries(venue.account(key), venue.marks(), venue.market.now_ms())
    totals = {
        "totalInitialMargin": sum((Decimal(a["initialMargin"]) for a in assets), ZERO),
        "totalWalletBalance": sum((Decimal(a["walletBalance"]) for a in assets), ZERO),
        "totalUnrealizedProfit": sum((Decimal(a["unrealizedProfit"]) for a in assets), ZERO),
        "availableBalance": sum((Decimal(a["availableBalance"]) for a in assets), ZERO),
    }
    return binance_json({**{k: wire.num(v) for k, v in totals.items()}, "assets": assets, "positions": positions})


async def leverage_bracket(request: web.Request) -> web.Response:
    await signed_params(request)
    max_leverage = _venue(request).config.max_leverage
    bracket = {
        "bracket": 1,
        "initialLeverage": max_leverage,
        "notionalCap": 1_000_000,
        "notionalFloor": 0,
        "maintMarginRatio": 0.004,
        "cum": 0.0,
    }
    return binance_json([{"symbol": s.spec.symbol, "brackets": [bracket]} for s in _venue(request).market.symbols])


async def change_leverage(request: web.Request) -> web.Response:
    key, params = await signed_params(request)
    venue = _venue(request)
    spec = venue.series(required(params, "symbol")).spec
    leverage = int_param(params, "leverage")
    try:
        position = venue.account(key).set_leverage(spec.symbol, spec.quote, leverage or 0)
    except ValueError:
        raise BinanceError(-4028, "Leverage is not valid.") from None
    return binance_json({"leverage": position.leverage, "maxNotionalValue": "1000000", "symbol": spec.symbol})


def add_order_routes(app: web.Application) -> None:
    """Register the signed account and trade endpoints on ``app``."""
    gets: dict[str, Handler] = {
        "/fapi/v1/order": query_order,
        "/fapi/v1/openOrders": open_orders,
        "/fapi/v1/userTrades": user_trades,
        "/fapi/v1/leverageBracket": leverage_bracket,
        "/fapi/v2/balance": balance,
        "/fapi/v3/balance": balance,
        "/fapi/v2/account": account_info,
        "/fapi/v3/account": account_info,
        "/fapi/v2/positionRisk": position_risk_v2,
        "/fapi/v3/positionRisk": position_risk_v3,
    }
    for path, handler in gets.items():
        app.router.add_get(path, handler)
    app.router.add_post("/fapi/v1/order", new_order)
    app.router.add_delete("/fapi/v1/order", cancel_order)
    app.router.add_delete("/fapi/v1/allOpenOrders", cancel_all_open_orders)
    app.router.add_post("/fapi/v1/leverage", change_leverage)
