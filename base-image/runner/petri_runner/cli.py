"""``python -m petri_runner``: run one attempt and map the way it ended to an exit code."""

from __future__ import annotations

import os
import sys

from petri_runner.config import Config
from petri_runner.errors import (
    EXIT_OK,
    AttemptOver,
    ConfigError,
    FatalResponse,
    LocalFileError,
    RetriesExhausted,
    RunnerError,
    Terminated,
)
from petri_runner.runner import AttemptRunner
from petri_runner.signals import TerminationGuard

_LABELS: tuple[tuple[type[RunnerError], str], ...] = (
    (ConfigError, "bad configuration"),
    (RetriesExhausted, "giving up"),
    (AttemptOver, "attempt is over"),
    (FatalResponse, "fatal"),
    (LocalFileError, "local file error"),
)


def main() -> int:
    """Run the attempt; the exit code says how it ended (see errors.py)."""
    guard = TerminationGuard()
    guard.install()
    try:
        return _run(guard)
    except Terminated as exc:
        # The entrypoint is already stopped (runner.py's finally); no result is posted.
        say(f"stopped by signal {exc.signal_name}; no result posted")
        return exc.exit_code


def _run(guard: TerminationGuard) -> int:
    try:
        AttemptRunner(Config.from_env(os.environ), guard).run()
    except RunnerError as exc:
        say(f"{_label(exc)}: {exc}")
        return exc.exit_code
    return EXIT_OK


def say(message: str) -> None:
    """Write one line to stderr, prefixed with the runner's name."""
    print("petri-runner: " + " ".join(message.split()), file=sys.stderr, flush=True)


def _label(exc: RunnerError) -> str:
    return next((label for kind, label in _LABELS if isinstance(exc, kind)), "error")
