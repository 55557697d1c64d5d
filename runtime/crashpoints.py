"""Named crash points for the crash-recovery tests (a FoundationDB-style fault hook).

``crash_point(name)`` does nothing unless ``$QUANTBRIDGE_CRASH_AT`` names it: then the
process kills itself with SIGKILL the ``n``-th time it gets there (``name`` or
``name:n``, n counted from 1) — no cleanup, no flush, exactly like a power cut or the
OOM killer. The points sit where a crash is most dangerous for order state:

* ``before_send`` — the order is stored as submitted, the request is not sent;
* ``after_send`` — the exchange accepted the order, its answer is not processed;
* ``after_fill`` — the venue saw a fill, it is not stored yet;
* ``after_fill_stored`` — the fill is stored, the order it belongs to not yet updated.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from typing import Final

__all__ = ["CRASH_ENV", "POINTS", "check_crash_setting", "crash_point"]

CRASH_ENV: Final = "QUANTBRIDGE_CRASH_AT"
POINTS: Final = ("before_send", "after_send", "after_fill", "after_fill_stored")
_reached: Counter[str] = Counter()


def _target() -> tuple[str, int] | None:
    raw = os.environ.get(CRASH_ENV, "").strip()
    if not raw:
        return None
    name, _, count = raw.partition(":")
    if name not in POINTS or not (count or "1").isdigit():
        raise ValueError(f"${CRASH_ENV}={raw!r}: expected one of {', '.join(POINTS)} (optionally ':n')")
    return name, int(count or 1)


def check_crash_setting() -> None:
    """Fail at start (not at the first order) when ``$QUANTBRIDGE_CRASH_AT`` is misspelt."""
    _target()


def crash_point(name: str) -> None:
    """SIGKILL this process if ``$QUANTBRIDGE_CRASH_AT`` asks for it here."""
    target = _target()
    if target is None or target[0] != name:
        return
    _reached[name] += 1
    if _reached[name] >= target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
