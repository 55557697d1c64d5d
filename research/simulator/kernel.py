"""The numba kernel behind :func:`quantbridge.research.simulator.simulate`.

One pass over the bars, three phases per bar (the TradingView broker emulator's order):

1. **open** — market orders decided on the previous close fill at this open:
   exits first (signal exits, rule exits), then entries (long before short);
2. **inside the bar** — resting orders (stop/limit entries decided on the previous
   close, stop-loss, take-profit, trailing stop, scale-outs) fill along the bar path
   open → nearer extreme → farther extreme → close; an order already beyond the price
   when it becomes live fills at that price (a gap);
3. **close** — rules that act on the close (on-close stops, max bars held, intraday
   loss) queue market exits; the signals of this bar queue orders for the next one
   (or fill now at the close with ``Timing.BAR_CLOSE``); equity is marked.

State lives in small arrays indexed by the constants below, so the kernel stays a set
of small jitted functions. All quantities are floats here; the runtime uses Decimal.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# ---- parameter vector (built by params.py) ----
P_TIMING_CLOSE = 0  # 1.0 = fill market orders at the signal bar's close
P_COMM = 1
P_COMM_TYPE = 2  # 0 percent, 1 per contract, 2 per order
P_SLIP = 3  # absolute price amount for ticks, or percent
P_SLIP_PCT = 4  # 1.0 when P_SLIP is a percent
P_SIZING = 5  # 0 qty, 1 cash, 2 percent of equity
P_SIZE = 6
P_CAPITAL = 7
P_PYRAMIDING = 8
P_TICK = 9
P_QTY_STEP = 10
P_POINT_VALUE = 11
P_PATH = 12  # 0 tradingview, 1 ohlc, 2 olhc
P_SL = 13  # fraction or NaN
P_TP = 14
P_STOP_ON_CLOSE = 15
P_TRAIL = 16
P_MAX_BARS = 17  # 0 = off
P_COOLDOWN = 18
P_FLIP = 19
P_DAY_LOSS = 20  # fraction or NaN
P_MIN_QTY = 21
N_PARAMS = 22

# ---- reasons (ExitReason order in trade_list.py) ----
R_SIGNAL = 0
R_REVERSE = 1
R_STOP_LOSS = 2
R_TAKE_PROFIT = 3
R_TRAILING = 4
R_SCALE_OUT = 5
R_MAX_BARS = 6
R_DAY_LOSS = 7
R_OPEN = 8

# ---- float state ----
F_CASH = 0  # capital + realised P&L − commissions paid
F_INIT_QTY = 1  # position size when the position was opened (scale-outs)
F_EXTREME = 2  # best price on closed bars since entry (trailing stop)
F_DAY_EQUITY = 3  # equity at the start of the current day
F_LONG_QTY = 4  # quantity of the pending long entry order (market: final)
F_SHORT_QTY = 5
F_LONG_BUDGET = 6  # money behind a pending long entry (NaN for fixed quantity); resting
F_SHORT_BUDGET = 7  # stop/limit entries are re-sized with it at their fill price
N_FSTATE = 8

# ---- int state ----
K_SIDE = 0  # 1 long, −1 short, 0 flat
K_NLOTS = 1
K_NTRADES = 2
K_COOLDOWN_UNTIL = 3  # last bar index on which entries are blocked
K_SCALES_DONE = 4
K_DAY = 5
K_HALTED = 6  # 1 while the intraday loss limit blocks entries
K_RULE_EXIT = 7  # pending market exit from a rule: reason + 1, 0 none
K_LONG_ALIVE = 8  # the long entry order exists: created (pyramiding allowed it) and not filled
K_SHORT_ALIVE = 9
K_LONG_ORDER = 10  # placement bar of the current long entry order (its identity), -1 none
K_SHORT_ORDER = 11
N_KSTATE = 12

# ---- lot columns ----
L_QTY = 0
L_PRICE = 1
L_COMM = 2
L_BAR = 3
L_SIGNAL = 4  # 1 long signal, −1 short signal

# ---- trade columns ----
T_SIDE = 0
T_ENTRY_BAR = 1
T_EXIT_BAR = 2
T_ENTRY_PRICE = 3
T_EXIT_PRICE = 4
T_QTY = 5
T_COMM = 6
T_PNL = 7
T_REASON = 8
T_OPEN = 9
N_TCOLS = 10

_EPS = 1e-12


@njit(cache=True)
def commission(price: float, qty: float, p: np.ndarray) -> float:
    kind = p[P_COMM_TYPE]
    if kind == 0.0:
        return price * qty * p[P_POINT_VALUE] * p[P_COMM] / 100.0
    if kind == 1.0:
        return qty * p[P_COMM]
    return p[P_COMM]


@njit(cache=True)
def slipped(price: float, direction: int, p: np.ndarray) -> float:
    """``price`` moved against a buy (direction 1) or a sell (−1)."""
    amount = price * p[P_SLIP] / 100.0 if p[P_SLIP_PCT] == 1.0 else p[P_SLIP]
    return price + direction * amount


@njit(cache=True)
def round_price(price: float, p: np.ndarray) -> float:
    """Snap a fill price half-up to the tick grid."""
    tick = p[P_TICK]
    if tick <= 0.0 or math.isnan(price):
        return price
    return math.floor(price / tick + 0.5) * tick


@njit(cache=True)
def round_significant(value: float, digits: int) -> float:
    if value == 0.0 or math.isnan(value):
        return value
    scale = 10.0 ** (digits - 1 - math.floor(math.log10(abs(value))))
    return math.floor(value * scale + 0.5) / scale


@njit(cache=True)
def round_order_price(price: float, up: bool, p: np.ndarray) -> float:
    """Round an order level to the tick grid in the order's cautious direction (a value
    within 1e-4 tick of a grid line counts as on it). Without a tick grid, levels are
    rounded to 12 significant digits so that 100 × 1.1 is the level 110."""
    tick = p[P_TICK]
    if math.isnan(price):
        return price
    if tick <= 0.0:
        return round_significant(price, 12)
    ticks = price / tick
    nearest = math.floor(ticks + 0.5)
    if abs(ticks - nearest) < 1e-4:
        return nearest * tick
    return (math.ceil(ticks) if up else math.floor(ticks)) * tick


@njit(cache=True)
def round_qty(qty: float, p: np.ndarray) -> float:
    step = p[P_QTY_STEP]
    if step <= 0.0:
        return qty
    return math.floor(qty / step + 1e-9) * step


@njit(cache=True)
def position_qty(lots: np.ndarray, k: np.ndarray) -> float:
    total = 0.0
    for j in range(k[K_NLOTS]):
        total += lots[j, L_QTY]
    return total


@njit(cache=True)
def average_price(lots: np.ndarray, k: np.ndarray) -> float:
    qty = 0.0
    value = 0.0
    for j in range(k[K_NLOTS]):
        qty += lots[j, L_QTY]
        value += lots[j, L_QTY] * lots[j, L_PRICE]
    return value / qty if qty > 0.0 else math.nan


@njit(cache=True)
def equity_at(price: float, lots: np.ndarray, f: np.ndarray, k: np.ndarray, p: np.ndarray) -> float:
    open_pnl = 0.0
    for j in range(k[K_NLOTS]):
        open_pnl += (price - lots[j, L_PRICE]) * lots[j, L_QTY] * k[K_SIDE] * p[P_POINT_VALUE]
    return f[F_CASH] + open_pnl


@njit(cache=True)
def record_trade(
    trades: np.ndarray,
    k: np.ndarray,
    lot: np.ndarray,
    qty: float,
    bar: int,
    price: float,
    reason: int,
    comm: float,
    p: np.ndarray,
    is_open: bool,
) -> float:
    """Write one trade row for ``qty`` of ``lot``; return its net P&L."""
    share = qty / lot[L_QTY]
    comm_in = lot[L_COMM] * share
    gross = (price - lot[L_PRICE]) * qty * k[K_SIDE] * p[P_POINT_VALUE]
    row = k[K_NTRADES]
    trades[row, T_SIDE] = k[K_SIDE]
    trades[row, T_ENTRY_BAR] = lot[L_BAR]
    trades[row, T_EXIT_BAR] = bar
    trades[row, T_ENTRY_PRICE] = lot[L_PRICE]
    trades[row, T_EXIT_PRICE] = price
    trades[row, T_QTY] = qty
    trades[row, T_COMM] = comm_in + comm
    trades[row, T_PNL] = gross - comm_in - comm
    trades[row, T_REASON] = reason
    trades[row, T_OPEN] = 1.0 if is_open else 0.0
    k[K_NTRADES] = row + 1
    lot[L_COMM] -= comm_in
    lot[L_QTY] -= qty
    return gross


@njit(cache=True)
def drop_empty_lots(lots: np.ndarray, k: np.ndarray) -> None:
    kept = 0
    for j in range(k[K_NLOTS]):
        if lots[j, L_QTY] > _EPS:
            lots[kept, :] = lots[j, :]
            kept += 1
    k[K_NLOTS] = kept
    if kept == 0:
        k[K_SIDE] = 0
        k[K_SCALES_DONE] = 0


@njit(cache=True)
def close_quantity(
    trades: np.ndarray,
    lots: np.ndarray,
    f: np.ndarray,
    k: np.ndarray,
    p: np.ndarray,
    bar: int,
    price: float,
    qty: float,
    reason: int,
    fill_comm: float = math.nan,
) -> None:
    """Close ``qty`` of the position first-in first-out at ``price`` (``fill_comm``: the
    commission of this leg when it is part of a larger order, else computed)."""
    total = position_qty(lots, k)
    qty = min(qty, total)
    if qty <= _EPS:
        return
    if math.isnan(fill_comm):
        fill_comm = commission(price, qty, p)
    remaining = qty
    for j in range(k[K_NLOTS]):
        if remaining <= _EPS:
            break
        take = min(lots[j, L_QTY], remaining)
        comm = fill_comm * take / qty
        gross = record_trade(trades, k, lots[j], take, bar, price, reason, comm, p, False)
        f[F_CASH] += gross - comm
        remaining -= take
    if reason == R_STOP_LOSS:
        k[K_COOLDOWN_UNTIL] = bar + int(p[P_COOLDOWN])
    drop_empty_lots(lots, k)


@njit(cache=True)
def close_all(
    trades: np.ndarray,
    lots: np.ndarray,
    f: np.ndarray,
    k: np.ndarray,
    p: np.ndarray,
    bar: int,
    price: float,
    reason: int,
) -> None:
    close_quantity(trades, lots, f, k, p, bar, price, position_qty(lots, k), reason)


@njit(cache=True)
def entry_allowed(side: int, bar: int, k: np.ndarray, p: np.ndarray) -> bool:
    if k[K_HALTED] == 1 or bar <= k[K_COOLDOWN_UNTIL]:
        return False
    if k[K_SIDE] == side:
        return k[K_NLOTS] < int(p[P_PYRAMIDING])
    return k[K_SIDE] == 0 or p[P_FLIP] == 1.0


@njit(cache=True)
def open_lot(
    lots: np.ndarray,
    f: np.ndarray,
    k: np.ndarray,
    p: np.ndarray,
    side: int,
    bar: int,
    price: float,
    qty: float,
    comm: float,
) -> None:
    j = k[K_NLOTS]
    lots[j, L_QTY] = qty
    lots[j, L_PRICE] = price
    lots[j, L_COMM] = comm
    lots[j, L_BAR] = bar
    lots[j, L_SIGNAL] = side
    if j == 0:
        f[F_INIT_QTY] = qty
        f[F_EXTREME] = price
        k[K_SCALES_DONE] = 0
    k[K_NLOTS] = j + 1
    k[K_SIDE] = side
    f[F_CASH] -= comm


@njit(cache=True)
def fill_entry(
    trades: np.ndarray,
    lots: np.ndarray,
    f: np.ndarray,
    k: np.ndarray,
    p: np.ndarray,
    side: int,
    bar: int,
    price: float,
    qty: float,
) -> bool:
    """Enter ``side`` (reversing an opposite position); False when not allowed."""
    if qty <= _EPS or qty < p[P_MIN_QTY] or not entry_allowed(side, bar, k, p):
        return False
    closing = position_qty(lots, k) if k[K_SIDE] == -side else 0.0
    # one order: its commission is shared by the closing and the opening leg pro rata
    order_comm = commission(price, closing + qty, p)
    if closing > 0.0:
        close_quantity(trades, lots, f, k, p, bar, price, closing, R_REVERSE, order_comm * closing / (closing + qty))
    open_lot(lots, f, k, p, side, bar, price, qty, order_comm * qty / (closing + qty))
    return True


# ---------------------------------------------------------------- sizing and phases
@njit(cache=True)
def entry_budget(price: float, lots: np.ndarray, f: np.ndarray, k: np.ndarray, p: np.ndarray) -> float:
    """Money behind a sized entry (NaN for a fixed quantity): cash, or percent of equity
    (initial capital + net profit + open profit, marked at ``price``)."""
    sizing = p[P_SIZING]
    if sizing == 0.0:
        return math.nan
    money = p[P_SIZE] if sizing == 1.0 else equity_at(price, lots, f, k, p) * p[P_SIZE] / 100.0
    return round_significant(money, 10)


@njit(cache=True)
def qty_for_budget(budget: float, price: float, p: np.ndarray) -> float:
    """Units the budget buys at ``price``, commission included in the unit cost, floored
    to the quantity step."""
    unit = price * p[P_POINT_VALUE]
    kind = p[P_COMM_TYPE]
    if kind == 0.0:
        unit *= 1.0 + p[P_COMM] / 100.0
    elif kind == 1.0:
        unit += p[P_COMM]
    else:
        budget -= p[P_COMM]
    return round_qty(budget / unit, p) if budget > 0 else 0.0


@njit(cache=True)
def placement_allowed(side: int, k: np.ndarray, p: np.ndarray) -> bool:
    """Pine creates no entry order while halted or when the position already holds the
    pyramiding limit in that direction."""
    if k[K_HALTED] == 1:
        return False
    return not (k[K_SIDE] == side and k[K_NLOTS] >= int(p[P_PYRAMIDING]))


@njit(cache=True)
def drop_entry(side: int, k: np.ndarray) -> None:
    """No entry order on this bar: any working one is cancelled."""
    alive, order = (K_LONG_ALIVE, K_LONG_ORDER) if side == 1 else (K_SHORT_ALIVE, K_SHORT_ORDER)
    k[alive] = 0
    k[order] = -1


@njit(cache=True)
def place_entry(
    side: int,
    bar: int,
    close: float,
    origin: int,
    override: float,
    lots: np.ndarray,
    f: np.ndarray,
    k: np.ndarray,
    p: np.ndarray,
) -> None:
    """An entry order works after this close. ``origin`` is the bar that placed it: the
    same order keeps working (its size and whether it exists were settled then); a new
    one is created only if pyramiding allows, and sized now."""
    alive, order = (K_LONG_ALIVE, K_LONG_ORDER) if side == 1 else (K_SHORT_ALIVE, K_SHORT_ORDER)
    if origin == k[order] and origin != bar:
        return
    k[order] = origin
    k[alive] = 1 if placement_allowed(side, k, p) else 0
    if k[alive] == 1:
        queue_entry(side, close, override, lots, f, k, p)


@njit(cache=True)
def queue_entry(
    side: int, close: float, override: float, lots: np.ndarray, f: np.ndarray, k: np.ndarray, p: np.ndarray
) -> None:
    """Size an entry decided on this close: a market entry at the close moved by
    slippage; a resting entry keeps its budget and is re-sized at its fill price."""
    budget = math.nan if not math.isnan(override) else entry_budget(close, lots, f, k, p)
    if not math.isnan(override):
        qty = override
    elif math.isnan(budget):
        qty = p[P_SIZE]
    else:
        qty = qty_for_budget(budget, round_price(slipped(close, side, p), p), p)
    if side == 1:
        f[F_LONG_QTY], f[F_LONG_BUDGET] = qty, budget
    else:
        f[F_SHORT_QTY], f[F_SHORT_BUDGET] = qty, budget


@njit(cache=True)
def market_orders(
    trades: np.ndarray,
    lots: np.ndarray,
    f: np.ndarray,
    k: np.ndarray,
    p: np.ndarray,
    bar: int,
    price: float,
    sig: int,
    flags: np.ndarray,
    resting: np.ndarray,
) -> None:
    """Fill the market orders decided at bar ``sig`` at ``price``: exits, then entries.

    ``flags`` rows: long entry, long exit, short entry, short exit; ``resting`` rows:
    long stop, long limit, short stop, short limit (a resting price makes the entry a
    stop/limit order handled inside the bar instead).
    """
    buy, sell = round_price(slipped(price, 1, p), p), round_price(slipped(price, -1, p), p)
    rule = k[K_RULE_EXIT]
    k[K_RULE_EXIT] = 0
    if rule > 0 and k[K_SIDE] != 0:
        close_all(trades, lots, f, k, p, bar, sell if k[K_SIDE] == 1 else buy, rule - 1)
    if flags[1, sig] and k[K_SIDE] == 1:
        close_all(trades, lots, f, k, p, bar, sell, R_SIGNAL)
    if flags[3, sig] and k[K_SIDE] == -1:
        close_all(trades, lots, f, k, p, bar, buy, R_SIGNAL)
    if flags[0, sig] and k[K_LONG_ALIVE] == 1 and math.isnan(resting[0, sig]) and math.isnan(resting[1, sig]):
        k[K_LONG_ALIVE] = 0
        fill_entry(trades, lots, f, k, p, 1, bar, buy, f[F_LONG_QTY])
    if flags[2, sig] and k[K_SHORT_ALIVE] == 1 and math.isnan(resting[2, sig]) and math.isnan(resting[3, sig]):
        k[K_SHORT_ALIVE] = 0
        fill_entry(trades, lots, f, k, p, -1, bar, sell, f[F_SHORT_QTY])


# order slots inside a bar: 0 long stop, 1 long limit, 2 short stop, 3 short limit,
# 4 protective stop (stop-loss / trailing), 5 take-profit, 6 next scale-out
N_SLOTS = 7
_BUY_STOP, _SELL_STOP, _BUY_LIMIT, _SELL_LIMIT = 0, 1, 2, 3


@njit(cache=True)
def protective_levels(
    lots: np.ndarray, f: np.ndarray, k: np.ndarray, p: np.ndarray, so_pct: np.ndarray
) -> tuple[float, int, float, float]:
    """(stop price, its reason, take-profit price, next scale-out price) for the position."""
    side = k[K_SIDE]
    avg = average_price(lots, k)
    stop, reason = math.nan, R_STOP_LOSS
    long = side == 1
    if not math.isnan(p[P_SL]):
        stop = round_order_price(avg * (1.0 - side * p[P_SL]), not long, p)
    if not math.isnan(p[P_TRAIL]):
        trail = round_order_price(f[F_EXTREME] * (1.0 - side * p[P_TRAIL]), not long, p)
        if math.isnan(stop) or (trail - stop) * side > 0:
            stop, reason = trail, R_TRAILING
    take = round_order_price(avg * (1.0 + side * p[P_TP]), long, p) if not math.isnan(p[P_TP]) else math.nan
    scale = math.nan
    if k[K_SCALES_DONE] < len(so_pct):
        scale = round_order_price(avg * (1.0 + side * so_pct[k[K_SCALES_DONE]]), long, p)
    return stop, reason, take, scale


@njit(cache=True)
def live_orders(
    prices: np.ndarray,
    kinds: np.ndarray,
    lots: np.ndarray,
    f: np.ndarray,
    k: np.ndarray,
    p: np.ndarray,
    bar: int,
    sig: int,
    flags: np.ndarray,
    resting: np.ndarray,
    so_pct: np.ndarray,
) -> int:
    """Fill ``prices``/``kinds`` with the orders live now; return the stop-loss reason."""
    prices[:] = math.nan
    if sig >= 0:
        if flags[0, sig] and k[K_LONG_ALIVE] == 1 and entry_allowed(1, bar, k, p):
            prices[0] = round_order_price(resting[0, sig], True, p)
            prices[1] = round_order_price(resting[1, sig], False, p)
        if flags[2, sig] and k[K_SHORT_ALIVE] == 1 and entry_allowed(-1, bar, k, p):
            prices[2] = round_order_price(resting[2, sig], False, p)
            prices[3] = round_order_price(resting[3, sig], True, p)
    kinds[0], kinds[1], kinds[2], kinds[3] = _BUY_STOP, _BUY_LIMIT, _SELL_STOP, _SELL_LIMIT
    reason = R_STOP_LOSS
    side = k[K_SIDE]
    if side != 0:
        stop, reason, take, scale = protective_levels(lots, f, k, p, so_pct)
        if p[P_STOP_ON_CLOSE] == 0.0:
            prices[4], prices[5] = stop, take
        prices[6] = scale
        kinds[4] = _SELL_STOP if side == 1 else _BUY_STOP
        kinds[5] = _SELL_LIMIT if side == 1 else _BUY_LIMIT
        kinds[6] = kinds[5]
    return reason


@njit(cache=True)
def triggered_at(kind: int, level: float, price: float) -> bool:
    if kind in (_BUY_STOP, _SELL_LIMIT):
        return price >= level
    return price <= level


@njit(cache=True)
def first_trigger(prices: np.ndarray, kinds: np.ndarray, cur: float, target: float, at_open: bool) -> int:
    """The slot reached first when price moves from ``cur`` to ``target``; −1 if none.
    Slots already triggered at ``cur`` come first: at the open (a gap) entries before
    exits, as TradingView's gap batch; later (a bracket born beyond the price) exits first."""
    order = (0, 1, 2, 3, 4, 5, 6) if at_open else (4, 5, 6, 0, 1, 2, 3)
    for slot in order:
        if not math.isnan(prices[slot]) and triggered_at(kinds[slot], prices[slot], cur):
            return slot
    best, best_slot = math.nan, -1
    rising = target > cur
    for slot in (4, 5, 6, 0, 1, 2, 3):
        level = prices[slot]
        if math.isnan(level):
            continue
        up_order = kinds[slot] in (_BUY_STOP, _SELL_LIMIT)
        if up_order != rising or not triggered_at(kinds[slot], level, target):
            continue
        if best_slot < 0 or (level < best if rising else level > best):
            best, best_slot = level, slot
    return best_slot


