"""Buffers job events and posts them in batches, with heartbeats while nothing else goes out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from petri_runner.directives import clamp_progress

Event = dict[str, Any]

MAX_LINE_CHARS = 10_000
FLUSH_INTERVAL_SECONDS = 1.0
MAX_BUFFERED_LINES = 500


def utc_now() -> str:
    """The current time as ISO 8601 UTC, e.g. ``2024-05-01T12:00:00.123456Z``."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def make_event(kind: str, **fields: Any) -> Event:
    """An event of the given type, stamped with the current time."""
    return {"type": kind, "time": utc_now(), **fields}


class EventReporter:
    """Collects events from any thread and sends them through ``send`` in order.

    A background thread flushes at most every ``flush_interval`` seconds, at once when
    ``max_lines`` log lines are waiting, and sends a bare heartbeat when nothing has gone out
    for ``heartbeat_interval`` seconds. Log producers block while ``max_lines`` lines are
    waiting, so a server that is slow or retrying slows the entrypoint down instead of
    filling the runner's memory.
    """

    def __init__(
        self,
        send: Callable[[list[Event]], None],
        *,
        heartbeat_interval: float,
        flush_interval: float = FLUSH_INTERVAL_SECONDS,
        max_lines: int = MAX_BUFFERED_LINES,
        on_error: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._heartbeat_interval = heartbeat_interval
        self._flush_interval = flush_interval
        self._max_lines = max_lines
        self._on_error = on_error
        self._clock = clock
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()  # batches leave one at a time, in order
        self._events: list[Event] = []
        self._progress: Event | None = None
        self._lines = 0
        self._last_sent = clock()
        self._closing = False
        self._urgent = False
        self._due_at: float | None = None  # a queued event must leave by then (monotonic)
        self._bounded = True
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def error(self) -> BaseException | None:
        """Why the background thread stopped sending, if it did."""
        return self._error

    def start(self) -> None:
        """Start the background flusher."""
        self._thread = threading.Thread(target=self._run, name="petri-events", daemon=True)
        self._thread.start()

    def log(self, line: str) -> None:
        """Queue one log line, truncated to MAX_LINE_CHARS; may wait for a flush."""
        with self._cond:
            while self._lines >= self._max_lines and self._accepting_backpressure():
                self._cond.wait()
            if self._events and self._events[-1]["type"] == "log":
                self._events[-1]["lines"].append(line[:MAX_LINE_CHARS])
            else:
                self._append(make_event("log", lines=[line[:MAX_LINE_CHARS]]))
            self._lines += 1
            if self._lines >= self._max_lines:
                self._cond.notify_all()

    def progress(self, value: float) -> None:
        """Record progress; only the latest value per flush is sent."""
        with self._cond:
            wake = not self._events and self._progress is None
            self._progress = make_event("progress", value=clamp_progress(value))
            if wake:
                self._cond.notify_all()

    def metric(self, name: str, value: float, step: int | None) -> None:
        """Queue one metric value."""
        with self._cond:
            self._append(make_event("metric", name=name, value=value, step=step))

    def queue(self, event: Event, *, urgent: bool = False, within: float | None = None) -> None:
        """Queue any event; it leaves with the next batch, which goes at once when ``urgent``
        and at the latest ``within`` seconds from now when given (from the background thread,
        so the caller never waits for the server)."""
        with self._cond:
            self._append(event)
            if urgent:
                self._urgent = True
            elif within is not None:
                due = self._clock() + within
                self._due_at = due if self._due_at is None else min(self._due_at, due)
            self._cond.notify_all()

    def send_now(self, *extra: Event) -> None:
        """Send everything queued, then ``extra``, from the calling thread; errors propagate."""
        with self._send_lock:
            if self._error is not None:
                raise self._error
            pending = True
            while pending:
                with self._cond:
                    batch = self._take()
                    pending = self._pending()
                if not pending:
                    batch.extend(extra)
                if batch:
                    self._post(batch)

    def unbounded(self) -> None:
        """Stop making log producers wait.

        Once the entrypoint is gone, what is left in its pipe is bounded by the pipe's size,
        and reading it at once lets the runner tell a drained pipe from one held open.
        """
        with self._cond:
            self._bounded = False
            self._cond.notify_all()

    def stop(self) -> None:
        """Let the flusher end after its current send, dropping what is queued."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def close(self) -> None:
        """Stop the flusher and send what is left; raises the flusher's error if it had one."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        self.send_now()

    def finish(self) -> list[Event]:
        """Stop the flusher and hand back the last batch instead of sending it.

        The caller sends it with the result, saving a round trip; earlier full batches (and
        the flusher's error, if it had one) go out or come up here first.
        """
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        with self._send_lock:
            if self._error is not None:
                raise self._error
            while True:
                with self._cond:
                    batch = self._take()
                    if not self._pending():
                        return batch
                self._post(batch)

    def _accepting_backpressure(self) -> bool:
        # Waiting only makes sense while someone will drain the buffer.
        thread_alive = self._thread is not None and self._thread.is_alive()
        return thread_alive and self._bounded and not self._closing and self._error is None

    def _append(self, event: Event) -> None:
        wake = not self._events and self._progress is None
        self._events.append(event)
        if wake:
            self._cond.notify_all()

    def _take(self) -> list[Event]:
        """Move up to ``max_lines`` log lines' worth of events into a batch (condition held)."""
        self._urgent = False
        self._due_at = None
        batch: list[Event] = []
        room = self._max_lines
        while self._events and room > 0:
            event = self._events[0]
            if event["type"] == "log" and len(event["lines"]) > room:
                # Split the event: its head goes now, its tail waits for the next batch.
                batch.append({**event, "lines": event["lines"][:room]})
                del event["lines"][:room]
                room = 0
                break
            if event["type"] == "log":
                room -= len(event["lines"])
            batch.append(self._events.pop(0))
        self._lines -= self._max_lines - room
        if self._progress is not None:
            batch.append(self._progress)
            self._progress = None
        self._cond.notify_all()
        return batch

    def _post(self, batch: list[Event]) -> None:
        # Counted from the start of the send: a send that retries for a while must not
        # be followed at once by a heartbeat.
        self._last_sent = self._clock()
        self._send(batch)

    def _pending(self) -> bool:
        return bool(self._events) or self._progress is not None

    def _seconds_until_due(self) -> float:
        """How long until something must be sent; zero or less means now."""
        since = self._clock() - self._last_sent
        if self._lines >= self._max_lines or self._urgent:
            return 0.0
        if self._pending():
            flush = self._flush_interval - since
            return flush if self._due_at is None else min(flush, self._due_at - self._clock())
        return self._heartbeat_interval - since

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closing and (wait := self._seconds_until_due()) > 0:
                    self._cond.wait(wait)
                if self._closing:
                    return
            try:
                with self._send_lock:
                    with self._cond:
                        batch = self._take()
                    if not batch:
                        # A send_now() may have gone out meanwhile; that counts as a heartbeat.
                        if self._clock() - self._last_sent < self._heartbeat_interval:
                            continue
                        batch = [make_event("heartbeat")]
                    self._post(batch)
            except BaseException as exc:  # handed over to the main thread
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                self._on_error()
                return
