"""CPU seconds of this process and of its Postgres backend, for figures a loaded machine spares.

Wall time on a shared machine follows the other sessions' load; the CPU both sides of the
connection spend on a piece of work barely does. The backend's CPU is read from /proc, so it
is there only when Postgres runs on this machine (else ``None``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")


def _backend_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


@dataclass
class CpuClock:
    """Started on a Django connection; ``stop()`` gives the CPU seconds spent since."""

    backend_pid: int
    python: float = 0.0
    postgres: float | None = None

    @classmethod
    def start(cls, connection) -> CpuClock:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        return cls(pid, time.process_time(), _backend_seconds(pid))

    def stop(self) -> dict:
        postgres = _backend_seconds(self.backend_pid)
        spent = {"python_s": time.process_time() - self.python, "postgres_s": None}
        if postgres is not None and self.postgres is not None:
            spent["postgres_s"] = postgres - self.postgres
        return spent


def per_job_us(run: dict) -> tuple[float, float] | None:
    """A run's (Python, Postgres) CPU microseconds per job; None when Postgres runs elsewhere."""
    cpu = run["cpu"]
    if cpu["postgres_s"] is None:
        return None
    return cpu["python_s"] * 1e6 / run["jobs"], cpu["postgres_s"] * 1e6 / run["jobs"]
