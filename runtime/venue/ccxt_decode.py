"""ccxt's unified structures (orders, trades, positions, balances) decoded into typed values.

This is the one place the ccxt venue reads ccxt dicts. Numbers become ``Decimal`` through
their shortest ``repr`` (the text the exchange sent, for the values exchanges send);
anything that is not the structure expected raises
:class:`~quantbridge.runtime.marketdata.ccxt_rest.MalformedResponseError` naming the field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import pandas as pd

from ..domain.orders import Side
from ..marketdata.ccxt_rest import MalformedResponseError

__all__ = [
    "ExchangeOrder",
    "ExchangeTrade",
    "VenueBalance",
    "VenuePosition",
    "commission",
    "decode_balances",
    "decode_order",
    "decode_position",
    "decode_trade",
]

_log = logging.getLogger(__name__)
_ZERO: Final = Decimal(0)
_MS: Final = 1_000_000
#: ccxt's unified order statuses after which an order no longer changes.
TERMINAL_STATUSES: Final = frozenset({"closed", "canceled", "expired", "rejected"})


@dataclass(frozen=True, slots=True)
class ExchangeOrder:
    """The exchange's view of one order. ``status`` is ccxt's unified status (``open``,
    ``closed``, ``canceled``, ``expired``, ``rejected``); ``actual_id`` is the order a
    triggered conditional (algo) order became, when the exchange names it."""

    venue_id: str
    client_id: str
    symbol: str
    status: str
    amount: Decimal | None
    filled: Decimal
    average: Decimal | None
    created: pd.Timestamp | None
    updated: pd.Timestamp | None
    actual_id: str = ""

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True)
class ExchangeTrade:
    """One execution of the account (``fetch_my_trades``): ``order_id`` is the exchange's
    order id (not the client id); ``fee`` is in ``fee_currency``."""

    trade_id: str
    order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    ts: pd.Timestamp

    @property
    def fill_id(self) -> str:
        """The fill id the venue reports: the trade id within its symbol (exchanges such
        as Binance number trades per symbol, so the bare id is not unique)."""
        return f"{self.symbol}#{self.trade_id}"

    @property
    def sort_key(self) -> tuple[int, int, str]:
        """Time, then trade id (numerically when it is a number)."""
        numeric = int(self.trade_id) if self.trade_id.isdigit() else 0
        return (self.ts.value, numeric, self.trade_id)


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """A position at the exchange: signed quantity (negative: short) and average entry price."""

    symbol: str
    qty: Decimal
    entry_price: Decimal


@dataclass(frozen=True, slots=True)
class VenueBalance:
    """One asset's balance: ``total`` = ``free`` + ``used`` (as the exchange reports them)."""

    asset: str
    free: Decimal
    used: Decimal
    total: Decimal


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise MalformedResponseError(f"{what} = {value!r}: expected a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise MalformedResponseError(f"{what} = {value!r}: expected a number") from None
    if not number.is_finite():
        raise MalformedResponseError(f"{what} = {value!r}: expected a finite number")
    return number


def _optional_decimal(value: Any, what: str) -> Decimal | None:
    return None if value is None else _decimal(value, what)


def _time(value: Any, what: str) -> pd.Timestamp | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedResponseError(f"{what} = {value!r}: expected epoch milliseconds")
    return pd.Timestamp(int(value) * _MS, tz="UTC")


def _mapping(raw: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise MalformedResponseError(f"{what}: expected a ccxt structure, got {type(raw).__name__}")
    return raw


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def decode_order(raw: Any) -> ExchangeOrder:
    """A ccxt order structure."""
    order = _mapping(raw, "order")
    venue_id = _text(order.get("id"))
    if not venue_id:
        raise MalformedResponseError(f"order {order.get('clientOrderId')!r}: no order id")
    info = order.get("info")
    actual = _text(info.get("actualOrderId")) if isinstance(info, Mapping) else ""
    return ExchangeOrder(
        venue_id=venue_id,
        client_id=_text(order.get("clientOrderId")),
        symbol=_text(order.get("symbol")),
        status=_text(order.get("status")),
        amount=_optional_decimal(order.get("amount"), f"order {venue_id} amount"),
        filled=_optional_decimal(order.get("filled"), f"order {venue_id} filled") or _ZERO,
        average=_optional_decimal(order.get("average"), f"order {venue_id} average"),
        created=_time(order.get("timestamp"), f"order {venue_id} timestamp"),
        updated=_time(order.get("lastUpdateTimestamp"), f"order {venue_id} lastUpdateTimestamp"),
        actual_id="" if actual in ("", "0") else actual,
    )


def decode_trade(raw: Any) -> ExchangeTrade:
    """A ccxt trade structure of the account (``fetch_my_trades``)."""
    trade = _mapping(raw, "trade")
    trade_id = _text(trade.get("id"))
    side = trade.get("side")
    if not trade_id or side not in ("buy", "sell"):
        raise MalformedResponseError(f"trade {trade_id!r}: expected an id and side 'buy' or 'sell', got {side!r}")
    fee = trade.get("fee")
    fee_cost, fee_currency = (fee.get("cost"), fee.get("currency")) if isinstance(fee, Mapping) else (None, None)
    ts = _time(trade.get("timestamp"), f"trade {trade_id} timestamp")
    if ts is None:
        raise MalformedResponseError(f"trade {trade_id}: no timestamp")
    return ExchangeTrade(
        trade_id=trade_id,
        order_id=_text(trade.get("order")),
        symbol=_text(trade.get("symbol")),
        side=Side(side),
        qty=_decimal(trade.get("amount"), f"trade {trade_id} amount"),
        price=_decimal(trade.get("price"), f"trade {trade_id} price"),
        fee=_optional_decimal(fee_cost, f"trade {trade_id} fee") or _ZERO,
        fee_currency=_text(fee_currency),
        ts=ts,
    )


def decode_position(raw: Any) -> VenuePosition | None:
    """A ccxt position structure (None when it holds nothing)."""
    position = _mapping(raw, "position")
    symbol = _text(position.get("symbol"))
    contracts = _optional_decimal(position.get("contracts"), f"{symbol} position contracts") or _ZERO
    size = _optional_decimal(position.get("contractSize"), f"{symbol} contract size") or Decimal(1)
    if contracts == 0:
        return None
    side = position.get("side")
    if side not in ("long", "short"):
        raise MalformedResponseError(f"{symbol} position side {side!r}: expected 'long' or 'short'")
    sign = 1 if side == "long" else -1
    entry = _optional_decimal(position.get("entryPrice"), f"{symbol} entry price") or _ZERO
    return VenuePosition(symbol=symbol, qty=sign * abs(contracts) * size, entry_price=entry)


def decode_balances(raw: Any) -> dict[str, VenueBalance]:
    """A ccxt balance structure: per asset with a non-zero total (or free/used)."""
    balance = _mapping(raw, "balance")
    totals = _mapping(balance.get("total") or {}, "balance total")
    free = _mapping(balance.get("free") or {}, "balance free")
    used = _mapping(balance.get("used") or {}, "balance used")
    out: dict[str, VenueBalance] = {}
    for asset in sorted(set(totals) | set(free) | set(used)):
        values = [_optional_decimal(part.get(asset), f"{asset} balance") or _ZERO for part in (free, used, totals)]
        if any(values):
            out[asset] = VenueBalance(asset, *values)
    return out


def commission(trade: ExchangeTrade, quote: str | None) -> Decimal:
    """The trade's fee as a commission in the quote currency ``quote``: the fee when it was
    charged in the quote (or in no named asset); 0, with a warning, when it was charged in
    another asset (a BNB discount…): the venue has no price to convert it."""
    if quote is None or trade.fee_currency in ("", quote):
        return trade.fee
    _log.warning(
        "trade %s: fee %s %s is not in the quote currency %s; recorded as 0 commission",
        trade.fill_id,
        trade.fee,
        trade.fee_currency,
        quote,
    )
    return _ZERO
