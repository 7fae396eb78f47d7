"""Parameter sweeps: check values against an algorithm's schema and expand them into a grid.

A scalar is fixed, a list is swept, and {"start", "stop", "step"} is an inclusive range.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from typing import Any

from jobs.errors import InvalidInput

PARAMETER_TYPES = ("int", "float", "str", "bool", "choice")
RANGE_KEYS = {"start", "stop", "step"}
_MEMORY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")


def _coerce(spec: dict[str, Any], value: Any) -> Any:
    """Return ``value`` as the parameter's type, or raise ValueError with a reason."""
    kind = spec["type"]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"must be a string, not {value!r}")
        return value
    if kind == "choice":
        if value not in spec.get("values", []):
            allowed = ", ".join(map(str, spec.get("values", [])))
            raise ValueError(f"{value!r} is not one of: {allowed}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a{'n integer' if kind == 'int' else ' number'}, not {value!r}")
    if kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"must be an integer, not {value!r}")
        value = int(value)
    else:
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, not {value!r}")
        value = float(value)
    minimum, maximum = spec.get("minimum"), spec.get("maximum")
    if minimum is not None and value < minimum:
        raise ValueError(f"{value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{value} is above the maximum {maximum}")
    return value


def _range_values(spec: dict[str, Any], value: dict[str, Any]) -> list[Any]:
    if spec["type"] not in ("int", "float"):
        raise ValueError("a range needs an int or float parameter")
    if set(value) != RANGE_KEYS:
        raise ValueError("a range needs exactly the keys start, stop and step")
    start, stop, step = (value[k] for k in ("start", "stop", "step"))
    for key, number in (("start", start), ("stop", stop), ("step", step)):
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError(f"range {key} must be a number")
    if step <= 0:
        raise ValueError("range step must be positive")
    if stop < start:
        raise ValueError("range stop must not be below start")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > 10_000_000:
        raise ValueError(f"range has {count} values")
    return [_coerce(spec, round(start + i * step, 12)) for i in range(count)]


def sweep_values(spec: dict[str, Any], value: Any) -> list[Any]:
    """The list of values one parameter takes in the grid."""
    if isinstance(value, list):
        if not value:
            raise ValueError("an empty list sweeps nothing; give at least one value")
        return [_coerce(spec, item) for item in value]
    if isinstance(value, dict):
        return _range_values(spec, value)
    return [_coerce(spec, value)]


def resolve_sweep(schema: dict[str, dict], parameters: Any) -> dict[str, list[Any]]:
    """Check ``parameters`` against ``schema``; return each parameter's values, in schema order."""
    if not isinstance(parameters, dict):
        raise InvalidInput({"parameters": ["must be an object of parameter name to value"]})
    errors: dict[str, str] = {}
    for name in parameters:
        if name not in schema:
            known = ", ".join(schema) or "none"
            errors[name] = f"unknown parameter (known: {known})"
    axes: dict[str, list[Any]] = {}
    for name, spec in schema.items():
        if name in parameters:
            raw = parameters[name]
        elif "default" in spec:
            raw = spec["default"]
        else:
            errors[name] = "is required"
            continue
        try:
            axes[name] = sweep_values(spec, raw)
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


def validate_resources(defaults: dict[str, Any], requested: Any) -> dict[str, Any]:
    """Merge requested resources over the algorithm's defaults, checking each key."""
    if requested is None:
        requested = {}
    if not isinstance(requested, dict):
        raise InvalidInput({"resources": ["must be an object with cpu, memory and gpu"]})
    errors: dict[str, str] = {}
    merged = {"cpu": 1, "memory": "1Gi", "gpu": 0, **(defaults or {})}
    for key, value in requested.items():
        if key == "cpu":
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                errors[key] = "must be a positive number of cores"
        elif key == "gpu":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                errors[key] = "must be a whole number of GPUs, 0 or more"
        elif key == "memory":
            if not isinstance(value, str) or not _MEMORY.match(value):
                errors[key] = "must be a quantity such as 512Mi or 2Gi"
        elif key == "node":
            if not isinstance(value, str) or not value:
                errors[key] = "must be a node name"
        else:
            errors[key] = "unknown resource (known: cpu, memory, gpu, node)"
            continue
        merged[key] = value
    if errors:
        raise InvalidInput({"resources": {k: [v] for k, v in errors.items()}})
    return merged
