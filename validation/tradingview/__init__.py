"""TradingView trade lists: import every export layout (:mod:`.trade_list`), find the chart
timezone of naive times (:mod:`.timezone`) and reconcile our trades with TradingView's
trade by trade (:mod:`.reconcile`)."""

from .reconcile import ReconcileError, Reconciliation, Tolerance, TradeClass, reconcile
from .timezone import CandidateScore, TimezoneDetection, TimezoneDetectionError, candidate_zones, detect_timezone
from .trade_list import (
    EXTRA_COLUMNS,
    ExportLayout,
    TradeListFormatError,
    TradingViewTradeList,
    read_tradingview_trades,
    zone_info,
)

__all__ = [
    "EXTRA_COLUMNS",
    "CandidateScore",
    "ExportLayout",
    "ReconcileError",
    "Reconciliation",
    "TimezoneDetection",
    "TimezoneDetectionError",
    "Tolerance",
    "TradeClass",
    "TradeListFormatError",
    "TradingViewTradeList",
    "candidate_zones",
    "detect_timezone",
    "read_tradingview_trades",
    "reconcile",
    "zone_info",
]
