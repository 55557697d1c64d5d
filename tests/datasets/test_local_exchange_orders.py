"""The local exchange's order endpoints and matching engine against the real ccxt
``binanceusdm`` client (signed requests, any key). The market clock is injected and
moved by the tests; servers run on loopback, nothing is mocked."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pandas as pd
import pytest

from quantbridge.datasets.exchange import FaultRule, LocalExchange, MarketData, binanceusdm_client
from quantbridge.datasets.exchange.faults import rule_from_mapping

from ..local_exchange_fixtures import MovingClock, random_walk_bars

SYMBOL = "BTC/USDT:USDT"
HOUR_MS = 3_600_000
API_KEY = "local-test-key-7f3a"
SECRET = "local-test-secret-b9c1"


def make_bars(n: int) -> pd.DataFrame:
    return random_walk_bars(n, seed=11, start=1000.0, step_sd=3.0, wick=(0.5, 3.0), freq="1h")


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(int(pd.Timestamp("2024-01-01T10:50", tz="UTC").value // 1_000_000))


@pytest.fixture
def market(clock: MovingClock) -> MarketData:
    return MarketData.from_bars(make_bars(48), clock=clock)


@pytest.fixture
def exchange(market: MarketData) -> Iterator[LocalExchange]:
    with LocalExchange(market) as running:
        yield running


@pytest.fixture
def client(exchange: LocalExchange) -> Iterator[Any]:
    made = binanceusdm_client(exchange.url, rate_limit_ms=0, api_key=API_KEY, secret=SECRET)
    made.load_markets()
    yield made
    made.close()


def trades_after(market: MarketData, now_ms: int) -> pd.DataFrame:
    series = market.series("BTCUSDT")
    return series.trades.iloc[series.visible_trades(now_ms) :]


def last_price(market: MarketData) -> float:
    price = market.series("BTCUSDT").last_price(market.now_ms())
    assert price is not None
    return price


def test_market_order_when_created_fills_at_the_last_price_and_is_found_by_id_and_client_id(
    market: MarketData, client: Any
) -> None:
    order = client.create_order(SYMBOL, "market", "buy", 0.01, params={"newClientOrderId": "qb-mkt-1"})
    assert (order["status"], order["filled"], order["average"]) == ("closed", 0.01, last_price(market))
    assert order["clientOrderId"] == "qb-mkt-1"
    by_id = client.fetch_order(order["id"], SYMBOL)
    by_client_id = client.fetch_order(None, SYMBOL, params={"origClientOrderId": "qb-mkt-1"})
    assert by_id["id"] == by_client_id["id"] == order["id"]
    assert by_client_id["status"] == "closed"


def test_balance_and_position_after_a_buy_then_a_sell_realise_pnl_minus_taker_commission(
    market: MarketData, clock: MovingClock, client: Any
) -> None:
    client.create_order(SYMBOL, "market", "buy", 0.01, params={"newClientOrderId": "open-1"})
    entry = Decimal(str(last_price(market)))
    position = client.fetch_positions([SYMBOL])[0]
    assert (position["contracts"], position["side"], position["entryPrice"]) == (0.01, "long", float(entry))
    clock.ms += 5 * HOUR_MS
    client.create_order(SYMBOL, "market", "sell", 0.01, params={"newClientOrderId": "close-1"})
    exit_ = Decimal(str(last_price(market)))
    fees = (entry + exit_) * Decimal("0.01") * Decimal("0.0005")
    expected = Decimal(10_000) + (exit_ - entry) * Decimal("0.01") - fees
    balance = client.fetch_balance()
    assert Decimal(str(balance["USDT"]["total"])) == expected
    assert client.fetch_positions([SYMBOL]) == []
    trades = client.fetch_my_trades(SYMBOL)
    assert [t["side"] for t in trades] == ["buy", "sell"]
    assert [t["takerOrMaker"] for t in trades] == ["taker", "taker"]
    assert Decimal(trades[1]["info"]["realizedPnl"]) == (exit_ - entry) * Decimal("0.01")


def test_limit_order_when_below_the_market_rests_then_fills_at_its_price_as_the_clock_advances(
    market: MarketData, clock: MovingClock, client: Any
) -> None:
    later = trades_after(market, clock.ms).iloc[:12]
    low = float(later["price"].min())
    assert low < last_price(market)
    order = client.create_order(SYMBOL, "limit", "buy", 0.02, low, params={"newClientOrderId": "qb-lim-1"})
    assert order["status"] == "open"
    assert [o["id"] for o in client.fetch_open_orders(SYMBOL)] == [order["id"]]
    first_cross = later[later["price"] <= low].iloc[0]
    clock.ms = int(pd.Timestamp(first_cross["ts"]).value // 1_000_000) - 1
    assert client.fetch_order(order["id"], SYMBOL)["status"] == "open"
    clock.ms += 1
    filled = client.fetch_order(None, SYMBOL, params={"origClientOrderId": "qb-lim-1"})
    assert (filled["status"], filled["filled"], filled["average"]) == ("closed", 0.02, low)
    assert client.fetch_open_orders(SYMBOL) == []
    (trade,) = client.fetch_my_trades(SYMBOL)
    assert (trade["price"], trade["amount"], trade["takerOrMaker"]) == (low, 0.02, "maker")
    assert trade["fee"]["cost"] == pytest.approx(low * 0.02 * 0.0002, rel=1e-12)
    assert trade["timestamp"] == clock.ms


def test_cancel_order_when_resting_closes_it_and_a_second_cancel_raises_order_not_found(
    market: MarketData, client: Any
) -> None:
    price = round(last_price(market) * 0.5, 1)
    order = client.create_order(SYMBOL, "limit", "buy", 0.01, price, params={"newClientOrderId": "qb-cx-1"})
    canceled = client.cancel_order(order["id"], SYMBOL)
    assert canceled["status"] == "canceled"
    assert client.fetch_open_orders(SYMBOL) == []
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order(order["id"], SYMBOL)
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order(None, SYMBOL, params={"origClientOrderId": "never-sent"})


def test_duplicate_client_order_id_when_reused_is_rejected_as_invalid_order(market: MarketData, client: Any) -> None:
    client.create_order(SYMBOL, "market", "buy", 0.01, params={"newClientOrderId": "qb-dup"})
    with pytest.raises(ccxt.InvalidOrder, match="duplicated"):
        client.create_order(SYMBOL, "market", "buy", 0.01, params={"newClientOrderId": "qb-dup"})
    assert len(client.fetch_my_trades(SYMBOL)) == 1


def test_stop_market_when_the_market_crosses_it_fills_at_the_crossing_trade(
    market: MarketData, clock: MovingClock, client: Any
) -> None:
    later = trades_after(market, clock.ms).iloc[:12]
    stop = float(later["price"].max())
    assert stop > last_price(market)
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET", "quantity": "0.01", "stopPrice": str(stop)}
    client.fapiPrivatePostOrder({**params, "newClientOrderId": "qb-stop-1"})
    clock.ms = int(pd.Timestamp(later["ts"].iloc[-1]).value // 1_000_000)
    filled = client.fetch_order(None, SYMBOL, params={"origClientOrderId": "qb-stop-1"})
    crossing = later[later["price"] >= stop].iloc[0]
    assert (filled["status"], filled["average"]) == ("closed", float(crossing["price"]))


def test_lost_response_when_order_was_accepted_ccxt_raises_yet_the_order_is_found_by_client_id(
    exchange: LocalExchange, client: Any
) -> None:
    exchange.faults.add(FaultRule.lost_response("/fapi/v1/order", status=503))
    with pytest.raises(ccxt.ExchangeNotAvailable):
        client.create_order(SYMBOL, "market", "buy", 0.01, params={"newClientOrderId": "qb-lost-1"})
    found = client.fetch_order(None, SYMBOL, params={"origClientOrderId": "qb-lost-1"})
    assert found["status"] == "closed"
    records = exchange.requests.records("/fapi/v1/order")
    assert [(r.method, r.status, r.fault) for r in records] == [
        ("POST", 503, "lost_response"),
        ("GET", 200, None),
    ]


def test_lost_response_when_held_past_the_client_timeout_raises_request_timeout(exchange: LocalExchange) -> None:
    client = binanceusdm_client(exchange.url, rate_limit_ms=0, timeout_ms=300, api_key=API_KEY, secret=SECRET)
    client.load_markets()
    exchange.faults.add(
        rule_from_mapping({"kind": "lost_response", "path": "/fapi/v1/order", "seconds": 0.6, "times": 1})
    )
    with pytest.raises(ccxt.RequestTimeout):
        client.create_order(SYMBOL, "market", "sell", 0.01, params={"newClientOrderId": "qb-lost-2"})
    assert client.fetch_order(None, SYMBOL, params={"origClientOrderId": "qb-lost-2"})["status"] == "closed"
    client.close()


def test_accounts_when_keys_differ_keep_orders_and_client_ids_apart(exchange: LocalExchange, client: Any) -> None:
    other = binanceusdm_client(exchange.url, rate_limit_ms=0, api_key="another-key", secret="s")
    client.create_order(SYMBOL, "market", "buy", 0.01, params={"newClientOrderId": "same-id"})
    other.create_order(SYMBOL, "market", "sell", 0.01, params={"newClientOrderId": "same-id"})
    assert [t["side"] for t in other.fetch_my_trades(SYMBOL)] == ["sell"]
    other.close()


def _raw_get(url: str, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_signed_request_when_key_or_signature_missing_is_rejected_the_binance_way(exchange: LocalExchange) -> None:
    url = f"{exchange.url}/fapi/v3/account?timestamp=1"
    assert _raw_get(url + "&signature=abc", {})[1]["code"] == -2015
    status, body = _raw_get(url, {"X-MBX-APIKEY": API_KEY})
    assert (status, body["code"]) == (400, -1102)
    assert "signature" in body["msg"]
    assert _raw_get(url + "&signature=abc", {"X-MBX-APIKEY": API_KEY})[0] == 200


def test_request_log_when_signed_requests_were_made_holds_neither_signature_nor_key_nor_secret(
    exchange: LocalExchange, client: Any
) -> None:
    client.create_order(SYMBOL, "market", "buy", 0.01, params={"newClientOrderId": "qb-log-1"})
    client.fetch_order(None, SYMBOL, params={"origClientOrderId": "qb-log-1"})
    client.fetch_balance()
    records = exchange.requests.records()
    assert any(r.path == "/fapi/v1/order" and r.method == "GET" for r in records)
    dumped = repr([r.to_mapping() for r in records])
    assert "signature" not in dumped
    assert API_KEY not in dumped and SECRET not in dumped
    assert all("timestamp" in r.query for r in records if r.path == "/fapi/v3/account")
