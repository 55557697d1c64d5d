"""Named prototypes with their parameters, so the CLI, notebooks, sweeps and the bridge
find them by name. A registry is an immutable value; the catalogue is one instance."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import pandas as pd

from quantbridge.datasets.execution import ExecutionModel

from .rules import PositionRules
from .signals import Signals

__all__ = ["Param", "ParamError", "Prototype", "PrototypeSpec", "Registry", "UnknownPrototypeError"]

ParamValue = int | float | bool | str
Prototype = Callable[..., Signals]


class ParamError(ValueError):
    """A parameter that the prototype does not take, or a value of the wrong type/range."""


class UnknownPrototypeError(KeyError):
    """No prototype of that name."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Param:
    """One parameter: default, type, and the range a sweep may explore."""

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
        """``value`` as this parameter's type (strings from the CLI are parsed)."""
        converted = self._convert(value)
        self._check_range(converted)
        return converted

    def _convert(self, value: object) -> ParamValue:
        kind = self.kind
        try:
            if kind is bool:
                return _as_bool(value)
            if kind is int:
                return _as_int(value)
            if kind is float:
                return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ParamError(f"parameter {self.name!r}: {value!r} is not a valid {kind.__name__}") from exc
        text = str(value)
        if self.choices and text not in self.choices:
            raise ParamError(f"parameter {self.name!r}: {text!r} is not one of {list(self.choices)}")
        return text

    def _check_range(self, value: ParamValue) -> None:
        if isinstance(value, (bool, str)):
            return
        if self.low is not None and value < self.low:
            raise ParamError(f"parameter {self.name!r}: {value} is below its minimum {self.low}")
        if self.high is not None and value > self.high:
            raise ParamError(f"parameter {self.name!r}: {value} is above its maximum {self.high}")


def _as_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(text)


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    return int(str(value)) if isinstance(value, str) else int(value)  # type: ignore[call-overload]


@dataclass(frozen=True)
class PrototypeSpec:
    """A prototype function with its name, parameters, default rules and model, and the
    number of bars its indicators need before signals are meaningful (warm-up)."""

    name: str
    function: Prototype
    description: str
    params: tuple[Param, ...]
    rules: PositionRules = field(default_factory=PositionRules)
    model: ExecutionModel = field(default_factory=ExecutionModel)
    lookback: Callable[[Mapping[str, ParamValue]], int] = lambda _: 0

    def __post_init__(self) -> None:
        accepted = set(inspect.signature(self.function).parameters) - {"bars"}
        declared = {p.name for p in self.params}
        if accepted != declared:
            raise ParamError(
                f"prototype {self.name!r}: declared params {sorted(declared)} != function's {sorted(accepted)}"
            )

    @property
    def defaults(self) -> dict[str, ParamValue]:
        return {p.name: p.default for p in self.params}

    def bind(self, overrides: Mapping[str, object] | None = None) -> dict[str, ParamValue]:
        """Defaults updated with ``overrides``, each checked and converted."""
        by_name = {p.name: p for p in self.params}
        bound = self.defaults
        for name, value in (overrides or {}).items():
            if name not in by_name:
                expected = ", ".join(sorted(by_name)) or "none"
                raise ParamError(f"prototype {self.name!r} has no parameter {name!r} (expected one of: {expected})")
            bound[name] = by_name[name].coerce(value)
        return bound

    def warmup(self, params: Mapping[str, object] | None = None) -> int:
        return self.lookback(self.bind(params))

    def __call__(self, bars: pd.DataFrame, **params: object) -> Signals:
        return self.function(bars, **self.bind(params))


class Registry:
    """An immutable set of prototypes by name."""

    def __init__(self, specs: Iterable[PrototypeSpec] = ()) -> None:
        self._specs: dict[str, PrototypeSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"two prototypes named {spec.name!r}")
            self._specs[spec.name] = spec

    def get(self, name: str) -> PrototypeSpec:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs))
            raise UnknownPrototypeError(f"no prototype named {name!r} (known: {known})") from None

    def with_spec(self, spec: PrototypeSpec) -> Registry:
        """A new registry with ``spec`` added (the original is unchanged)."""
        return Registry([*self._specs.values(), spec])

    def names(self) -> list[str]:
        return sorted(self._specs)

    def __iter__(self) -> Iterator[PrototypeSpec]:
        return iter(self._specs[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs
