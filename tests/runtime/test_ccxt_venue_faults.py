"""CcxtVenue when the exchange misbehaves: refusals, rate limits, lost and late answers,
timeouts, an exchange that cannot be reached — never an order lost, never one sent twice,
and never a credential in what the venue says."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest

from quantbridge.datasets.exchange import FaultKind, FaultRule
from quantbridge.runtime.components.notifications import Level
from quantbridge.runtime.domain.events import OrderAccepted, OrderFilled, OrderRejected
from quantbridge.runtime.domain.orders import OrderType, Side
from quantbridge.runtime.marketdata.ccxt_rest import Backoff
from quantbridge.runtime.venue import Redactor, RetryPolicy

from .test_ccxt_venue import (
    API_KEY,
    ORDER_PATH,
    SECRET,
    SYMBOL,
    ccxt_client,
    live,
    order,
    run,
    settle_polls,
    until,
    world,
)


def _failing_posts(status: int = 503) -> FaultRule:
    """Every order placement answered ``status`` without being handled (lookups still work)."""
    return FaultRule(FaultKind.HTTP_ERROR, ORDER_PATH, status=status, method="POST")


def test_insufficient_margin_when_sent_is_rejected_with_the_exchange_reason_and_notified() -> None:
    with world() as w:
        huge = order(Side.BUY, qty="100")

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([huge])
                await until(lambda: bool(w.of(OrderRejected)))

        run(scenario)
        (rejected,) = w.of(OrderRejected)
        assert "Margin is insufficient" in rejected.reason
        assert len(w.posts()) == 1
        assert w.notes.received == []  # the OrderExecutor notifies the rejection it applies
        assert w.exchange_fills() == []


def test_rate_limit_on_send_waits_the_retry_after_then_places_exactly_one_order() -> None:
    waits: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    with world() as w:
        w.exchange.faults.add(FaultRule.rate_limit(ORDER_PATH, retry_after=0.2))
        buy = order(Side.BUY)

        async def scenario() -> None:
            async with live(w, sleep=recording_sleep) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderFilled)))

        run(scenario)
        assert [(p.status, p.fault) for p in w.posts()] == [(429, "rate_limit"), (200, None)]
        assert [r.method for r in w.exchange.requests.records(ORDER_PATH)] == ["POST", "POST"]  # no lookup needed
        assert 0.2 in waits
        assert len(w.exchange_fills()) == 1
        assert [type(e) for e in w.events] == [OrderAccepted, OrderFilled]


@pytest.mark.parametrize(
    ("rule", "timeout_ms", "fault"),
    [
        (FaultRule.lost_response(ORDER_PATH, status=503), 3_000, "lost_response"),
        (FaultRule.lost_response(ORDER_PATH, status=503, seconds=0.6), 300, "lost_response"),
        (FaultRule.accept_then_delay(ORDER_PATH, seconds=0.6), 300, "accept_then_delay"),
        (FaultRule.accept_then_drop(ORDER_PATH), 3_000, "accept_then_drop"),
    ],
    ids=["lost-503", "lost-timeout", "accept-then-delay", "accept-then-drop"],
)
def test_answer_lost_after_the_exchange_accepted_is_resolved_by_lookup_one_order_one_fill(
    rule: FaultRule, timeout_ms: int, fault: str
) -> None:
    with world() as w:
        w.exchange.faults.add(rule)
        buy = order(Side.BUY)

        async def scenario() -> None:
            async with live(w, timeout_ms=timeout_ms) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderFilled)))
                await settle_polls(venue, w)

        run(scenario)
        post, lookup = w.exchange.requests.records(ORDER_PATH)[:2]
        assert (post.method, post.fault, lookup.method, lookup.status) == ("POST", fault, "GET", 200)
        assert lookup.query["origClientOrderId"] == buy.client_order_id
        assert len(w.posts()) == 1
        assert len(w.exchange_fills()) == 1
        assert [type(e) for e in w.events] == [OrderAccepted, OrderFilled]
        assert w.of(OrderFilled)[0].fill.qty == Decimal("0.01")


def test_timeout_before_the_exchange_handled_the_send_resends_with_the_same_client_id() -> None:
    with world() as w:
        w.exchange.faults.add(FaultRule.timeout(ORDER_PATH, seconds=0.6))
        buy = order(Side.BUY)

        async def scenario() -> None:
            async with live(w, timeout_ms=300) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderFilled)))

        run(scenario)
        records = w.exchange.requests.records(ORDER_PATH)
        assert [(r.method, r.fault) for r in records[:3]] == [("POST", "timeout"), ("GET", None), ("POST", None)]
        assert records[1].status == 400  # -2013: the order does not exist
        assert [p.form["newClientOrderId"] for p in w.posts()] == [buy.client_order_id] * 2
        assert len(w.exchange_fills()) == 1
        assert [type(e) for e in w.events] == [OrderAccepted, OrderFilled]


def test_exchange_unreachable_rejects_after_n_attempts_only_once_a_lookup_proves_the_order_absent() -> None:
    with world() as w:
        w.exchange.faults.add(_failing_posts())
        buy = order(Side.BUY)

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderRejected)))

        run(scenario)
        (rejected,) = w.of(OrderRejected)
        assert rejected.reason.startswith("venue unreachable after 3 attempts")
        assert len(w.posts()) == 3
        lookups = [r for r in w.exchange.requests.records(ORDER_PATH) if r.method == "GET"]
        assert lookups and all(r.status == 400 for r in lookups)  # each one: "order does not exist"
        assert w.exchange_fills() == []


def test_outcome_unknown_after_n_attempts_keeps_the_order_pending_then_resolves_it_when_the_exchange_answers() -> None:
    with world() as w:
        w.exchange.faults.add(
            FaultRule.lost_response(ORDER_PATH, status=503),
            FaultRule(FaultKind.HTTP_ERROR, ORDER_PATH, status=503),  # every later request, lookups too
        )
        buy = order(Side.BUY)

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([buy])
                await until(lambda: venue.unresolved == (buy.client_order_id,))
                await settle_polls(venue, w)
                assert w.events == []  # never rejected while it may be at the exchange
                w.exchange.faults.clear()
                await until(lambda: bool(w.of(OrderFilled)))
                assert venue.unresolved == ()

        run(scenario)
        assert len(w.posts()) == 1
        assert len(w.exchange_fills()) == 1
        assert [type(e) for e in w.events] == [OrderAccepted, OrderFilled]
        unresolved = [n for n in w.notes.received if n.kind == "order_unresolved"]
        assert [n.level for n in unresolved] == [Level.ERROR]


def test_duplicate_client_id_at_the_exchange_is_looked_up_and_adopted_not_sent_again() -> None:
    with world() as w:
        buy = order(Side.BUY)

        async def scenario() -> None:
            earlier = ccxt_client(w)  # the same decision, sent by a run that crashed before it recorded it
            await earlier.create_order(SYMBOL, "market", "buy", "0.01", None, {"clientOrderId": buy.client_order_id})
            await earlier.close()
            async with live(w) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderFilled)))

        run(scenario)
        assert [p.status for p in w.posts()] == [200, 400]
        assert len(w.exchange_fills()) == 1
        assert [type(e) for e in w.events] == [OrderAccepted, OrderFilled]
        assert w.of(OrderFilled)[0].fill.client_order_id == buy.client_order_id


def test_secrets_in_exchange_error_texts_never_reach_reasons_notifications_or_log_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="quantbridge")
    leaky = f"request by {API_KEY} signed with {SECRET}"
    with world() as w:
        w.exchange.faults.add(
            FaultRule.reject(ORDER_PATH, code=-1003, message=leaky),  # ccxt: RateLimitExceeded, retried
            FaultRule.reject(ORDER_PATH, code=-2010, message=leaky),  # ccxt: InvalidOrder, refused
        )
        buy = order(Side.BUY)

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderRejected)))

        run(scenario)
    (rejected,) = w.of(OrderRejected)
    assert "request by *** signed with ***" in rejected.reason
    said = [rejected.reason] + [n.message + repr(n.fields) for n in w.notes.received]
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("quantbridge")]
    assert any("request by ***" in line for line in logged)  # the retried failure was logged, redacted
    for text in said + logged:
        assert API_KEY not in text and SECRET not in text


def test_trade_of_an_order_that_is_not_ours_is_notified_and_kept_for_the_reconciler() -> None:
    with world() as w:
        price = (w.last_price() * Decimal("0.5")).quantize(Decimal("0.1"))
        resting = order(Side.BUY, kind=OrderType.LIMIT, price=str(price))

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([resting])
                await until(lambda: bool(w.of(OrderAccepted)))
                manual = ccxt_client(w)  # someone trades the same account by hand
                await manual.create_order(SYMBOL, "market", "sell", "0.004", None, {"clientOrderId": "manual-1"})
                await manual.close()
                await until(lambda: bool(venue.unknown_fills))
                await settle_polls(venue, w)
                (fill,) = venue.unknown_fills
                assert (fill.client_order_id, fill.side, fill.qty) == ("", Side.SELL, Decimal("0.004"))

        run(scenario)
        assert [type(e) for e in w.events] == [OrderAccepted]  # not reported as one of ours
        notes = [n for n in w.notes.received if n.kind == "unknown_fill"]
        assert [n.level for n in notes] == [Level.WARNING]


def test_uncertain_send_waits_the_settle_time_before_trusting_not_found_then_resends_once() -> None:
    waits: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    with world() as w:
        w.exchange.faults.add(FaultRule.timeout(ORDER_PATH, seconds=0.6))
        buy = order(Side.BUY)
        patient = RetryPolicy(attempts=3, backoff=Backoff(base=0.01, cap=0.05), settle=0.25)

        async def scenario() -> None:
            async with live(w, timeout_ms=300, retry=patient, sleep=recording_sleep) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderFilled)))

        run(scenario)
        records = w.exchange.requests.records(ORDER_PATH)
        assert [(r.method, r.status) for r in records[1:4]] == [("GET", 400), ("GET", 400), ("POST", 200)]
        assert 0.25 in waits  # the runtime clock stands still: the whole settle time is waited
        assert len(w.exchange_fills()) == 1


def test_polls_failing_repeatedly_notify_once_and_recover_without_losing_the_fill() -> None:
    with world() as w:
        ahead = w.trades_ahead(12)
        low = Decimal(str(ahead["price"].min()))
        buy = order(Side.BUY, kind=OrderType.LIMIT, qty="0.01", price=str(low))

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderAccepted)))
                w.exchange.faults.add(FaultRule(FaultKind.HTTP_ERROR, "/fapi/v1/userTrades", status=502))
                w.move_to(ahead[ahead["price"] <= float(low)]["ts"].iloc[0])
                await settle_polls(venue, w, polls=5)
                assert w.of(OrderFilled) == []
                w.exchange.faults.clear()
                await until(lambda: bool(w.of(OrderFilled)))

        run(scenario)
        assert [n.kind for n in w.notes.received] == ["venue_poll_failed"]
        assert [type(e) for e in w.events] == [OrderAccepted, OrderFilled]


def test_redactor_masks_every_secret_given_and_request_signatures() -> None:
    redact = Redactor.for_exchange(ccxt_like(apiKey="key-123", secret="sec-456"), extra=["passphrase-789"])
    text = "GET /x?a=1&signature=0a1b2c key-123 sec-456 passphrase-789 sec-456"
    assert redact(text) == "GET /x?a=1&signature=*** *** *** *** ***"
    assert redact.error(ValueError("bad key-123")) == "ValueError: bad ***"


def ccxt_like(**credentials: str) -> object:
    """Anything with ccxt's credential attributes."""
    return type("Exchange", (), credentials)()
