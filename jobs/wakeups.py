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

# Each waker, and whether an attempt's end wakes it (see ``register``).
_in_process: dict[Callable[[], None], bool] = {}
_lock = threading.Lock()


def register(wake: Callable[[], None], *, on_end: bool = True) -> None:
    """Call ``wake`` whenever a transaction that queued jobs, or (``on_end``) ended an attempt,
    commits in this process. A scheduler whose backend wakes it when the attempt's process
    exits (the local one) passes False: at the result that process still holds the slot."""
    with _lock:
        _in_process[wake] = on_end


def unregister(wake: Callable[[], None]) -> None:
    with _lock:
        _in_process.pop(wake, None)


def wake_schedulers(*, ended: bool = False) -> None:
    """Call inside the transaction that queued jobs or (``ended``) ended an attempt."""
    if connection.vendor == "postgresql":
        queries.notify_new_jobs()
    elif _in_process:
        transaction.on_commit(lambda: wake_in_process(ended=ended))


def wake_in_process(*, ended: bool = False) -> None:
    """Wake this process's schedulers now (a backend saw a slot free up); after an attempt's
    end (``ended``), only those it can give a free slot."""
    with _lock:
        wakers = [wake for wake, on_end in _in_process.items() if on_end or not ended]
    for wake in wakers:
        wake()
