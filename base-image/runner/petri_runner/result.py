"""What an attempt ends with: the result the runner posts, and the failure reasons it names."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Failure reasons this runner reports: values of the server's FailureReason (docs/runner.md;
# jobs/tests/test_failure_contract.py checks them).
ALGORITHM_ERROR = "algorithm_error"
BACKEND_ERROR = "backend_error"
DEADLINE_EXCEEDED = "deadline_exceeded"
OOM_KILLED = "oom_killed"
REASONS = (ALGORITHM_ERROR, BACKEND_ERROR, DEADLINE_EXCEEDED, OOM_KILLED)


@dataclass(frozen=True)
class Result:
    """The body of ``POST /api/runner/result/``."""

    status: str
    exit_code: int | None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    failure_reason: str | None = None

    @classmethod
    def failed(
        cls,
        error: str,
        *,
        exit_code: int | None,
        metrics: dict[str, float] | None = None,
        reason: str = ALGORITHM_ERROR,
    ) -> Result:
        return cls("failed", exit_code, metrics or {}, error, reason)

    def payload(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "metrics": self.metrics,
            "error": self.error,
            "failure_reason": self.failure_reason,
        }


def describe_exit(returncode: int | None) -> str:
    """``exited with status 3`` or ``killed by signal SIGKILL``."""
    if returncode is None or returncode >= 0:
        return f"exited with status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = str(-returncode)
    return f"killed by signal {name}"


def failed_exit(
    returncode: int,
    metrics: dict[str, float],
    tail: Sequence[str],
    *,
    oom_killed: bool = False,
    limit: tuple[str, str | None] | None = None,
) -> Result | None:
    """The failed result of an entrypoint that exited badly (None when it exited 0): killed
    for memory, or ``limit`` (the message and reason of the sandbox limit it likely hit)."""
    last_lines = "; last log lines:\n" + "\n".join(tail) if tail else ""
    if oom_killed:
        error = "killed for exceeding its memory limit (OOMKilled)" + last_lines
        return Result.failed(error, exit_code=137, metrics=metrics, reason=OOM_KILLED)
    if returncode == 0:
        return None
    error, reason = describe_exit(returncode), ALGORITHM_ERROR
    if limit is not None:
        error += f": it {limit[0]}"
        reason = limit[1] or reason
    # Death by signal N is reported the way shells do: 128 + N.
    exit_code = returncode if returncode > 0 else 128 - returncode
    return Result.failed(error + last_lines, exit_code=exit_code, metrics=metrics, reason=reason)
