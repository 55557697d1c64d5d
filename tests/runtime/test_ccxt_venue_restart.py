"""CcxtVenue across restarts: the snapshot the reconciler reads, orders adopted from a
previous run, fills already recorded, and what ``close()`` leaves behind."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

from quantbridge.datasets.exchange import FaultRule
from quantbridge.runtime.clock import SimulatedClock
from quantbridge.runtime.components.notifications import NotificationCenter
from quantbridge.runtime.domain.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from quantbridge.runtime.domain.orders import Order, OrderStatus, OrderType, Side
from quantbridge.runtime.venue import CcxtVenue, VenueSnapshot

from .test_ccxt_venue import (
    API_KEY,
    MARKET,
    ORDER_PATH,
    START,
    SYMBOL,
    TAKER,
    World,
    ccxt_client,
    live,
    order,
    run,
    settle_polls,
    until,
    world,
)


def _accepted(sent: Order, venue_order_id: str) -> Order:
    """``sent`` as the runtime stored it once the exchange accepted it."""
    return replace(sent.transition(OrderStatus.ACCEPTED, START), venue_order_id=venue_order_id)


def _far_below(w: World) -> str:
    return str((w.last_price() * Decimal("0.5")).quantize(Decimal("0.1")))


def test_snapshot_reads_our_orders_all_fills_open_orders_positions_and_balances() -> None:
    with world() as w:
        bought = order(Side.BUY, qty="0.01", bar=0)
        resting = order(Side.BUY, kind=OrderType.LIMIT, qty="0.01", price=_far_below(w), bar=1)
        stop_price = str((w.last_price() * Decimal("1.5")).quantize(Decimal("0.1")))
        stop = order(Side.BUY, kind=OrderType.STOP, qty="0.01", stop=stop_price, bar=2)
        price = w.last_price()

        async def scenario() -> VenueSnapshot:
            client = ccxt_client(w)
            await client.create_order(SYMBOL, "market", "buy", "0.01", None, {"clientOrderId": bought.client_order_id})
            limit = float(_far_below(w))
            await client.create_order(SYMBOL, "limit", "buy", "0.01", limit, {"clientOrderId": resting.client_order_id})
            await client.create_order(SYMBOL, "limit", "buy", "0.02", limit, {"clientOrderId": "manual-open"})
            await client.create_order(SYMBOL, "market", "sell", "0.004", None, {"clientOrderId": "manual-sell"})
            trigger = {"clientOrderId": stop.client_order_id, "triggerPrice": stop_price}
            await client.create_order(SYMBOL, "market", "buy", "0.01", None, trigger)
            await client.close()
            venue_client = ccxt_client(w)
            venue = CcxtVenue(venue_client, {SYMBOL: MARKET}, w.clock, NotificationCenter(), w.position_of)
            asked = [bought.client_order_id, resting.client_order_id, stop.client_order_id, "qb-never-sent"]
            snapshot = await venue.snapshot([SYMBOL], asked, since=START)
            await venue_client.close()
            return snapshot

        snap = asyncio.run(scenario())
        done, waiting = snap.orders[bought.client_order_id], snap.orders[resting.client_order_id]
        assert (done.found, done.status, done.filled, done.avg_price) == (True, "closed", Decimal("0.01"), price)
        assert (done.venue_order_id, done.amount) == ("1", Decimal("0.01"))
        assert (waiting.found, waiting.status, waiting.filled) == (True, "open", Decimal(0))
        assert snap.orders["qb-never-sent"].found is False
        waiting_stop = snap.orders[stop.client_order_id]
        assert (waiting_stop.found, waiting_stop.status, waiting_stop.amount) == (True, "open", Decimal("0.01"))
        assert [(f.client_order_id, f.side, f.qty, f.leaves_qty) for f in snap.fills] == [
            (bought.client_order_id, Side.BUY, Decimal("0.01"), Decimal(0)),
            ("manual-sell", Side.SELL, Decimal("0.004"), Decimal(0)),
        ]
        assert snap.fills[0].commission == price * Decimal("0.01") * TAKER
        listed = [resting.client_order_id, "manual-open", stop.client_order_id]
        assert sorted(o.client_id for o in snap.open_orders) == sorted(listed)
        assert [o.client_id for o in snap.unknown_open_orders()] == ["manual-open"]
        position = snap.positions[SYMBOL]
        assert (position.qty, position.entry_price) == (Decimal("0.006"), price)
        assert snap.position_qty(SYMBOL) == Decimal("0.006")
        wallet = w.exchange.venue.account(API_KEY).balances["USDT"]
        assert snap.balances["USDT"].total == wallet


def test_adopted_order_after_a_restart_reports_its_later_fill_once_and_known_fills_are_not_repeated() -> None:
    with world() as w:
        first = order(Side.BUY, qty="0.01", bar=0)
        ahead = w.trades_ahead(12)
        low = Decimal(str(ahead["price"].min()))
        resting = order(Side.BUY, kind=OrderType.LIMIT, qty="0.02", price=str(low), bar=1)

        async def before_the_restart() -> None:
            async with live(w) as venue:
                venue.submit([first, resting])
                await until(lambda: len(w.of(OrderFilled)) == 1 and len(w.of(OrderAccepted)) == 2)

        run(before_the_restart)
        recorded = w.of(OrderFilled)[0].fill.fill_id
        venue_id = w.of(OrderAccepted)[1].venue_order_id
        w.events.clear()
        w.clock = SimulatedClock(START)

        async def after_the_restart() -> None:
            async with live(w, known_fills=(recorded,), adopt=(_accepted(resting, venue_id),)) as venue:
                assert venue.following() == (resting.client_order_id,)
                await settle_polls(venue, w)
                assert w.events == [] and venue.unknown_fills == ()
                w.move_to(ahead[ahead["price"] <= float(low)]["ts"].iloc[0])
                await until(lambda: bool(w.of(OrderFilled)))
                await settle_polls(venue, w)

        run(after_the_restart)
        assert [type(e) for e in w.events] == [OrderFilled]  # not accepted a second time
        fill = w.of(OrderFilled)[0].fill
        assert (fill.client_order_id, fill.qty, fill.price, fill.leaves_qty) == (
            resting.client_order_id,
            Decimal("0.02"),
            low,
            Decimal(0),
        )
        assert [n.kind for n in w.notes.received if n.kind == "unknown_fill"] == []


def test_adopted_order_whose_send_outcome_was_unknown_is_accepted_if_found_and_rejected_if_not() -> None:
    with world() as w:
        arrived = order(Side.BUY, qty="0.01", bar=0)
        lost = order(Side.BUY, qty="0.01", bar=1)

        async def scenario() -> None:
            crashed = ccxt_client(w)  # the previous run sent it, then died before the answer was stored
            await crashed.create_order(
                SYMBOL, "market", "buy", "0.01", None, {"clientOrderId": arrived.client_order_id}
            )
            await crashed.close()
            async with live(w, adopt=(arrived, lost)) as venue:
                await until(lambda: bool(w.of(OrderFilled)) and bool(w.of(OrderRejected)))
                assert venue.following() == ()

        run(scenario)
        (accepted,) = w.of(OrderAccepted)
        assert accepted.client_order_id == arrived.client_order_id
        assert w.of(OrderFilled)[0].fill.client_order_id == arrived.client_order_id
        (rejected,) = w.of(OrderRejected)
        assert (rejected.client_order_id, rejected.reason) == (
            lost.client_order_id,
            "not found at the exchange after a restart",
        )
        assert len(w.posts()) == 1  # the venue never resends an adopted order


def test_close_leaves_the_send_in_flight_for_reconciliation_and_rejects_sends_never_started() -> None:
    with world() as w:
        w.exchange.faults.add(FaultRule.delay(ORDER_PATH, seconds=1.0, times=1))
        in_flight, queued = order(Side.BUY, bar=0), order(Side.BUY, bar=1)

        async def scenario() -> None:
            async with live(w, drain=0.2) as venue:
                venue.submit([in_flight, queued])
                await until(lambda: bool(w.exchange.requests.records(ORDER_PATH)))
            venue.submit([order(Side.SELL, bar=2)])  # after close: rejected at once

        run(scenario)
        rejected = w.of(OrderRejected)
        assert [(e.client_order_id, e.reason) for e in rejected[:1]] == [
            (queued.client_order_id, "the venue closed before sending it")
        ]
        assert rejected[1].reason == "the venue is closed"
        assert in_flight.client_order_id not in {e.client_order_id for e in w.events if hasattr(e, "client_order_id")}
        assert w.of(OrderCancelled) == []


def test_adopted_stop_order_waiting_at_the_exchange_reports_its_fill_once_it_triggers() -> None:
    with world() as w:
        ahead = w.trades_ahead(12)
        high = Decimal(str(ahead["price"].max()))
        stop = order(Side.BUY, kind=OrderType.STOP, qty="0.01", stop=str(high))

        async def before_the_restart() -> None:
            async with live(w) as venue:
                venue.submit([stop])
                await until(lambda: bool(w.of(OrderAccepted)))

        run(before_the_restart)
        algo_id = w.of(OrderAccepted)[0].venue_order_id
        w.events.clear()

        async def after_the_restart() -> None:
            async with live(w, adopt=(_accepted(stop, algo_id),)) as venue:
                await settle_polls(venue, w)
                w.move_to(ahead["ts"].iloc[-1])
                await until(lambda: bool(w.of(OrderFilled)))
                await settle_polls(venue, w)
                assert venue.following() == ()

        run(after_the_restart)
        assert [type(e) for e in w.events] == [OrderFilled]
        fill = w.of(OrderFilled)[0].fill
        assert (fill.client_order_id, fill.qty, fill.leaves_qty) == (stop.client_order_id, Decimal("0.01"), Decimal(0))
        assert len(w.posts("/fapi/v1/algoOrder")) == 1
