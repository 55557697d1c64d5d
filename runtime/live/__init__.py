"""Paper and live trading: the session around the engine, recovery, control, credentials.

See :mod:`.session` for the life of a run and docs/architecture.md for the design.
"""

from .config import Mode, SessionConfig, SessionTiming
from .control import KILL_SWITCH, SessionControl
from .credentials import Credentials, CredentialsError, load_credentials
from .history import HistoryError, closed_candles, market_from_ccxt
from .session import SessionSummary, TradingSession

__all__ = [
    "KILL_SWITCH",
    "Credentials",
    "CredentialsError",
    "HistoryError",
    "Mode",
    "SessionConfig",
    "SessionControl",
    "SessionSummary",
    "SessionTiming",
    "TradingSession",
    "closed_candles",
    "load_credentials",
    "market_from_ccxt",
]
