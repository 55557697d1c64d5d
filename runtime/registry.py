"""Named runtime strategies with their parameters, so the CLI finds them by name.

A :class:`StrategySpec` pairs a strategy factory with its declared parameters (checked
against the factory's keyword arguments), the default execution model and the number of
bars of history the strategy reads (its window). A :class:`StrategyRegistry` is an
immutable value; :data:`quantbridge.runtime.strategies.STRATEGIES` is the shipped one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from quantbridge.datasets.execution import ExecutionModel
from quantbridge.datasets.params import Param, ParamError, bind_params

from .strategy import ParamValue, Strategy

__all__ = ["Param", "ParamError", "StrategyRegistry", "StrategySpec", "UnknownStrategyError"]


class UnknownStrategyError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def _unbounded(_: Mapping[str, ParamValue]) -> int | None:
    return None


@dataclass(frozen=True)
class StrategySpec:
    """A strategy factory, its parameters, its default execution model, and the window
    (bars of history, None: all) it reads for given parameters."""

    name: str
    factory: Callable[..., Strategy]
    description: str
    params: tuple[Param, ...] = ()
    model: ExecutionModel = field(default_factory=ExecutionModel)
    window: Callable[[Mapping[str, ParamValue]], int | None] = _unbounded
    check: Callable[[Mapping[str, ParamValue]], None] | None = None

    def __post_init__(self) -> None:
        accepted = set(inspect.signature(self.factory).parameters)
        declared = {p.name for p in self.params}
        if accepted != declared:
            raise ParamError(
                f"strategy {self.name!r}: declared params {sorted(declared)} != factory's {sorted(accepted)}"
            )

    @property
    def defaults(self) -> dict[str, ParamValue]:
        return {p.name: p.default for p in self.params}

    def bind(self, overrides: Mapping[str, object] | None = None) -> Mapping[str, ParamValue]:
        """The defaults updated with ``overrides`` (each converted and checked), read-only."""
        bound = bind_params(f"strategy {self.name!r}", self.params, overrides)
        if self.check is not None:
            self.check(bound)
        return MappingProxyType(bound)

    def create(self, params: Mapping[str, ParamValue]) -> Strategy:
        return self.factory(**params)


class StrategyRegistry:
    """An immutable set of strategy specs by name."""

    def __init__(self, specs: Iterable[StrategySpec] = ()) -> None:
        self._specs: dict[str, StrategySpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"two strategies named {spec.name!r}")
            self._specs[spec.name] = spec

    def get(self, name: str) -> StrategySpec:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs)) or "none"
            raise UnknownStrategyError(f"no runtime strategy named {name!r} (registered: {known})") from None

    def with_spec(self, spec: StrategySpec) -> StrategyRegistry:
        return StrategyRegistry([*self._specs.values(), spec])

    def names(self) -> tuple[str, ...]:
        return tuple(self._specs)

    def __iter__(self) -> Iterator[StrategySpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs
