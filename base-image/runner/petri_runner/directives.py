"""Parsing of the entrypoint's output lines: ``::progress``, ``::metric``, or plain log."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Progress:
    """``::progress 0.4``; the value is clamped to [0, 1]."""

    value: float


@dataclass(frozen=True)
class Metrics:
    """``::metric loss=0.31 acc=0.9 step=12``: one or more named values at an optional step."""

    values: dict[str, float]
    step: int | None


@dataclass(frozen=True)
class LogLine:
    """Any other line, including malformed directives."""

    text: str


Directive = Progress | Metrics | LogLine


def clamp_progress(value: float) -> float:
    """Progress is a fraction; out-of-range reports are pinned to the nearest end."""
    return min(1.0, max(0.0, value))


def parse_line(line: str) -> Directive:
    """Classify one output line (without its newline)."""
    words = line.split()
    if words and words[0] == "::progress":
        parsed: Directive | None = _progress(words[1:])
    elif words and words[0] == "::metric":
        parsed = _metrics(words[1:])
    else:
        parsed = None
    return parsed if parsed is not None else LogLine(line)


def _progress(args: list[str]) -> Progress | None:
    if len(args) != 1:
        return None
    value = _finite(args[0])
    return None if value is None else Progress(clamp_progress(value))


def _metrics(args: list[str]) -> Metrics | None:
    values: dict[str, float] = {}
    step: int | None = None
    for arg in args:
        name, sep, raw = arg.partition("=")
        if not sep or not name:
            return None
        if name == "step":
            if not _INTEGER.fullmatch(raw):
                return None
            step = int(raw)
            continue
        value = _finite(raw)
        if value is None:
            return None
        values[name] = value
    return Metrics(values, step) if values else None


def _finite(raw: str) -> float | None:
    # NaN and infinities are not JSON numbers, so they cannot be reported.
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
