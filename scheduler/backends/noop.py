"""A backend that accepts attempts and runs nothing: for tests and benchmarks of the queue.

With a record file it behaves like a real backend's idempotent create across processes:
every handle is created at most once, and a second submit of it adopts the first.
"""

from __future__ import annotations

import fcntl
import threading
import time
from pathlib import Path

from scheduler.backends.base import Backend, BackendState, JobSpec


class NoopBackend(Backend):
    name = "noop"

    def __init__(self, record_file: str | Path | None = None, submit_delay: float = 0.0) -> None:
        self._lock = threading.Lock()
        self.submit_delay = submit_delay
        self.record_file = Path(record_file) if record_file else None
        self.submitted: dict[str, JobSpec] = {}
        self.cancelled: list[str] = []
        self.adopted: list[str] = []
        self._known: set[str] = set()
        self._offset = 0

    def submit(self, spec: JobSpec) -> None:
        if self.submit_delay:
            time.sleep(self.submit_delay)  # stands in for a real backend's create latency
        with self._lock:
            if self.record_file is None:
                self.submitted.setdefault(spec.handle, spec)
                return
            with self.record_file.open("a+") as record:
                fcntl.flock(record, fcntl.LOCK_EX)
                record.seek(self._offset)
                self._known.update(record.read().split())
                self._offset = record.tell()
                if spec.handle in self._known:
                    self.adopted.append(spec.handle)
                    return
                record.write(f"{spec.handle}\n")
                record.flush()
                self._offset = record.tell()
                self._known.add(spec.handle)
            self.submitted[spec.handle] = spec

    def cancel(self, handle: str) -> None:
        with self._lock:
            self.cancelled.append(handle)
            self.submitted.pop(handle, None)

    def reconcile(self, handles: list[str]) -> dict[str, BackendState]:
        # Attempts sent here never end by themselves; nothing is ever lost.
        return {handle: BackendState(handle, "pending") for handle in handles}
