"""The engine's component chain, each small and replaceable:

StrategyManager → TradeExecutor → RiskManager → OrderExecutor (venue, OrderStore) →
AccountStateStore (with the MarginCalculator) → NotificationCenter; and the
MarketDataRouter in front of it all.
"""
