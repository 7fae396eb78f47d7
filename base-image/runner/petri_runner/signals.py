"""SIGTERM and SIGINT become a Terminated exception in the main thread."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from petri_runner.errors import Terminated

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TerminationGuard:
    """Raises Terminated at the first SIGTERM/SIGINT, unless inside ``deferred()``.

    Raising from the handler stops the runner wherever it is (a retry sleep, a download, a
    wait for the entrypoint); ``deferred()`` protects the few steps that must not be cut in
    half, such as starting the entrypoint before its handle is kept, or killing it.
    """

    def __init__(self) -> None:
        self._depth = 0
        self._pending: int | None = None
        self._fired = False

    def install(self) -> None:
        """Install the handlers (main thread only)."""
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, self._handle)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold back a termination until the block has finished."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and self._pending is not None:
                self._fire(self._pending)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._depth:
            self._pending = signum
        else:
            self._fire(signum)

    def _fire(self, signum: int) -> None:
        if self._fired:
            return  # a second signal must not interrupt the cleanup of the first
        self._fired = True
        raise Terminated(signum)