@njit(cache=True)
def fill_slot(
    slot: int,
    level: float,
    cur: float,
    trades: np.ndarray,
    lots: np.ndarray,
    f: np.ndarray,
    k: np.ndarray,
    p: np.ndarray,
    bar: int,
    stop_reason: int,
    so_frac: np.ndarray,
    kinds: np.ndarray,
) -> float:
    """Fill the order in ``slot``; return the price it filled at."""
    is_stop = kinds[slot] == _BUY_STOP or kinds[slot] == _SELL_STOP
    buy = kinds[slot] == _BUY_STOP or kinds[slot] == _BUY_LIMIT
    gap = triggered_at(kinds[slot], level, cur)
    price = cur if gap else level
    if is_stop:
        price = slipped(price, 1 if buy else -1, p)
    price = round_price(price, p)
    if slot <= 1:
        k[K_LONG_ALIVE] = 0
        qty = f[F_LONG_QTY] if math.isnan(f[F_LONG_BUDGET]) else qty_for_budget(f[F_LONG_BUDGET], price, p)
        fill_entry(trades, lots, f, k, p, 1, bar, price, qty)
    elif slot <= 3:
        k[K_SHORT_ALIVE] = 0
        qty = f[F_SHORT_QTY] if math.isnan(f[F_SHORT_BUDGET]) else qty_for_budget(f[F_SHORT_BUDGET], price, p)
        fill_entry(trades, lots, f, k, p, -1, bar, price, qty)
    elif slot == 4:
        close_all(trades, lots, f, k, p, bar, price, stop_reason)
    elif slot == 5:
        close_all(trades, lots, f, k, p, bar, price, R_TAKE_PROFIT)
    else:
        done = k[K_SCALES_DONE]
        qty = f[F_INIT_QTY] * so_frac[done]
        k[K_SCALES_DONE] = done + 1
        close_quantity(trades, lots, f, k, p, bar, price, qty, R_SCALE_OUT)
    return cur if gap else level


