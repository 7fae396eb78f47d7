"""The one way sync code sends protocol messages to websocket groups, in order, without blocking."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer

from webapp.realtime import hub

log = logging.getLogger(__name__)

Messages = list[dict[str, Any]]


def experiment_group(experiment_id: int) -> str:
    return f"experiment-{experiment_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


class Broadcaster:
    """Queues (groups, messages) from any thread and sends them from one event loop, FIFO.

    One pump drains everything queued since it last ran into a single channel-layer message per
    group, so a burst costs a few round trips rather than one per event, and each group receives
    messages in the order they were published.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Sequence[str], Messages]] = []
        self._mutex = threading.Lock()
        self._pump_loop: asyncio.AbstractEventLoop | None = None  # while a pump runs there
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.group_messages = 0  # sent so far; the benchmark reports it

    def _target_loop(self) -> asyncio.AbstractEventLoop | None:
        if isinstance(get_channel_layer(), InMemoryChannelLayer):
            # The in-memory layer's queues belong to the loop serving the websockets and are not
            # thread-safe; with no websocket in this process nobody could receive anything.
            return next((loop for loop, _ in hub.serving()), None)
        # Redis connections belong to the loop that opened them: one long-lived loop in a
        # daemon thread serves request threads and the scheduler thread alike.
        with self._mutex:
            if self._own_loop is None:
                self._own_loop = asyncio.new_event_loop()
                threading.Thread(
                    target=self._own_loop.run_forever, name="petri-broadcast", daemon=True
                ).start()
            return self._own_loop

    def listening(self) -> bool:
        """False when nothing published now could reach any websocket (skip the work)."""
        return self._target_loop() is not None

    def publish(self, items: Iterable[tuple[Sequence[str], Messages]]) -> None:
        """Queue (groups, messages) pairs; one pump pass sends those queued together at once."""
        items = [(groups, messages) for groups, messages in items if groups and messages]
        loop = self._target_loop() if items else None
        if loop is None:
            return
        with self._mutex:
            self._pending += items
            if self._pump_loop is not None and self._pump_loop.is_running():
                return  # the running pump will pick these up
            self._pump_loop = loop
            self._idle.clear()
        try:
            loop.call_soon_threadsafe(lambda: loop.create_task(self._pump()))
        except RuntimeError:  # the loop closed in between: nobody is listening any more
            with self._mutex:
                self._pending, self._pump_loop = [], None
                self._idle.set()

    def _take(self) -> list[tuple[Sequence[str], Messages]]:
        with self._mutex:
            taken, self._pending = self._pending, []
            if not taken:
                self._pump_loop = None
                self._idle.set()
            return taken

    async def _pump(self) -> None:
        layer = get_channel_layer()
        while batch := self._take():
            by_group: dict[str, Messages] = {}
            for groups, messages in batch:
                for group in groups:
                    by_group.setdefault(group, []).extend(messages)
            for group, messages in by_group.items():
                try:
                    await layer.group_send(group, hub.group_message(group, messages))
                    self.group_messages += 1
                except Exception:
                    log.exception("could not send %d messages to %s", len(messages), group)

    def wait_idle(self, timeout: float) -> bool:
        """Block until everything published so far was handed to the channel layer."""
        return self._idle.wait(timeout)


broadcaster = Broadcaster()


def broadcast(groups: Sequence[str], messages: Messages) -> None:
    """Send protocol messages (``{"type", "data"}``) to groups; callable from any sync code."""
    broadcaster.publish([(groups, messages)])
