"""Conditional (algo) orders on the local exchange, through the real ccxt async
``binanceusdm`` client exactly as ccxt 4.5 sends them (``/fapi/v1/algoOrder`` and
friends). The market's trades are scripted price by price, so every trigger and fill is
known in advance; the clock is injected and moved by the tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import ccxt
import pytest

from quantbridge.datasets.exchange import LocalExchange, MarketData

from ..local_exchange_fixtures import MovingClock, scripted_market, trade_ms, with_async_client

SYMBOL = "BTC/USDT:USDT"
API_KEY = "algo-test-key"
ALGO_ORDER = "/fapi/v1/algoOrder"
TRIGGER = {"trigger": True}
T = TypeVar("T")

#: One trade every 15 s from 2024-01-01 00:00; the clock starts at trade 7 (price 100.0).
PRICES = [
    *(100.0, 100.2, 99.8, 100.1, 100.0, 100.3, 99.9, 100.0),  # 0-7: history
    *(100.4, 99.6, 99.1, 98.8, 99.5, 100.6, 101.4, 102.0),  # 8-15: first <= 99.2 is #10, first >= 101.0 is #14
    *(101.1, 100.2, 99.4, 100.0, 100.9, 101.8, 102.5, 101.0),  # 16-23: after #14, first <= 100.5 is #17
]
NOW = 7


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(0)


@pytest.fixture
def market(clock: MovingClock) -> MarketData:
    made = scripted_market(PRICES, clock=clock)
    clock.ms = at(made, NOW)
    return made


@pytest.fixture
def exchange(market: MarketData) -> Iterator[LocalExchange]:
    with LocalExchange(market) as running:
        yield running


def at(market: MarketData, index: int) -> int:
    return trade_ms(market.series("BTCUSDT").trades, index)


def run(exchange: LocalExchange, scenario: Callable[[Any], Awaitable[T]]) -> T:
    return with_async_client(exchange.url, scenario, api_key=API_KEY)


async def stop_loss(client: Any, stop: float, cid: str, amount: float = 0.01, **params: Any) -> Any:
    return await client.create_order(
        SYMBOL, "market", "sell", amount, None, {"stopPrice": stop, "reduceOnly": True, "clientOrderId": cid, **params}
    )


def test_stop_market_when_the_market_falls_through_it_fills_at_the_crossing_trade_and_maps_back_to_its_client_id(
    exchange: LocalExchange, market: MarketData, clock: MovingClock
) -> None:
    async def scenario(client: Any) -> None:
        await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-open"})
        placed = await stop_loss(client, 99.2, "qb-sl-1")
        assert (placed["status"], placed["type"], placed["triggerPrice"]) == ("open", "market", 99.2)
        assert (placed["clientOrderId"], placed["reduceOnly"], placed["info"]["orderType"]) == (
            "qb-sl-1",
            True,
            "STOP_MARKET",
        )
        clock.ms = at(market, 10) - 1
        waiting = await client.fetch_order(placed["id"], SYMBOL, TRIGGER)
        assert (waiting["status"], waiting["info"]["actualOrderId"]) == ("open", "")
        clock.ms = at(market, 10)
        done = await client.fetch_order(placed["id"], SYMBOL, TRIGGER)
        info = done["info"]
        assert (done["status"], info["algoStatus"], info["actualPrice"], info["triggerTime"]) == (
            "closed",
            "FINISHED",
            "99.1",
            at(market, 10),
        )
        trade = (await client.fetch_my_trades(SYMBOL))[-1]
        assert (trade["order"], trade["side"], trade["price"], trade["amount"]) == (
            info["actualOrderId"],
            "sell",
            99.1,
            0.01,
        )
        assert (trade["timestamp"], trade["takerOrMaker"]) == (at(market, 10), "taker")
        actual = await client.fetch_order(None, SYMBOL, {"origClientOrderId": "qb-sl-1"})
        assert (actual["id"], actual["status"], actual["average"], actual["reduceOnly"]) == (
            info["actualOrderId"],
            "closed",
            99.1,
            True,
        )
        assert await client.fetch_positions([SYMBOL]) == []

    run(exchange, scenario)
    (arrived,) = exchange.requests.records(ALGO_ORDER)[:1]
    assert (arrived.method, arrived.status) == ("POST", 200)
    assert arrived.params["clientAlgoId"] == "qb-sl-1"
    assert (arrived.params["type"], arrived.params["triggerPrice"], arrived.params["algoType"]) == (
        "STOP_MARKET",
        "99.2",
        "CONDITIONAL",
    )


def test_take_profit_market_when_the_market_rises_to_it_fills_at_the_first_trade_at_or_above(
    exchange: LocalExchange, market: MarketData, clock: MovingClock
) -> None:
    async def scenario(client: Any) -> tuple[Any, Any]:
        await client.create_order(SYMBOL, "market", "buy", 0.02, None, {"clientOrderId": "qb-open"})
        placed = await client.create_order(
            SYMBOL,
            "market",
            "sell",
            0.02,
            None,
            {"takeProfitPrice": 101.0, "reduceOnly": True, "clientOrderId": "qb-tp"},
        )
        assert (placed["info"]["orderType"], placed["takeProfitPrice"]) == ("TAKE_PROFIT_MARKET", 101.0)
        clock.ms = at(market, 15)
        return await client.fetch_order(placed["id"], SYMBOL, TRIGGER), await client.fetch_my_trades(SYMBOL)

    done, trades = run(exchange, scenario)
    assert (done["status"], done["info"]["actualPrice"], done["info"]["triggerTime"]) == (
        "closed",
        "101.4",
        at(market, 14),
    )
    assert [(t["side"], t["price"], t["amount"]) for t in trades] == [("buy", 100.0, 0.02), ("sell", 101.4, 0.02)]


def test_stop_limit_when_triggered_away_from_its_price_rests_then_fills_at_its_limit_as_maker(
    exchange: LocalExchange, market: MarketData, clock: MovingClock
) -> None:
    async def scenario(client: Any) -> None:
        placed = await client.create_order(
            SYMBOL, "limit", "buy", 0.01, 100.5, {"stopPrice": 101.2, "clientOrderId": "qb-stl"}
        )
        assert (placed["info"]["orderType"], placed["price"], placed["triggerPrice"]) == ("STOP", 100.5, 101.2)
        clock.ms = at(market, 14)
        triggered = await client.fetch_order(placed["id"], SYMBOL, TRIGGER)
        assert triggered["info"]["algoStatus"] == "TRIGGERED"
        (resting,) = await client.fetch_open_orders(SYMBOL)
        assert (resting["id"], resting["clientOrderId"], resting["type"], resting["price"]) == (
            triggered["info"]["actualOrderId"],
            "qb-stl",
            "limit",
            100.5,
        )
        clock.ms = at(market, 23)
        assert (await client.fetch_order(placed["id"], SYMBOL, TRIGGER))["info"]["algoStatus"] == "FINISHED"
        (trade,) = await client.fetch_my_trades(SYMBOL)
        assert (trade["price"], trade["timestamp"], trade["takerOrMaker"]) == (100.5, at(market, 17), "maker")

    run(exchange, scenario)


def test_reduce_only_when_it_would_increase_the_position_is_rejected_and_nothing_is_placed(
    exchange: LocalExchange,
) -> None:
    async def scenario(client: Any) -> list[Any]:
        with pytest.raises(ccxt.InvalidOrder, match="-2022"):
            await stop_loss(client, 99.2, "qb-flat")
        await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-open"})
        with pytest.raises(ccxt.InvalidOrder, match="ReduceOnly Order is rejected"):
            await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"stopPrice": 101.0, "reduceOnly": True})
        with pytest.raises(ccxt.InvalidOrder, match="-2022"):
            await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"reduceOnly": True})
        return await client.fetch_open_orders(SYMBOL, params=TRIGGER)

    assert run(exchange, scenario) == []
    assert [r.status for r in exchange.requests.records(ALGO_ORDER)] == [400, 400]


def test_reduce_only_stop_when_the_position_is_gone_by_its_trigger_is_rejected_without_a_fill(
    exchange: LocalExchange, market: MarketData, clock: MovingClock
) -> None:
    async def scenario(client: Any) -> tuple[Any, list[Any]]:
        await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-open"})
        placed = await stop_loss(client, 99.2, "qb-sl-late")
        await client.create_order(SYMBOL, "market", "sell", 0.01, None, {"clientOrderId": "qb-close"})
        clock.ms = at(market, 12)
        return await client.fetch_order(placed["id"], SYMBOL, TRIGGER), await client.fetch_my_trades(SYMBOL)

    done, trades = run(exchange, scenario)
    assert (done["status"], done["info"]["actualOrderId"], done["info"]["triggerTime"]) == (
        "rejected",
        "",
        at(market, 10),
    )
    assert [t["side"] for t in trades] == ["buy", "sell"]


def test_close_position_stop_when_triggered_closes_the_whole_position_held_at_that_moment(
    exchange: LocalExchange, market: MarketData, clock: MovingClock
) -> None:
    async def scenario(client: Any) -> tuple[Any, list[Any]]:
        await client.create_order(SYMBOL, "market", "buy", 0.02, None, {"clientOrderId": "qb-open"})
        placed = await client.create_order(
            SYMBOL, "market", "sell", None, None, {"stopPrice": 99.2, "closePosition": True, "clientOrderId": "qb-cp"}
        )
        assert (placed["info"]["closePosition"], placed["info"]["quantity"]) == (True, "0")
        await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-add"})
        clock.ms = at(market, 11)
        return await client.fetch_order(placed["id"], SYMBOL, TRIGGER), await client.fetch_positions([SYMBOL])

    done, positions = run(exchange, scenario)
    assert done["status"] == "closed"
    assert positions == []
    last = exchange.venue.fills(API_KEY, "BTCUSDT")[-1]
    assert (str(last.quantity), str(last.price), last.order.order_id) == (
        "0.03",
        "99.1",
        int(done["info"]["actualOrderId"]),
    )


def test_algo_order_when_its_trigger_fails_the_margin_check_is_rejected_not_filled(
    exchange: LocalExchange, market: MarketData, clock: MovingClock
) -> None:
    async def scenario(client: Any) -> tuple[Any, list[Any]]:
        with pytest.raises(ccxt.InsufficientFunds):
            await client.create_order(SYMBOL, "market", "buy", 150, None, {"clientOrderId": "qb-big"})
        placed = await client.create_order(
            SYMBOL, "market", "buy", 150, None, {"stopPrice": 101.0, "clientOrderId": "qb-big-stop"}
        )
        assert placed["status"] == "open"  # no margin check before the trigger, as on Binance
        clock.ms = at(market, 15)
        return await client.fetch_order(placed["id"], SYMBOL, TRIGGER), await client.fetch_my_trades(SYMBOL)

    done, trades = run(exchange, scenario)
    assert (done["status"], done["info"]["triggerTime"], trades) == ("rejected", at(market, 14), [])


def test_cancel_and_open_algo_orders_when_canceled_one_by_one_or_all_at_once_never_trigger(
    exchange: LocalExchange, market: MarketData, clock: MovingClock
) -> None:
    async def scenario(client: Any) -> None:
        await client.create_order(SYMBOL, "market", "buy", 0.03, None, {"clientOrderId": "qb-open"})
        first = await stop_loss(client, 99.2, "qb-a")
        second = await stop_loss(client, 99.0, "qb-b")
        third = await client.create_order(
            SYMBOL, "market", "sell", 0.01, None, {"takeProfitPrice": 101.0, "clientOrderId": "qb-c"}
        )
        listed = await client.fetch_open_orders(SYMBOL, params=TRIGGER)
        assert [o["id"] for o in listed] == [first["id"], second["id"], third["id"]]
        assert {o["status"] for o in listed} == {"open"}
        assert await client.fetch_open_orders(SYMBOL) == []  # algo orders are not matching-engine orders
        canceled = await client.cancel_order(first["id"], SYMBOL, TRIGGER)
        assert (canceled["id"], canceled["info"]["msg"]) == (first["id"], "success")
        with pytest.raises(ccxt.OrderNotFound):
            await client.cancel_order(first["id"], SYMBOL, TRIGGER)
        by_client_id = await client.fetch_order(None, SYMBOL, {**TRIGGER, "clientOrderId": "qb-a"})
        assert (by_client_id["id"], by_client_id["status"]) == (first["id"], "canceled")
        await client.cancel_all_orders(SYMBOL, TRIGGER)
        assert await client.fetch_open_orders(SYMBOL, params=TRIGGER) == []
        clock.ms = at(market, 23)
        statuses = [(await client.fetch_order(o["id"], SYMBOL, TRIGGER))["status"] for o in (first, second, third)]
        assert statuses == ["canceled", "canceled", "canceled"]
        assert len(await client.fetch_my_trades(SYMBOL)) == 1
        every = await client.fetch_orders(SYMBOL, params=TRIGGER)
        assert [o["clientOrderId"] for o in every] == ["qb-a", "qb-b", "qb-c"]

    run(exchange, scenario)


def test_client_ids_when_reused_between_orders_and_algo_orders_are_rejected_as_duplicates(
    exchange: LocalExchange,
) -> None:
    async def scenario(client: Any) -> list[Any]:
        await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"stopPrice": 101.0, "clientOrderId": "qb-dup"})
        with pytest.raises(ccxt.InvalidOrder, match="-4116"):
            await client.create_order(
                SYMBOL, "market", "buy", 0.01, None, {"stopPrice": 101.5, "clientOrderId": "qb-dup"}
            )
        with pytest.raises(ccxt.InvalidOrder, match="duplicated"):
            await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-dup"})
        await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-plain"})
        with pytest.raises(ccxt.InvalidOrder, match="duplicated"):
            await client.create_order(
                SYMBOL, "market", "buy", 0.01, None, {"stopPrice": 101.0, "clientOrderId": "qb-plain"}
            )
        return await client.fetch_open_orders(SYMBOL, params=TRIGGER)

    assert [o["clientOrderId"] for o in run(exchange, scenario)] == ["qb-dup"]


def test_algo_order_when_the_market_is_already_beyond_its_trigger_raises_order_immediately_fillable(
    exchange: LocalExchange,
) -> None:
    async def scenario(client: Any) -> None:
        with pytest.raises(ccxt.OrderImmediatelyFillable):
            await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"stopPrice": 99.5})
        with pytest.raises(ccxt.OrderNotFound):
            await client.fetch_order("1", SYMBOL, TRIGGER)
        with pytest.raises(ccxt.BadRequest, match="-1111"):
            await client.fapiPrivatePostAlgoOrder(
                {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET"}
                | {"quantity": "0.01", "triggerPrice": "99.25"}
            )

    run(exchange, scenario)
