"""Parameter grids for sweeps: read ``name=spec`` entries, type every value by its
:class:`~quantbridge.research.registry.Param`, and expand the combinations.

A spec is one of:

* ``start:stop:step`` — an inclusive range (int and float parameters only); for an
  int parameter the step may be left out (``5:10`` is ``5,6,…,10``);
* ``a,b,c`` — a list of values;
* ``a`` — one value.

Every value goes through :meth:`Param.coerce`, so a value of the wrong type or out of
the parameter's range is a :class:`ParamError` naming the parameter and its type.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from .registry import Param, ParamError, ParamValue

__all__ = ["MAX_VALUES_PER_PARAM", "GridError", "GridInput", "combo_key", "expand_grid", "parse_grid", "parse_values"]

GridInput = Mapping[str, str | Sequence[object]] | Sequence[str]
"""``{"fast": "5:50:5", "slow": [50, 100]}`` or ``["fast=5:50:5", "slow=50,100"]``."""

MAX_VALUES_PER_PARAM = 100_000


class GridError(ParamError):
    """A grid that cannot be read: bad syntax, an empty range, a repeated or unknown parameter."""


def parse_grid(params: Sequence[Param], grid: GridInput) -> dict[str, list[ParamValue]]:
    """The grid's values per parameter, typed by ``params`` (in the grid's order)."""
    by_name = {p.name: p for p in params}
    values: dict[str, list[ParamValue]] = {}
    for name, spec in _entries(grid):
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise GridError(f"unknown parameter {name!r} in the grid (known: {known})")
        if name in values:
            raise GridError(f"parameter {name!r} appears twice in the grid")
        values[name] = parse_values(by_name[name], spec)
    return values


def parse_values(param: Param, spec: str | Sequence[object]) -> list[ParamValue]:
    """The values one grid entry stands for, coerced to ``param``'s type, duplicates dropped."""
    if isinstance(spec, str):
        raw: list[object] = _range(param, spec) if _is_range(param, spec) else [s.strip() for s in spec.split(",")]
    else:
        raw = list(spec)
    if not raw or any(isinstance(v, str) and not v for v in raw):
        raise GridError(f"parameter {param.name!r}: empty value in grid entry {spec!r}")
    coerced = [param.coerce(v) for v in raw]
    return list(dict.fromkeys(coerced))


def expand_grid(
    defaults: Mapping[str, ParamValue], values: Mapping[str, Sequence[ParamValue]]
) -> list[dict[str, ParamValue]]:
    """Every combination of ``values`` over ``defaults`` (parameters not in the grid keep
    their default), in the order of ``defaults`` — deterministic."""
    names = [name for name in defaults if name in values]
    names += [name for name in values if name not in defaults]
    product = itertools.product(*(values[name] for name in names))
    return [{**defaults, **dict(zip(names, combo, strict=True))} for combo in product]


def combo_key(combo: Mapping[str, object]) -> str:
    """A canonical text for one combination (for resume bookkeeping and file names)."""
    return json.dumps({k: combo[k] for k in sorted(combo)}, default=str)


def _entries(grid: GridInput) -> list[tuple[str, str | Sequence[object]]]:
    if isinstance(grid, Mapping):
        return [(str(name).strip(), spec) for name, spec in grid.items()]
    if isinstance(grid, str):
        grid = [grid]
    return [_split_entry(text) for text in grid]


def _split_entry(text: str) -> tuple[str, str]:
    name, sep, spec = text.partition("=")
    if not sep or not name.strip() or not spec.strip():
        raise GridError(f"grid entry {text!r}: expected NAME=VALUES (e.g. fast=5:50:5 or fast=10,20,30)")
    return name.strip(), spec.strip()


def _is_range(param: Param, spec: str) -> bool:
    return ":" in spec and param.kind in (int, float)


def _range(param: Param, spec: str) -> list[object]:
    parts = [p.strip() for p in spec.split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise GridError(f"parameter {param.name!r}: range {spec!r} must be start:stop:step")
    if len(parts) == 2 and param.kind is float:
        raise GridError(f"parameter {param.name!r}: float range {spec!r} needs a step (start:stop:step)")
    start, stop, step = (_number(param, spec, p) for p in (*parts, *(["1"] if len(parts) == 2 else [])))
    if step <= 0:
        raise GridError(f"parameter {param.name!r}: range {spec!r} needs a positive step")
    if stop < start:
        raise GridError(f"parameter {param.name!r}: range {spec!r} ends before it starts")
    count = int((stop - start) / step) + 1
    if count > MAX_VALUES_PER_PARAM:
        raise GridError(f"parameter {param.name!r}: range {spec!r} has {count} values (limit {MAX_VALUES_PER_PARAM})")
    return [_typed(param, start + i * step) for i in range(count)]


def _number(param: Param, spec: str, text: str) -> Decimal:
    """A range bound or step as an exact decimal, checked against the parameter's type."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or (param.kind is int and value != value.to_integral_value()):
        raise ParamError(f"parameter {param.name!r}: {text!r} in range {spec!r} is not a valid {param.kind.__name__}")
    return value


def _typed(param: Param, value: Decimal) -> int | float:
    return int(value) if param.kind is int else float(value)
