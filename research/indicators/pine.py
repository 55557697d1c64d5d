"""Pine expressions on bars frames: ``compile_pine("ta.macd(close, 12, 26, 9).signal")``
returns a callable that computes that series on any bars frame with our
TradingView-exact implementations (see :data:`REGISTRY` for the names).

>>> signal = compile_pine("ta.macd(close, 12, 26, 9).signal")
>>> signal(bars)  # doctest: +SKIP

Besides calls, an expression may use the Pine sources (``close``, ``hl2`` …),
``bar_index``, ``na``, ``true``/``false``, history (``close[1]``), arithmetic, comparisons,
``and``/``or``/``not`` and ``cond ? a : b`` — enough for signal conditions such as
``ta.crossover(ta.ema(close, 9), ta.ema(close, 21)) and close > ta.sma(close, 200)``.
Booleans come back as bool series; Pine's ``na`` is NaN.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .pine_parser import Binary, Call, Field, History, Literal, Name, Node, Ternary, Unary, parse
from .pine_registry import REGISTRY
from .pine_types import Args, PineContext, PineError, PineFunction, Value, truthy
from .sessions import Session
from .sources import SOURCES

__all__ = ["REGISTRY", "PineContext", "PineError", "PineExpression", "compile_pine", "evaluate", "names_used"]

_ARITHMETIC: Mapping[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": np.fmod,
}
_COMPARE: Mapping[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _number(value: Value, context: PineContext) -> pd.Series | float:
    if isinstance(value, pd.Series):
        return value.astype("float64")
    if value is None:
        return np.nan
    if isinstance(value, bool | int | float):
        return float(value)
    raise PineError(f"expected a number or a series, got {value!r}")


def _truth(value: Value, context: PineContext) -> pd.Series:
    return truthy(context.broadcast(value))


def _eval_literal(node: Literal, context: PineContext) -> Value:
    return node.value


def _eval_name(node: Name, context: PineContext) -> Value:
    if node.path in SOURCES:
        return context.source(node.path)
    if node.path == "bar_index":
        return pd.Series(np.arange(len(context.index), dtype=np.float64), index=context.index)
    function = REGISTRY.get(node.path)
    if function is not None and function.variable:
        return _apply(function, Call(node.path, (), ()), context)
    raise PineError(f"unknown Pine name {node.path!r}")


def _bind(function: PineFunction, node: Call) -> tuple[dict[str, Node | Value], Mapping[str, str]]:
    keywords = tuple(name for name, _ in node.kwargs)
    for overload in function.overloads:
        if overload.accepts(len(node.args), keywords):
            bound: dict[str, Node | Value] = dict(overload.defaults)
            bound.update(zip(overload.params, node.args, strict=False))
            bound.update(node.kwargs)
            return bound, overload.implicit
    signatures = " | ".join(f"{function.name}({', '.join(o.params)})" for o in function.overloads)
    raise PineError(f"{function.name} does not take these arguments; expected {signatures}")


def _apply(function: PineFunction, node: Call, context: PineContext) -> Value:
    bound, implicit = _bind(function, node)
    values: dict[str, Value] = {name: _value(item, context) for name, item in bound.items()}
    values.update({name: context.source(column) for name, column in implicit.items()})
    return function.compute(Args(values, context))


def _value(item: Node | Value, context: PineContext) -> Value:
    if isinstance(item, Literal | Name | Call | Field | History | Unary | Binary | Ternary):
        return evaluate(item, context)
    return item


def _eval_call(node: Call, context: PineContext) -> Value:
    function = REGISTRY.get(node.name)
    if function is None:
        raise PineError(f"unknown Pine function {node.name!r}")
    return _apply(function, node, context)


def _eval_field(node: Field, context: PineContext) -> Value:
    if not isinstance(node.target, Call | Name):
        raise PineError(f"fields can only be read from a function's result, not {node.target!r}")
    name = node.target.name if isinstance(node.target, Call) else node.target.path
    function = REGISTRY.get(name)
    getter = function.fields.get(node.name) if function else None
    if getter is None:
        known = ", ".join(function.fields) if function and function.fields else "none"
        raise PineError(f"{name} has no field {node.name!r} (fields: {known})")
    return getter(evaluate(node.target, context))


def _eval_history(node: History, context: PineContext) -> Value:
    offset = evaluate(node.offset, context)
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise PineError(f"the history offset must be an integer constant, got {offset!r}")
    return context.broadcast(evaluate(node.target, context)).shift(offset)


def _eval_unary(node: Unary, context: PineContext) -> Value:
    operand = evaluate(node.operand, context)
    if node.op == "not":
        return ~_truth(operand, context)
    number = _number(operand, context)
    if isinstance(number, pd.Series):
        return number.mul(-1.0) if node.op == "-" else number
    return -number if node.op == "-" else number


def _eval_binary(node: Binary, context: PineContext) -> Value:
    left, right = evaluate(node.left, context), evaluate(node.right, context)
    if node.op in ("and", "or"):
        a, b = _truth(left, context), _truth(right, context)
        return (a & b) if node.op == "and" else (a | b)
    a_num, b_num = _number(left, context), _number(right, context)
    if node.op in _COMPARE:
        return context.broadcast(_COMPARE[node.op](context.broadcast(a_num), b_num))
    with np.errstate(divide="ignore", invalid="ignore"):
        result = context.broadcast(_ARITHMETIC[node.op](context.broadcast(a_num), b_num))
    return result.where(np.isfinite(result))


def _eval_ternary(node: Ternary, context: PineContext) -> Value:
    condition = _truth(evaluate(node.condition, context), context).to_numpy()
    then, otherwise = evaluate(node.then, context), evaluate(node.otherwise, context)
    a = context.broadcast(_number(then, context)).to_numpy()
    b = context.broadcast(_number(otherwise, context)).to_numpy()
    return pd.Series(np.where(condition, a, b), index=context.index)


_EVALUATORS: Mapping[type, Callable[[Any, PineContext], Value]] = {
    Literal: _eval_literal,
    Name: _eval_name,
    Call: _eval_call,
    Field: _eval_field,
    History: _eval_history,
    Unary: _eval_unary,
    Binary: _eval_binary,
    Ternary: _eval_ternary,
}


def evaluate(node: Node, context: PineContext) -> Value:
    """Evaluate a parsed expression on ``context.bars``."""
    return _EVALUATORS[type(node)](node, context)


def names_used(node: Node) -> set[str]:
    """Every function or variable name the expression refers to (sources included)."""
    if isinstance(node, Name):
        return {node.path}
    if isinstance(node, Call):
        return {node.name}.union(*(names_used(n) for n in node.args), *(names_used(n) for _, n in node.kwargs))
    children: tuple[Node, ...] = ()
    if isinstance(node, Field):
        children = (node.target,)
    elif isinstance(node, History):
        children = (node.target, node.offset)
    elif isinstance(node, Unary):
        children = (node.operand,)
    elif isinstance(node, Binary):
        children = (node.left, node.right)
    elif isinstance(node, Ternary):
        children = (node.condition, node.then, node.otherwise)
    return set().union(*(names_used(n) for n in children))


@dataclass(frozen=True)
class PineExpression:
    """A compiled Pine expression; call it on a bars frame to get the series."""

    text: str
    node: Node
    session: Session

    def __call__(self, bars: pd.DataFrame) -> pd.Series:
        context = PineContext(bars, self.session)
        result = evaluate(self.node, context)
        if isinstance(result, tuple):
            fields = ", ".join(getattr(result, "_fields", ()))
            raise PineError(f"{self.text!r} returns a tuple; select one of its fields ({fields})")
        return context.broadcast(result).rename(self.text)


def compile_pine(text: str, session: Session | None = None) -> PineExpression:
    """Parse ``text`` and check that every name in it is known. ``session`` anchors
    ``timeframe.change`` and ``ta.vwap``'s daily reset (default: UTC midnight)."""
    node = parse(text)
    unknown = sorted(n for n in names_used(node) if n not in REGISTRY and n not in SOURCES and n != "bar_index")
    if unknown:
        raise PineError(f"{text!r} uses names the registry does not provide: {', '.join(unknown)}")
    return PineExpression(text, node, session or Session())