@njit(cache=True)
def bar_path(o: float, h: float, low: float, c: float, p: np.ndarray) -> tuple[float, float, float, float]:
    mode = p[P_PATH]
    # TradingView: high first only when strictly nearer the open; a tie goes low first.
    high_first = (h - o) < (o - low) if mode == 0.0 else mode == 1.0
    if high_first:
        return o, h, low, c
    return o, low, h, c


@njit(cache=True)
def inside_bar(
    trades: np.ndarray,
    lots: np.ndarray,
    f: np.ndarray,
    k: np.ndarray,
    p: np.ndarray,
    bar: int,
    points: tuple[float, float, float, float],
    sig: int,
    flags: np.ndarray,
    resting: np.ndarray,
    so_pct: np.ndarray,
    so_frac: np.ndarray,
    prices: np.ndarray,
    kinds: np.ndarray,
) -> None:
    """Walk the bar path; ``prices``/``kinds`` are scratch arrays reused across bars."""
    live_orders(prices, kinds, lots, f, k, p, bar, sig, flags, resting, so_pct)
    quiet = np.isnan(prices).all()  # no order can fill: only the intraday loss needs the walk
    for segment in range(3):
        cur, target = points[segment], points[segment + 1]
        for _ in range(0 if quiet else 64):  # each fill consumes an order; 64 bounds a pathological bar
            reason = live_orders(prices, kinds, lots, f, k, p, bar, sig, flags, resting, so_pct)
            slot = first_trigger(prices, kinds, cur, target, segment == 0 and cur == points[0])
            if slot < 0:
                break
            cur = fill_slot(slot, prices[slot], cur, trades, lots, f, k, p, bar, reason, so_frac, kinds)
        side = k[K_SIDE]
        worst = min(points[1], points[2]) if side == 1 else max(points[1], points[2])
        at_worst = segment < 2 and side != 0 and target == worst
        if at_worst and k[K_HALTED] == 0 and day_loss_reached(target, lots, f, k, p):
            halt_for_day(trades, lots, f, k, p, bar, slipped(target, -k[K_SIDE], p))


