"""A search space: each parameter fixed, swept, ranged or drawn from a distribution, and
perhaps conditional on another's value. Checked here against the algorithm's schema.

A parameter's value may be a scalar (fixed), a list, ``{"start", "stop", "step"}``, or
``{"distribution": "uniform"|"log_uniform"|"int"|"choice", "low", "high", "step", "choices"}``;
any object form may add ``"when": {"other": value or [values]}`` (docs/search.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jobs.errors import InvalidInput
from jobs.sweeps import RANGE_KEYS, _coerce, _range_bounds, sweep_values
from jobs.validators import NUL, finite_number

DISTRIBUTIONS = ("uniform", "log_uniform", "int", "choice")
DISTRIBUTION_KEYS = {"distribution", "low", "high", "step", "log", "choices"}
# A parameter others depend on is branched on value by value; past this it is no switch.
MAX_CONDITION_VALUES = 1000


@dataclass
class Dimension:
    """One parameter of the space."""

    name: str
    kind: str  # "fixed", "values", "range", "distribution"
    spec: dict[str, Any]
    value: Any = None  # fixed
    values: list[Any] | None = None  # values, choice, and discrete ranges once listed
    distribution: str = ""
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    log: bool = False
    raw_range: dict[str, Any] | None = None
    when: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def searched(self) -> bool:
        return self.kind != "fixed"

    @property
    def discrete(self) -> bool:
        if self.kind in ("fixed", "values", "range"):
            return True
        if self.distribution in ("choice", "int"):
            return True
        return self.distribution == "uniform" and self.step is not None

    def count(self) -> int:
        """How many values the grid gives it, without listing them."""
        if self.kind == "fixed":
            return 1
        if self.values is not None:
            return len(self.values)
        if self.kind == "range":
            return _range_bounds(self.spec, self.raw_range or {})[2]
        step = self.step or 1
        return math.floor((self.high - self.low) / step + 1e-9) + 1

    def grid_values(self) -> list[Any]:
        if self.kind == "fixed":
            return [self.value]
        if self.values is not None:
            return self.values
        if self.kind == "range":
            return sweep_values(self.spec, self.raw_range)
        step = self.step or 1
        numbers = [round(self.low + i * step, 12) for i in range(self.count())]
        return [int(n) if self.distribution == "int" else n for n in numbers]

    def active(self, assignment: dict[str, Any]) -> bool:
        return all(assignment.get(name, _MISSING) in values for name, values in self.when.items())


_MISSING = object()


@dataclass
class Space:
    dimensions: dict[str, Dimension]  # in evaluation order: every parent before its children
    defaults: dict[str, Any]  # what an inactive parameter takes (its schema default)

    @property
    def searched(self) -> list[Dimension]:
        return [d for d in self.dimensions.values() if d.searched]

    @property
    def conditional(self) -> bool:
        return any(d.when for d in self.dimensions.values())

    def complete(self, chosen: dict[str, Any]) -> dict[str, Any]:
        """Every parameter's value for a job: chosen, fixed, or the default when inactive."""
        active: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for name, dim in self.dimensions.items():
            if not dim.active(active):
                if name in self.defaults:
                    values[name] = self.defaults[name]
                continue
            active[name] = values[name] = dim.value if dim.kind == "fixed" else chosen[name]
        return values

    def grid_count(self, limit: int) -> int:
        """How many distinct jobs the grid has (one repeat); stops counting past ``limit``."""
        dims = list(self.dimensions.values())
        parents = {parent for dim in dims for parent in dim.when}

        def count(i: int, active: dict[str, Any]) -> int:
            if i == len(dims):
                return 1
            dim = dims[i]
            if not dim.active(active):
                return count(i + 1, active)
            if dim.name not in parents:
                return dim.count() * count(i + 1, active)
            total = 0
            for value in dim.grid_values():
                total += count(i + 1, {**active, dim.name: value})
                if total > limit:
                    break
            return total

        return count(0, {})

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every distinct combination, in schema order; inactive parameters take their default,
        so a conditional parameter adds no duplicate jobs."""
        dims = list(self.dimensions.values())

        def expand(i: int, active: dict[str, Any]) -> Iterator[dict[str, Any]]:
            if i == len(dims):
                yield active
                return
            dim = dims[i]
            if not dim.active(active):
                yield from expand(i + 1, active)
                return
            for value in dim.grid_values():
                yield from expand(i + 1, {**active, dim.name: value})

        for active in expand(0, {}):
            yield self.complete(active)


def parse_space(schema: dict[str, dict], parameters: Any) -> Space:
    """Check ``parameters`` against ``schema``; InvalidInput naming each bad parameter."""
    if not isinstance(parameters, dict):
        raise InvalidInput({"parameters": ["must be an object of parameter name to value"]})
    errors: dict[str, str] = {}
    for name in parameters:
        if name not in schema:
            known = ", ".join(schema) or "none"
            errors[str(name).replace(NUL, "")[:100]] = f"unknown parameter (known: {known})"
    dims: dict[str, Dimension] = {}
    defaults = {name: spec["default"] for name, spec in schema.items() if "default" in spec}
    for name, spec in schema.items():
        if name not in parameters and "default" not in spec:
            errors[name] = "is required"
            continue
        raw = parameters.get(name, spec.get("default"))
        try:
            dims[name] = _dimension(name, spec, raw)
        except ValueError as exc:
            errors[name] = str(exc)
    for name, dim in dims.items():
        try:
            dim.when = _conditions(name, dim.when, schema, parameters)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise InvalidInput({"parameters": {k: [v] for k, v in errors.items()}})
    try:
        ordered = _ordered(dims)
    except ValueError as exc:
        raise InvalidInput({"parameters": [str(exc)]}) from None
    for dim in ordered.values():
        if any(dim.name in child.when for child in ordered.values()) and dim.kind != "fixed":
            if not dim.discrete or dim.count() > MAX_CONDITION_VALUES:
                raise InvalidInput(
                    {
                        "parameters": {
                            dim.name: [
                                "other parameters depend on it, so it needs at most "
                                f"{MAX_CONDITION_VALUES} listed values"
                            ]
                        }
                    }
                )
    return Space(ordered, defaults)


def _dimension(name: str, spec: dict[str, Any], raw: Any) -> Dimension:
    when: dict[str, Any] = {}
    if isinstance(raw, dict) and "when" in raw:
        raw = dict(raw)
        when = raw.pop("when")
        if not isinstance(when, dict) or not when:
            raise ValueError('"when" must be an object of parameter name to value(s)')
        if set(raw) == {"value"}:
            raw = raw["value"]
        elif set(raw) == {"values"}:
            raw = raw["values"]
            if not isinstance(raw, list):
                raise ValueError('"values" must be a list')
    dim = _unconditional(name, spec, raw)
    dim.when = when
    return dim


def _unconditional(name: str, spec: dict[str, Any], raw: Any) -> Dimension:
    if isinstance(raw, list):
        values = sweep_values(spec, raw)
        return Dimension(name, "values", spec, values=values)
    if isinstance(raw, dict) and "distribution" in raw:
        return _distribution(name, spec, raw)
    if isinstance(raw, dict) and set(raw) == RANGE_KEYS:
        _range_bounds(spec, raw)
        return Dimension(name, "range", spec, raw_range=raw)
    if isinstance(raw, dict):
        raise ValueError(
            "an object must be a range (start, stop, step) or a distribution "
            f"({', '.join(DISTRIBUTIONS)}), with an optional when"
        )
    return Dimension(name, "fixed", spec, value=_coerce(spec, raw))


def _distribution(name: str, spec: dict[str, Any], raw: dict[str, Any]) -> Dimension:
    kind = raw["distribution"]
    if kind not in DISTRIBUTIONS:
        raise ValueError(
            f"distribution must be one of {', '.join(DISTRIBUTIONS)}, not {kind!r}"[:300]
        )
    unknown = set(raw) - DISTRIBUTION_KEYS
    if unknown:
        raise ValueError(f"unknown keys {', '.join(sorted(map(str, unknown)))[:200]}")
    if kind == "choice":
        choices = raw.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ValueError("a choice distribution needs a non-empty list of choices")
        return Dimension(
            name, "distribution", spec, distribution=kind, values=sweep_values(spec, choices)
        )
    if spec["type"] not in ("int", "float"):
        raise ValueError(f"a {kind} distribution needs an int or float parameter")
    if kind != "int" and spec["type"] == "int":
        raise ValueError(f'an int parameter takes the "int" distribution, not {kind!r}')
    bounds = {}
    for key in ("low", "high"):
        if key not in raw:
            raise ValueError(f"a {kind} distribution needs low and high (missing {key})")
        try:
            bounds[key] = finite_number(raw[key])
        except ValueError as exc:
            raise ValueError(f"{key} {exc}") from None
        _coerce(spec, int(bounds[key]) if kind == "int" else bounds[key])
    low, high = bounds["low"], bounds["high"]
    if high < low:
        raise ValueError("high must not be below low")
    log = kind == "log_uniform" or raw.get("log") is True
    if log and low <= 0:
        raise ValueError(f"a log-uniform distribution needs low > 0, not {low:g}")
    step = raw.get("step")
    if step is not None:
        try:
            step = finite_number(step)
        except ValueError as exc:
            raise ValueError(f"step {exc}") from None
        if step <= 0:
            raise ValueError("step must be positive")
        if log:
            raise ValueError("a log-scaled distribution takes no step")
        if (high - low) / step > 1e15:
            raise ValueError("step is too small for these bounds")
    if kind == "int":
        if not float(low).is_integer() or not float(high).is_integer():
            raise ValueError("an int distribution needs integer low and high")
        if step is not None and not float(step).is_integer():
            raise ValueError("an int distribution needs an integer step")
        low, high, step = int(low), int(high), int(step) if step is not None else None
    return Dimension(
        name, "distribution", spec, distribution=kind, low=low, high=high, step=step, log=log
    )


def _conditions(
    name: str, when: dict[str, Any], schema: dict[str, dict], parameters: dict[str, Any]
) -> dict[str, list[Any]]:
    checked: dict[str, list[Any]] = {}
    for other, wanted in when.items():
        if other not in schema:
            raise ValueError(f"condition on {str(other)[:100]!r}, which is no parameter")
        if other == name:
            raise ValueError("a parameter cannot depend on itself")
        values = wanted if isinstance(wanted, list) else [wanted]
        try:
            checked[other] = [_coerce(schema[other], value) for value in values]
        except ValueError as exc:
            raise ValueError(f"condition on {other}: {exc}") from None
    return checked


def _ordered(dims: dict[str, Dimension]) -> dict[str, Dimension]:
    """Parents before children (schema order otherwise); a cycle is refused."""
    ordered: dict[str, Dimension] = {}
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise ValueError(f"conditions form a cycle through {name!r}")
        visiting.add(name)
        for parent in dims[name].when:
            visit(parent)
        visiting.discard(name)
        ordered[name] = dims[name]

    for name in dims:
        visit(name)
    return ordered
