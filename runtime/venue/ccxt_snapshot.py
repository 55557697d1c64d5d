"""What a ccxt exchange holds for the account, read at once for reconciliation on start.

:func:`take_snapshot` asks, per symbol, for the open orders and the trades since a time,
looks up each client id the runtime has open or in doubt, and reads positions and
balances. Trades are returned as :class:`Fill` values with the client id of their order
when it can be told (from the orders looked up, the open orders, the venue's own book, or
by asking the exchange for the order behind the trade), else an empty client id.
A fill's ``leaves_qty`` is the order's amount minus what it had filled after that trade
(the exchange's filled quantity less the later trades), 0 when the order is unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import pandas as pd

from ..domain.fills import Fill
from .ccxt_decode import (
    ExchangeOrder,
    ExchangeTrade,
    VenueBalance,
    VenuePosition,
    commission,
    decode_balances,
    decode_position,
)
from .ccxt_fetch import my_trades, open_orders, order_by_client_id, order_by_id
from .ccxt_requests import Requester

__all__ = ["SnapshotRequest", "VenueOrder", "VenueSnapshot", "take_snapshot"]

_ZERO: Final = Decimal(0)
_MS: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """The exchange's view of one of our orders, by client id: ``found`` False when the
    exchange has no order with that client id (then the other fields are empty);
    ``status`` is ccxt's unified status (``open``, ``closed``, ``canceled``, ``expired``,
    ``rejected``); ``filled`` and ``avg_price`` what it has traded, of ``amount``."""

    client_order_id: str
    found: bool
    status: str = ""
    filled: Decimal = _ZERO
    avg_price: Decimal | None = None
    amount: Decimal | None = None
    venue_order_id: str = ""
    symbol: str = ""

    @classmethod
    def of(cls, client_order_id: str, view: ExchangeOrder | None) -> VenueOrder:
        if view is None:
            return cls(client_order_id, found=False)
        return cls(
            client_order_id,
            found=True,
            status=view.status,
            filled=view.filled,
            avg_price=view.average,
            amount=view.amount,
            venue_order_id=view.venue_id,
            symbol=view.symbol,
        )


@dataclass(frozen=True)
class VenueSnapshot:
    """The exchange's view of the account at ``taken`` (the clock's time when it was read).

    * ``orders`` — per client id asked about, the exchange's view (``found`` False when
      it has no order with that client id);
    * ``fills`` — the account's trades since the time asked, in time order;
    * ``open_orders`` — every open order at the exchange, ours or not;
    * ``positions`` — per symbol with a position: signed quantity and entry price;
    * ``balances`` — per asset.
    """

    taken: pd.Timestamp
    orders: Mapping[str, VenueOrder]
    fills: tuple[Fill, ...]
    open_orders: tuple[ExchangeOrder, ...]
    positions: Mapping[str, VenuePosition]
    balances: Mapping[str, VenueBalance]

    def unknown_open_orders(self) -> tuple[ExchangeOrder, ...]:
        """Open orders at the exchange whose client id was not asked about."""
        return tuple(order for order in self.open_orders if order.client_id not in self.orders)

    def position_qty(self, symbol: str) -> Decimal:
        """The signed position in ``symbol`` at the exchange (0 when flat)."""
        position = self.positions.get(symbol)
        return _ZERO if position is None else position.qty


@dataclass(frozen=True)
class SnapshotRequest:
    """What to read: ``symbols``, the ``client_ids`` to look up, trades from ``since``."""

    symbols: Sequence[str]
    client_ids: Sequence[str]
    since: pd.Timestamp | None
    conditional: bool
    """Also read trigger (algo) orders."""
    quotes: Mapping[str, str]
    """The quote currency per symbol (commissions are in it)."""


async def take_snapshot(
    requests: Requester,
    request: SnapshotRequest,
    owner: Callable[[str], str | None],
    now: Callable[[], pd.Timestamp],
) -> VenueSnapshot:
    """Read the account (see the module docstring); ``owner`` maps an exchange order id to
    a client id the venue already knows. Failures are raised
    (:class:`~.ccxt_errors.RequestFailedError`)."""
    listed = await _open_orders(requests, request)
    found = await _lookups(requests, request, {o.client_id: o for o in listed if o.client_id})
    views = {o.venue_id: o for o in (*listed, *(v for v in found.values() if v is not None))}
    since_ms = None if request.since is None else request.since.value // _MS
    fills: list[Fill] = []
    for symbol in request.symbols:
        trades = await my_trades(requests, symbol, since_ms)
        await _learn_orders(requests, trades, views, owner)
        fills.extend(_fills(trades, views, owner, request.quotes.get(symbol), now()))
    positions = await _positions(requests, request.symbols)
    balances = decode_balances(await requests.read("balance", requests.exchange.fetch_balance))
    return VenueSnapshot(
        taken=now(),
        orders={client_id: VenueOrder.of(client_id, view) for client_id, view in found.items()},
        fills=tuple(sorted(fills, key=lambda f: (f.ts.value, f.fill_id))),
        open_orders=tuple(listed),
        positions=positions,
        balances=balances,
    )


async def _open_orders(requests: Requester, request: SnapshotRequest) -> list[ExchangeOrder]:
    listed: list[ExchangeOrder] = []
    for symbol in request.symbols:
        listed.extend(await open_orders(requests, symbol))
        if request.conditional:
            listed.extend(await open_orders(requests, symbol, conditional=True))
    return listed


async def _lookups(
    requests: Requester, request: SnapshotRequest, open_by_client_id: Mapping[str, ExchangeOrder]
) -> dict[str, ExchangeOrder | None]:
    """Each client id's order: an open one, else looked up per symbol — among plain orders
    first (a triggered conditional order's actual order carries its client id), then among
    conditional ones."""
    kinds = (False, True) if request.conditional else (False,)
    places = [(symbol, conditional) for symbol in request.symbols for conditional in kinds]
    found: dict[str, ExchangeOrder | None] = {}
    for client_id in request.client_ids:
        view = open_by_client_id.get(client_id)
        for symbol, conditional in places:
            if view is not None:
                break
            view = await order_by_client_id(requests, client_id, symbol, conditional=conditional, retry=True)
        found[client_id] = view
    return found


async def _learn_orders(
    requests: Requester,
    trades: Iterable[ExchangeTrade],
    views: dict[str, ExchangeOrder],
    owner: Callable[[str], str | None],
) -> None:
    """Ask for the orders behind trades whose client id is not known yet."""
    for trade in trades:
        if trade.order_id and trade.order_id not in views and owner(trade.order_id) is None:
            views[trade.order_id] = await order_by_id(requests, trade.order_id, trade.symbol, conditional=False)


def _fills(
    trades: Sequence[ExchangeTrade],
    views: Mapping[str, ExchangeOrder],
    owner: Callable[[str], str | None],
    quote: str | None,
    received: pd.Timestamp,
) -> list[Fill]:
    later: dict[str, Decimal] = {}  # per order: what its trades after the current one add up to
    out: list[Fill] = []
    for trade in reversed(trades):
        view = views.get(trade.order_id)
        client_id = view.client_id if view is not None else owner(trade.order_id) or ""
        leaves = _ZERO
        if view is not None and view.amount is not None:
            leaves = max(view.amount - (view.filled - later.get(trade.order_id, _ZERO)), _ZERO)
        later[trade.order_id] = later.get(trade.order_id, _ZERO) + trade.qty
        out.append(
            Fill(
                fill_id=trade.fill_id,
                client_order_id=client_id,
                symbol=trade.symbol,
                side=trade.side,
                qty=trade.qty,
                price=trade.price,
                commission=commission(trade, quote),
                ts=trade.ts,
                received=received,
                leaves_qty=leaves,
            )
        )
    out.reverse()
    return out


async def _positions(requests: Requester, symbols: Sequence[str]) -> dict[str, VenuePosition]:
    raw = await requests.read("positions", lambda: requests.exchange.fetch_positions(list(symbols)))
    decoded = [decode_position(item) for item in raw] if isinstance(raw, list) else []
    return {p.symbol: p for p in decoded if p is not None and p.symbol in symbols}
