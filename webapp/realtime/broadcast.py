"""The one way sync code sends events to websocket groups, in order and without blocking."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer

log = logging.getLogger(__name__)

# Channel-layer message type of a batch of protocol messages for one group (see hub.py).
GROUP_MESSAGE_TYPE = "realtime.events"


def encode(event: dict[str, Any]) -> str:
    """The wire form of a protocol message: exactly ``{"type", "data"}``, compact."""
    return json.dumps({"type": event["type"], "data": event["data"]}, separators=(",", ":"))


def experiment_group(experiment_id: int) -> str:
    return f"experiment-{experiment_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


class Broadcaster:
    """Queues (groups, events) from any thread and sends them from one event loop, FIFO.

    One pump drains everything queued since it last ran into a single group message per group,
    so a burst costs a few channel-layer round trips rather than one per event, and the order in
    which events were published is the order in which each group receives them.
    """

    def __init__(self) -> None:
        self._pending: deque[tuple[tuple[str, ...], list[dict[str, Any]]]] = deque()
        self._mutex = threading.Lock()
        self._pump_loop: asyncio.AbstractEventLoop | None = None
        self._serving_loop: asyncio.AbstractEventLoop | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.group_messages = 0  # sent so far; the benchmark reports it

    # Where the pump runs -------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Record the loop consumers run on; the in-memory layer only works from that loop."""
        self._serving_loop = loop

    def _in_memory(self) -> bool:
        return isinstance(get_channel_layer(), InMemoryChannelLayer)

    def _target_loop(self) -> asyncio.AbstractEventLoop | None:
        if self._in_memory():
            # The in-memory layer's queues belong to the consumers' loop and are not
            # thread-safe, so its sends must run there; with no consumer in this process
            # (a separate scheduler, a test without websockets) nobody could receive them.
            loop = self._serving_loop
            return loop if loop is not None and loop.is_running() else None
        return self._own_background_loop()

    def _own_background_loop(self) -> asyncio.AbstractEventLoop:
        # Redis connections belong to the loop that opened them: one long-lived loop in a
        # daemon thread serves request threads and the scheduler thread alike.
        with self._mutex:
            if self._own_loop is None or self._own_loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="petri-broadcast", daemon=True
                ).start()
                self._own_loop = loop
            return self._own_loop

    def listening(self) -> bool:
        """False when nothing published now could reach any websocket (skip the work)."""
        return self._target_loop() is not None

    # Publishing ----------------------------------------------------------------------------

    def publish(self, groups: Sequence[str], events: list[dict[str, Any]]) -> None:
        self.publish_many([(groups, events)])

    def publish_many(self, items: Iterable[tuple[Sequence[str], list[dict[str, Any]]]]) -> None:
        """Queue several (groups, events) at once so one pump pass sends them together."""
        items = [(tuple(groups), events) for groups, events in items if groups and events]
        if not items:
            return
        loop = self._target_loop()
        if loop is None:
            return
        with self._mutex:
            self._pending.extend(items)
            pump = self._pump_loop
            if pump is not None and pump.is_running():
                return  # the running pump will pick these up
            self._pump_loop = loop
            self._idle.clear()
        try:
            loop.call_soon_threadsafe(self._start_pump, loop)
        except RuntimeError:  # the loop closed in between: nobody is listening any more
            self._reset()

    def _start_pump(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.create_task(self._pump())

    def _reset(self) -> None:
        with self._mutex:
            self._pending.clear()
            self._pump_loop = None
            self._idle.set()

    async def _pump(self) -> None:
        layer = get_channel_layer()
        while True:
            with self._mutex:
                if not self._pending:
                    self._pump_loop = None
                    self._idle.set()
                    return
                batch = list(self._pending)
                self._pending.clear()
            by_group: dict[str, list[dict[str, Any]]] = {}
            for groups, events in batch:
                for event in events:
                    # Encoded once here rather than once per connection: with hundreds of
                    # clients on an experiment, encoding was a fifth of the server's work.
                    if "text" not in event:
                        event["text"] = encode(event)
                for group in groups:
                    by_group.setdefault(group, []).extend(events)
            for group, events in by_group.items():
                try:
                    message = {"type": GROUP_MESSAGE_TYPE, "group": group, "events": events}
                    await layer.group_send(group, message)
                    self.group_messages += 1
                except Exception:
                    log.exception("could not send %d events to %s", len(events), group)

    def wait_idle(self, timeout: float) -> bool:
        """Block until everything published so far was handed to the channel layer."""
        return self._idle.wait(timeout)


broadcaster = Broadcaster()


def broadcast(groups: Sequence[str], events: list[dict[str, Any]]) -> None:
    """Send protocol messages (``{"type", "data"}``) to groups; callable from any sync code."""
    broadcaster.publish(groups, events)
