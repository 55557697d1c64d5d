"""Accounts of the local exchange: wallet balances and one-way positions in linear
(USDT-M) perpetuals, in :class:`~decimal.Decimal`.

A fill moves a position towards its signed amount; the part that reduces a position
realises ``closed × (price − entry) × sign`` into the wallet of the contract's quote
asset, and every fill pays commission (maker or taker rate of its notional) from that
wallet. Margin is simplified to cross margin at the position's leverage: initial
margin ``|amount| × mark / leverage``, available ``wallet + unrealised − initial``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

__all__ = ["Account", "AccountConfig", "Position", "Settlement"]

ZERO: Final = Decimal(0)


def _default_balances() -> dict[str, Decimal]:
    return {"USDT": Decimal(10_000)}


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """How a new account starts: balances per asset, commission rates and leverage."""

    balances: Mapping[str, Decimal] = field(default_factory=_default_balances)
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")
    leverage: int = 1
    max_leverage: int = 125

    def __post_init__(self) -> None:
        if not 1 <= self.leverage <= self.max_leverage:
            raise ValueError(f"AccountConfig: leverage {self.leverage} outside 1..{self.max_leverage}")
        if self.maker_fee < 0 or self.taker_fee < 0:
            raise ValueError("AccountConfig: commission rates must be >= 0")


@dataclass(slots=True)
class Position:
    """One symbol's net position (one-way mode): signed amount, average entry, leverage."""

    symbol: str
    quote: str
    leverage: int
    amount: Decimal = ZERO
    entry_price: Decimal = ZERO
    realised_pnl: Decimal = ZERO
    update_ms: int = 0

    def apply(self, quantity: Decimal, price: Decimal) -> Decimal:
        """Add a signed ``quantity`` filled at ``price``; returns the PnL it realised."""
        held = self.amount
        after = held + quantity
        if held == 0 or (held > 0) == (quantity > 0):
            self.entry_price = (self.entry_price * abs(held) + price * abs(quantity)) / abs(after)
            self.amount = after
            return ZERO
        closed = min(abs(quantity), abs(held))
        realised = closed * (price - self.entry_price) * (1 if held > 0 else -1)
        if after == 0:
            self.entry_price = ZERO
        elif (after > 0) != (held > 0):
            self.entry_price = price
        self.amount = after
        self.realised_pnl += realised
        return realised

    def unrealised(self, mark: Decimal) -> Decimal:
        return self.amount * (mark - self.entry_price) if self.amount else ZERO

    def initial_margin(self, mark: Decimal) -> Decimal:
        return abs(self.amount) * mark / self.leverage


@dataclass(frozen=True, slots=True)
class Settlement:
    """What one fill did to an account."""

    realised_pnl: Decimal
    commission: Decimal
    commission_asset: str


class Account:
    """One API key's wallet balances and positions."""

    def __init__(self, config: AccountConfig) -> None:
        self.config = config
        self.balances: dict[str, Decimal] = {asset: Decimal(value) for asset, value in config.balances.items()}
        self.positions: dict[str, Position] = {}
        self.update_ms = 0

    def position(self, symbol: str, quote: str) -> Position:
        """The position in ``symbol`` (flat when never traded)."""
        found = self.positions.get(symbol)
        if found is None:
            found = self.positions[symbol] = Position(symbol, quote, self.config.leverage)
        return found

    def set_leverage(self, symbol: str, quote: str, leverage: int) -> Position:
        if not 1 <= leverage <= self.config.max_leverage:
            raise ValueError(f"leverage {leverage} outside 1..{self.config.max_leverage}")
        position = self.position(symbol, quote)
        position.leverage = leverage
        return position

    def fee_rate(self, maker: bool) -> Decimal:
        return self.config.maker_fee if maker else self.config.taker_fee

    def settle(
        self, symbol: str, quote: str, quantity: Decimal, price: Decimal, *, maker: bool, now_ms: int
    ) -> Settlement:
        """Book a fill of signed ``quantity`` at ``price``: position, realised PnL, commission."""
        position = self.position(symbol, quote)
        realised = position.apply(quantity, price)
        commission = abs(quantity) * price * self.fee_rate(maker)
        self.balances[quote] = self.balances.get(quote, ZERO) + realised - commission
        position.update_ms = self.update_ms = now_ms
        return Settlement(realised, commission, quote)

    def unrealised(self, asset: str, marks: Mapping[str, Decimal]) -> Decimal:
        return sum(
            (p.unrealised(marks.get(p.symbol, p.entry_price)) for p in self.positions.values() if p.quote == asset),
            ZERO,
        )

    def initial_margin(self, asset: str, marks: Mapping[str, Decimal]) -> Decimal:
        return sum(
            (p.initial_margin(marks.get(p.symbol, p.entry_price)) for p in self.positions.values() if p.quote == asset),
            ZERO,
        )

    def available(self, asset: str, marks: Mapping[str, Decimal]) -> Decimal:
        """Wallet plus unrealised PnL minus the initial margin of open positions."""
        wallet = self.balances.get(asset, ZERO)
        return wallet + self.unrealised(asset, marks) - self.initial_margin(asset, marks)
