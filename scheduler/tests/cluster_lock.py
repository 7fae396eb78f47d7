"""Tests that share one real cluster run side by side; one that disrupts it runs alone.

Across every test process (xdist workers included): a test holds a shared lock on the
cluster's lock file while it runs, and one marked ``@exclusive_cluster`` an exclusive one.
"""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

EXCLUSIVE = "exclusive_cluster"


def exclusive_cluster(test):
    """For a test that stops part of the cluster (a control-plane restart)."""
    setattr(test, EXCLUSIVE, True)
    return test


@contextlib.contextmanager
def holding(cluster: str, request) -> Iterator[None]:
    exclusive = getattr(request.function, EXCLUSIVE, False)
    path = Path(tempfile.gettempdir()) / f"petri-{cluster}-tests.lock"
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