@njit(cache=True)
def rule_exit_on_close(
    lots: np.ndarray, f: np.ndarray, k: np.ndarray, p: np.ndarray, bar: int, high: float, low: float, so_pct: np.ndarray
) -> int:
    """The reason a rule closes the position at market after this close (+1), or 0."""
    side = k[K_SIDE]
    if p[P_STOP_ON_CLOSE] == 1.0:
        stop, reason, take, _ = protective_levels(lots, f, k, p, so_pct)
        worst, best = (low, high) if side == 1 else (high, low)
        if not math.isnan(stop) and (worst - stop) * side <= 0:
            return reason + 1
        if not math.isnan(take) and (best - take) * side >= 0:
            return R_TAKE_PROFIT + 1
    held = bar + 1 - int(lots[0, L_BAR])
    if p[P_MAX_BARS] > 0 and held >= p[P_MAX_BARS]:
        return R_MAX_BARS + 1
    return 0


@njit(cache=True)
def update_extreme(f: np.ndarray, k: np.ndarray, high: float, low: float) -> None:
    if k[K_SIDE] == 1:
        f[F_EXTREME] = max(f[F_EXTREME], high)
    elif k[K_SIDE] == -1:
        f[F_EXTREME] = min(f[F_EXTREME], low)


@njit(cache=True)
def start_day(day: int, price: float, lots: np.ndarray, f: np.ndarray, k: np.ndarray, p: np.ndarray) -> None:
    """On a new trading day: lift the halt and anchor equity marked at ``price`` (the
    previous bar's close)."""
    if day != k[K_DAY]:
        k[K_DAY] = day
        k[K_HALTED] = 0
        f[F_DAY_EQUITY] = equity_at(price, lots, f, k, p)


