"""Sleeping between idle ticks: wake on Postgres NOTIFY, on stop, or when the poll interval ends."""

from __future__ import annotations

import logging
import os
import select
import threading

from django.db import connection

from jobs import queries, wakeups
from scheduler.backends.base import Backend

log = logging.getLogger(__name__)


class Waker:
    def __init__(self, *, on_end: bool = True) -> None:
        """``on_end``: whether an attempt ending in this process wakes it (jobs.wakeups)."""
        self._read, self._write = os.pipe()
        self._listener = None
        # A stop may wake a scheduler whose loop has just seen the stop and closed this waker:
        # once closed its fds are not written, whatever has since reused their numbers.
        # Reentrant: a signal handler may wake it in a thread that is closing it.
        self._closing = threading.RLock()
        self._closed = False
        wakeups.register(self.wake, on_end=on_end)  # jobs queued or ended in this very process

    @classmethod
    def for_backend(cls, backend: Backend) -> Waker:
        """A scheduler's waker: an attempt's end wakes it unless its backend does so itself,
        when the attempt's process exits (at the result that process still holds the slot)."""
        return cls(on_end=not backend.wakes_on_exit)

    def listen(self):
        """A dedicated autocommit connection that LISTENs; None on SQLite or when it fails.

        Call before the first tick: a NOTIFY sent before the LISTEN is lost."""
        if connection.vendor != "postgresql":
            return None
        if self._listener is None:
            import psycopg2

            try:
                conn = psycopg2.connect(**connection.get_connection_params())
                conn.autocommit = True
                with conn.cursor() as cursor:
                    queries.listen_new_jobs(cursor)
                self._listener = conn
            except psycopg2.Error as exc:
                log.warning("cannot LISTEN for new jobs (%s); polling only", exc)
        return self._listener

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True when woken by a NOTIFY."""
        listener = self.listen()
        readable = [self._read] + ([listener] if listener is not None else [])
        ready, _, _ = select.select(readable, [], [], timeout)
        if self._read in ready:
            os.read(self._read, 1024)
        if listener is None or listener not in ready:
            return False
        try:
            listener.poll()
        except Exception as exc:  # the server went away: reconnect on the next wait
            log.warning("LISTEN connection lost (%s); reconnecting", exc)
            self._close_listener()
            return False
        woke = bool(listener.notifies)
        listener.notifies.clear()
        return woke

    def wake(self) -> None:
        """Interrupt a wait at once (from a signal handler or another thread), unless closed."""
        with self._closing:
            if not self._closed:
                os.write(self._write, b"!")

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def close(self) -> None:
        wakeups.unregister(self.wake)
        with self._closing:
            if self._closed:
                return
            self._closed = True
        self._close_listener()
        os.close(self._read)
        os.close(self._write)
