"""Rules every input obeys, whatever carries it: text without NUL, bounded numbers, depth.

Postgres refuses NUL in text and JSON (a 500 if it reaches the database); integers past 64
bits and floats past 1e300 overflow columns and JSON renderers. Services call these; the API's
serializer fields (webapp/api/fields.py) wrap the same functions.
"""

from __future__ import annotations

import math
from typing import Any

from jobs.errors import InvalidInput

NUL = "\x00"
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
# Beyond this a float is no measurement, and squaring it overflows.
FLOAT_LIMIT = 1e300
MAX_JSON_DEPTH = 64


def nul_problem(value: Any, depth: int = 0) -> str:
    """Why a JSON-like value cannot be stored (a NUL, too deep); empty when it can."""
    if depth > MAX_JSON_DEPTH:
        return f"is nested more than {MAX_JSON_DEPTH} levels deep"
    if isinstance(value, str):
        return "must not contain the NUL character" if NUL in value else ""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                return "must not contain the NUL character (in a key)"
            problem = nul_problem(item, depth + 1)
            if problem:
                return problem
    elif isinstance(value, list | tuple):
        for item in value:
            problem = nul_problem(item, depth + 1)
            if problem:
                return problem
    elif isinstance(value, float) and not math.isfinite(value):
        return "must not hold NaN or infinite numbers"
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
        return f"holds an integer beyond ±{INT64_MAX}"
    return ""


def depth_problem(value: Any, depth: int = 0) -> str:
    """Why a JSON value is nested too deeply to handle; empty when it is not."""
    if depth > MAX_JSON_DEPTH:
        return f"is nested more than {MAX_JSON_DEPTH} levels deep"
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        if isinstance(item, dict | list):
            problem = depth_problem(item, depth + 1)
            if problem:
                return problem
    return ""


def storable(value: Any, field: str) -> Any:
    """``value`` unchanged if a database can store it as text/JSON; else InvalidInput."""
    problem = nul_problem(value)
    if problem:
        raise InvalidInput({field: [problem]})
    return value


def text(value: str, field: str) -> str:
    """A string without NUL (InvalidInput naming ``field`` otherwise)."""
    if NUL in value:
        raise InvalidInput({field: ["must not contain the NUL character"]})
    return value


def finite_number(value: Any) -> float:
    """``value`` as a float within ±1e300; ValueError with a reason otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {value!r}"[:200])
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"must be between -{FLOAT_LIMIT:g} and {FLOAT_LIMIT:g}") from None
    if not math.isfinite(number) or abs(number) > FLOAT_LIMIT:
        raise ValueError(f"must be a finite number between -{FLOAT_LIMIT:g} and {FLOAT_LIMIT:g}")
    return number


def bounded_int(value: Any, *, minimum: int = -INT64_MAX, maximum: int = INT64_MAX) -> int:
    """``value`` as an int within bounds (a whole float counts); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be an integer, not {value!r}"[:200])
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(f"must be an integer, not {value!r}")
        if abs(value) > INT64_MAX:
            raise ValueError(f"must be between {minimum} and {maximum}")
        value = int(value)
    if not minimum <= value <= maximum:
        raise ValueError(f"must be between {minimum} and {maximum}")
    return value


def query_int(raw: str, field: str, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """An integer query parameter, InvalidInput naming ``field`` when it is not one in bounds."""
    stripped = raw.strip()
    if len(stripped) > 20 or not stripped.lstrip("-").isdigit():
        raise InvalidInput({field: ["must be an integer"]})
    try:
        return bounded_int(int(stripped), minimum=minimum, maximum=maximum)
    except ValueError as exc:
        raise InvalidInput({field: [str(exc)]}) from None