@njit(cache=True)
def day_loss_reached(price: float, lots: np.ndarray, f: np.ndarray, k: np.ndarray, p: np.ndarray) -> bool:
    """Pine ``strategy.risk.max_intraday_loss(x, percent_of_equity)``: the day's anchor
    minus equity marked at ``price`` reaches x% of the anchor."""
    anchor = f[F_DAY_EQUITY]
    if math.isnan(p[P_DAY_LOSS]) or anchor <= 0.0:
        return False
    return anchor - equity_at(price, lots, f, k, p) >= anchor * p[P_DAY_LOSS]


@njit(cache=True)
def halt_for_day(
    trades: np.ndarray, lots: np.ndarray, f: np.ndarray, k: np.ndarray, p: np.ndarray, bar: int, price: float
) -> None:
    """Close the position at ``price`` and block entries until the trading day changes."""
    k[K_HALTED] = 1
    if k[K_SIDE] != 0:
        close_all(trades, lots, f, k, p, bar, round_price(price, p), R_DAY_LOSS)


@njit(cache=True)
def close_phase(
    trades: np.ndarray,
    lots: np.ndarray,
    f: np.ndarray,
    k: np.ndarray,
    p: np.ndarray,
    bar: int,
    hlc: tuple[float, float, float],
    flags: np.ndarray,
    resting: np.ndarray,
    origin: np.ndarray,
    size: np.ndarray,
    so_pct: np.ndarray,
) -> None:
    high, low, close = hlc
    update_extreme(f, k, high, low)
    if k[K_SIDE] != 0:
        k[K_RULE_EXIT] = rule_exit_on_close(lots, f, k, p, bar, high, low, so_pct)
    if k[K_HALTED] == 0 and day_loss_reached(close, lots, f, k, p):
        halt_for_day(trades, lots, f, k, p, bar, close)
    for side, row, origin_row in ((1, 0, 0), (-1, 2, 1)):
        if flags[row, bar]:
            place_entry(side, bar, close, origin[origin_row, bar], size[bar], lots, f, k, p)
        else:
            drop_entry(side, k)
    if p[P_TIMING_CLOSE] == 1.0:
        market_orders(trades, lots, f, k, p, bar, close, bar, flags, resting)


