"""The local exchange's websocket streams against the real ccxt.pro ``binanceusdm`` client (and a
raw aiohttp websocket where ccxt hides the wire). Servers run on loopback; nothing is mocked.

The exchange clock is moved by the test (``MovingClock``); the server's publisher sends the
trades that became visible, so a test decides exactly which trades are "live"."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Coroutine, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import aiohttp
import ccxt
import pandas as pd
import pytest

from quantbridge.datasets.exchange import (
    FaultRuleError,
    LocalExchange,
    MarketData,
    StreamAction,
    StreamFaultRule,
    binanceusdm_pro_client,
)
from quantbridge.datasets.exchange.market import SymbolSeries
from quantbridge.datasets.exchange.stream_faults import stream_rule_from_mapping

from ..local_exchange_fixtures import MovingClock, random_walk_bars

SYMBOL = "BTC/USDT:USDT"
T = TypeVar("T")


def make_bars(n: int) -> pd.DataFrame:
    """Deterministic 1-minute bars on a 0.1 price grid (four synthesised trades each)."""
    return random_walk_bars(n, seed=11, start=1000.0, step_sd=2.0)


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(0)


@pytest.fixture
def exchange(clock: MovingClock) -> Iterator[LocalExchange]:
    market = MarketData.from_bars(make_bars(60), clock=clock)
    clock.ms = int(market.symbols[0].trade_ms[9])  # ten trades are history when the test starts
    with LocalExchange(market) as running:
        yield running


def series_of(exchange: LocalExchange) -> SymbolSeries:
    return exchange.market.symbols[0]


def run(work: Coroutine[Any, Any, T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(work, 20)

    return asyncio.run(bounded())


async def subscribed(exchange: LocalExchange, stream: str, count: int = 1) -> None:
    """Wait until ``count`` open connections are subscribed to ``stream``."""
    for _ in range(500):
        if sum(stream in info.streams for info in exchange.streams.connections()) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no connection subscribed to {stream}: {exchange.streams.connections()}")


async def advance(clock: MovingClock, series: SymbolSeries, start: int, stop: int, pause: float = 0.002) -> None:
    """Move the exchange clock trade by trade through trades ``[start, stop)``."""
    for position in range(start, stop):
        clock.ms = int(series.trade_ms[position])
        await asyncio.sleep(pause)


def served(series: SymbolSeries, start: int, stop: int) -> list[tuple[str, float, float, str, int]]:
    rows = series.trades.iloc[start:stop]
    return list(
        zip(
            [str(i) for i in series.trade_ids[start:stop]],
            rows["price"].tolist(),
            rows["amount"].tolist(),
            rows["side"].tolist(),
            [int(t) for t in series.trade_ms[start:stop]],
            strict=True,
        )
    )


def unified(trades: list[dict[str, Any]]) -> list[tuple[str, float, float, str, int]]:
    return [(t["id"], t["price"], t["amount"], t["side"], t["timestamp"]) for t in trades]


async def collect_trades(client: Any, name: str, last_id: int) -> list[dict[str, Any]]:
    trades: list[dict[str, Any]] = []
    while not trades or trades[-1]["id"] != str(last_id):
        trades += await client.watch_trades(SYMBOL, params={"name": name})
    return trades


# --- ccxt.pro against the streams -------------------------------------------------------------


@pytest.mark.parametrize(("name", "path"), [("aggTrade", "/market/ws/"), ("trade", "/public/ws/")])
def test_watch_trades_when_clock_advances_delivers_each_new_trade_once_in_order(
    exchange: LocalExchange, clock: MovingClock, name: str, path: str
) -> None:
    series = series_of(exchange)

    async def scenario() -> list[dict[str, Any]]:
        client = binanceusdm_pro_client(exchange.url, rate_limit_ms=0)
        try:
            pending = asyncio.ensure_future(collect_trades(client, name, int(series.trade_ids[59])))
            await subscribed(exchange, f"btcusdt@{name}")
            await advance(clock, series, 10, 60)
            return await pending
        finally:
            await client.close()

    trades = run(scenario())
    assert unified(trades) == served(series, 10, 60)
    assert all(t["symbol"] == SYMBOL for t in trades)
    ws_paths = [r.path for r in exchange.requests.records() if "/ws/" in r.path]
    assert ws_paths and all(p.startswith(path) for p in ws_paths)


def test_watch_bids_asks_when_price_moves_reports_the_same_book_top_as_rest(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    series = series_of(exchange)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        client = binanceusdm_pro_client(exchange.url, rate_limit_ms=0)
        try:
            pending = asyncio.ensure_future(client.watch_bids_asks([SYMBOL]))
            await subscribed(exchange, "btcusdt@bookTicker")
            clock.ms = int(series.trade_ms[12])
            streamed = (await pending)[SYMBOL]
            rest = (await client.fetch_bids_asks([SYMBOL]))[SYMBOL]
            return streamed, rest
        finally:
            await client.close()

    streamed, rest = run(scenario())
    price = Decimal(str(series.trades["price"].iloc[12]))
    assert Decimal(str(streamed["bid"])) == price.quantize(Decimal("0.1"))
    assert Decimal(str(streamed["ask"])) - Decimal(str(streamed["bid"])) == Decimal("0.1")
    fields = ("bid", "ask", "bidVolume", "askVolume")
    assert [streamed[f] for f in fields] == [rest[f] for f in fields]
    assert streamed["timestamp"] == clock.ms


@pytest.mark.parametrize(("name", "event"), [("miniTicker", "24hrMiniTicker"), ("ticker", "24hrTicker")])
def test_watch_ticker_when_trades_published_reports_the_same_24h_statistics_as_rest(
    exchange: LocalExchange, clock: MovingClock, name: str, event: str
) -> None:
    series = series_of(exchange)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        client = binanceusdm_pro_client(exchange.url, rate_limit_ms=0)
        try:
            pending = asyncio.ensure_future(client.watch_ticker(SYMBOL, params={"name": name}))
            await subscribed(exchange, f"btcusdt@{name}")
            clock.ms = int(series.trade_ms[30])
            return await pending, await client.fetch_ticker(SYMBOL)
        finally:
            await client.close()

    streamed, rest = run(scenario())
    assert streamed["info"]["e"] == event
    assert streamed["last"] == series.trades["price"].iloc[30]
    fields = ("last", "open", "high", "low", "baseVolume", "quoteVolume")
    assert [streamed[f] for f in fields] == [rest[f] for f in fields]


def test_pro_client_when_built_points_every_websocket_url_at_the_local_server(exchange: LocalExchange) -> None:
    client = binanceusdm_pro_client(exchange.url, keepalive_ms=250)

    def leaves(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [url for value in node.values() for url in leaves(value)]
        return [node] if isinstance(node, str) else []

    urls = leaves(client.urls["api"]["ws"])
    assert urls and all(u.startswith(f"ws://127.0.0.1:{exchange.port}/") for u in urls)
    assert client.urls["api"]["ws"]["linear"] == f"ws://127.0.0.1:{exchange.port}/ws"
    assert client.streaming["keepAlive"] == 250
    assert client.urls["api"]["fapiPublic"] == exchange.url + "/fapi/v1"
    asyncio.run(client.close())


# --- the wire, raw ----------------------------------------------------------------------------


async def next_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> Any:
    message = await ws.receive(timeout=timeout)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


def test_subscribe_when_sent_raw_answers_result_null_then_streams_binance_shaped_events(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    series = series_of(exchange)

    async def scenario() -> list[Any]:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{exchange.port}/ws") as ws:
            await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 7})
            answers = [await next_json(ws)]
            clock.ms = int(series.trade_ms[10])
            answers.append(await next_json(ws))
            await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 8})
            answers.append(await next_json(ws))
            await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@nothing"], "id": 9})
            answers.append(await next_json(ws))
            await ws.send_str("{not json")
            answers.append(await next_json(ws))
            return answers

    subscribed_answer, event, listing, bad_stream, bad_json = run(scenario())
    assert subscribed_answer == {"result": None, "id": 7}
    row = series.trades.iloc[10]
    trade_id = int(series.trade_ids[10])
    assert event == {
        "e": "aggTrade",
        "E": clock.ms,
        "s": "BTCUSDT",
        "a": trade_id,
        "p": str(row["price"]),
        "q": str(row["amount"]),
        "f": trade_id,
        "l": trade_id,
        "T": int(series.trade_ms[10]),
        "m": row["side"] == "sell",
    }
    assert listing == {"result": ["btcusdt@aggTrade"], "id": 8}
    assert (bad_stream["id"], bad_stream["error"]["code"]) == (9, 2)
    assert "btcusdt@nothing" in bad_stream["error"]["msg"]
    assert bad_json["error"]["code"] == 3


def test_combined_stream_when_opened_with_streams_wraps_events_and_orders_book_after_trades(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    series = series_of(exchange)
    url = f"ws://127.0.0.1:{exchange.port}/stream?streams=btcusdt@aggTrade/btcusdt@bookTicker"

    async def scenario() -> list[Any]:
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await subscribed(exchange, "btcusdt@bookTicker")
            clock.ms = int(series.trade_ms[12])  # trades 10, 11 and 12 in one publisher step
            return [await next_json(ws) for _ in range(4)]

    messages = run(scenario())
    assert [m["stream"] for m in messages] == ["btcusdt@aggTrade"] * 3 + ["btcusdt@bookTicker"]
    assert [m["data"]["a"] for m in messages[:3]] == [int(i) for i in series.trade_ids[10:13]]
    assert messages[3]["data"]["e"] == "bookTicker" and messages[3]["data"]["u"] == 13


def test_stream_path_when_it_names_a_stream_subscribes_without_a_request(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    series = series_of(exchange)

    async def scenario() -> Any:
        url = f"ws://127.0.0.1:{exchange.port}/public/ws/btcusdt@trade"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await subscribed(exchange, "btcusdt@trade")
            clock.ms = int(series.trade_ms[10])
            return await next_json(ws)

    event = run(scenario())
    assert (event["e"], event["t"], event["X"]) == ("trade", int(series.trade_ids[10]), "MARKET")


def test_all_market_streams_when_subscribed_send_book_tickers_and_ticker_arrays(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    series = series_of(exchange)

    async def scenario() -> list[Any]:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{exchange.port}/ws") as ws:
            await ws.send_json({"method": "SUBSCRIBE", "params": ["!bookTicker", "!miniTicker@arr"], "id": 1})
            await next_json(ws)
            clock.ms = int(series.trade_ms[10])
            return [await next_json(ws), await next_json(ws)]

    book, tickers = run(scenario())
    assert (book["e"], book["s"], book["u"]) == ("bookTicker", "BTCUSDT", 11)
    assert [(t["e"], t["s"], t["c"]) for t in tickers] == [
        ("24hrMiniTicker", "BTCUSDT", str(series.trades["price"].iloc[10]))
    ]


def test_publisher_when_clock_goes_back_does_not_publish_a_trade_twice(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    series = series_of(exchange)

    async def scenario() -> list[int]:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{exchange.port}/ws") as ws:
            await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 1})
            await next_json(ws)
            for position in (12, 5, 11, 14):
                clock.ms = int(series.trade_ms[position])
                await asyncio.sleep(0.05)
            return [(await next_json(ws))["a"] for _ in range(4)]

    assert run(scenario()) == [int(i) for i in series.trade_ids[10:14]]


# --- faults -----------------------------------------------------------------------------------


async def count_until_closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, aiohttp.WSMessage]:
    """Stream events received, and the message that ended the connection."""
    events = 0
    while True:
        message = await ws.receive(timeout=5)
        if message.type is not aiohttp.WSMsgType.TEXT:
            return events, message
        events += "e" in json.loads(message.data)


@pytest.mark.parametrize(
    ("rule", "ending"),
    [
        (StreamFaultRule.drop(5, stream="*@aggTrade"), aiohttp.WSMsgType.CLOSE),
        (StreamFaultRule.abort(5, stream="*@aggTrade"), aiohttp.WSMsgType.CLOSED),
    ],
)
def test_drop_fault_when_after_n_messages_ends_the_connection_then_spares_the_next(
    exchange: LocalExchange, clock: MovingClock, rule: StreamFaultRule, ending: aiohttp.WSMsgType
) -> None:
    series = series_of(exchange)
    exchange.streams.faults.add(rule)
    url = f"ws://127.0.0.1:{exchange.port}/ws/btcusdt@aggTrade"

    async def scenario() -> tuple[int, aiohttp.WSMessage, int | None, bool]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url) as ws:
                await subscribed(exchange, "btcusdt@aggTrade")
                driver = asyncio.create_task(advance(clock, series, 10, 30))
                events, message = await count_until_closed(ws)
                code = ws.close_code
            await driver
            async with session.ws_connect(url) as second:
                await subscribed(exchange, "btcusdt@aggTrade")
                await advance(clock, series, 30, 41)
                ids = [(await next_json(second))["a"]]
                while ids[-1] != int(series.trade_ids[40]):
                    ids.append((await next_json(second))["a"])
            return events, message, code, ids[-11:] == [int(i) for i in series.trade_ids[30:41]]

    events, message, code, spared = run(scenario())
    assert events == 5
    assert message.type is ending
    assert code == (1001 if rule.action is StreamAction.DROP else 1006)
    assert spared
    assert exchange.streams.faults.rules == ()


def test_stall_when_commanded_withholds_events_and_pongs_until_resumed(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    series = series_of(exchange)
    url = f"ws://127.0.0.1:{exchange.port}/ws/btcusdt@aggTrade"

    async def scenario() -> tuple[list[str], list[int]]:
        seen: list[str] = []
        async with aiohttp.ClientSession() as session, session.ws_connect(url, autoping=False) as ws:
            await subscribed(exchange, "btcusdt@aggTrade")
            assert exchange.streams.stall() == 1
            clock.ms = int(series.trade_ms[12])
            await ws.ping(b"stalled?")
            with pytest.raises(TimeoutError):
                await ws.receive(timeout=0.3)
            seen.append("silent")
            assert exchange.streams.connections()[0].stalled
            exchange.streams.resume()
            await ws.ping(b"back?")
            ids: list[int] = []
            while len(ids) < 3 or len(seen) < 2:
                message = await ws.receive(timeout=5)
                if message.type is aiohttp.WSMsgType.PONG:
                    seen.append(message.data.decode())
                else:
                    ids.append(json.loads(message.data)["a"])
            return seen, ids

    seen, ids = run(scenario())
    assert seen == ["silent", "back?"]
    assert ids == [int(i) for i in series.trade_ids[10:13]]


def test_drop_command_when_ccxt_watches_makes_it_raise_network_error(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    async def scenario() -> int:
        client = binanceusdm_pro_client(exchange.url, rate_limit_ms=0)
        try:
            pending = asyncio.ensure_future(client.watch_trades(SYMBOL, params={"name": "aggTrade"}))
            await subscribed(exchange, "btcusdt@aggTrade")
            dropped = await asyncio.to_thread(exchange.streams.drop)
            with pytest.raises(ccxt.NetworkError, match="closing code 1001"):
                await pending
            return dropped
        finally:
            await client.close()

    assert run(scenario()) == 1
    assert exchange.streams.connections() == []


def post_json(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_admin_ws_endpoints_when_posted_over_http_set_rules_list_and_drop_connections(
    exchange: LocalExchange,
) -> None:
    admin = f"{exchange.url}/_admin/ws"
    status, rules = post_json(f"{admin}/faults", {"rules": [{"action": "stall", "after": 3, "seconds": 0.5}]})
    assert status == 200
    assert rules == {"rules": [{"action": "stall", "after": 3, "stream": "*", "times": 1, "seconds": 0.5}]}
    status, error = post_json(f"{admin}/faults", {"rules": [{"action": "drop", "after": "3"}]})
    assert status == 400 and "after" in error["error"]

    async def scenario() -> tuple[Any, Any]:
        url = f"ws://127.0.0.1:{exchange.port}/ws/btcusdt@bookTicker"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await subscribed(exchange, "btcusdt@bookTicker")
            async with session.get(f"{admin}/connections") as response:
                listing = await response.json()
            async with session.post(f"{admin}/drop", json={"abrupt": False}) as response:
                dropped = await response.json()
            assert (await ws.receive(timeout=5)).type is aiohttp.WSMsgType.CLOSE
            return listing, dropped

    listing, dropped = run(scenario())
    [connection] = listing["connections"]
    assert connection["streams"] == ["btcusdt@bookTicker"] and connection["fault"] == "stall"
    assert dropped == {"dropped": 1}


def test_stream_rule_from_mapping_when_a_field_is_wrong_names_it() -> None:
    assert stream_rule_from_mapping({"action": "drop", "after": 2, "times": None}) == StreamFaultRule.drop(
        2, times=None
    )
    with pytest.raises(FaultRuleError, match="action 'explode'"):
        stream_rule_from_mapping({"action": "explode"})
    with pytest.raises(FaultRuleError, match="seconds is only for stall"):
        StreamFaultRule(StreamAction.DROP, 1, seconds=2.0)
    with pytest.raises(FaultRuleError, match="unknown field"):
        stream_rule_from_mapping({"action": "drop", "path": "/ws"})


def test_stop_when_clients_are_connected_closes_them_going_away(clock: MovingClock) -> None:
    market = MarketData.from_bars(make_bars(10), clock=clock)
    exchange = LocalExchange(market).start()

    async def scenario() -> aiohttp.WSMessage:
        url = f"ws://127.0.0.1:{exchange.port}/ws/btcusdt@aggTrade"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await subscribed(exchange, "btcusdt@aggTrade")
            await asyncio.to_thread(exchange.stop)
            return await ws.receive(timeout=5)

    message = run(scenario())
    assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, 1001)
    assert exchange.streams.connections() == []
