"""Order faults of the local exchange (``reject``, ``accept_then_delay``,
``accept_then_drop``) against the real ccxt async ``binanceusdm`` client: the exception
class ccxt raises, and whether the order is on the exchange afterwards."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

from quantbridge.datasets.exchange import FaultRule, FaultRuleError, LocalExchange, MarketData
from quantbridge.datasets.exchange.faults import rule_from_mapping

from ..local_exchange_fixtures import MovingClock, scripted_market, trade_ms, with_async_client

SYMBOL = "BTC/USDT:USDT"
ORDER = "/fapi/v1/order"
ALGO_ORDER = "/fapi/v1/algoOrder"
PRICES = [100.0, 100.2, 99.8, 100.1, 100.0, 100.4, 99.6, 99.1, 98.8, 99.5, 100.6, 101.4]


@pytest.fixture
def exchange() -> Iterator[LocalExchange]:
    clock = MovingClock(0)
    market: MarketData = scripted_market(PRICES, clock=clock)
    clock.ms = trade_ms(market.series("BTCUSDT").trades, 4)
    with LocalExchange(market) as running:
        yield running


def post_json(url: str, data: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.mark.parametrize(
    ("code", "raised"),
    [(-2019, ccxt.InsufficientFunds), (-4164, ccxt.InvalidOrder), (-1111, ccxt.BadRequest)],
)
def test_reject_when_an_order_is_sent_raises_the_binance_code_class_and_places_nothing(
    exchange: LocalExchange, code: int, raised: type[Exception]
) -> None:
    exchange.faults.add(FaultRule.reject(ORDER, code=code))

    async def scenario(client: Any) -> None:
        with pytest.raises(raised, match=str(code)):
            await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-rej"})
        with pytest.raises(ccxt.OrderNotFound):
            await client.fetch_order(None, SYMBOL, {"origClientOrderId": "qb-rej"})
        assert await client.fetch_my_trades(SYMBOL) == []
        retried = await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-rej"})
        assert retried["status"] == "closed"  # the rejection used the rule up; the client id was never taken

    with_async_client(exchange.url, scenario)
    records = exchange.requests.records(ORDER)
    assert [(r.method, r.status, r.fault) for r in records] == [
        ("POST", 400, "reject"),
        ("GET", 400, None),
        ("POST", 200, None),
    ]
    assert records[0].form["newClientOrderId"] == "qb-rej"


def test_reject_when_an_algo_order_is_sent_raises_insufficient_funds_and_no_algo_order_exists(
    exchange: LocalExchange,
) -> None:
    exchange.faults.add(FaultRule.reject(ALGO_ORDER, code=-2019))

    async def scenario(client: Any) -> list[Any]:
        with pytest.raises(ccxt.InsufficientFunds):
            await client.create_order(
                SYMBOL, "market", "buy", 0.01, None, {"stopPrice": 101.0, "clientOrderId": "qb-x"}
            )
        return await client.fetch_open_orders(SYMBOL, params={"trigger": True})

    assert with_async_client(exchange.url, scenario) == []


def test_accept_then_delay_when_longer_than_the_client_timeout_raises_request_timeout_yet_the_order_exists(
    exchange: LocalExchange,
) -> None:
    exchange.faults.add(FaultRule.accept_then_delay(ORDER, seconds=0.6))

    async def scenario(client: Any) -> Any:
        with pytest.raises(ccxt.RequestTimeout):
            await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-slow"})
        return await client.fetch_order(None, SYMBOL, {"origClientOrderId": "qb-slow"})

    found = with_async_client(exchange.url, scenario, timeout_ms=300)
    assert (found["status"], found["filled"]) == ("closed", 0.01)
    assert exchange.requests.records(ORDER)[0].fault == "accept_then_delay"


def test_accept_then_delay_when_shorter_than_the_client_timeout_answers_late_with_the_real_order(
    exchange: LocalExchange,
) -> None:
    exchange.faults.add(FaultRule.accept_then_delay(ORDER, seconds=0.3))

    async def scenario(client: Any) -> tuple[Any, float]:
        started = time.monotonic()
        placed = await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-late"})
        return placed, time.monotonic() - started

    placed, waited = with_async_client(exchange.url, scenario)
    assert (placed["clientOrderId"], placed["status"]) == ("qb-late", "closed")
    assert waited >= 0.3


def test_accept_then_drop_when_an_order_is_sent_raises_a_network_error_yet_the_order_exists(
    exchange: LocalExchange,
) -> None:
    exchange.faults.add(FaultRule.accept_then_drop(ORDER), FaultRule.accept_then_drop(ALGO_ORDER))

    async def scenario(client: Any) -> tuple[Any, Any]:
        with pytest.raises(ccxt.NetworkError) as raised:
            await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-drop"})
        assert isinstance(raised.value, ccxt.ExchangeNotAvailable)
        with pytest.raises(ccxt.NetworkError):
            await client.create_order(
                SYMBOL, "market", "sell", 0.01, None, {"stopPrice": 99.5, "clientOrderId": "qb-dsl"}
            )
        order = await client.fetch_order(None, SYMBOL, {"origClientOrderId": "qb-drop"})
        algo = await client.fetch_order(None, SYMBOL, {"trigger": True, "clientOrderId": "qb-dsl"})
        return order, algo

    order, algo = with_async_client(exchange.url, scenario)
    assert (order["status"], algo["status"]) == ("closed", "open")
    dropped = [r for r in exchange.requests.records() if r.fault == "accept_then_drop"]
    assert [(r.path, r.status) for r in dropped] == [(ORDER, 444), (ALGO_ORDER, 444)]


def test_order_faults_when_posted_to_the_admin_endpoint_fire_on_the_order_post_only(exchange: LocalExchange) -> None:
    status, body = post_json(
        f"{exchange.url}/_admin/faults",
        {"rules": [{"kind": "reject", "path": ORDER, "method": "post", "code": -2019, "times": 1}]},
    )
    assert status == 200
    assert body["rules"] == [
        {
            "kind": "reject",
            "path": ORDER,
            "times": 1,
            "method": "POST",
            "code": -2019,
            "message": "Margin is insufficient.",
        }
    ]

    async def scenario(client: Any) -> None:
        with pytest.raises(ccxt.OrderNotFound):
            await client.fetch_order(None, SYMBOL, {"origClientOrderId": "qb-adm"})  # a GET: not the rule's
        with pytest.raises(ccxt.InsufficientFunds):
            await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "qb-adm"})

    with_async_client(exchange.url, scenario)
    assert exchange.faults.rules == ()


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "reject", "path": ORDER},
        {"kind": "reject", "code": -9999},
        {"kind": "reject", "code": 2019, "message": "positive"},
        {"kind": "reject", "code": -2019, "status": 503},
        {"kind": "accept_then_delay", "path": ORDER},
        {"kind": "accept_then_drop", "method": "FETCH"},
        {"kind": "accept_then_drop", "code": "-2019"},
    ],
)
def test_order_fault_rules_when_incomplete_or_out_of_range_are_refused(exchange: LocalExchange, data: Any) -> None:
    with pytest.raises(FaultRuleError):
        rule_from_mapping(data)
    status, body = post_json(f"{exchange.url}/_admin/faults", {"rules": [data]})
    assert status == 400
    assert "fault rule" in body["error"]