@njit(cache=True)
def run(
    ohlc: np.ndarray,
    flags: np.ndarray,
    resting: np.ndarray,
    origin: np.ndarray,
    size: np.ndarray,
    day: np.ndarray,
    p: np.ndarray,
    so_pct: np.ndarray,
    so_frac: np.ndarray,
    capacity: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Simulate. ``ohlc`` is (4, n); ``flags`` (4, n) booleans: long entry, long exit,
    short entry, short exit; ``resting`` (4, n): long stop, long limit, short stop,
    short limit prices (NaN none); ``origin`` (2, n): the bar that placed the long /
    short entry order working after each bar. Returns (trades, open lots, equity,
    position)."""
    n = ohlc.shape[1]
    trades = np.zeros((capacity, N_TCOLS))
    lots = np.zeros((int(p[P_PYRAMIDING]), 5))
    f = np.zeros(N_FSTATE)
    k = np.zeros(N_KSTATE, dtype=np.int64)
    f[F_CASH] = p[P_CAPITAL]
    f[F_LONG_BUDGET] = math.nan
    f[F_SHORT_BUDGET] = math.nan
    k[K_COOLDOWN_UNTIL] = -1
    k[K_DAY] = -(2**62)
    k[K_LONG_ORDER] = -1
    k[K_SHORT_ORDER] = -1
    equity = np.empty(n)
    position = np.empty(n)
    prices = np.empty(N_SLOTS)
    kinds = np.zeros(N_SLOTS, dtype=np.int64)
    for bar in range(n):
        o, h = round_price(ohlc[0, bar], p), round_price(ohlc[1, bar], p)
        low, c = round_price(ohlc[2, bar], p), round_price(ohlc[3, bar], p)
        start_day(day[bar], round_price(ohlc[3, bar - 1], p) if bar > 0 else o, lots, f, k, p)
        if bar > 0 and p[P_TIMING_CLOSE] == 0.0:
            market_orders(trades, lots, f, k, p, bar, o, bar - 1, flags, resting)
        path = bar_path(o, h, low, c, p)
        inside_bar(trades, lots, f, k, p, bar, path, bar - 1, flags, resting, so_pct, so_frac, prices, kinds)
        close_phase(trades, lots, f, k, p, bar, (h, low, c), flags, resting, origin, size, so_pct)
        equity[bar] = equity_at(c, lots, f, k, p)
        position[bar] = k[K_SIDE] * position_qty(lots, k)
    return trades[: k[K_NTRADES]], lots[: k[K_NLOTS]].copy(), equity, position
