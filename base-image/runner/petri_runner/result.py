"""What an attempt ends with: the result the runner posts, and the failure reasons it names."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Any

# Failure reasons this runner reports: values of the server's FailureReason (docs/runner.md;
# jobs/tests/test_failure_contract.py checks them).
ALGORITHM_ERROR = "algorithm_error"
BACKEND_ERROR = "backend_error"
DEADLINE_EXCEEDED = "deadline_exceeded"
OOM_KILLED = "oom_killed"


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
