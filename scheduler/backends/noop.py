"""A backend that accepts attempts and runs nothing: for tests and benchmarks of the queue."""

from __future__ import annotations

import threading

from scheduler.backends.base import Backend, BackendState, JobSpec


class NoopBackend(Backend):
    name = "noop"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.submitted: dict[str, JobSpec] = {}
        self.cancelled: list[str] = []

    def submit(self, spec: JobSpec) -> None:
        with self._lock:
            self.submitted.setdefault(spec.handle, spec)

    def cancel(self, handle: str) -> None:
        with self._lock:
            self.cancelled.append(handle)
            self.submitted.pop(handle, None)

    def reconcile(self, handles: list[str]) -> dict[str, BackendState]:
        # Attempts sent here never end by themselves; nothing is ever lost.
        return {handle: BackendState(handle, "pending") for handle in handles}
