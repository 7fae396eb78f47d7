"""Exceptions that end the runner, each carrying the exit code it maps to."""

from __future__ import annotations

import signal

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_RETRIES_EXHAUSTED = 3
EXIT_ATTEMPT_OVER = 4
EXIT_FATAL_RESPONSE = 5
EXIT_TERMINATED = 143
# Exits that mean "no result, and not the algorithm's fault": the backends fail such an attempt
# as `lost` and retry it. The server's RUNNER_LOST_EXIT_CODES must equal this (contract test).
LOST_EXIT_CODES = frozenset({EXIT_OK, EXIT_RETRIES_EXHAUSTED, EXIT_ATTEMPT_OVER, EXIT_TERMINATED})


class RunnerError(Exception):
    """An expected way for the runner to stop early; ``exit_code`` is what it exits with."""

    exit_code = 1


class ConfigError(RunnerError):
    """The environment is missing a required variable or holds an invalid value."""

    exit_code = EXIT_CONFIG


class RetriesExhausted(RunnerError):
    """A call kept failing transiently until the retry budget ran out."""

    exit_code = EXIT_RETRIES_EXHAUSTED


class AttemptOver(RunnerError):
    """The server no longer accepts this attempt (cancelled, or a newer attempt took over)."""

    exit_code = EXIT_ATTEMPT_OVER


class FatalResponse(RunnerError):
    """The server refused a call, or answered something the runner cannot use."""

    exit_code = EXIT_FATAL_RESPONSE


class LocalFileError(RunnerError):
    """A file on the runner's own disk could not be read or written."""


class Terminated(BaseException):
    """SIGTERM or SIGINT reached the runner.

    A BaseException so that no ``except Exception`` on the way swallows it.
    """

    exit_code = EXIT_TERMINATED

    def __init__(self, signum: int) -> None:
        super().__init__(f"received signal {signum}")
        self.signum = signum

    @property
    def signal_name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return str(self.signum)
