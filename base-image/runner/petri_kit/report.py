"""What an algorithm tells the runner: progress, metrics and log lines on stdout, and failure.

The runner reads ``::progress`` and ``::metric`` lines (petri_runner/directives.py) and keeps
every other line as the job's log.
"""

from __future__ import annotations

import contextlib
import io
import math
import numbers
import re
import sys
import warnings
from collections.abc import Iterator
from typing import NoReturn, TextIO

# The failure reason the runner records when an algorithm exits non-zero. It must equal
# jobs.models.enums.FailureReason.ALGORITHM_ERROR: the runner and the kit cannot import jobs.
FAILURE_REASON = "algorithm_error"

_METRIC_NAME = re.compile(r"[^\s=]+")
# Where the kit's own lines go while library_output() captures the library's prints.
_directive_streams: list[TextIO] = []


class AlgorithmFailed(SystemExit):
    """Raised by fail(): the process exits with ``exit_code`` once nobody catches it."""

    reason = FAILURE_REASON

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(exit_code)
        self.message = message


def _say(line: str) -> None:
    stream = _directive_streams[-1] if _directive_streams else sys.stdout
    # Flushed at once, so the runner sees progress while the work goes on.
    print(line, file=stream, flush=True)


def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return float(value)


def progress(fraction: float) -> None:
    """Report how far the run is, from 0 to 1."""
    _say(f"::progress {round(_finite('progress', fraction), 4)!r}")


def metric(step: int | None = None, **values: float) -> None:
    """Report metrics as they evolve (``metric(loss=0.3, step=12)``); metrics.json has the last."""
    if not values:
        raise ValueError("metric() needs at least one name=value")
    words = []
    for name, value in values.items():
        if name == "step" or not _METRIC_NAME.fullmatch(name):
            raise ValueError(f"{name!r} cannot be a metric name")
        words.append(f"{name}={_finite(name, value)!r}")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, int):
            raise ValueError(f"step must be an integer, not {step!r}")
        words.append(f"step={step}")
    _say("::metric " + " ".join(words))


def log(message: str) -> None:
    """One or more lines of the job's log."""
    _say(message)


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """Stop the run as failed, saying why: the reason is the last line of the job's error."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise AlgorithmFailed(message, exit_code)


@contextlib.contextmanager
def library_output(label: str) -> Iterator[None]:
    """Turn what a library prints and warns inside the block into labelled log lines.

    A library's own print can then never be mistaken for a directive; the kit's progress,
    metric and log calls inside the block still reach the runner as they happen.
    """
    chatter = io.StringIO()
    _directive_streams.append(sys.stdout)
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(chatter):
            warnings.simplefilter("always")
            yield
    finally:
        _directive_streams.pop()
        for line in chatter.getvalue().splitlines():
            if line.strip():
                log(f"{label}: {line}")
        for message in dict.fromkeys(str(w.message) for w in caught):
            log(f"warning: {message}")
