"""The scheduler's tests: those that disrupt a real cluster run after the others that use it."""

from __future__ import annotations

from scheduler.tests.cluster_lock import EXCLUSIVE


def pytest_collection_modifyitems(config, items):
    # A control-plane restart goes last: nothing after it meets a cluster still recovering, and
    # one worker running a cluster's tests in a row never waits for its lock (cluster_lock.py).
    items.sort(key=lambda item: getattr(getattr(item, "function", None), EXCLUSIVE, False))
