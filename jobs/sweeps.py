"""Parameter sweeps: check values against an algorithm's schema and expand them into a grid.

A scalar is fixed, a list is swept, and {"start", "stop", "step"} is an inclusive range.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from jobs import quantities
from jobs.errors import InvalidInput
from jobs.validators import NUL, bounded_int, finite_number

PARAMETER_TYPES = ("int", "float", "str", "bool", "choice")
RANGE_KEYS = {"start", "stop", "step"}
# Past this many values one range could never fit any grid limit; counted, never expanded.
MAX_RANGE_RATIO = 1e15


def _coerce(spec: dict[str, Any], value: Any) -> Any:
    """Return ``value`` as the parameter's type, or raise ValueError with a reason."""
    kind = spec["type"]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"must be a string, not {value!r}"[:200])
        if NUL in value:
            raise ValueError("must not contain the NUL character")
        return value
    if kind == "choice":
        if value not in spec.get("values", []):
            allowed = ", ".join(map(str, spec.get("values", [])))
            raise ValueError(f"{value!r} is not one of: {allowed}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind_name = "n integer" if kind == "int" else " number"
        raise ValueError(f"must be a{kind_name}, not {value!r}"[:200])
    value = bounded_int(value) if kind == "int" else finite_number(value)
    minimum, maximum = spec.get("minimum"), spec.get("maximum")
    if minimum is not None and value < minimum:
        raise ValueError(f"{value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{value} is above the maximum {maximum}")
    return value


def _range_bounds(spec: dict[str, Any], value: dict[str, Any]) -> tuple[float, float, int]:
    """A range's start, step and number of values, counted without expanding it."""
    if spec["type"] not in ("int", "float"):
        raise ValueError("a range needs an int or float parameter")
    if set(value) != RANGE_KEYS:
        raise ValueError("a range needs exactly the keys start, stop and step")
    numbers = {}
    for key in ("start", "stop", "step"):
        try:
            numbers[key] = finite_number(value[key])
        except ValueError as exc:
            raise ValueError(f"range {key} {exc}") from None
    start, stop, step = numbers["start"], numbers["stop"], numbers["step"]
    if step <= 0:
        raise ValueError("range step must be positive")
    if stop < start:
        raise ValueError("range stop must not be below start")
    ratio = (stop - start) / step
    if not math.isfinite(ratio) or ratio > MAX_RANGE_RATIO:
        raise ValueError(f"range has more than {MAX_RANGE_RATIO:g} values")
    return start, step, math.floor(ratio + 1e-9) + 1


def sweep_count(spec: dict[str, Any], value: Any) -> int:
    """How many values a parameter takes, without listing them."""
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        return _range_bounds(spec, value)[2]
    return 1


def sweep_values(spec: dict[str, Any], value: Any) -> list[Any]:
    """The list of values one parameter takes in the grid."""
    if isinstance(value, list):
        if not value:
            raise ValueError("an empty list sweeps nothing; give at least one value")
        return [_coerce(spec, item) for item in value]
    if isinstance(value, dict):
        start, step, count = _range_bounds(spec, value)
        return [_coerce(spec, round(start + i * step, 12)) for i in range(count)]
    return [_coerce(spec, value)]


def resolve_sweep(
    schema: dict[str, dict], parameters: Any, *, repeats: int = 1, max_grid: int | None = None
) -> dict[str, list[Any]]:
    """Check ``parameters`` against ``schema``; return each parameter's values, in schema order.

    With ``max_grid``, the grid is counted before any value is listed, and refused past it.
    """
    if not isinstance(parameters, dict):
        raise InvalidInput({"parameters": ["must be an object of parameter name to value"]})
    errors: dict[str, str] = {}
    for name in parameters:
        if name not in schema:
            known = ", ".join(schema) or "none"
            errors[str(name).replace(NUL, "")[:100]] = f"unknown parameter (known: {known})"
    raws: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for name, spec in schema.items():
        if name in parameters:
            raws[name] = parameters[name]
        elif "default" in spec:
            raws[name] = spec["default"]
        else:
            errors[name] = "is required"
            continue
        try:
            counts[name] = sweep_count(spec, raws[name])
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise InvalidInput({"parameters": {k: [v] for k, v in errors.items()}})
    size = math.prod(counts.values()) * repeats
    if max_grid is not None and size > max_grid:
        shape = " × ".join(f"{n} {k}" for k, n in counts.items() if n > 1) or "1"
        raise InvalidInput(
            {
                "parameters": [
                    f"the grid has {size} jobs ({shape} × {repeats} repeats); "
                    f"the limit is {max_grid}"
                ]
            }
        )
    axes: dict[str, list[Any]] = {}
    for name, raw in raws.items():
        try:
            axes[name] = sweep_values(schema[name], raw)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise InvalidInput({"parameters": {k: [v] for k, v in errors.items()}})
    return axes


def grid_size(axes: dict[str, list[Any]], repeats: int) -> int:
    return math.prod(len(values) for values in axes.values()) * repeats


def expand_grid(axes: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    names = list(axes)
    for combination in itertools.product(*(axes[name] for name in names)):
        yield dict(zip(names, combination, strict=True))


NodeLister = Callable[[], Sequence[Any] | None]


def validate_resources(
    defaults: dict[str, Any], requested: Any, list_nodes: NodeLister | None = None
) -> dict[str, Any]:
    """Merge requested resources over the algorithm's defaults, checking and bounding each.

    ``cpu`` is stored in cores (``"500m"`` becomes 0.5), ``memory`` as the quantity given.
    ``list_nodes`` (when given) returns the nodes jobs may run on, or None when they cannot be
    listed now; a named ``node`` must be one of them, and bounds what may be asked.
    """
    if requested is None:
        requested = {}
    if not isinstance(requested, dict):
        raise InvalidInput({"resources": ["must be an object with cpu, memory and gpu"]})
    errors: dict[str, str] = {}
    merged = {"cpu": 1, "memory": "1Gi", "gpu": 0, **(defaults or {})}
    node = _requested_node(requested, list_nodes, errors)
    limits = _limits(node)
    for key, value in requested.items():
        try:
            if key == "cpu":
                cores = quantities.cpu_cores(value, limits.cpu)
                merged[key] = int(cores) if float(cores).is_integer() else cores
            elif key == "gpu":
                merged[key] = quantities.gpu_count(value, limits.gpu)
            elif key == "memory":
                quantities.memory_bytes(value, limits.memory)
                merged[key] = value.strip() if isinstance(value, str) else value
            elif key == "node":
                merged[key] = value
            else:
                errors[str(key).replace(NUL, "")[:100]] = (
                    "unknown resource (known: cpu, memory, gpu, node)"
                )
        except ValueError as exc:
            errors[key] = str(exc)
    if errors:
        raise InvalidInput({"resources": {k: [v] for k, v in errors.items()}})
    return merged


def _requested_node(requested: dict, list_nodes: NodeLister | None, errors: dict) -> Any:
    """The listed node ``requested["node"]`` names (None when none is asked or not known)."""
    if "node" not in requested:
        return None
    name = requested["node"]
    if not isinstance(name, str) or not name.strip() or NUL in name or len(name) > 253:
        errors["node"] = "must be a node name"
        return None
    nodes = list_nodes() if list_nodes is not None else None
    if nodes is None:
        return None
    for node in nodes:
        if node.name == name:
            return node
    known = ", ".join(sorted(node.name for node in nodes)[:20]) or "none"
    errors["node"] = f"no node is named {name!r} (nodes: {known})"
    return None


def _limits(node: Any) -> quantities.NodeLimits:
    """What one job may ask of ``node`` (a listed node), else of any node at all."""
    if node is None:
        return quantities.NODE_LIMITS
    return quantities.NodeLimits(
        cpu=min(quantities.NODE_LIMITS.cpu, float(node.cpu_allocatable)),
        memory=min(quantities.NODE_LIMITS.memory, int(node.memory_allocatable)),
        gpu=min(quantities.NODE_LIMITS.gpu, int(node.gpu_allocatable)),
    )
