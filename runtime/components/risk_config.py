"""RiskConfig: the risk chain as a typed, frozen value (one class per rule), so a run is
configured from JSON / TOML / CLI options without code.

:meth:`RiskConfig.rules` builds the rules in the order they run: the kill switch and the
breakers first (cheap, they block everything in scope), then require-stop, the size and
exposure limits (which may modify), and the order-rate limit last (it counts the orders
it lets through).
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ..clock import Clock
from .risk import KillSwitch, MaxPositionSize, RiskRule
from .risk_rules import DailyLossCap, DrawdownBreaker, ExposureLimit, OrderRateLimit, RequireStop, WorkingOrders

__all__ = [
    "DailyLossConfig",
    "DrawdownConfig",
    "ExposureConfig",
    "KillSwitchConfig",
    "MaxPositionConfig",
    "OrderRateConfig",
    "RiskConfig",
    "StrategyDrawdownConfig",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KillSwitchConfig(_Frozen):
    engaged: bool = Field(default=False, description="Start with the switch tripped.")


class DrawdownConfig(_Frozen):
    """The global breaker: account equity ``max_pct`` percent below its peak trips it."""

    max_pct: Decimal = Field(gt=0, le=100)


class StrategyDrawdownConfig(_Frozen):
    """One strategy's breaker, on ``capital`` plus the strategy's P&L."""

    strategy_id: str = Field(min_length=1)
    max_pct: Decimal = Field(gt=0, le=100)
    capital: Decimal = Field(gt=0)


class ExposureConfig(_Frozen):
    """Notional limits: ``limit`` for every strategy, ``per_strategy`` overrides."""

    limit: Decimal | None = Field(default=None, gt=0)
    per_strategy: dict[str, Decimal] = Field(default_factory=dict)
    clip: bool = Field(default=False, description="Cut the quantity to fit instead of rejecting.")


class DailyLossConfig(_Frozen):
    """Loss since the trading day's start (``session_start`` in ``session_timezone``)."""

    max_loss: Decimal = Field(gt=0)
    session_timezone: str = "UTC"
    session_start: str = Field(default="00:00", pattern=r"^\d{2}:\d{2}$")


class OrderRateConfig(_Frozen):
    max_orders: int = Field(gt=0)
    window_seconds: float = Field(gt=0)


class MaxPositionConfig(_Frozen):
    limit: Decimal = Field(gt=0)
    clip: bool = False


class RiskConfig(_Frozen):
    """Which rules run (None / empty: not in the chain) and their settings."""

    kill_switch: KillSwitchConfig | None = Field(default_factory=KillSwitchConfig)
    drawdown: DrawdownConfig | None = None
    strategy_drawdowns: tuple[StrategyDrawdownConfig, ...] = ()
    daily_loss: DailyLossConfig | None = None
    require_stop: bool = False
    max_position: MaxPositionConfig | None = None
    exposure: ExposureConfig | None = None
    order_rate: OrderRateConfig | None = None

    def rules(self, clock: Clock, working: WorkingOrders) -> tuple[RiskRule, ...]:
        """The rules, in chain order, on ``clock`` (``working``: the open orders of a
        strategy in a symbol, for require-stop)."""
        rules: list[RiskRule] = [*self._breakers(clock)]
        if self.require_stop:
            rules.append(RequireStop(working))
        if self.max_position is not None:
            rules.append(MaxPositionSize(self.max_position.limit, self.max_position.clip))
        if self.exposure is not None:
            rules.append(ExposureLimit(self.exposure.limit, dict(self.exposure.per_strategy), self.exposure.clip))
        if self.order_rate is not None:
            window = pd.Timedelta(seconds=self.order_rate.window_seconds)
            rules.append(OrderRateLimit(self.order_rate.max_orders, window, clock))
        return tuple(rules)

    def _breakers(self, clock: Clock) -> list[RiskRule]:
        rules: list[RiskRule] = []
        if self.kill_switch is not None:
            rules.append(KillSwitch(self.kill_switch.engaged))
        if self.drawdown is not None:
            rules.append(DrawdownBreaker(self.drawdown.max_pct))
        rules.extend(DrawdownBreaker(d.max_pct, d.strategy_id, d.capital) for d in self.strategy_drawdowns)
        if self.daily_loss is not None:
            loss = self.daily_loss
            rules.append(DailyLossCap(loss.max_loss, clock, loss.session_timezone, loss.session_start))
        return rules
