"""Typed parameters shared by research prototypes and runtime strategies.

A :class:`Param` fixes its type by its default, converts CLI strings to that type and
checks the range or the allowed choices, raising :class:`ParamError` that names the
parameter and what was expected. One implementation for both registries (research and
runtime may not import each other).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Param", "ParamError", "ParamValue", "bind_params"]

ParamValue = bool | int | float | str

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class ParamError(ValueError):
    """A parameter that is not declared, or a value of the wrong type, range or choice."""


def _as_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(value)


def _as_int(value: object) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    if isinstance(value, int | float):
        return int(value)
    return int(str(value).strip())


def _as_float(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    return float(value) if isinstance(value, int | float) else float(str(value).strip())


@dataclass(frozen=True)
class Param:
    """One parameter: default (which fixes its type), range or choices, and a help line."""

    name: str
    default: ParamValue
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def kind(self) -> type:
        return type(self.default)

    def coerce(self, value: object) -> ParamValue:
        """``value`` (a CLI string or a Python value) as this parameter's type, checked."""
        converted = self._convert(value)
        self._check(converted)
        return converted

    def _convert(self, value: object) -> ParamValue:
        kind = self.kind
        try:
            if kind is bool:
                return _as_bool(value)
            if kind is int:
                return _as_int(value)
            if kind is float:
                return _as_float(value)
        except (TypeError, ValueError) as exc:
            raise ParamError(f"parameter {self.name!r}: {value!r} is not a valid {kind.__name__}") from exc
        return str(value)

    def _check(self, value: ParamValue) -> None:
        if isinstance(value, str):
            if self.choices and value not in self.choices:
                raise ParamError(f"parameter {self.name!r}: {value!r} is not one of {list(self.choices)}")
            return
        if isinstance(value, bool):
            return
        if self.low is not None and value < self.low:
            raise ParamError(f"parameter {self.name!r}: {value} is below its minimum {self.low}")
        if self.high is not None and value > self.high:
            raise ParamError(f"parameter {self.name!r}: {value} is above its maximum {self.high}")


def bind_params(owner: str, params: Sequence[Param], overrides: Mapping[str, object] | None) -> dict[str, ParamValue]:
    """The defaults of ``params`` updated with ``overrides``, each converted and checked;
    an undeclared name is a :class:`ParamError` listing the declared ones."""
    by_name = {p.name: p for p in params}
    bound: dict[str, ParamValue] = {p.name: p.default for p in params}
    for name, value in (overrides or {}).items():
        if name not in by_name:
            expected = ", ".join(sorted(by_name)) or "none"
            raise ParamError(f"{owner} has no parameter {name!r} (expected one of: {expected})")
        bound[name] = by_name[name].coerce(value)
    return bound
