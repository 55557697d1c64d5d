"""Named prototypes with their parameters, so the CLI, notebooks, sweeps and the bridge
find them by name. A registry is an immutable value; the catalogue is one instance."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import pandas as pd

from quantbridge.datasets.execution import ExecutionModel
from quantbridge.datasets.params import Param, ParamError, ParamValue, bind_params

from .rules import PositionRules
from .signals import Signals

__all__ = ["Param", "ParamError", "ParamValue", "Prototype", "PrototypeSpec", "Registry", "UnknownPrototypeError"]

Prototype = Callable[..., Signals]


class UnknownPrototypeError(KeyError):
    """No prototype of that name."""

    def __str__(self) -> str:
        return str(self.args[0])


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
        return bind_params(f"prototype {self.name!r}", self.params, overrides)

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
