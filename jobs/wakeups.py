"""Waking idle schedulers when work arrives or a slot frees, instead of leaving it to the poll.

On Postgres this is NOTIFY, delivered once to every listening scheduler when the transaction
commits. SQLite has no NOTIFY: there (embedded mode, the scheduler inside the web process) the
wakers registered in this process are called after commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection, transaction

from jobs import queries

_in_process: set[Callable[[], None]] = set()
_lock = threading.Lock()


def register(wake: Callable[[], None]) -> None:
    """Call ``wake`` whenever a transaction that queued or ended jobs commits in this process."""
    with _lock:
        _in_process.add(wake)


def unregister(wake: Callable[[], None]) -> None:
    with _lock:
        _in_process.discard(wake)


def wake_schedulers() -> None:
    """Call inside the transaction that queued jobs or freed a slot."""
    if connection.vendor == "postgresql":
        queries.notify_new_jobs()
    elif _in_process:
        transaction.on_commit(wake_in_process)


def wake_in_process() -> None:
    """Wake this process's schedulers now (a backend saw a slot free up)."""
    with _lock:
        wakers = list(_in_process)
    for wake in wakers:
        wake()
