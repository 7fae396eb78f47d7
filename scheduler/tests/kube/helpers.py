"""Small helpers shared by the Kubernetes backend tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from scheduler.backends.base import JobSpec

NAMESPACE = "petri"
RUNNER_IMAGE = "registry.example.com/petri-runner:0.1.0"


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_spec(job_id: int = 7, attempt: int = 1, **kwargs) -> JobSpec:
    values = {
        "job_id": job_id,
        "attempt": attempt,
        "handle": f"petri-{job_id}-{attempt}",
        "token": f"{job_id}.{attempt}.secret",
        "api_url": "http://petri-web:8000",
        "algorithm": "sleep-and-score",
        "resources": {"cpu": 1, "memory": "128Mi", "gpu": 0},
        "timeout": 600,
        "experiment_id": 3,
        "owner": "alice",
        **kwargs,
    }
    return JobSpec(**values)


def run_until(scheduler, condition, timeout: float = 60.0, what: str = "condition"):
    """Tick ``scheduler`` until ``condition()`` is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        scheduler.tick()
        value = condition()
        if value:
            return value
        pause.wait(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
