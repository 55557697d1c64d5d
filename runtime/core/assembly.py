"""The composition root: one function wires an Engine from what a mode injects.

Backtest injects a ``SimulatedClock``, a ``SimulatedVenue`` and in-memory stores; paper
and live will inject a ``WallClock``, a ccxt venue (paper: the simulated one on live
data) and SQL stores. Nothing else differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from quantbridge.datasets.execution import ExecutionModel

from ..clock import Clock
from ..components.account import AccountStateStore
from ..components.margin import MarginCalculator, MarginConfig
from ..components.market_data import AggregatorFactory, MarketDataRouter
from ..components.notifications import NotificationCenter
from ..components.order_executor import OrderExecutor
from ..components.order_store import InMemoryOrderStore, OrderStore
from ..components.risk import MarginRule, MarketRule, RiskManager, RiskRule
from ..components.risk_config import RiskConfig
from ..components.risk_store import RiskDecisionStore
from ..components.strategy_manager import StrategyManager
from ..components.trade_executor import TradeExecutor
from ..domain.market import Market
from ..execution import DEFAULT_MONEY_STEP, to_decimal
from ..venue.base import Venue
from .engine import Engine

__all__ = ["EngineConfig", "build_engine", "default_risk_rules"]


@dataclass(frozen=True)
class EngineConfig:
    """What the core needs besides the injected parts. ``risk_rules`` None: the default
    chain (:func:`default_risk_rules`); ``risk``: the configured rules that follow it."""

    model: ExecutionModel = field(default_factory=ExecutionModel)
    money_step: Decimal = DEFAULT_MONEY_STEP
    margin: MarginConfig = field(default_factory=MarginConfig)
    risk_rules: tuple[RiskRule, ...] | None = None
    risk: RiskConfig | None = None
    round_order_prices: bool = True
    grace: pd.Timedelta = field(default_factory=lambda: pd.Timedelta(0))


def default_risk_rules(margin: MarginConfig) -> tuple[RiskRule, ...]:
    """Market grid and minimums, then margin."""
    return (MarketRule(), MarginRule(MarginCalculator(margin)))


def build_engine(
    *,
    markets: Mapping[str, Market],
    clock: Clock,
    venue: Venue,
    config: EngineConfig | None = None,
    notifications: NotificationCenter | None = None,
    order_store: OrderStore | None = None,
    aggregators: AggregatorFactory | None = None,
    extra_rules: Sequence[RiskRule] = (),
    risk_store: RiskDecisionStore | None = None,
) -> Engine:
    """An engine on ``markets`` with the given clock and venue."""
    config = config or EngineConfig()
    center = notifications if notifications is not None else NotificationCenter()
    store = order_store if order_store is not None else InMemoryOrderStore()
    rules = default_risk_rules(config.margin) if config.risk_rules is None else config.risk_rules
    configured = config.risk.rules(clock, store.open_orders) if config.risk is not None else ()
    account = AccountStateStore(markets, to_decimal(config.model.initial_capital), config.money_step)
    return Engine(
        clock=clock,
        markets=markets,
        venue=venue,
        market_data=MarketDataRouter(markets, clock, center, aggregators, config.grace),
        strategies=StrategyManager(center),
        trade_executor=TradeExecutor(
            markets, config.model, money_step=config.money_step, round_order_prices=config.round_order_prices
        ),
        risk=RiskManager((*rules, *configured, *extra_rules), store=risk_store, notifications=center),
        orders=OrderExecutor(store, venue, center),
        account=account,
        notifications=center,
    )
